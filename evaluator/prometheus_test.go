package evaluator

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// driftDevice is a fake whose measurements report a drift, or fail with
// err (not devices.ErrUnavailable) when err is set.
type driftDevice struct {
	devicetest.Fake
	drift float64
	err   error
}

func (d *driftDevice) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	if d.err != nil {
		return devices.Measurement{}, d.err
	}
	ms, err := d.Fake.Measure(ctx, m, w)
	ms.DriftPercent = d.drift
	return ms, err
}

// histCounts returns the sample count of every series of the histogram
// called name in reg, by its labels' values joined with ",".
func histCounts(t *testing.T, reg prometheus.Gatherer, name string) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var lv string
			for _, l := range m.GetLabel() {
				lv += l.GetValue()
			}
			out[lv] = m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

func TestEvaluatorMetrics(t *testing.T) {
	f := newFixture(t)
	type counts map[[2]string]float64 // {outcome, source}
	for _, tc := range []struct {
		name string
		dev  devices.Device
		// build replaces the fixture's builder when set.
		build Builder
		// run evaluates with e; its errors are the test's to check.
		run         func(t *testing.T, e *Evaluator)
		evaluations counts
		stages      map[string]uint64
		measureErrs map[string]float64
		drift       float64
		latencies   uint64
	}{
		{
			name: "miss then hit",
			dev:  &driftDevice{drift: 7.5},
			run: func(t *testing.T, e *Evaluator) {
				for range 2 {
					if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
						t.Fatal(err)
					}
				}
			},
			evaluations: counts{{"ok", "fresh"}: 1, {"ok", "cache"}: 1},
			stages:      map[string]uint64{"build": 1, "accuracy": 1, "size": 1, "latency": 1},
			drift:       7.5,
			latencies:   1,
		},
		{
			name: "device unavailable, then back",
			dev:  &devicetest.Fake{FailFirst: 1},
			run: func(t *testing.T, e *Evaluator) {
				if _, err := e.Evaluate(context.Background(), arch(32)); !errors.Is(err, devices.ErrUnavailable) {
					t.Fatalf("first evaluation: %v, want the device unavailable", err)
				}
				if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
					t.Fatal(err)
				}
			},
			evaluations: counts{{"error", "fresh"}: 1, {"ok", "fresh"}: 1},
			stages:      map[string]uint64{"build": 2, "accuracy": 2, "size": 2, "latency": 1},
			measureErrs: map[string]float64{"unavailable": 1},
			latencies:   1,
		},
		{
			name: "device fails to measure",
			dev:  &driftDevice{err: errors.New("kernel crashed")},
			run: func(t *testing.T, e *Evaluator) {
				if _, err := e.Evaluate(context.Background(), arch(32)); !errors.Is(err, ErrMeasure) {
					t.Fatalf("%v, want ErrMeasure", err)
				}
			},
			evaluations: counts{{"error", "fresh"}: 1},
			stages:      map[string]uint64{"build": 1, "accuracy": 1, "size": 1},
			measureErrs: map[string]float64{"measure": 1},
		},
		{
			name:  "build fails",
			dev:   &devicetest.Fake{},
			build: func(context.Context, space.Arch) (*transformer.Model, error) { return nil, errors.New("no such layer") },
			run: func(t *testing.T, e *Evaluator) {
				if _, err := e.Evaluate(context.Background(), arch(32)); !errors.Is(err, ErrBuild) {
					t.Fatalf("%v, want ErrBuild", err)
				}
			},
			evaluations: counts{{"error", "fresh"}: 1},
		},
		{
			name: "canceled",
			dev:  &devicetest.Fake{},
			run: func(t *testing.T, e *Evaluator) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if _, err := e.Evaluate(ctx, arch(32)); !errors.Is(err, context.Canceled) {
					t.Fatalf("%v, want context.Canceled", err)
				}
			},
			evaluations: counts{{"canceled", "fresh"}: 1},
			// The stages before the measurement ran: the context is checked
			// between them and the measurement.
			stages: map[string]uint64{"build": 1, "accuracy": 1, "size": 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			build := tc.build
			if build == nil {
				build = f.build
			}
			e, err := New(context.Background(), f.teacher, f.tok, f.ex, build, tc.dev, &MemCache{}, Config{Subsample: 16}, WithMetrics(m))
			if err != nil {
				t.Fatal(err)
			}
			tc.run(t, e)
			for _, o := range []string{OutcomeOK, OutcomeError, OutcomeCanceled} {
				for _, s := range []string{SourceCache, SourceFresh} {
					if got := testutil.ToFloat64(m.evaluations.WithLabelValues(o, s)); got != tc.evaluations[[2]string{o, s}] {
						t.Errorf("edgenas_evaluations_total{outcome=%q,source=%q} = %v, want %v", o, s, got, tc.evaluations[[2]string{o, s}])
					}
				}
			}
			stages := histCounts(t, reg, "edgenas_evaluation_stage_seconds")
			for _, s := range []string{StageBuild, StageAccuracy, StageSize, StageLatency} {
				if stages[s] != tc.stages[s] {
					t.Errorf("edgenas_evaluation_stage_seconds{stage=%q}: %d observations, want %d", s, stages[s], tc.stages[s])
				}
			}
			for _, k := range []string{ErrorUnavailable, ErrorMeasure} {
				if got := testutil.ToFloat64(m.measureErrs.WithLabelValues(k)); got != tc.measureErrs[k] {
					t.Errorf("edgenas_measurement_errors_total{kind=%q} = %v, want %v", k, got, tc.measureErrs[k])
				}
			}
			if got := testutil.ToFloat64(m.drift); got != tc.drift {
				t.Errorf("edgenas_device_drift_percent = %v, want %v", got, tc.drift)
			}
			if got := histCounts(t, reg, "edgenas_measured_latency_seconds")[""]; got != tc.latencies {
				t.Errorf("edgenas_measured_latency_seconds: %d observations, want %d", got, tc.latencies)
			}
			// Every label combination exists from the start, none of them a
			// candidate key.
			if n := testutil.CollectAndCount(reg, "edgenas_evaluations_total"); n != 6 {
				t.Errorf("edgenas_evaluations_total has %d series, want 6", n)
			}
		})
	}
}

