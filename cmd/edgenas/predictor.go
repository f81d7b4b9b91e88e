package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"

	"github.com/edgenas/edgenas/devices/predictor"
	"github.com/edgenas/edgenas/pipeline"
)

// predictorReport is the held-out evaluation of the predictor of one
// device fingerprint, as `edgenas predictor --json` prints it.
type predictorReport struct {
	Device    string          `json:"device"`
	Samples   int             `json:"samples"`
	Train     int             `json:"train"`
	Test      int             `json:"test"`
	Within5   float64         `json:"within_5pct"`
	Within10  float64         `json:"within_10pct"`
	Histogram []predictor.Bin `json:"histogram"`
	Errors    []float64       `json:"errors"`
}

// runPredictor fits the latency predictor on a run's measured candidates
// (not those whose latency predictor screening predicted),
// per device fingerprint, on a seeded 80 %, and prints its relative errors
// on the other 20 %.
func runPredictor(args []string, stdout, stderr io.Writer) error {
	const use = "usage: edgenas predictor RUN_DIR [--seed N] [--json]"
	fs := newFlags("predictor", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per device fingerprint")
	seed := fs.Uint64("seed", 1, "seed of the 80/20 split and of the cross-validation folds")
	fs.Usage = func() {
		fmt.Fprintln(stderr, use)
		fs.PrintDefaults()
	}
	runDir, err := parseRunDir(fs, args, use)
	if err != nil {
		return err
	}
	if runDir == "" {
		return fmt.Errorf("%w: want one run directory (%s)", errUsage, use)
	}
	front, err := pipeline.LoadFront(runDir)
	if err != nil {
		return err
	}
	byDevice := map[string][]predictor.Sample{}
	for _, c := range front.All {
		if !c.Predicted && c.Result.Latency.Median > 0 { // predicted latencies are not measurements
			byDevice[c.Result.Device] = append(byDevice[c.Result.Device], predictor.Sample{Arch: c.Result.Arch, Latency: c.Result.Latency.Median})
		}
	}
	if len(byDevice) == 0 {
		return fmt.Errorf("%s: no measured candidate in the saved front", runDir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := pipeline.OpenDir(ctx, runDir, pipeline.Options{Progress: stderr})
	if err != nil {
		return err
	}
	defer r.Close()
	enc := json.NewEncoder(stdout)
	for _, dev := range slices.Sorted(func(yield func(string) bool) {
		for d := range byDevice {
			if !yield(d) {
				return
			}
		}
	}) {
		samples := byDevice[dev]
		rep, err := predictor.Holdout(r.Space.Teacher(), r.Config.Evaluator.Workload, samples, 0.2, predictor.Options{Seed: *seed})
		if err != nil {
			return fmt.Errorf("%s: device %s: %d measured candidates: %w", runDir, dev, len(samples), err)
		}
		out := predictorReport{Device: dev, Samples: len(samples), Train: len(rep.Train), Test: len(rep.Test),
			Within5: rep.Within(0.05), Within10: rep.Within(0.1), Histogram: predictor.Histogram(rep.Errors), Errors: rep.Errors}
		if *asJSON {
			if err := enc.Encode(out); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "device %s: %d measured candidates, fitted on %d, held-out relative error (predicted/measured − 1) on %d:\n", dev, out.Samples, out.Train, out.Test)
		if err := predictor.WriteHistogram(stdout, rep.Errors); err != nil {
			return err
		}
	}
	return nil
}
