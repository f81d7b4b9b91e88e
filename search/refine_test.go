package search

import (
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/evaluator"
)

// refineTestConfig refines the best two candidates of each of four
// generations.
func refineTestConfig(top int) Config {
	return Config{Strategy: StrategyGA, Seed: 9, PopulationSize: 6, TournamentSize: 2, Budget: Budget{MaxEvaluations: 1000, MaxGenerations: 4, Patience: -1},
		Refine: Refine{Top: top, Label: "plus 0.02"}}
}

// refiner refines a candidate by adding 0.02 to its accuracy, counting the
// refinements per key; cancel, when set, is called instead of the n-th
// refinement (from 1), which then fails with the context's error.
type refiner struct {
	calls  map[string]int
	n      int
	cancel func(n int) bool
}

func (f *refiner) refine(ctx context.Context, c Candidate) (evaluator.Result, error) {
	f.n++
	if f.cancel != nil && f.cancel(f.n) {
		return evaluator.Result{}, ctx.Err()
	}
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[c.Key]++
	res := c.Result
	res.Accuracy += 0.02
	return res, nil
}

func TestRefine(t *testing.T) {
	sp := testSpace(t)
	t.Run("the best of each generation are refined once", func(t *testing.T) {
		f := &refiner{}
		out, err := Run(context.Background(), refineTestConfig(2), sp, &fakeEval{}, WithTeacher(teacherResult(sp)), WithRefine(f.refine))
		if err != nil {
			t.Fatal(err)
		}
		if out.Generations != 4 {
			t.Fatalf("%d generations, want 4", out.Generations)
		}
		byGen := map[int][]Candidate{}
		for _, c := range out.Candidates {
			byGen[c.Generation] = append(byGen[c.Generation], c)
		}
		for g, cs := range byGen {
			// The chosen are the best two by the unrefined reward.
			unrefined := map[string]float64{}
			for _, c := range cs {
				res := c.Result
				if c.Refined {
					res.Accuracy -= 0.02
				}
				s, err := out.Config.Reward.Score(res)
				if err != nil {
					t.Fatal(err)
				}
				unrefined[c.Key] = s.Reward
			}
			slices.SortStableFunc(cs, func(x, y Candidate) int {
				return cmp.Or(cmp.Compare(unrefined[y.Key], unrefined[x.Key]), cmp.Compare(x.Slot, y.Slot), strings.Compare(x.Key, y.Key))
			})
			for i, c := range cs {
				acc, _, _ := model(c.Result.Arch)
				want := acc
				if i < 2 {
					want += 0.02
				}
				if c.Refined != (i < 2) || c.Result.Accuracy != want {
					t.Errorf("generation %d, rank %d (%s): refined %v, accuracy %v; want refined %v, accuracy %v", g, i, c.Key, c.Refined, c.Result.Accuracy, i < 2, want)
				}
				if s, _ := out.Config.Reward.Score(c.Result); !reflect.DeepEqual(s, c.Score) {
					t.Errorf("%s: score %+v does not judge its result (%+v)", c.Key, c.Score, s)
				}
			}
		}
		if len(f.calls) != 8 {
			t.Errorf("%d candidates refined, want 8 (2 in each of 4 generations)", len(f.calls))
		}
		for k, n := range f.calls {
			if n != 1 {
				t.Errorf("%s refined %d times", k, n)
			}
		}
	})
	t.Run("off changes nothing", func(t *testing.T) {
		f := &refiner{}
		with, err := Run(context.Background(), refineTestConfig(0), sp, &fakeEval{}, WithTeacher(teacherResult(sp)), WithRefine(f.refine))
		if err != nil {
			t.Fatal(err)
		}
		without, err := Run(context.Background(), refineTestConfig(0), sp, &fakeEval{}, WithTeacher(teacherResult(sp)))
		if err != nil {
			t.Fatal(err)
		}
		if f.n != 0 || !reflect.DeepEqual(with.Candidates, without.Candidates) {
			t.Errorf("refined %d; candidates differ: %v", f.n, !reflect.DeepEqual(with.Candidates, without.Candidates))
		}
	})
	t.Run("a resumed run refines nothing twice", func(t *testing.T) {
		whole := &refiner{}
		want, err := Run(context.Background(), refineTestConfig(2), sp, &fakeEval{}, WithTeacher(teacherResult(sp)), WithRefine(whole.refine))
		if err != nil {
			t.Fatal(err)
		}
		st := openStore(t, filepath.Join(t.TempDir(), "runs.db"))
		calls := map[string]int{}
		// Interrupted at the 2nd, then the 5th refinement.
		for _, at := range []int{2, 3, -1} {
			ctx, cancel := context.WithCancel(context.Background())
			f := &refiner{calls: calls, cancel: func(n int) bool {
				if n == at {
					cancel()
					return true
				}
				return false
			}}
			out, err := Run(ctx, refineTestConfig(2), sp, &fakeEval{}, WithTeacher(teacherResult(sp)), WithRefine(f.refine), WithStore(st))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if at > 0 && out.Stop != StopCanceled {
				t.Fatalf("interrupted at refinement %d: stopped %s", at, out.Stop)
			}
			if at < 0 {
				if !reflect.DeepEqual(out.Candidates, want.Candidates) || !reflect.DeepEqual(out.History, want.History) {
					t.Errorf("the resumed run found other candidates or history than the uninterrupted one")
				}
				if !reflect.DeepEqual(calls, whole.calls) {
					t.Errorf("refinements %v, want %v", calls, whole.calls)
				}
			}
		}
		again, err := LoadOutcome(st, DefaultRunID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again.Candidates, want.Candidates) {
			t.Errorf("the persisted outcome differs from the run's")
		}
	})
}

func TestRefineConfig(t *testing.T) {
	sp := testSpace(t)
	f := &refiner{}
	for _, tc := range []struct {
		name  string
		top   int
		opts  []Option
		field string
	}{
		{"negative top", -1, []Option{WithRefine(f.refine)}, "refine.top"},
		{"no refinement given", 1, nil, "refine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), refineTestConfig(tc.top), sp, &fakeEval{}, append(tc.opts, WithTeacher(teacherResult(sp)))...)
			var fe *FieldError
			if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("got %v, want a *FieldError on %s", err, tc.field)
			}
		})
	}
	t.Run("the label is part of the run", func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "runs.db"))
		cfg := refineTestConfig(1)
		cfg.Budget.MaxGenerations = 1
		if _, err := Run(context.Background(), cfg, sp, &fakeEval{}, WithTeacher(teacherResult(sp)), WithRefine(f.refine), WithStore(st)); err != nil {
			t.Fatal(err)
		}
		cfg.Refine.Label = "other"
		if _, err := Run(context.Background(), cfg, sp, &fakeEval{}, WithTeacher(teacherResult(sp)), WithRefine(f.refine), WithStore(st)); !errors.Is(err, ErrStateMismatch) {
			t.Fatalf("resumed with another refinement: got %v, want ErrStateMismatch", err)
		}
	})
}
