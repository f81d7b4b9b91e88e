package evaluator

import (
	"context"
	"testing"

	"github.com/edgenas/edgenas/devices/devicetest"
)

func TestEvaluateScreened(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		cachedBefore bool // Evaluate a first
		accept       bool
		wantMeasured bool
		wantCalls    int
		wantMeasures int // device measurements in all
		wantBuilds   int64
	}{
		{"rejected: scored, not measured", false, false, false, 1, 0, 1},
		{"accepted: measured", false, true, true, 1, 1, 1},
		{"cached: served measured without asking", true, false, true, 0, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			dev := &devicetest.Fake{}
			e := newEvaluator(t, f, f.ex, dev, &MemCache{})
			var first Result
			if tc.cachedBefore {
				var err error
				if first, err = e.Evaluate(ctx, arch(8)); err != nil {
					t.Fatal(err)
				}
			}
			calls := 0
			r, measured, err := e.EvaluateScreened(ctx, arch(8), func(r Result) bool {
				calls++
				if r.Latency.Median != 0 || r.SizeBytes <= 0 || r.Examples == 0 {
					t.Errorf("asked with latency %v, size %d, %d examples: want unmeasured, sized and scored", r.Latency.Median, r.SizeBytes, r.Examples)
				}
				return tc.accept
			})
			if err != nil {
				t.Fatal(err)
			}
			if measured != tc.wantMeasured || calls != tc.wantCalls || dev.Measures() != tc.wantMeasures || f.builds.Load() != tc.wantBuilds {
				t.Fatalf("measured %v, asked %d times, %d measurements, %d builds; want %v, %d, %d, %d",
					measured, calls, dev.Measures(), f.builds.Load(), tc.wantMeasured, tc.wantCalls, tc.wantMeasures, tc.wantBuilds)
			}
			if measured != (r.Latency.Median > 0) || r.Accuracy == 0 && r.Examples == 0 {
				t.Fatalf("measured %v with latency %v; accuracy %v on %d examples", measured, r.Latency.Median, r.Accuracy, r.Examples)
			}
			if tc.cachedBefore && r.Latency != first.Latency {
				t.Fatalf("cached result's latency %v, Evaluate's %v", r.Latency.Median, first.Latency.Median)
			}
			// An unmeasured Result is not cached: Evaluate builds and measures.
			after, err := e.Evaluate(ctx, arch(8))
			if err != nil {
				t.Fatal(err)
			}
			wantBuilds := tc.wantBuilds
			if !measured {
				wantBuilds++
			}
			if after.Latency.Median <= 0 || f.builds.Load() != wantBuilds || after.Accuracy != r.Accuracy {
				t.Fatalf("Evaluate after: latency %v, %d builds (want %d), accuracy %v vs %v", after.Latency.Median, f.builds.Load(), wantBuilds, after.Accuracy, r.Accuracy)
			}
		})
	}
}
