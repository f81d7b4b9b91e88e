package evaluator

import (
	"context"
	"testing"

	"github.com/edgenas/edgenas/devices/devicetest"
)

func TestEvaluateLevels(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		promote  bool
		wantN    []int // examples of each Result returned
		wantMeas int
	}{
		{"promoted to every level", true, []int{10, 40, 100}, 1},
		{"screened out after the first", false, []int{10}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			dev := &devicetest.Fake{}
			cache := &MemCache{}
			e := newEvaluator(t, f, f.ex, dev, cache) // subsample 40 of 100
			calls := 0
			rs, err := e.EvaluateLevels(ctx, arch(8), []int{10, 40, 1000}, func(r Result) bool { calls++; return tc.promote })
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(tc.wantN) {
				t.Fatalf("%d results, want %d", len(rs), len(tc.wantN))
			}
			for i, r := range rs {
				if r.Examples != tc.wantN[i] {
					t.Errorf("level %d scored %d examples, want %d", i, r.Examples, tc.wantN[i])
				}
				if r.Latency != rs[0].Latency || r.SizeBytes != rs[0].SizeBytes {
					t.Errorf("level %d latency/size %v/%d differ from the first level's %v/%d", i, r.Latency.Median, r.SizeBytes, rs[0].Latency.Median, rs[0].SizeBytes)
				}
				if i > 0 && (r.Stages.Build != 0 || r.Stages.Latency != 0) {
					t.Errorf("level %d charged build %v and latency %v, done at the first level", i, r.Stages.Build, r.Stages.Latency)
				}
			}
			if rs[0].Stages.Build <= 0 || rs[0].Stages.Latency <= 0 {
				t.Errorf("the first level charged build %v and latency %v", rs[0].Stages.Build, rs[0].Stages.Latency)
			}
			if f.builds.Load() != 1 || dev.Measures() != tc.wantMeas {
				t.Fatalf("built %d times, measured %d times, want once each", f.builds.Load(), dev.Measures())
			}
			if tc.promote && calls != len(tc.wantN)-1 || !tc.promote && calls != 1 {
				t.Errorf("promote called %d times", calls)
			}
			// Level 40 is Evaluate's subsample and the top level EvaluateFull's: cached.
			sub, err := e.Evaluate(ctx, arch(8))
			if err != nil {
				t.Fatal(err)
			}
			if tc.promote {
				full, err := e.EvaluateFull(ctx, arch(8))
				if err != nil {
					t.Fatal(err)
				}
				if sub.Accuracy != rs[1].Accuracy || full.Accuracy != rs[2].Accuracy || f.builds.Load() != 1 {
					t.Fatalf("Evaluate %v and EvaluateFull %v disagree with levels %v %v, or rebuilt (%d builds)", sub.Accuracy, full.Accuracy, rs[1].Accuracy, rs[2].Accuracy, f.builds.Load())
				}
			} else if f.builds.Load() != 2 {
				t.Fatalf("Evaluate after a screened-out level built %d times in all, want 2 (level 40 was never scored)", f.builds.Load())
			}
			// ScoreAt scores the same examples as the level.
			m, err := f.build(ctx, arch(8))
			if err != nil {
				t.Fatal(err)
			}
			at, err := e.ScoreAt(ctx, m, 10)
			if err != nil {
				t.Fatal(err)
			}
			if at.Accuracy != rs[0].Accuracy || at.Examples != 10 {
				t.Fatalf("ScoreAt(10) = %v on %d examples, level 10 = %v", at.Accuracy, at.Examples, rs[0].Accuracy)
			}
		})
	}
}

func TestEvaluateLevelsRejects(t *testing.T) {
	f := newFixture(t)
	e := newEvaluator(t, f, f.ex, &devicetest.Fake{}, &MemCache{})
	for _, tc := range []struct {
		name   string
		levels []int
	}{
		{"none", nil},
		{"not increasing", []int{40, 10}},
		{"zero", []int{0, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.EvaluateLevels(context.Background(), arch(8), tc.levels, func(Result) bool { return true }); err == nil {
				t.Fatal("no error")
			}
			if f.builds.Load() != 0 {
				t.Fatal("built a student for rejected levels")
			}
		})
	}
}