func TestMeasuredLatencyIsTheMedian(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), f.teacher, f.tok, f.ex, f.build, &devicetest.Fake{}, &MemCache{}, Config{Subsample: 16}, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, bits := range []int{32, 8} {
		r, err := e.Evaluate(context.Background(), arch(bits))
		if err != nil {
			t.Fatal(err)
		}
		sum += r.Latency.Median.Seconds()
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "edgenas_measured_latency_seconds" {
			found = true
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 2 || h.GetSampleSum() != sum {
				t.Errorf("edgenas_measured_latency_seconds: count %d, sum %v; want 2 and the medians' sum %v", h.GetSampleCount(), h.GetSampleSum(), sum)
			}
		}
	}
	if !found {
		t.Error("edgenas_measured_latency_seconds not gathered")
	}
}

func TestMetricsShared(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewPedanticRegistry()
	m1, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// A second NewMetrics on the same registry (a reopened run) counts
	// into the same series.
	m2, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("second NewMetrics on one registry: %v", err)
	}
	for i, m := range []*Metrics{m1, m2} {
		e, err := New(context.Background(), f.teacher, f.tok, f.ex, f.build, &devicetest.Fake{}, &MemCache{}, Config{Subsample: 16, Seed: uint64(i)}, WithMetrics(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m1.evaluations.WithLabelValues(OutcomeOK, SourceFresh)); got != 2 {
		t.Errorf("two evaluators sharing metrics counted %v fresh evaluations, want 2", got)
	}
	// Without WithMetrics an evaluator records nothing and works.
	e := newEvaluator(t, f, f.ex, &devicetest.Fake{}, &MemCache{})
	if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m1.evaluations.WithLabelValues(OutcomeOK, SourceFresh)); got != 2 {
		t.Errorf("an evaluator without metrics counted into them: %v", got)
	}
}
