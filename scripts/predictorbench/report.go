package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/devices/predictor"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

// report fits the predictor on 80 % of rows, tests it on the rest (against
// their first measurement and against the least of it and repeats), and
// prints the histograms, the noise floor (second against first
// measurements) and the time of a prediction against a measurement timed
// now; the last line is predictor_within_10pct, against the first
// measurement.
func report(ctx context.Context, cfg *pipeline.Config, r *pipeline.Run, rows, second []*row, repeats [2][]*row, seed uint64, measure func(context.Context, space.Arch) (*row, error)) error {
	samples := make([]predictor.Sample, len(rows))
	for i, rw := range rows {
		samples[i] = predictor.Sample{Arch: rw.Arch, Latency: rw.Latency.Median}
	}
	w := cfg.Evaluator.Workload
	teacher := r.Space.Teacher()
	t0 := time.Now()
	rep, err := predictor.Holdout(teacher, w, samples, testShare, predictor.Options{Seed: seed})
	if err != nil {
		return err
	}
	fitTime := time.Since(t0)
	plain, err := predictor.Holdout(teacher, w, samples, testShare, predictor.Options{Seed: seed, NoTables: true})
	if err != nil {
		return err
	}
	var min3, spread3 []float64
	for i, j := range rep.Test {
		m := []time.Duration{rows[j].Latency.Median, repeats[0][i].Latency.Median, repeats[1][i].Latency.Median}
		slices.Sort(m)
		min3 = append(min3, float64(rep.Predictor.Predict(rows[j].Arch))/float64(m[0])-1)
		spread3 = append(spread3, float64(rows[j].Latency.Median)/float64(m[0])-1)
	}
	first := map[string]*row{}
	for _, rw := range rows {
		first[rw.Key] = rw
	}
	var noise []float64
	for _, rw := range second {
		noise = append(noise, float64(rw.Latency.Median)/float64(first[rw.Key].Latency.Median)-1)
	}

	// One prediction against one measurement, timed in this run.
	p := rep.Predictor
	test := rep.Test
	bench := testing.Benchmark(func(b *testing.B) {
		i := 0
		for b.Loop() {
			p.Predict(samples[test[i%len(test)]].Arch)
			i++
		}
	})
	perPredict := time.Duration(bench.NsPerOp())
	var meas []time.Duration
	for _, j := range test[:min(10, len(test))] {
		rw, err := measure(ctx, rows[j].Arch)
		if err != nil {
			return err
		}
		meas = append(meas, rw.Measure)
	}
	slices.Sort(meas)
	perMeasure := meas[len(meas)/2]

	var lat []time.Duration
	for _, s := range samples {
		lat = append(lat, s.Latency)
	}
	slices.Sort(lat)
	fmt.Printf("edgenas latency predictor benchmark (%s)\n", cfg.File)
	fmt.Printf("# %s, %s, %d CPU(s): %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), local.CPUModel())
	fmt.Printf("# %d distinct architectures of the space (%v in all: pruned, shared, low-rank, fp32/fp16/int8/int4, factorized embeddings) measured on this machine; latency median %v, range %v–%v\n",
		len(rows), r.Space.Size(), lat[len(lat)/2], lat[0], lat[len(lat)-1])
	la, lt := p.Ridge()
	fmt.Printf("# fitted on %d (seeded 80 %%), tested on %d held-out; ridge %g (analytic), %g (lookup, %d entries), chosen by 5-fold cross-validation; fit time %v\n",
		len(rep.Train), len(rep.Test), la, lt, p.TableSize(), fitTime.Round(time.Millisecond))
	fmt.Println()
	fmt.Println("held-out relative error (predicted/measured − 1), analytic features + per-operation lookup entries:")
	if err := predictor.WriteHistogram(os.Stdout, rep.Errors); err != nil {
		return err
	}
	fmt.Println("the same predictions against the least of three measurements of each held-out candidate (the first and two taken later; load only slows a measurement down):")
	if err := predictor.WriteHistogram(os.Stdout, min3); err != nil {
		return err
	}
	fmt.Println("noise: the first measurement against that least of three:")
	if err := predictor.WriteHistogram(os.Stdout, spread3); err != nil {
		return err
	}
	fmt.Println("held-out relative error, analytic features only (against the first measurement):")
	if err := predictor.WriteHistogram(os.Stdout, plain.Errors); err != nil {
		return err
	}
	fmt.Printf("noise floor: %d architectures measured a second time (second/first − 1):\n", len(noise))
	if err := predictor.WriteHistogram(os.Stdout, noise); err != nil {
		return err
	}
	fmt.Printf("one prediction %v (mean over %d predictions, testing.Benchmark), one measurement %v (median of %d taken now, build excluded): %.0f× faster\n",
		perPredict, bench.N, perMeasure.Round(time.Microsecond), len(meas), float64(perMeasure)/float64(perPredict))
	fmt.Printf("predictor_within_10pct_min3 %.3f (against the least of three measurements)\n", withinShare(min3, 0.1))
	fmt.Printf("predictor_within_10pct %.3f\n", rep.Within(0.1))
	return nil
}

// withinShare returns the fraction of errs within ±tol.
func withinShare(errs []float64, tol float64) float64 {
	var k int
	for _, e := range errs {
		if math.Abs(e) <= tol {
			k++
		}
	}
	return float64(k) / float64(max(len(errs), 1))
}
