package search

import (
	"context"
	"errors"
	"hash/fnv"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/space"
)

// levelsEval is a FidelityEvaluator over model: at n examples the
// accuracy is the model's plus a deterministic error shrinking like
// 1/sqrt(n) (none at the last level, 1000 examples). It records the
// levels each key was scored at.
type levelsEval struct {
	fakeEval
	mu     sync.Mutex
	scored map[string][]int
}

func (l *levelsEval) EvaluateLevels(ctx context.Context, a space.Arch, levels []int, promote func(evaluator.Result) bool) ([]evaluator.Result, error) {
	base, err := l.Evaluate(ctx, a)
	if err != nil {
		return nil, err
	}
	var out []evaluator.Result
	for i, n := range levels {
		r := base
		r.Examples = n
		if n < 1000 {
			h := fnv.New64a()
			h.Write([]byte(a.Key()))
			r.Accuracy += (float64(h.Sum64()%200)/100 - 1) * 0.5 / float64(n)
		}
		l.mu.Lock()
		if l.scored == nil {
			l.scored = map[string][]int{}
		}
		l.scored[a.Key()] = append(l.scored[a.Key()], n)
		l.mu.Unlock()
		out = append(out, r)
		if i+1 < len(levels) && !promote(r) {
			break
		}
	}
	return out, nil
}

func result(acc float64, n int, lat time.Duration, size int64) evaluator.Result {
	return evaluator.Result{Accuracy: acc, Examples: n, Latency: devices.Measurement{Stats: devices.Stats{Median: lat}}, SizeBytes: size}
}

func TestScreenPromotion(t *testing.T) {
	r := &runner{archive: NewArchive(), cfg: Config{Fidelity: Fidelity{Levels: []int{100, 1000}, Margin: 2}}}
	r.archive.Insert(Candidate{Key: "a", Result: result(0.9, 1000, time.Millisecond, 100), Score: Score{Feasible: true}})
	r.live.set(r.archive.Front(), Reference{}, 0)
	promote := r.screen(func() bool { return true })
	for _, tc := range []struct {
		name string
		res  evaluator.Result
		want bool
	}{
		{"dominated even with the margin", result(0.5, 1000, 2*time.Millisecond, 200), false},
		{"more accurate", result(0.95, 100, 2*time.Millisecond, 200), true},
		{"faster", result(0.5, 100, time.Millisecond/2, 200), true},
		{"rescued by the margin on few examples", result(0.85, 100, 2*time.Millisecond, 200), true}, // 0.85 + 2·0.036 > 0.9
		{"not rescued on many examples", result(0.85, 10000, 2*time.Millisecond, 200), false},       // 0.85 + 2·0.0036 < 0.9
		{"equal to a front member", result(0.9, 1000, time.Millisecond, 100), true},                 // the margin lifts it above
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := promote(tc.res); got != tc.want {
				t.Fatalf("promote = %v, want %v", got, tc.want)
			}
		})
	}
	// The rule reads the front as it stands: a member recorded after the
	// rule was made (one of the same generation) screens what it dominates.
	more := result(0.95, 100, 2*time.Millisecond, 200)
	r.archive.Insert(Candidate{Key: "b", Result: result(1, 1000, time.Millisecond, 100), Score: Score{Feasible: true}})
	r.live.set(r.archive.Front(), Reference{}, 0)
	if promote(more) {
		t.Error("a result dominated by a member recorded after the rule was made is promoted")
	}
	if (&runner{archive: NewArchive()}).screen(nil) != nil {
		t.Fatal("screen without Fidelity is not nil")
	}
}

func TestArchiveKeepsScreenedOffTheFront(t *testing.T) {
	a := NewArchive()
	a.Insert(Candidate{Key: "full", Result: result(0.8, 1000, time.Millisecond, 100), Score: Score{Feasible: true}})
	added, onFront := a.Insert(Candidate{Key: "low", Result: result(0.99, 100, time.Millisecond/2, 50), Score: Score{Feasible: true}, Screened: true})
	if !added || onFront || a.FrontSize() != 1 || a.Front()[0].Key != "full" {
		t.Fatalf("a screened candidate that dominates the front: added %v, on front %v, front %v", added, onFront, a.Front())
	}
}

