// Package devicetest holds what every devices.Device implementation is
// tested with: Fake, a deterministic in-memory device, and Conformance, the
// suite of behaviour every Device (the real ones and the fake) must pass.
package devicetest

import (
	"context"
	"errors"
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

	serial   sync.Mutex // held for a whole measurement: a device never overlaps them
	mu       sync.Mutex
	measures int
	active   int // measurements in progress, to catch a broken serialization
}

var _ devices.Device = (*Fake)(nil)

// Name returns "fake".
func (f *Fake) Name() string { return "fake" }

// Fingerprint returns "fake/<ID>".
func (f *Fake) Fingerprint(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	id := f.ID
	if id == "" {
		id = "fake"
	}
	return "fake/" + id, nil
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
	f.serial.Lock()
	defer f.serial.Unlock()
	f.mu.Lock()
	f.active++
	overlap := f.active > 1
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.measures++
		f.mu.Unlock()
	}()
	if overlap {
		return devices.Measurement{}, errors.New("fake device: measurements overlap")
	}
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

// Conformance runs the behaviour every Device must show: a stable,
// non-empty fingerprint; sane statistics with at least the asked runs; a
// costlier model measuring slower; workload validation naming the field;
// cancellation honoured; concurrent calls safe.
func Conformance(t *testing.T, d devices.Device) {
	ctx := context.Background()
	small, large := Models(t)
	w := devices.Workload{SeqLen: 32, Runs: 9, Warmup: 1}
	t.Run("Fingerprint", func(t *testing.T) {
		a, err := d.Fingerprint(ctx)
		if err != nil || a == "" {
			t.Fatalf("Fingerprint() = %q, %v", a, err)
		}
		b, _ := d.Fingerprint(ctx)
		if a != b {
			t.Fatalf("fingerprint changed: %q then %q", a, b)
		}
		if d.Name() == "" {
			t.Fatal("empty Name()")
		}
	})
	t.Run("Stats", func(t *testing.T) {
		m, err := d.Measure(ctx, small, w)
		if err != nil {
			t.Fatal(err)
		}
		s := m.Stats
		if s.Runs < 9 || s.Median <= 0 || s.Min > s.Median || s.Median > s.P90 || s.P90 > s.Max || m.Attempts < 1 {
			t.Fatalf("implausible measurement %+v", m)
		}
	})
	t.Run("CostlierIsSlower", func(t *testing.T) {
		a, err := d.Measure(ctx, small, devices.Workload{SeqLen: 128})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Measure(ctx, large, devices.Workload{SeqLen: 128})
		if err != nil {
			t.Fatal(err)
		}
		// BERT-mini does about 8× the work of BERT-tiny.
		if b.Median < 2*a.Median {
			t.Fatalf("BERT-mini %v is not clearly slower than BERT-tiny %v", b.Median, a.Median)
		}
	})
	t.Run("BadWorkload", func(t *testing.T) {
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
				t.Errorf("workload %+v: error %v, want ErrWorkload naming %s", tc.w, err, tc.field)
			}
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := d.Measure(c, small, w); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled context: %v", err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.Measure(ctx, small, w); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func containsField(err error, field string) bool {
	return err != nil && strings.Contains(err.Error(), field+":")
}
