package searchbench

import (
	"context"
	"fmt"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

// Measure evaluates a for the table with run's builder and device: it
// builds the student once, scores it with ev on the first n examples for
// each n of levels (ev.ScoreAt: the examples EvaluateLevels scores), and
// measures its latency under workload w at a's sequence length, timing
// every stage.
func Measure(ctx context.Context, a space.Arch, run *pipeline.Run, ev *evaluator.Evaluator, w devices.Workload, levels []int) (*Row, error) {
	t0 := time.Now()
	m, err := run.Build(a, run.Config.Compress.Options())
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	row := &Row{Key: a.Key(), Arch: a, Build: time.Since(t0)}
	for _, n := range levels {
		t0 = time.Now()
		res, err := ev.ScoreAt(ctx, m, n)
		if err != nil {
			return nil, fmt.Errorf("score on %d examples: %w", n, err)
		}
		row.Levels = append(row.Levels, Level{Examples: res.Examples, Accuracy: res.Accuracy, Score: time.Since(t0)})
	}
	if row.SizeBytes, err = m.FileBytes(); err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	row.Params = int64(m.NumParams())
	w.SeqLen = a.SeqLen
	w = w.WithDefaults()
	row.FLOPs = m.FLOPs(w.Batch, w.SeqLen)
	t0 = time.Now()
	if row.Latency, err = run.Device.Measure(ctx, m, w); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	row.Measure = time.Since(t0)
	return row, nil
}
