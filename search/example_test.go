package search_test

import (
	"context"
	"fmt"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

// toyEvaluator pretends that every kept head and neuron buys accuracy and
// costs latency and bytes.
type toyEvaluator struct{}

func (toyEvaluator) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	var work, bytes float64
	for _, l := range a.Layers {
		work += float64(l.Heads*64+l.FFN/4) * float64(l.Bits) / 32
		bytes += float64(l.Heads*64*256*4+2*256*l.FFN) * float64(l.Bits) / 8
	}
	return evaluator.Result{
		Key:       a.Key(),
		Accuracy:  0.5 + 0.4*work/(work+1000),
		Latency:   devices.Measurement{Stats: devices.Stats{Median: time.Duration(work) * time.Microsecond}},
		SizeBytes: int64(bytes),
	}, nil
}

func ExampleRun() {
	sp, err := space.New(space.Spec{Heads: []int{1, 2, 4}, FFN: []int{256, 1024}, Bits: []int{8, 32}},
		space.Teacher{Layers: 4, Heads: 4, Hidden: 256, FFN: 1024, Vocab: 30522, MaxSeq: 512})
	if err != nil {
		panic(err)
	}
	cfg := search.Config{
		Strategy:  search.StrategyNSGA2,
		Seed:      1,
		Budget:    search.Budget{MaxEvaluations: 64},
		Reference: search.Reference{Latency: 2 * time.Millisecond, SizeBytes: 8 << 20},
	}
	out, err := search.Run(context.Background(), cfg, sp, toyEvaluator{})
	if err != nil {
		panic(err)
	}
	fmt.Println("stopped:", out.Stop, "after", out.Evaluations, "evaluations")
	// The front is noise-aware: latencies within 2% (the default
	// search.FrontConfig.LatencyEpsilon) are tied.
	fmt.Println("front has", len(out.Front), "candidates,", out.ExactFrontSize, "on the exact front; best accuracy", fmt.Sprintf("%.3f", out.Front[0].Result.Accuracy))
	// Output:
	// stopped: max-evaluations after 64 evaluations
	// front has 45 candidates, 47 on the exact front; best accuracy 0.740
}
