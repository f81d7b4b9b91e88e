package search

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/boltfile"
	"github.com/edgenas/edgenas/space"
)

// Store keeps the records of persisted runs: a key/value space in which
// the records of a run share a prefix made of its ID. Writes must be
// atomic and durable when they return. NewFileStore gives the one in the
// run directory's bbolt file.
type Store interface {
	// Scan calls fn with every key starting with prefix and its value, in
	// key order; the slices are valid only during the call.
	Scan(prefix []byte, fn func(key, value []byte) error) error
	// Put stores every pair of kv (key to value) in one atomic write.
	Put(kv map[string][]byte) error
	// DeletePrefix deletes every key starting with prefix.
	DeletePrefix(prefix []byte) error
}

// RunsBucket is the bucket of the bbolt file the runs are kept in.
const RunsBucket = "edgenas-runs"

// NewFileStore returns the Store of runs in the open bbolt file f (shared
// with the evaluator's cache: see evaluator.BoltCache.File).
func NewFileStore(f *boltfile.File) Store { return f.Bucket(RunsBucket) }

var _ Store = (*boltfile.Bucket)(nil)

// stateVersion is the version of the persisted run records. Version 2
// seals every record with a checksum and chains the evaluation records.
const stateVersion = 2

// runDomain names run records in their seal (see boltfile.Seal).
const runDomain = "edgenas/search-run"

// ErrStateMismatch marks a resume whose config or space differs from the
// persisted run's in what the run depends on (everything but the budget
// and the parallelism). Delete the run (DeleteRun) or use another run ID.
var ErrStateMismatch = errors.New("persisted run does not match")

// ErrNoRun marks a run ID with no persisted state.
var ErrNoRun = errors.New("no such run")

// ErrDamagedRun marks a persisted run whose records do not verify (edited
// or damaged) or do not fit together. Run and LoadOutcome fail with it,
// naming the run, rather than resume from records they cannot trust:
// delete the run (DeleteRun; edgenas search --fresh) to start it over,
// every cached evaluation being reused.
var ErrDamagedRun = errors.New("persisted run is damaged")

// runState is everything a run needs to continue exactly where it
// stopped, besides the evaluation records.
type runState struct {
	// Config is the run's config with defaults and the resolved reference.
	Config Config `json:"config"`
	// Identity is what a resumed run must match: the user's config with
	// defaults (budget and parallelism aside) and the space's spec.
	Identity map[string]json.RawMessage `json:"identity"`
	// Teacher is the teacher's Result when the search evaluated it.
	Teacher *evaluator.Result `json:"teacher,omitempty"`
	// Generation is the number of completed generations.
	Generation int `json:"generation"`
	// Population is the current population (keys), in strategy order.
	Population []string `json:"population"`
	// Pending is the proposed batch of the generation in progress.
	Pending *pending `json:"pending,omitempty"`
	// RNG is the marshalled state of the run's PCG source, after Pending
	// was proposed.
	RNG []byte `json:"rng"`
	// History is the hypervolume after every generation.
	History []HVPoint `json:"history"`
	// BestHV is the best hypervolume so far; Stale counts generations
	// since it last improved; Idle counts generations in a row that
	// evaluated nothing new.
	BestHV float64 `json:"best_hv"`
	Stale  int     `json:"stale"`
	Idle   int     `json:"idle"`
	// Elapsed is the run's wall time summed over its processes.
	Elapsed time.Duration `json:"elapsed"`
	// Stop is why the run last stopped; empty while it runs.
	Stop StopReason `json:"stop,omitempty"`
}

// pending is a generation's batch, persisted before any of it is
// evaluated.
type pending struct {
	Keep      []string `json:"keep"`
	Offspring []string `json:"offspring"`
	// Refine holds the keys of the candidates chosen for refinement (see
	// Refine), persisted before any of them is refined.
	Refine []string `json:"refine,omitempty"`
}