func TestMultiFidelityRun(t *testing.T) {
	sp := testSpace(t)
	cfg := Config{Strategy: StrategyNSGA2, PopulationSize: 12, Budget: Budget{MaxEvaluations: 120, Patience: -1},
		Fidelity: Fidelity{Levels: []int{200, 500, 1000}}}
	ev := &levelsEval{}
	store := openStore(t, filepath.Join(t.TempDir(), "run.db"))
	out, err := Run(context.Background(), cfg, sp, ev, WithTeacher(teacherResult(sp)), WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if out.Evaluations != 120 || out.Config.Fidelity.Margin != DefaultFidelityMargin {
		t.Fatalf("%d evaluations, margin %v", out.Evaluations, out.Config.Fidelity.Margin)
	}
	screened, full := 0, 0
	for _, c := range out.Candidates {
		levels := ev.scored[c.Key]
		if c.Screened {
			screened++
			if c.Result.Examples >= 1000 || len(levels) == 3 || levels[len(levels)-1] != c.Result.Examples {
				t.Errorf("screened %s holds %d examples, scored at %v", c.Key, c.Result.Examples, levels)
			}
		} else {
			full++
			if c.Result.Examples != 1000 || len(levels) != 3 {
				t.Errorf("%s not screened but holds %d examples, scored at %v", c.Key, c.Result.Examples, levels)
			}
		}
	}
	if screened == 0 || full == 0 {
		t.Fatalf("%d screened, %d at the last level: the rule never or always promotes", screened, full)
	}
	for _, c := range out.Front {
		if c.Screened || c.Result.Examples != 1000 {
			t.Errorf("front member %s: screened %v, %d examples", c.Key, c.Screened, c.Result.Examples)
		}
	}
	t.Logf("%d screened, %d at the last level, front %d", screened, full, len(out.Front))
	// The screened marks survive a resume.
	again, err := Run(context.Background(), cfg, sp, ev, WithTeacher(teacherResult(sp)), WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, c := range again.Candidates {
		if c.Screened != out.Candidates[i].Screened {
			t.Fatalf("candidate %s: screened %v after resuming, %v before", c.Key, c.Screened, out.Candidates[i].Screened)
		}
		if c.Screened {
			n++
		}
	}
	if n != screened || len(again.Front) != len(out.Front) {
		t.Fatalf("resumed: %d screened and front %d, want %d and %d", n, len(again.Front), screened, len(out.Front))
	}
}

func TestMultiFidelityNeedsLevels(t *testing.T) {
	sp := testSpace(t)
	_, err := Run(context.Background(), Config{Fidelity: Fidelity{Levels: []int{10, 100}}}, sp, &fakeEval{}, WithTeacher(teacherResult(sp)))
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("an evaluator without EvaluateLevels under fidelity: %v", err)
	}
}

func TestFidelityConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     Fidelity
		field string // "" valid
	}{
		{"off", Fidelity{}, ""},
		{"two levels", Fidelity{Levels: []int{100, 2000}}, ""},
		{"one level", Fidelity{Levels: []int{100}}, "fidelity.levels"},
		{"decreasing", Fidelity{Levels: []int{500, 100}}, "fidelity.levels"},
		{"zero", Fidelity{Levels: []int{0, 100}}, "fidelity.levels"},
		{"negative margin", Fidelity{Levels: []int{10, 100}, Margin: -1}, "fidelity.margin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Fidelity: tc.f}.Validate()
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("valid fidelity rejected: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("error %v, want one on %s", err, tc.field)
			}
		})
	}
}

// TestScreeningIndependentOfParallelism runs the same multi-fidelity and
// predictor-screened searches one evaluation at a time and eight at once:
// each candidate is screened against the front with every earlier
// candidate recorded, so both find the same candidates, screen the same
// ones and end with the same front.
func TestScreeningIndependentOfParallelism(t *testing.T) {
	sp := testSpace(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		ev   func() Evaluator
	}{
		{"multi-fidelity", Config{Strategy: StrategyNSGA2, PopulationSize: 12, Budget: Budget{MaxEvaluations: 96, Patience: -1},
			Fidelity: Fidelity{Levels: []int{200, 500, 1000}}}, func() Evaluator { return &levelsEval{} }},
		{"predictor screening", Config{Strategy: StrategyNSGA2, Seed: 3, PopulationSize: 12, Budget: Budget{MaxEvaluations: 96, Patience: -1},
			Screening: Screening{Predictor: true, MinMeasurements: 24}}, func() Evaluator { return &screenEval{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs []*Outcome
			for _, par := range []int{1, 8} {
				cfg := tc.cfg
				cfg.Parallelism = par
				out, err := Run(context.Background(), cfg, sp, tc.ev(), WithTeacher(teacherResult(sp)))
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, out)
			}
			a, b := runs[0], runs[1]
			screened := 0
			for i := range a.Candidates {
				x, y := a.Candidates[i], b.Candidates[i]
				if x.Key != y.Key || x.Screened != y.Screened || x.Result.Examples != y.Result.Examples {
					t.Fatalf("candidate %d: %s screened %v (%d examples) one at a time, %s screened %v (%d) eight at once",
						i, x.Key, x.Screened, x.Result.Examples, y.Key, y.Screened, y.Result.Examples)
				}
				if x.Screened {
					screened++
				}
			}
			if len(a.Candidates) != len(b.Candidates) || len(a.Front) != len(b.Front) || screened == 0 {
				t.Fatalf("%d and %d candidates, fronts of %d and %d, %d screened", len(a.Candidates), len(b.Candidates), len(a.Front), len(b.Front), screened)
			}
		})
	}
}
