package search

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/boltfile"
)

// records returns a copy of every record of run id in s.
func records(t *testing.T, s Store, id string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if err := s.Scan(runPrefix(id), func(k, v []byte) error {
		out[string(k)] = bytes.Clone(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// historyStore is a Store that remembers every value ever put, as the
// stale pages of a bbolt file do.
type historyStore struct {
	Store
	history [][2][]byte
}

func (h *historyStore) Put(kv map[string][]byte) error {
	for k, v := range kv {
		h.history = append(h.history, [2][]byte{[]byte(k), bytes.Clone(v)})
	}
	return h.Store.Put(kv)
}

var stateTestConfig = Config{Seed: 5, Parallelism: 2, Budget: Budget{MaxEvaluations: 16, Patience: -1}}

func TestDamagedRunState(t *testing.T) {
	flip := func(v []byte) []byte { v = bytes.Clone(v); v[len(v)-3] ^= 0x01; return v }
	const id = "run-7"
	for _, tc := range []struct {
		name   string
		damage func(s Store, recs map[string][]byte) error
	}{
		{"EditedState", func(s Store, recs map[string][]byte) error {
			k := string(stateKey(id))
			return s.Put(map[string][]byte{k: flip(recs[k])})
		}},
		{"EditedEvaluation", func(s Store, recs map[string][]byte) error {
			k := string(evalKey(id, 4))
			return s.Put(map[string][]byte{k: flip(recs[k])})
		}},
		{"EvaluationsSwapped", func(s Store, recs map[string][]byte) error {
			a, b := string(evalKey(id, 2)), string(evalKey(id, 3))
			return s.Put(map[string][]byte{a: recs[b], b: recs[a]})
		}},
		{"EvaluationMissing", func(s Store, _ map[string][]byte) error { return s.DeletePrefix(evalKey(id, 5)) }},
		{"StateOfAnotherRun", func(s Store, _ map[string][]byte) error {
			other := records(t, s, "other")
			return s.Put(map[string][]byte{string(stateKey(id)): other[string(stateKey("other"))]})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, filepath.Join(t.TempDir(), "cache.db"))
			want := run(t, stateTestConfig, &fakeEval{}, WithStore(s), WithRunID(id))
			run(t, stateTestConfig, &fakeEval{}, WithStore(s), WithRunID("other"))
			if err := tc.damage(s, records(t, s, id)); err != nil {
				t.Fatal(err)
			}
			sp := testSpace(t)
			_, err := Run(t.Context(), stateTestConfig, sp, &fakeEval{}, WithStore(s), WithRunID(id), WithTeacher(teacherResult(sp)))
			if !errors.Is(err, ErrDamagedRun) || !strings.Contains(err.Error(), `"`+id+`"`) {
				t.Fatalf("resume of a damaged run: %v, want ErrDamagedRun naming the run", err)
			}
			if _, err := LoadOutcome(s, id); !errors.Is(err, ErrDamagedRun) {
				t.Fatalf("LoadOutcome: %v", err)
			}
			if _, err := LoadOutcome(s, "other"); err != nil {
				t.Fatalf("the other run suffers: %v", err)
			}
			if err := DeleteRun(s, id); err != nil {
				t.Fatal(err)
			}
			if got := run(t, stateTestConfig, &fakeEval{}, WithStore(s), WithRunID(id)); !slices.Equal(trace(got), trace(want)) {
				t.Error("the run started over differs")
			}
		})
	}
	t.Run("BadRunID", func(t *testing.T) {
		sp := testSpace(t)
		if _, err := Run(t.Context(), stateTestConfig, sp, &fakeEval{}, WithRunID("a\x00b")); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("run ID with NUL: %v", err)
		}
	})
}

// TestRunSalvager offers the salvager every copy of every record a run
// ever wrote (as a damaged file's pages hold them), shuffled, minus what
// each case loses, and checks what it puts back.
func TestRunSalvager(t *testing.T) {
	want := run(t, stateTestConfig, &fakeEval{}) // uninterrupted
	h := &historyStore{Store: openStore(t, filepath.Join(t.TempDir(), "src.db"))}
	// An earlier run of the same ID, deleted: its records must not come back.
	earlier := stateTestConfig
	earlier.Seed = 99
	run(t, earlier, &fakeEval{}, WithStore(h))
	if err := DeleteRun(h, DefaultRunID); err != nil {
		t.Fatal(err)
	}
	full := run(t, stateTestConfig, &fakeEval{}, WithStore(h))
	last := string(evalKey(DefaultRunID, full.Evaluations-1))
	first := string(evalKey(DefaultRunID, 0))
	for _, tc := range []struct {
		name      string
		drop      func(k, v []byte) bool
		recovered int // runs
		evals     int
	}{
		{"Everything", func(k, v []byte) bool { return false }, 1, full.Evaluations},
		{"LastEvaluationLost", func(k, v []byte) bool { return string(k) == last }, 1, full.Evaluations - 1},
		{"FirstEvaluationEdited", func(k, v []byte) bool {
			if string(k) == first {
				v[len(v)-3] ^= 1
			}
			return false
		}, 1, 0}, // the state saved before the first evaluation
		{"EveryStateEdited", func(k, v []byte) bool {
			if string(k) == string(stateKey(DefaultRunID)) {
				v[len(v)-3] ^= 1
			}
			return false
		}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv := RunSalvager()
			rng := rand.New(rand.NewPCG(1, 2))
			for _, i := range rng.Perm(len(h.history)) {
				k, v := h.history[i][0], bytes.Clone(h.history[i][1])
				if !tc.drop(k, v) {
					sv.Offer(k, v)
				}
			}
			sv.Offer([]byte("not a run record"), []byte("x"))
			f, err := boltfile.Open(filepath.Join(t.TempDir(), "repaired.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := sv.Restore(f)
			if err != nil {
				t.Fatal(err)
			}
			if got.Recovered != tc.recovered || got.Rejected != 1-tc.recovered {
				t.Fatalf("salvaged %+v, want %d recovered", got, tc.recovered)
			}
			s := NewFileStore(f)
			out, err := LoadOutcome(s, DefaultRunID)
			if tc.recovered == 0 {
				if !errors.Is(err, ErrNoRun) {
					t.Fatalf("unrecoverable run: LoadOutcome %v, want ErrNoRun", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Evaluations != tc.evals {
				t.Errorf("%d evaluations recovered, want %d", out.Evaluations, tc.evals)
			}
			// The recovered run resumes to the uninterrupted run's end.
			if res := run(t, stateTestConfig, &fakeEval{}, WithStore(s)); !slices.Equal(trace(res), trace(want)) {
				t.Errorf("resumed from the salvage:\n got %v\nwant %v", trace(res), trace(want))
			}
		})
	}
}

// FuzzDecodeRunState decodes arbitrary run records: never a panic, and a
// record only from a value that verifies under its key.
func FuzzDecodeRunState(f *testing.F) {
	s := &historyStore{Store: memoryStore{}}
	run(f, Config{Seed: 1, Budget: Budget{MaxEvaluations: 2, Patience: -1}}, &fakeEval{}, WithStore(s))
	r := &refiner{}
	run(f, Config{Seed: 1, PopulationSize: 2, TournamentSize: 1, Budget: Budget{MaxEvaluations: 3, Patience: -1}, Refine: Refine{Top: 1, Label: "x"}}, &fakeEval{}, WithStore(s), WithRunID("refined"), WithRefine(r.refine))
	if len(r.calls) == 0 {
		f.Fatal("no refined record among the seeds")
	}
	for _, kv := range s.history {
		f.Add(kv[0], kv[1])
	}
	f.Add([]byte("x\x00s"), []byte("edgenas/search-run\x00"))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		rec, err := decodeRecord(key, value)
		if err != nil {
			return
		}
		if _, err := boltfile.Unseal(runDomain, key, value); err != nil {
			t.Fatalf("decoded a record that does not verify: %v", err)
		}
		if (rec.state == nil) == (rec.eval == nil) {
			t.Fatalf("decoded %+v", rec)
		}
	})
}

// memoryStore is a Store that keeps nothing (for seeds).
type memoryStore struct{}

func (memoryStore) Scan([]byte, func(k, v []byte) error) error { return nil }
func (memoryStore) Put(map[string][]byte) error                { return nil }
func (memoryStore) DeletePrefix([]byte) error                  { return nil }