// evalRecord is one completed evaluation.
type evalRecord struct {
	Generation int              `json:"generation"`
	Slot       int              `json:"slot"`
	Result     evaluator.Result `json:"result"`
	Screened   bool             `json:"screened,omitempty"`
	Predicted  bool             `json:"predicted,omitempty"`
	// Refined says Result replaces the earlier record of its key: the
	// candidate refined (see Refine).
	Refined bool `json:"refined,omitempty"`
}

// The records of run ID are stored, sealed under their keys, as
//
//	ID NUL 's'               the stateRecord
//	ID NUL 'e' n (8 bytes)   the evalEnvelope of the n-th evaluation
//
// The evaluation records form a hash chain (each names the chain value
// before it; the state names the last one and their count), so the state
// says exactly which records belong to it: a repair, finding several
// copies of records on a damaged file's pages, puts back a state only with
// the very records it was saved with. Born tells a run from an earlier,
// deleted run of the same ID.
type stateRecord struct {
	V     int       `json:"v"`
	Born  int64     `json:"born"`
	Seq   uint64    `json:"seq"`
	Evals int       `json:"evals"`
	Chain []byte    `json:"chain"`
	State *runState `json:"state"`
}

type evalEnvelope struct {
	V    int             `json:"v"`
	Born int64           `json:"born"`
	N    int             `json:"n"`
	Prev []byte          `json:"prev"`
	Eval json.RawMessage `json:"eval"`
}

// chain is the chain value after the evaluation record e.
func (e *evalEnvelope) chain() []byte {
	h := sha256.New()
	h.Write(e.Prev)
	h.Write(e.Eval)
	return h.Sum(nil)
}

func runPrefix(id string) []byte { return []byte(id + "\x00") }

func stateKey(id string) []byte { return append(runPrefix(id), 's') }

func evalKey(id string, n int) []byte {
	return binary.BigEndian.AppendUint64(append(runPrefix(id), 'e'), uint64(n))
}

// checkRunID rejects run IDs that cannot name records.
func checkRunID(id string) error {
	if id == "" || strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("%w: run ID %q: want a non-empty name without NUL", ErrInvalidConfig, id)
	}
	return nil
}

// record is one decoded run record: a state or an evaluation.
type record struct {
	id    string
	state *stateRecord
	eval  *evalEnvelope
}

// decodeRecord decodes the run record stored under key, checking its seal
// (over the key too), its version and that it is what its key says.
func decodeRecord(key, value []byte) (record, error) {
	id, rest, ok := bytes.Cut(key, []byte{0})
	if !ok || len(rest) == 0 {
		return record{}, fmt.Errorf("key %q is not a run record's", key)
	}
	data, err := boltfile.Unseal(runDomain, key, value)
	if err != nil {
		return record{}, err
	}
	rec := record{id: string(id)}
	switch {
	case len(rest) == 1 && rest[0] == 's':
		rec.state = new(stateRecord)
		if err := json.Unmarshal(data, rec.state); err != nil {
			return record{}, fmt.Errorf("state record: %w", err)
		}
		if rec.state.V != stateVersion {
			return record{}, fmt.Errorf("state record format %d, this build reads %d", rec.state.V, stateVersion)
		}
		if rec.state.State == nil || rec.state.Evals < 0 {
			return record{}, errors.New("state record without a state")
		}
	case len(rest) == 9 && rest[0] == 'e':
		rec.eval = new(evalEnvelope)
		if err := json.Unmarshal(data, rec.eval); err != nil {
			return record{}, fmt.Errorf("evaluation record: %w", err)
		}
		if rec.eval.V != stateVersion {
			return record{}, fmt.Errorf("evaluation record format %d, this build reads %d", rec.eval.V, stateVersion)
		}
		if n := binary.BigEndian.Uint64(rest[1:]); uint64(rec.eval.N) != n {
			return record{}, fmt.Errorf("evaluation record %d stored as %d", rec.eval.N, n)
		}
	default:
		return record{}, fmt.Errorf("key %q is not a run record's", key)
	}
	return rec, nil
}

