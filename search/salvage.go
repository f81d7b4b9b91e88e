package search

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/edgenas/edgenas/internal/boltfile"
)

// RunSalvager returns the boltfile.Salvager of run records. Per run ID, a
// repair puts back the newest state whose evaluation records are all found
// and verify, with exactly those records, byte for byte, so the run
// resumes where that state left it. A run it cannot put back together is
// left out: the search starts it again, and every evaluation in the cache
// is reused.
func RunSalvager() boltfile.Salvager { return &runSalvager{runs: map[string]*salvagedRun{}} }

type runSalvager struct {
	runs     map[string]*salvagedRun
	rejected int // records that did not verify
}

// salvagedRun is every verified copy of a run's records found.
type salvagedRun struct {
	states  []*stateRecord
	values  map[any][]byte // sealed value of each state and evaluation record
	byChain map[string]*evalEnvelope
}

func (s *runSalvager) Offer(key, value []byte) {
	if !boltfile.Sealed(runDomain, value) {
		return
	}
	rec, err := decodeRecord(key, value)
	if err != nil {
		s.rejected++
		return
	}
	r := s.runs[rec.id]
	if r == nil {
		r = &salvagedRun{values: map[any][]byte{}, byChain: map[string]*evalEnvelope{}}
		s.runs[rec.id] = r
	}
	v := bytes.Clone(value)
	if rec.state != nil {
		r.states = append(r.states, rec.state)
		r.values[rec.state] = v
		return
	}
	r.byChain[string(rec.eval.chain())] = rec.eval
	r.values[rec.eval] = v
}

func (s *runSalvager) Restore(f *boltfile.File) (boltfile.Salvaged, error) {
	out := boltfile.Salvaged{What: "run states"}
	if s.rejected > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d run records did not verify", s.rejected))
	}
	store := NewFileStore(f)
	for _, id := range slices.Sorted(maps.Keys(s.runs)) {
		r := s.runs[id]
		// Newest first: the latest run of the ID, its latest save.
		slices.SortFunc(r.states, func(a, b *stateRecord) int {
			return cmp.Or(cmp.Compare(b.Born, a.Born), cmp.Compare(b.Seq, a.Seq))
		})
		kv, st := restoreRun(id, r)
		if kv == nil {
			out.Rejected++
			out.Notes = append(out.Notes, fmt.Sprintf("run %q: no state with all its evaluation records verifies; the search starts it again, reusing every cached evaluation", id))
			continue
		}
		if err := store.Put(kv); err != nil {
			return out, fmt.Errorf("run %q: %w", id, err)
		}
		out.Recovered++
		out.Notes = append(out.Notes, fmt.Sprintf("run %q: recovered at generation %d with %d evaluations", id, st.State.Generation, st.Evals))
	}
	return out, nil
}

// restoreRun returns the records of the newest state of r that can be put
// back with all its evaluation records, and that state; or nil.
func restoreRun(id string, r *salvagedRun) (map[string][]byte, *stateRecord) {
	for _, st := range r.states {
		if _, err := assemble(st, r.byChain); err != nil {
			continue
		}
		envs, _ := chainOf(st, r.byChain) // assemble succeeded: so does chainOf
		kv := map[string][]byte{string(stateKey(id)): r.values[st]}
		for _, e := range envs {
			kv[string(evalKey(id, e.N))] = r.values[e]
		}
		return kv, st
	}
	return nil, nil
}
