// Package devicetest holds what every devices.Device implementation is
// tested with: Fake, a deterministic in-memory device, and Conformance, the
// suite of behaviour every Device (the real ones and the fake) must pass.
package devicetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/transformer"
)

// Fake is a deterministic device: the latency of a model is its FLOPs at
// the workload divided by GFLOPS plus Overhead, and each timed run adds a
// jitter drawn from a generator seeded by the model's shape, so the same
// model always measures the same. It counts its calls and never runs the
// model. Safe for concurrent use.
type Fake struct {
	// GFLOPS is the simulated throughput (default 50).
	GFLOPS float64
	// Overhead is added to every run (default 50µs).
	Overhead time.Duration
	// Jitter is the relative half-width of the per-run noise (default 0.01).
	Jitter float64
	// ID is part of the fingerprint (default "fake").
	ID string
	// Alone makes the fake declare that it measures alone
	// (devices.Exclusive), as the local device does.
	Alone bool
	// FailFirst makes the first FailFirst calls of Measure fail with an
	// error wrapping devices.ErrUnavailable, as an unreachable remote
	// device does.
	FailFirst int
	// Overlapping makes the fake a broken device whose measurements
	// overlap (it does not serialize them), for testing the suite.
	Overlapping bool

	serial   sync.Mutex // held for a whole measurement unless Overlapping
	mu       sync.Mutex
	calls    int
	measures int
}

var (
	_ devices.Device    = (*Fake)(nil)
	_ devices.Exclusive = (*Fake)(nil)
)

// Name returns "fake".
func (f *Fake) Name() string { return "fake" }

// MeasuresAlone returns f.Alone.
func (f *Fake) MeasuresAlone() bool { return f.Alone }

// Fingerprint returns "fake/<ID>".
func (f *Fake) Fingerprint(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return "fake/" + f.id(), nil
}

func (f *Fake) id() string {
	if f.ID == "" {
		return "fake"
	}
	return f.ID
}

// Measures returns how many measurements the fake has completed.
func (f *Fake) Measures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.measures
}

// Measure computes the simulated latency of m on w.
func (f *Fake) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	w = w.WithDefaults()
	if err := w.Validate(&m.Config); err != nil {
		return devices.Measurement{}, err
	}
	if err := ctx.Err(); err != nil {
		return devices.Measurement{}, err
	}
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	if call <= f.FailFirst {
		return devices.Measurement{}, fmt.Errorf("fake device %s: simulated outage (call %d of the first %d): %w", f.id(), call, f.FailFirst, devices.ErrUnavailable)
	}
	if !f.Overlapping {
		f.serial.Lock()
		defer f.serial.Unlock()
	}
	defer devices.StartMeasure(ctx)()
	gflops, over, jit := f.GFLOPS, f.Overhead, f.Jitter
	if gflops == 0 {
		gflops = 50
	}
	if over == 0 {
		over = 50 * time.Microsecond
	}
	if jit == 0 {
		jit = 0.01
	}
	flops := float64(m.FLOPs(w.Batch, w.SeqLen))
	base := over + time.Duration(flops/gflops)
	r := rand.New(rand.NewPCG(uint64(flops), uint64(m.NumParams())))
	samples := make([]time.Duration, w.Runs)
	for i := range samples {
		samples[i] = base + time.Duration(float64(base)*jit*(2*r.Float64()-1))
	}
	f.mu.Lock()
	f.measures++
	f.mu.Unlock()
	return devices.Measurement{Stats: devices.Summarize(samples), Attempts: 1, PeakBytes: 4 * int64(m.NumParams())}, nil
}