// chainOf returns the evaluation records the state st was saved with, in
// save order, following the chain back from st through byChain
// (evaluation records by their chain value).
func chainOf(st *stateRecord, byChain map[string]*evalEnvelope) ([]*evalEnvelope, error) {
	if st.Evals > len(byChain) {
		return nil, fmt.Errorf("the state was saved with %d evaluation records, %d are found", st.Evals, len(byChain))
	}
	out := make([]*evalEnvelope, st.Evals)
	c := st.Chain
	for n := st.Evals - 1; n >= 0; n-- {
		e := byChain[string(c)]
		if e == nil || e.N != n || e.Born != st.Born {
			return nil, fmt.Errorf("evaluation record %d of %d is missing", n, st.Evals)
		}
		out[n], c = e, e.Prev
	}
	if len(c) != 0 {
		return nil, errors.New("evaluation records do not start the chain")
	}
	return out, nil
}

// assemble returns the evaluation records of st (see chainOf), sorted by
// generation and slot.
func assemble(st *stateRecord, byChain map[string]*evalEnvelope) ([]evalRecord, error) {
	envs, err := chainOf(st, byChain)
	if err != nil {
		return nil, err
	}
	recs := make([]evalRecord, len(envs))
	for n, e := range envs {
		if err := json.Unmarshal(e.Eval, &recs[n]); err != nil {
			return nil, fmt.Errorf("evaluation record %d: %w", n, err)
		}
	}
	slices.SortFunc(recs, func(a, b evalRecord) int {
		return cmp.Or(cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Slot, b.Slot))
	})
	return recs, nil
}

