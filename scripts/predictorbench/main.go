// Command predictorbench is the latency predictor benchmark (run by
// scripts/bench.sh predictor):
//
//	go run ./scripts/predictorbench [-c configs/bench-predictor.yaml] [-n 600] [-seed 1] [-noise 40]
//
// It opens the run the config describes (training the demo teacher the
// first time), measures the latency of n distinct architectures of its
// space drawn with the seed (build + measure on the local device, no
// accuracy) into latency.jsonl in the run directory, skipping those
// already there, then measures a sample of them a second time into
// noise.jsonl (the machine's noise floor), and the held-out 20 % (a seeded
// split) twice more into heldout2.jsonl and heldout3.jsonl. It fits
// devices/predictor on the other 80 % (one measurement each), tests it on
// the held-out rows against their first measurement and against the
// least of their three, and prints the relative-error histograms, the
// noise floor, and the time of one prediction against one measurement;
// its last line is `predictor_within_10pct F` against the first (single)
// measurement.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/predictor"
	"github.com/edgenas/edgenas/internal/jsonlog"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

// testShare is the share of the rows held out.
const testShare = 0.2

// row is one measured architecture: a line of latency.jsonl or noise.jsonl.
type row struct {
	Key     string              `json:"key"`
	Arch    space.Arch          `json:"arch"`
	Latency devices.Measurement `json:"latency"`
	FLOPs   int64               `json:"flops"`
	Build   time.Duration       `json:"build_ns"`
	Measure time.Duration       `json:"measure_ns"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "predictorbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("c", "configs/bench-predictor.yaml", "run config whose space is sampled")
	n := flag.Int("n", 600, "distinct architectures to measure")
	seed := flag.Uint64("seed", 1, "seed of the sample and of the 80/20 split")
	noise := flag.Int("noise", 40, "architectures measured a second time for the noise floor")
	measureOnly := flag.Bool("measure-only", false, "stop after measuring")
	flag.Parse()
	if *n < 10 || *noise < 0 {
		return fmt.Errorf("-n %d, -noise %d: want at least 10 architectures and a non-negative noise sample", *n, *noise)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := pipeline.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	r, err := pipeline.Open(ctx, cfg, pipeline.Options{Progress: os.Stderr})
	if err != nil {
		return err
	}
	defer r.Close()
	if size := r.Space.Size(); size.IsInt64() && size.Int64() < int64(*n) {
		return fmt.Errorf("-n %d: the space of %s holds only %v architectures", *n, *cfgPath, size)
	}
	rng := rand.New(rand.NewPCG(*seed, 0x9e3779b97f4a7c15))
	seen := map[string]bool{}
	var archs []space.Arch
	for len(archs) < *n {
		a := r.Space.Sample(rng)
		if !seen[a.Key()] {
			seen[a.Key()] = true
			archs = append(archs, a)
		}
	}
	measure := func(ctx context.Context, a space.Arch) (*row, error) {
		t0 := time.Now()
		m, err := r.Build(a, cfg.Compress.Options())
		if err != nil {
			return nil, fmt.Errorf("%s: build: %w", a.Key(), err)
		}
		rw := &row{Key: a.Key(), Arch: a, Build: time.Since(t0)}
		w := cfg.Evaluator.Workload
		w.SeqLen = a.SeqLen
		w = w.WithDefaults()
		rw.FLOPs = m.FLOPs(w.Batch, w.SeqLen)
		t0 = time.Now()
		if rw.Latency, err = r.Device.Measure(ctx, m, w); err != nil {
			return nil, fmt.Errorf("%s: measure: %w", a.Key(), err)
		}
		rw.Measure = time.Since(t0)
		return rw, nil
	}
	t0 := time.Now()
	rows, err := fill(ctx, filepath.Join(cfg.RunDir, "latency.jsonl"), archs, measure, t0)
	if err != nil {
		return err
	}
	nrng := rand.New(rand.NewPCG(*seed, 2))
	var again []space.Arch
	for _, i := range nrng.Perm(len(archs))[:min(*noise, len(archs))] {
		again = append(again, archs[i])
	}
	second, err := fill(ctx, filepath.Join(cfg.RunDir, "noise.jsonl"), again, measure, t0)
	if err != nil {
		return err
	}
	// The held-out candidates measured twice more (the least of the three
	// medians is their least disturbed latency).
	_, test, err := predictor.Split(len(rows), testShare, *seed)
	if err != nil {
		return err
	}
	var held []space.Arch
	for _, j := range test {
		held = append(held, rows[j].Arch)
	}
	var repeats [2][]*row
	for i := range repeats {
		if repeats[i], err = fill(ctx, filepath.Join(cfg.RunDir, fmt.Sprintf("heldout%d.jsonl", i+2)), held, measure, t0); err != nil {
			return err
		}
	}
	if *measureOnly {
		return nil
	}
	return report(ctx, cfg, r, rows, second, repeats, *seed, measure)
}

// fill returns the rows of archs, measuring those not yet in the JSON
// Lines file at path and appending them to it as it goes (an interrupted
// fill resumes where it stopped).
func fill(ctx context.Context, path string, archs []space.Arch, measure func(context.Context, space.Arch) (*row, error), t0 time.Time) ([]*row, error) {
	data, f, err := jsonlog.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	have, err := parseRows(data, path)
	if err != nil {
		return nil, err
	}
	out := make([]*row, len(archs))
	done := 0
	for i, a := range archs {
		if rw, ok := have[a.Key()]; ok {
			out[i] = rw
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rw, err := measure(ctx, a)
		if err != nil {
			return nil, err
		}
		line, err := json.Marshal(rw)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[i] = rw
		if done++; done%50 == 0 {
			fmt.Fprintf(os.Stderr, "predictorbench: %s: %d more measured (%.0fs)\n", filepath.Base(path), done, time.Since(t0).Seconds())
		}
	}
	return out, f.Close()
}

// parseRows parses the JSON Lines of a measurement file named name, by
// key; a bad line is an error naming the file and the line.
func parseRows(data []byte, name string) (map[string]*row, error) {
	have := map[string]*row{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rw row
		if err := json.Unmarshal(sc.Bytes(), &rw); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if a, err := space.ParseKey(rw.Key); err != nil || !a.Equal(rw.Arch) || rw.Latency.Median <= 0 {
			return nil, fmt.Errorf("%s:%d: want a key matching its arch and a positive latency", name, line)
		}
		have[rw.Key] = &rw
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return have, nil
}