// Models returns two models of increasing cost for the suite: BERT-tiny and
// BERT-mini shapes with seeded random weights and a small vocabulary.
func Models(t testing.TB) (small, large *transformer.Model) {
	t.Helper()
	build := func(shape string) *transformer.Model {
		c, err := transformer.ShapeConfig(shape, 1000)
		if err != nil {
			t.Fatal(err)
		}
		m, err := transformer.NewRandom(c, rand.New(rand.NewPCG(3, 4)), 0.02)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return build("tiny"), build("mini")
}

// Check is one behaviour of the conformance suite. Run returns nil when d
// shows it, or an error saying how it does not; small and large are the
// models of Models.
type Check struct {
	// Name is the subtest name Conformance gives the check.
	Name string
	// Run checks d, measuring small and large as it needs.
	Run func(ctx context.Context, d devices.Device, small, large *transformer.Model) error
}

// Checks returns the behaviour every Device must show, in the order
// Conformance runs it: a stable, non-empty fingerprint; sane statistics
// with at least the asked runs; a larger model needing more memory (when
// the device measures memory); workload validation naming the field;
// cancellation honoured; concurrent calls safe and never overlapping.
//
// No check compares timings: a wall-clock comparison (a costlier model
// measuring slower) is a speed property of a real machine that a busy
// machine can break, so it is held by benchmarks (local's
// BenchmarkCostRatio), and by the Fake's own tests where timings are
// simulated.
func Checks() []Check {
	return []Check{
		{"Fingerprint", checkFingerprint},
		{"Stats", checkStats},
		{"LargerNeedsMoreMemory", checkMemory},
		{"BadWorkload", checkBadWorkload},
		{"Cancelled", checkCancelled},
		{"Concurrent", checkConcurrent},
	}
}

// Conformance runs every check of Checks on d as a subtest.
func Conformance(t *testing.T, d devices.Device) {
	small, large := Models(t)
	for _, c := range Checks() {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Run(context.Background(), d, small, large); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// suiteWorkload is the workload of the checks that need no particular one.
var suiteWorkload = devices.Workload{SeqLen: 32, Runs: 9, Warmup: 1}

func checkFingerprint(ctx context.Context, d devices.Device, _, _ *transformer.Model) error {
	a, err := d.Fingerprint(ctx)
	if err != nil || a == "" {
		return fmt.Errorf("Fingerprint() = %q, %v", a, err)
	}
	b, err := d.Fingerprint(ctx)
	if err != nil || a != b {
		return fmt.Errorf("fingerprint changed: %q then %q (%v)", a, b, err)
	}
	if d.Name() == "" {
		return errors.New("empty Name()")
	}
	return nil
}

func checkStats(ctx context.Context, d devices.Device, small, _ *transformer.Model) error {
	m, err := d.Measure(ctx, small, suiteWorkload)
	if err != nil {
		return err
	}
	s := m.Stats
	if s.Runs < suiteWorkload.Runs || s.Median <= 0 || s.Min > s.Median || s.Median > s.P90 || s.P90 > s.Max || m.Attempts < 1 {
		return fmt.Errorf("implausible measurement %+v", m)
	}
	return nil
}

// checkMemory checks that the device looks at the model it is given, by a
// number that does not depend on how busy the machine is: BERT-mini holds
// about 4× the parameters of BERT-tiny, so its peak memory is larger.
func checkMemory(ctx context.Context, d devices.Device, small, large *transformer.Model) error {
	a, err := d.Measure(ctx, small, suiteWorkload)
	if err != nil {
		return err
	}
	b, err := d.Measure(ctx, large, suiteWorkload)
	if err != nil {
		return err
	}
	switch {
	case a.PeakBytes == 0 && b.PeakBytes == 0: // the device does not measure memory
	case a.PeakBytes <= 0 || b.PeakBytes <= a.PeakBytes:
		return fmt.Errorf("peak memory of BERT-mini %d B, of BERT-tiny %d B: want the larger model to need more", b.PeakBytes, a.PeakBytes)
	}
	return nil
}

func checkBadWorkload(ctx context.Context, d devices.Device, small, _ *transformer.Model) error {
	var errs []error
	for _, tc := range []struct {
		w     devices.Workload
		field string
	}{
		{devices.Workload{Runs: 3}, "runs"},
		{devices.Workload{SeqLen: 100000}, "seq_len"},
		{devices.Workload{Batch: -1}, "batch"},
	} {
		_, err := d.Measure(ctx, small, tc.w)
		if !errors.Is(err, devices.ErrWorkload) || !containsField(err, tc.field) {
			errs = append(errs, fmt.Errorf("workload %+v: error %v, want ErrWorkload naming %s", tc.w, err, tc.field))
		}
	}
	return errors.Join(errs...)
}

func checkCancelled(ctx context.Context, d devices.Device, small, _ *transformer.Model) error {
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Measure(c, small, suiteWorkload); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("cancelled context: %v, want context.Canceled", err)
	}
	return nil
}

// concurrentCalls is how many Measure calls checkConcurrent makes at once.
const concurrentCalls = 4

// overlapWindow is how long checkConcurrent holds the first measurement
// open, giving a device that lets measurements overlap the time to start
// another one. It is never an assertion: a device that serializes passes
// however slow the machine; a broken one is caught as soon as a second
// measurement starts within the window (its calls are already running).
const overlapWindow = 50 * time.Millisecond

// checkConcurrent makes concurrentCalls Measure calls at once with a Trace
// counting the measurements in progress; more than one at a time is an
// overlap, and a device that never reports to the Trace cannot be checked.
func checkConcurrent(ctx context.Context, d devices.Device, small, _ *transformer.Model) error {
	var (
		mu             sync.Mutex
		active, most   int
		started, ended int
		once           sync.Once
	)
	second := make(chan struct{}) // closed when a measurement starts during another
	tr := &devices.Trace{
		MeasureStart: func() {
			mu.Lock()
			active++
			started++
			most = max(most, active)
			first := started == 1
			if active > 1 {
				once.Do(func() { close(second) })
			}
			mu.Unlock()
			if first {
				t := time.NewTimer(overlapWindow)
				defer t.Stop()
				select {
				case <-second:
				case <-t.C:
				case <-ctx.Done():
				}
			}
		},
		MeasureDone: func() {
			mu.Lock()
			active--
			ended++
			mu.Unlock()
		},
	}
	tctx := devices.WithTrace(ctx, tr)
	var wg sync.WaitGroup
	errs := make([]error, concurrentCalls)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.Measure(tctx, small, suiteWorkload)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	switch {
	case most > 1:
		return fmt.Errorf("%d measurements of one device overlapped (the contract: a device serializes its measurements)", most)
	case started < concurrentCalls || ended != started:
		return fmt.Errorf("%d measurements reported %d starts and %d ends to the Trace: every measurement must bracket its timed work with devices.StartMeasure", concurrentCalls, started, ended)
	}
	return nil
}

func containsField(err error, field string) bool {
	return err != nil && strings.Contains(err.Error(), field+":")
}