// readRun reads and verifies the records of run id.
func readRun(s Store, id string) (*stateRecord, []evalRecord, error) {
	var st *stateRecord
	byChain := map[string]*evalEnvelope{}
	evals := 0
	err := s.Scan(runPrefix(id), func(k, v []byte) error {
		rec, err := decodeRecord(k, v)
		if err != nil {
			return fmt.Errorf("run %q: %w: record %q: %v", id, ErrDamagedRun, k, err)
		}
		if rec.state != nil {
			st = rec.state
		} else {
			byChain[string(rec.eval.chain())] = rec.eval
			evals++
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	switch {
	case st == nil && evals == 0:
		return nil, nil, fmt.Errorf("%w %q", ErrNoRun, id)
	case st == nil:
		return nil, nil, fmt.Errorf("run %q: %w: %d evaluation records without a state", id, ErrDamagedRun, evals)
	case evals != st.Evals:
		return nil, nil, fmt.Errorf("run %q: %w: %d evaluation records, the state was saved with %d", id, ErrDamagedRun, evals, st.Evals)
	}
	recs, err := assemble(st, byChain)
	if err != nil {
		return nil, nil, fmt.Errorf("run %q: %w: %v", id, ErrDamagedRun, err)
	}
	return st, recs, nil
}

// store persists a run; memStore keeps nothing.
type store interface {
	load() (*runState, []evalRecord, error)
	saveState(st *runState) error
	saveEval(st *runState, rec evalRecord) error
}

type memStore struct{}

func (memStore) load() (*runState, []evalRecord, error) { return nil, nil, nil }
func (memStore) saveState(*runState) error              { return nil }
func (memStore) saveEval(*runState, evalRecord) error   { return nil }

// runStore persists run id in a Store; it remembers where the records
// stand (the state's save count, the evaluations and their chain).
type runStore struct {
	s     Store
	id    string
	born  int64
	seq   uint64
	evals int
	chain []byte
}

func (r *runStore) load() (*runState, []evalRecord, error) {
	st, recs, err := readRun(r.s, r.id)
	if errors.Is(err, ErrNoRun) {
		r.born = time.Now().UnixNano()
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	r.born, r.seq, r.evals, r.chain = st.Born, st.Seq, st.Evals, st.Chain
	return st.State, recs, nil
}

// stateValue is the sealed state record of st after the next save.
func (r *runStore) stateValue(st *runState, evals int, chain []byte) ([]byte, error) {
	data, err := json.Marshal(stateRecord{V: stateVersion, Born: r.born, Seq: r.seq + 1, Evals: evals, Chain: chain, State: st})
	if err != nil {
		return nil, err
	}
	return boltfile.Seal(runDomain, stateKey(r.id), data), nil
}

func (r *runStore) saveState(st *runState) error {
	v, err := r.stateValue(st, r.evals, r.chain)
	if err != nil {
		return err
	}
	if err := r.s.Put(map[string][]byte{string(stateKey(r.id)): v}); err != nil {
		return fmt.Errorf("save run state: %w", err)
	}
	r.seq++
	return nil
}

// saveEval stores one evaluation and the state in one write: when it
// returns, the evaluation is durable.
func (r *runStore) saveEval(st *runState, rec evalRecord) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	e := evalEnvelope{V: stateVersion, Born: r.born, N: r.evals, Prev: r.chain, Eval: raw}
	ed, err := json.Marshal(e)
	if err != nil {
		return err
	}
	chain := e.chain()
	sv, err := r.stateValue(st, r.evals+1, chain)
	if err != nil {
		return err
	}
	ek := evalKey(r.id, r.evals)
	if err := r.s.Put(map[string][]byte{string(ek): boltfile.Seal(runDomain, ek, ed), string(stateKey(r.id)): sv}); err != nil {
		return fmt.Errorf("save evaluation of %s: %w", rec.Result.Key, err)
	}
	r.seq, r.evals, r.chain = r.seq+1, r.evals+1, chain
	return nil
}

// DeleteRun removes the persisted records of run id from s (its cached
// evaluator Results stay). Deleting a run that does not exist is not an
// error.
func DeleteRun(s Store, id string) error {
	if err := checkRunID(id); err != nil {
		return err
	}
	return s.DeletePrefix(runPrefix(id))
}

// LoadOutcome reads the Outcome of run id from s as it was last
// persisted, without running anything: for reports on a finished or
// interrupted run. It fails with ErrNoRun if there is none, with
// ErrDamagedRun if its records do not verify.
func LoadOutcome(s Store, id string) (*Outcome, error) {
	if err := checkRunID(id); err != nil {
		return nil, err
	}
	st, recs, err := readRun(s, id)
	if err != nil {
		return nil, err
	}
	arch, err := rebuildArchive(st.State.Config.Reward, recs)
	if err != nil {
		return nil, err
	}
	return outcome(id, st.State, arch), nil
}

// rebuildArchive scores the records again (the score is a function of the
// persisted config) and archives them, a refined record replacing the
// earlier one of its key.
func rebuildArchive(rc RewardConfig, recs []evalRecord) (*Archive, error) {
	a := NewArchive()
	for _, r := range recs {
		s, err := rc.Score(r.Result)
		if err != nil {
			return nil, err
		}
		c := Candidate{Key: r.Result.Key, Result: r.Result, Score: s, Generation: r.Generation, Slot: r.Slot, Screened: r.Screened, Predicted: r.Predicted, Refined: r.Refined}
		if r.Refined {
			a.replace(c)
		} else {
			a.Insert(c)
		}
	}
	return a, nil
}

// identity is what a resumed run must share with the persisted one.
func identity(c Config, s space.Spec) map[string]json.RawMessage {
	c.Budget, c.Parallelism = Budget{}, 0
	m := map[string]json.RawMessage{}
	data, _ := json.Marshal(c) // plain data: cannot fail
	_ = json.Unmarshal(data, &m)
	sd, _ := json.Marshal(s)
	m["space"] = sd
	return m
}

// checkIdentity compares the persisted run's identity with the new one and
// names every field that differs.
func checkIdentity(old, now map[string]json.RawMessage) error {
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(now)) {
		if string(old[k]) != string(now[k]) {
			diff = append(diff, fmt.Sprintf("%s: persisted %s, now %s", k, old[k], now[k]))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("%w: %s", ErrStateMismatch, strings.Join(diff, "; "))
	}
	return nil
}
