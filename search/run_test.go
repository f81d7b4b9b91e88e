package search

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgenas/edgenas/space"
)

// trace is what must be equal between two runs that are the same run.
func trace(o *Outcome) []string {
	var out []string
	for _, c := range o.Candidates {
		out = append(out, c.Key+"@"+itoa(c.Generation)+"."+itoa(c.Slot))
	}
	out = append(out, "front:")
	out = append(out, keys(o.Front)...)
	for _, h := range o.History {
		out = append(out, "hv:"+itoa(h.Generation)+":"+itoa(h.Evaluations)+":"+ftoa(h.Hypervolume))
	}
	return append(out, "stop:"+string(o.Stop), "gen:"+itoa(o.Generations))
}

func itoa(i int) string { return strconv.Itoa(i) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func run(t testing.TB, cfg Config, ev Evaluator, opts ...Option) *Outcome {
	t.Helper()
	sp := testSpace(t)
	out, err := Run(context.Background(), cfg, sp, ev, append([]Option{WithTeacher(teacherResult(sp))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunDeterministic(t *testing.T) {
	for _, s := range Strategies {
		t.Run(s, func(t *testing.T) {
			cfg := Config{Strategy: s, Seed: 7, Budget: Budget{MaxEvaluations: 70, Patience: -1}}
			a := run(t, cfg, &fakeEval{})
			pcfg := cfg
			pcfg.Parallelism = 3
			b := run(t, pcfg, &fakeEval{delay: 100 * time.Microsecond})
			if !slices.Equal(trace(a), trace(b)) {
				t.Errorf("same seed, different runs (parallelism 1 vs 3):\n%v\n%v", trace(a), trace(b))
			}
			cfg.Seed = 8
			if c := run(t, cfg, &fakeEval{}); slices.Equal(trace(a), trace(c)) {
				t.Error("a different seed gave the same run")
			}
			if a.Evaluations != 70 || a.Stop != StopMaxEvaluations || len(a.Candidates) != 70 || len(a.Front) == 0 {
				t.Errorf("evaluations %d stop %s front %d", a.Evaluations, a.Stop, len(a.Front))
			}
			for i := 1; i < len(a.History); i++ {
				if a.History[i].Hypervolume < a.History[i-1].Hypervolume {
					t.Errorf("hypervolume fell: %v", a.History)
				}
			}
		})
	}
}

func TestRunNeverEvaluatesTwice(t *testing.T) {
	for _, s := range Strategies {
		t.Run(s, func(t *testing.T) {
			f := &fakeEval{}
			out := run(t, Config{Strategy: s, PopulationSize: 8, Budget: Budget{MaxEvaluations: 60, Patience: -1}}, f)
			for k, n := range f.seen {
				if n > 1 {
					t.Errorf("%s evaluated %d times", k, n)
				}
			}
			if int(f.calls.Load()) != out.Evaluations {
				t.Errorf("%d calls, %d evaluations", f.calls.Load(), out.Evaluations)
			}
		})
	}
}

func TestRunParallelism(t *testing.T) {
	f := &fakeEval{delay: 2 * time.Millisecond}
	out := run(t, Config{Parallelism: 3, Budget: Budget{MaxEvaluations: 30}}, f)
	if out.Evaluations != 30 {
		t.Fatalf("%d evaluations", out.Evaluations)
	}
	if f.maxActive != 3 {
		t.Errorf("at most %d evaluations ran at once, want 3", f.maxActive)
	}
}

func TestRunStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want StopReason
	}{
		{"max evaluations", Config{Budget: Budget{MaxEvaluations: 23}}, StopMaxEvaluations},
		{"max generations", Config{Budget: Budget{MaxGenerations: 2, MaxEvaluations: 1000}}, StopMaxGenerations},
		{"patience", Config{Strategy: StrategyRegularizedEvolution, Batch: 1, Budget: Budget{Patience: 2, MaxEvaluations: 10000}}, StopPatience},
		{"max duration", Config{Budget: Budget{MaxDuration: 30 * time.Millisecond, MaxEvaluations: 100000, Patience: -1}}, StopMaxDuration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, tc.cfg, &fakeEval{delay: 200 * time.Microsecond})
			if out.Stop != tc.want {
				t.Fatalf("stop %s, want %s (%d evaluations, %d generations)", out.Stop, tc.want, out.Evaluations, out.Generations)
			}
			switch tc.want {
			case StopMaxEvaluations:
				if out.Evaluations != 23 {
					t.Errorf("%d evaluations", out.Evaluations)
				}
			case StopMaxGenerations:
				if out.Generations != 2 || len(out.History) != 2 {
					t.Errorf("%d generations, history %v", out.Generations, out.History)
				}
			case StopPatience:
				h := out.History
				if len(h) < 3 || h[len(h)-1].Hypervolume != h[len(h)-3].Hypervolume {
					t.Errorf("history %v", h)
				}
			}
		})
	}
}

func TestRunExhaustsTinySpace(t *testing.T) {
	sp, err := space.New(space.Spec{Layers: []int{1}, LayerSources: []int{0}, Heads: []int{1, 2}, FFN: []int{256}, Bits: []int{8, 32}, SeqLen: []int{128}}, testTeacher)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Strategies {
		out, err := Run(context.Background(), Config{Strategy: s, PopulationSize: 3, TournamentSize: 2, Budget: Budget{Patience: -1}}, sp, &fakeEval{}, WithTeacher(teacherResult(sp)))
		if err != nil {
			t.Fatal(err)
		}
		if out.Stop != StopExhausted || out.Evaluations != 4 {
			t.Errorf("%s: stop %s after %d evaluations of a space of 4", s, out.Stop, out.Evaluations)
		}
	}
}

func TestRunCancelThenResume(t *testing.T) {
	for _, s := range Strategies {
		t.Run(s, func(t *testing.T) {
			cfg := Config{Strategy: s, Seed: 3, Parallelism: 2, Budget: Budget{MaxEvaluations: 50, Patience: -1}}
			want := run(t, cfg, &fakeEval{})
			store := openStore(t, filepath.Join(t.TempDir(), "run.db"))
			sp := testSpace(t)
			total := 0
			for round := 0; ; round++ {
				ctx, cancel := context.WithCancel(context.Background())
				f := &fakeEval{delay: 300 * time.Microsecond}
				stopAt := 7 + round
				n := 0
				out, err := Run(ctx, cfg, sp, f, WithStore(store), WithTeacher(teacherResult(sp)), WithProgress(func(e Event) {
					if e.Kind == EventEvaluation {
						if n++; n == stopAt {
							cancel()
						}
					}
				}))
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				total += int(f.calls.Load())
				if out.Stop != StopCanceled {
					if !slices.Equal(trace(out), trace(want)) {
						t.Errorf("resumed run differs:\n%v\n%v", trace(out), trace(want))
					}
					break
				}
				if round > 20 {
					t.Fatal("never finished")
				}
			}
			// Cancelled evaluations in flight are redone: at most
			// Parallelism−1 per round beyond the budget.
			if total < 50 {
				t.Errorf("%d evaluator calls for 50 evaluations", total)
			}
		})
	}
}

func TestResumeChecksIdentity(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "run.db"))
	sp := testSpace(t)
	cfg := Config{Budget: Budget{MaxEvaluations: 20}}
	if _, err := Run(context.Background(), cfg, sp, &fakeEval{}, WithStore(store), WithTeacher(teacherResult(sp))); err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.Strategy, bad.Seed = StrategyNSGA2, 9
	_, err := Run(context.Background(), bad, sp, &fakeEval{}, WithStore(store))
	if !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), "strategy") || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("got %v", err)
	}
	// Another run ID is another run.
	if _, err := Run(context.Background(), bad, sp, &fakeEval{}, WithStore(store), WithRunID("other"), WithTeacher(teacherResult(sp))); err != nil {
		t.Fatal(err)
	}
	// A larger budget continues the same run.
	more := cfg
	more.Budget.MaxEvaluations = 35
	f := &fakeEval{}
	out, err := Run(context.Background(), more, sp, f, WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if out.Evaluations != 35 || f.calls.Load() != 15 {
		t.Errorf("%d evaluations, %d new calls", out.Evaluations, f.calls.Load())
	}
	loaded, err := LoadOutcome(store, DefaultRunID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(trace(loaded), trace(out)) {
		t.Error("LoadOutcome differs from the run's Outcome")
	}
	if err := DeleteRun(store, DefaultRunID); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOutcome(store, DefaultRunID); !errors.Is(err, ErrNoRun) {
		t.Errorf("after DeleteRun: %v", err)
	}
}

func TestRunEvaluatesTeacherForReference(t *testing.T) {
	sp := testSpace(t)
	f := &fakeEval{}
	out, err := Run(context.Background(), Config{Budget: Budget{MaxEvaluations: 10}}, sp, f)
	if err != nil {
		t.Fatal(err)
	}
	tr := teacherResult(sp)
	if out.Teacher == nil || out.Config.Reference.Latency != tr.Latency.Median || out.Config.Reward.TargetSizeBytes != tr.SizeBytes/2 {
		t.Errorf("teacher %v, config %+v", out.Teacher, out.Config)
	}
	if f.calls.Load() != 11 || out.Evaluations != 10 {
		t.Errorf("%d calls, %d evaluations: the teacher is not part of the budget", f.calls.Load(), out.Evaluations)
	}
}

func TestRunEvaluationError(t *testing.T) {
	sp := testSpace(t)
	probe := run(t, Config{Budget: Budget{MaxEvaluations: 5}}, &fakeEval{})
	f := &fakeEval{fail: failKey(probe.Candidates[3].Key, errors.New("fake failure"))}
	out, err := Run(context.Background(), Config{Budget: Budget{MaxEvaluations: 5}}, sp, f, WithTeacher(teacherResult(sp)))
	if err == nil || !strings.Contains(err.Error(), "fake failure") {
		t.Fatalf("got %v", err)
	}
	if out == nil || out.Evaluations != 3 { // slots 0–2; slot 3 failed
		t.Errorf("outcome with %d evaluations", out.Evaluations)
	}
}

func TestRunEventsAndMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	var events []Event
	out := run(t, Config{Budget: Budget{MaxEvaluations: 40}}, &fakeEval{}, WithRegisterer(reg), WithProgress(func(e Event) { events = append(events, e) }))
	var evals, gens, fronts int
	for i, e := range events {
		switch e.Kind {
		case EventEvaluation:
			evals++
			if e.Candidate == nil || e.Evaluations != evals {
				t.Fatalf("event %d: %+v", i, e)
			}
		case EventFront:
			fronts++
			if events[i-1].Kind != EventEvaluation || len(e.Front) != e.NoiseFrontSize || e.NoiseFrontSize > e.FrontSize {
				t.Fatalf("front event %d: %+v", i, e)
			}
		case EventGeneration:
			if e.Generation != gens {
				t.Fatalf("generation event %d for generation %d", e.Generation, gens)
			}
			gens++
		}
	}
	if evals != 40 || gens != out.Generations || fronts == 0 {
		t.Errorf("%d evaluation, %d generation, %d front events", evals, gens, fronts)
	}
	got := gather(t, reg)
	want := map[string]float64{
		"edgenas_search_evaluations_total":                       40,
		"edgenas_search_evaluation_duration_seconds":             40,
		"edgenas_search_front_size":                              float64(out.ExactFrontSize),
		"edgenas_search_best_reward":                             out.Best.Reward,
		"edgenas_search_generations_total":                       float64(out.Generations),
		"edgenas_search_evaluation_retries_total":                0,
		`edgenas_search_budget_used_ratio{budget="evaluations"}`: 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if hv := got["edgenas_search_hypervolume"]; hv <= 0 || hv > 1 {
		t.Errorf("hypervolume gauge %v", hv)
	}
	for _, b := range []string{"generations", "duration"} {
		if v, ok := got[`edgenas_search_budget_used_ratio{budget="`+b+`"}`]; ok {
			t.Errorf("budget %s has no limit but a used ratio %v", b, v)
		}
	}
	// A second run in the same process reuses the collectors.
	run(t, Config{Budget: Budget{MaxEvaluations: 5}}, &fakeEval{}, WithRegisterer(reg))
}

func TestBudgetUsedMetric(t *testing.T) {
	ratio := func(got map[string]float64, b string) (float64, bool) {
		v, ok := got[`edgenas_search_budget_used_ratio{budget="`+b+`"}`]
		return v, ok
	}
	for _, tc := range []struct {
		name   string
		budget Budget
		check  func(t *testing.T, got map[string]float64, out *Outcome)
	}{
		{"evaluations cut short by generations", Budget{MaxEvaluations: 100, MaxGenerations: 2}, func(t *testing.T, got map[string]float64, out *Outcome) {
			if v, _ := ratio(got, "evaluations"); v != float64(out.Evaluations)/100 || v >= 1 {
				t.Errorf("evaluations used %v, want %d/100", v, out.Evaluations)
			}
			if v, _ := ratio(got, "generations"); v != 1 {
				t.Errorf("generations used %v, want 1 (stopped by max_generations)", v)
			}
			if v, ok := ratio(got, "duration"); ok {
				t.Errorf("duration used %v without max_duration", v)
			}
		}},
		{"duration limit far away", Budget{MaxEvaluations: 10, MaxDuration: time.Hour}, func(t *testing.T, got map[string]float64, out *Outcome) {
			if v, _ := ratio(got, "duration"); v != out.Elapsed.Seconds()/3600 || v <= 0 {
				t.Errorf("duration used %v, want elapsed %v of 1h", v, out.Elapsed)
			}
			if v, _ := ratio(got, "evaluations"); v != 1 {
				t.Errorf("evaluations used %v, want 1", v)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			out := run(t, Config{Budget: tc.budget}, &fakeEval{}, WithRegisterer(reg))
			tc.check(t, gather(t, reg), out)
		})
	}
}

func TestNonDominatedSortAndCrowding(t *testing.T) {
	pts := []Point{{0, 0, 0}, {1, 1, 1}, {0, 2, 0}, {2, 0, 0}, {1, 1, 1}, {0, 0, 0}}
	viol := []float64{0, 0, 0, 0, 0.5, 0.1}
	fronts := nonDominatedSort(pts, viol)
	want := [][]int{{0}, {1, 2, 3}, {5}, {4}}
	if len(fronts) != len(want) {
		t.Fatalf("fronts %v, want %v", fronts, want)
	}
	for i := range want {
		if !slices.Equal(fronts[i], want[i]) {
			t.Fatalf("fronts %v, want %v", fronts, want)
		}
	}
	line := []Point{{0, 4, 0}, {1, 3, 0}, {2, 2, 0}, {4, 0, 0}}
	cd := crowding(line, []int{0, 1, 2, 3})
	if !math.IsInf(cd[0], 1) || !math.IsInf(cd[3], 1) || math.Abs(cd[1]-1) > 1e-12 || math.Abs(cd[2]-1.5) > 1e-12 {
		t.Errorf("crowding %v", cd)
	}
}
