package search

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/space"
)

// RunsBucket is the top-level bbolt bucket the search keeps its runs in;
// each run has a nested bucket named by its run ID.
var RunsBucket = []byte("edgenas-search-runs")

var (
	stateKey    = []byte("state")
	evalsBucket = []byte("evals")
)

// stateVersion is the version of the persisted run state.
const stateVersion = 1

// ErrStateMismatch marks a resume whose config or space differs from the
// persisted run's in what the run depends on (everything but the budget
// and the parallelism). Delete the run (DeleteRun) or use another run ID.
var ErrStateMismatch = errors.New("persisted run does not match")

// ErrNoRun marks a run ID with no persisted state.
var ErrNoRun = errors.New("no such run")

// runState is everything a run needs to continue exactly where it
// stopped, besides the evaluation records.
type runState struct {
	Version int `json:"version"`
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
}

// evalRecord is one completed evaluation.
type evalRecord struct {
	Generation int              `json:"generation"`
	Slot       int              `json:"slot"`
	Result     evaluator.Result `json:"result"`
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

type boltStore struct {
	db *bolt.DB
	id []byte
}

func (s *boltStore) load() (*runState, []evalRecord, error) {
	var st *runState
	var recs []evalRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		st, recs, err = readRun(tx, s.id)
		return err
	})
	if errors.Is(err, ErrNoRun) {
		return nil, nil, nil
	}
	return st, recs, err
}

func readRun(tx *bolt.Tx, id []byte) (*runState, []evalRecord, error) {
	root := tx.Bucket(RunsBucket)
	if root == nil {
		return nil, nil, fmt.Errorf("%w %q", ErrNoRun, id)
	}
	b := root.Bucket(id)
	if b == nil || b.Get(stateKey) == nil {
		return nil, nil, fmt.Errorf("%w %q", ErrNoRun, id)
	}
	st := new(runState)
	if err := json.Unmarshal(b.Get(stateKey), st); err != nil {
		return nil, nil, fmt.Errorf("run %q: corrupt state: %w", id, err)
	}
	if st.Version != stateVersion {
		return nil, nil, fmt.Errorf("run %q: state format %d, this build reads %d", id, st.Version, stateVersion)
	}
	var recs []evalRecord
	if eb := b.Bucket(evalsBucket); eb != nil {
		err := eb.ForEach(func(k, v []byte) error {
			var r evalRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %q: corrupt evaluation record %x: %w", id, k, err)
			}
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return st, recs, nil
}

func (s *boltStore) bucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	root, err := tx.CreateBucketIfNotExists(RunsBucket)
	if err != nil {
		return nil, err
	}
	return root.CreateBucketIfNotExists(s.id)
}

func (s *boltStore) saveState(st *runState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := s.bucket(tx)
		if err != nil {
			return err
		}
		return b.Put(stateKey, data)
	})
	if err != nil {
		return fmt.Errorf("save run state: %w", err)
	}
	return nil
}

// saveEval stores one evaluation and the state in one transaction: when it
// returns, the evaluation is durable.
func (s *boltStore) saveEval(st *runState, rec evalRecord) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	rd, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := s.bucket(tx)
		if err != nil {
			return err
		}
		eb, err := b.CreateBucketIfNotExists(evalsBucket)
		if err != nil {
			return err
		}
		var k [16]byte
		binary.BigEndian.PutUint64(k[:8], uint64(rec.Generation))
		binary.BigEndian.PutUint64(k[8:], uint64(rec.Slot))
		if err := eb.Put(k[:], rd); err != nil {
			return err
		}
		return b.Put(stateKey, data)
	})
	if err != nil {
		return fmt.Errorf("save evaluation of %s: %w", rec.Result.Key, err)
	}
	return nil
}

// DeleteRun removes the persisted state of run id from db (its cached
// evaluator Results stay). Deleting a run that does not exist is not an
// error.
func DeleteRun(db *bolt.DB, id string) error {
	return db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(RunsBucket)
		if root == nil || root.Bucket([]byte(id)) == nil {
			return nil
		}
		return root.DeleteBucket([]byte(id))
	})
}

// LoadOutcome reads the Outcome of run id from db as it was last
// persisted, without running anything: for reports on a finished or
// interrupted run. It fails with ErrNoRun if there is none.
func LoadOutcome(db *bolt.DB, id string) (*Outcome, error) {
	var st *runState
	var recs []evalRecord
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		st, recs, err = readRun(tx, []byte(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	arch, err := rebuildArchive(st.Config.Reward, recs)
	if err != nil {
		return nil, err
	}
	return outcome(id, st, arch), nil
}

// rebuildArchive scores the records again (the score is a function of the
// persisted config) and archives them.
func rebuildArchive(rc RewardConfig, recs []evalRecord) (*Archive, error) {
	a := NewArchive()
	for _, r := range recs {
		s, err := rc.Score(r.Result)
		if err != nil {
			return nil, err
		}
		a.Insert(Candidate{Key: r.Result.Key, Result: r.Result, Score: s, Generation: r.Generation, Slot: r.Slot})
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
