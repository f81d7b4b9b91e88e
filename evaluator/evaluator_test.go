package evaluator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/train/demotask"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// fixture is a small random teacher over the demo vocabulary, demo
// examples, and a builder that counts its calls and returns the teacher
// with its FFN scaled by the first layer's bit width (so different archs
// give different students).
type fixture struct {
	teacher *transformer.Model
	tok     *tokenizer.Tokenizer
	ex      []train.Example
	builds  atomic.Int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	tok, err := tokenizer.New(train.DemoVocab(), tokenizer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := transformer.DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = tok.VocabSize(), 32, 2, 2, 64
	c.MaxPositionEmbeddings, c.NumLabels = 64, 2
	m, err := transformer.NewRandom(c, rand.New(rand.NewPCG(1, 1)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	_, dev, err := train.DemoExamples(demotask.Config{Seed: 3, Train: 200, Dev: 100})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{teacher: m, tok: tok, ex: dev}
}

func (f *fixture) build(_ context.Context, a space.Arch) (*transformer.Model, error) {
	f.builds.Add(1)
	s, err := transformer.NewModel(f.teacher.Config, true)
	if err != nil {
		return nil, err
	}
	src, dst := map[string][]float32{}, s
	f.teacher.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) { src[name] = p })
	dst.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) { copy(p, src[name]) })
	if a.Layers[0].Bits != 32 {
		for i := range s.Layers[0].Inter.W {
			s.Layers[0].Inter.W[i] *= 0.5
		}
	}
	return s, nil
}

func arch(bits int) space.Arch {
	return space.Arch{Layers: []space.LayerGene{{Source: 0, Heads: 2, FFN: 64, Bits: bits}}, EmbeddingBits: 32, SeqLen: 32}
}

func newEvaluator(t testing.TB, f *fixture, ex []train.Example, dev devices.Device, cache Cache) *Evaluator {
	t.Helper()
	e, err := New(context.Background(), f.teacher, f.tok, ex, f.build, dev, cache, Config{Subsample: 40})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEvaluateAndCache(t *testing.T) {
	f := newFixture(t)
	dev := &devicetest.Fake{}
	cache := &MemCache{}
	e := newEvaluator(t, f, f.ex, dev, cache)
	r, err := e.Evaluate(context.Background(), arch(32))
	if err != nil {
		t.Fatal(err)
	}
	if r.Examples != 40 || r.Metric != "accuracy" || r.Accuracy < 0 || r.Accuracy > 1 || r.Latency.Median <= 0 ||
		r.SizeBytes <= 0 || r.Params != int64(f.teacher.NumParams()) || r.FLOPs <= 0 || r.EvaluatorVersion != Version || r.Device != "fake/fake" {
		t.Fatalf("implausible result %+v", r)
	}
	if r.TeacherKL > 1e-9 {
		t.Errorf("a copy of the teacher has KL %v to it", r.TeacherKL)
	}
	again, err := e.Evaluate(context.Background(), arch(32))
	if err != nil {
		t.Fatal(err)
	}
	if f.builds.Load() != 1 || dev.Measures() != 1 || again.Accuracy != r.Accuracy {
		t.Fatalf("second evaluation built %d times, measured %d times", f.builds.Load(), dev.Measures())
	}
	if s := cache.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Errorf("cache stats %+v", s)
	}
	full, err := e.EvaluateFull(context.Background(), arch(32))
	if err != nil || full.Examples != len(f.ex) {
		t.Fatalf("full: %d examples, %v", full.Examples, err)
	}
	// Rescoring on every example reuses the subsample's measurement.
	if dev.Measures() != 1 || full.Latency != r.Latency || full.PeakBytes != r.PeakBytes || full.FLOPs != r.FLOPs || full.Stages.Latency != 0 {
		t.Fatalf("full rescoring measured %d times in all, latency %+v (subsample %+v), latency stage %v", dev.Measures(), full.Latency, r.Latency, full.Stages.Latency)
	}
	// Without a subsample Result to take it from, it measures.
	if _, err := e.EvaluateFull(context.Background(), arch(16)); err != nil || dev.Measures() != 2 {
		t.Fatalf("full evaluation of an unevaluated arch: %d measurements in all, %v", dev.Measures(), err)
	}
	// A different arch is a different student.
	other, err := e.Evaluate(context.Background(), arch(8))
	if err != nil {
		t.Fatal(err)
	}
	if other.TeacherKL <= 0 {
		t.Errorf("a changed student has KL %v", other.TeacherKL)
	}
}

func TestUnlabelledScoresAgreement(t *testing.T) {
	f := newFixture(t)
	ex := make([]train.Example, len(f.ex))
	for i, x := range f.ex {
		ex[i] = train.Example{Text: x.Text, Label: train.Unlabelled}
	}
	e := newEvaluator(t, f, ex, &devicetest.Fake{}, &MemCache{})
	r, err := e.Evaluate(context.Background(), arch(32))
	if err != nil {
		t.Fatal(err)
	}
	if r.Metric != string(MetricAgreement) || r.Accuracy != 1 {
		t.Fatalf("teacher copy: %s %v, want teacher_agreement 1", r.Metric, r.Accuracy)
	}
	mixed := append([]train.Example{{Text: "a", Label: 1}}, ex...)
	if _, err := New(context.Background(), f.teacher, f.tok, mixed, f.build, &devicetest.Fake{}, &MemCache{}, Config{}); err == nil {
		t.Error("mixed labelled and unlabelled data accepted")
	}
}

// watchDevice wraps a device, declares that it measures alone, and
// records whether a build ran during a measurement.
type watchDevice struct {
	devices.Device
	measuring atomic.Bool
	overlaps  atomic.Int64
}

func (w *watchDevice) MeasuresAlone() bool { return true }

func (w *watchDevice) Measure(ctx context.Context, m *transformer.Model, wl devices.Workload) (devices.Measurement, error) {
	w.measuring.Store(true)
	defer w.measuring.Store(false)
	time.Sleep(2 * time.Millisecond) // long enough for a concurrent build to show
	return w.Device.Measure(ctx, m, wl)
}

func TestConcurrentEvaluations(t *testing.T) {
	f := newFixture(t)
	dev := &watchDevice{Device: &devicetest.Fake{}}
	e, err := New(context.Background(), f.teacher, f.tok, f.ex, func(ctx context.Context, a space.Arch) (*transformer.Model, error) {
		if dev.measuring.Load() {
			dev.overlaps.Add(1)
		}
		time.Sleep(time.Millisecond)
		if dev.measuring.Load() {
			dev.overlaps.Add(1)
		}
		return f.build(ctx, a)
	}, dev, &MemCache{}, Config{Subsample: 16})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := arch([]int{32, 16, 8, 4}[i%4])
			a.SeqLen = 16 + i/4
			if _, err := e.Evaluate(context.Background(), a); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.builds.Load(); n != 24 {
		t.Errorf("%d builds for 24 distinct archs", n)
	}
	if n := dev.overlaps.Load(); n != 0 {
		t.Errorf("a build ran during a latency measurement %d times", n)
	}
	// The same arch requested concurrently is evaluated once.
	before := f.builds.Load()
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.builds.Load() - before; n != 1 {
		t.Errorf("8 concurrent requests for one arch built it %d times", n)
	}
}

func TestBuilderKeySeparatesCacheEntries(t *testing.T) {
	f := newFixture(t)
	cache := &MemCache{}
	a := arch(32)
	for _, k := range []string{"share=best", "share=mean", "share=best"} {
		e, err := New(context.Background(), f.teacher, f.tok, f.ex, f.build, &devicetest.Fake{}, cache, Config{Subsample: 16}, WithBuilderKey(k))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Evaluate(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.builds.Load(); n != 2 {
		t.Fatalf("%d builds for two builder keys (the third evaluator should hit the first's entry)", n)
	}
}

func TestCorruptEntryIsRecomputed(t *testing.T) {
	f := newFixture(t)
	cache := &MemCache{}
	e := newEvaluator(t, f, f.ex, &devicetest.Fake{}, cache)
	a := arch(32)
	key := e.cacheKey(a, e.sub)
	cache.PutRaw(key, []byte("garbage"))
	if _, err := e.Evaluate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if f.builds.Load() != 1 || cache.Stats().Rejected != 1 {
		t.Fatalf("builds %d, stats %+v", f.builds.Load(), cache.Stats())
	}
}

// remoteDevice is a device that does not measure alone: its first
// measurement waits until a build starts and ends during it.
type remoteDevice struct {
	devicetest.Fake
	measuring chan struct{} // closed when the first measurement starts
	built     chan struct{} // closed when a build has run during it
	once      sync.Once
}

func (r *remoteDevice) MeasuresAlone() bool { return false }

func (r *remoteDevice) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	r.once.Do(func() { close(r.measuring) })
	select {
	case <-r.built:
	case <-ctx.Done():
		return devices.Measurement{}, fmt.Errorf("no build ran during the measurement: %w", ctx.Err())
	}
	return r.Fake.Measure(ctx, m, w)
}

// TestRemoteMeasuresBesideBuilds evaluates two archs at once on a device
// that does not measure alone: the second is built while the first is
// measured. Holding the gate exclusively around that measurement would
// deadlock both until the deadline.
func TestRemoteMeasuresBesideBuilds(t *testing.T) {
	f := newFixture(t)
	dev := &remoteDevice{measuring: make(chan struct{}), built: make(chan struct{})}
	first, second := arch(32), arch(8)
	build := func(ctx context.Context, a space.Arch) (*transformer.Model, error) {
		if a.Key() == second.Key() {
			select {
			case <-dev.measuring:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			defer close(dev.built)
		}
		return f.build(ctx, a)
	}
	e, err := New(context.Background(), f.teacher, f.tok, f.ex, build, dev, &MemCache{}, Config{Subsample: 16})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a deadlock guard, not a speed check
	defer cancel()
	var wg sync.WaitGroup
	for _, a := range []space.Arch{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Evaluate(ctx, a); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := dev.Measures(); n != 2 {
		t.Errorf("%d measurements, want 2", n)
	}
}

func TestEvaluateErrors(t *testing.T) {
	f := newFixture(t)
	broken := func(context.Context, space.Arch) (*transformer.Model, error) { return nil, errors.New("no such layer") }
	for _, tc := range []struct {
		name   string
		build  Builder
		dev    *devicetest.Fake
		is     []error
		isNot  []error
		then   bool // the next Evaluate succeeds (the failure was not cached)
		reason string
	}{
		{"build fails", broken, &devicetest.Fake{}, []error{ErrBuild}, []error{ErrMeasure, devices.ErrUnavailable}, false, "no such layer"},
		{"device unavailable", f.build, &devicetest.Fake{FailFirst: 1}, []error{ErrMeasure, devices.ErrUnavailable}, []error{ErrBuild}, true, "simulated outage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(context.Background(), f.teacher, f.tok, f.ex, tc.build, tc.dev, &MemCache{}, Config{Subsample: 16})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Evaluate(context.Background(), arch(32))
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, want an error saying %q", err, tc.reason)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("%v is not %v", err, target)
				}
			}
			for _, target := range tc.isNot {
				if errors.Is(err, target) {
					t.Errorf("%v is %v", err, target)
				}
			}
			if tc.then {
				if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
					t.Errorf("after the failure: %v", err)
				}
			}
		})
	}
}

// putFailingCache is a MemCache whose writes fail.
type putFailingCache struct {
	MemCache
	gets atomic.Int64
}

func (c *putFailingCache) Get(k CacheKey) (Result, bool, error) {
	c.gets.Add(1)
	return c.MemCache.Get(k)
}

func (c *putFailingCache) Put(CacheKey, Result) error { return errors.New("disk full") }

func TestFailedCacheWriteKeepsResult(t *testing.T) {
	f := newFixture(t)
	dev := &devicetest.Fake{}
	cache := &putFailingCache{}
	var log bytes.Buffer
	e, err := New(context.Background(), f.teacher, f.tok, f.ex, f.build, dev, cache, Config{Subsample: 16},
		WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.Evaluate(context.Background(), arch(32))
	if err != nil {
		t.Fatalf("the evaluation succeeded but returned %v", err)
	}
	if first.Latency.Median <= 0 {
		t.Fatalf("implausible result %+v", first)
	}
	if !strings.Contains(log.String(), "disk full") {
		t.Errorf("the failed write was not logged: %q", log.String())
	}
	again, err := e.Evaluate(context.Background(), arch(32))
	if err != nil {
		t.Fatal(err)
	}
	if f.builds.Load() != 1 || dev.Measures() != 1 || again.Latency != first.Latency {
		t.Errorf("second evaluation built %d times, measured %d times: not served from memory", f.builds.Load(), dev.Measures())
	}
	if n := cache.gets.Load(); n != 1 {
		t.Errorf("the cache was read %d times, want 1 (the kept result is consulted first)", n)
	}
}

// BenchmarkEvaluateCached is a cache hit through the bbolt cache: the arch
// key, the cache key's hash, a bbolt read and the JSON decoding.
func BenchmarkEvaluateCached(b *testing.B) {
	f := newFixture(b)
	cache, err := OpenBoltCache(filepath.Join(b.TempDir(), "cache.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close()
	e := newEvaluator(b, f, f.ex, &devicetest.Fake{}, cache)
	a := arch(32)
	if _, err := e.Evaluate(context.Background(), a); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Evaluate(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCacheKeyCoversSettings: an evaluator whose settings differ in
// anything that changes a Result never serves another's cached entry; the
// same settings do.
func TestCacheKeyCoversSettings(t *testing.T) {
	base := Config{Subsample: 16}
	for _, tc := range []struct {
		name  string
		other Config
		dev   devices.Device
		hit   bool
	}{
		{"same settings", base, &devicetest.Fake{}, true},
		{"metric", Config{Subsample: 16, Metric: MetricF1}, &devicetest.Fake{}, false},
		{"subsample", Config{Subsample: 17}, &devicetest.Fake{}, false},
		{"subsample seed", Config{Subsample: 16, Seed: 9}, &devicetest.Fake{}, false},
		{"max length", Config{Subsample: 16, MaxLen: 16}, &devicetest.Fake{}, false},
		{"workload runs", Config{Subsample: 16, Workload: devices.Workload{Runs: 9}}, &devicetest.Fake{}, false},
		{"workload threads", Config{Subsample: 16, Workload: devices.Workload{Threads: 2}}, &devicetest.Fake{}, false},
		{"workload batch", Config{Subsample: 16, Workload: devices.Workload{Batch: 2}}, &devicetest.Fake{}, false},
		{"workload warm-up", Config{Subsample: 16, Workload: devices.Workload{Warmup: 5}}, &devicetest.Fake{}, false},
		{"device", base, &devicetest.Fake{ID: "other"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			cache := &MemCache{}
			for i, c := range []Config{base, tc.other} {
				dev := devices.Device(&devicetest.Fake{})
				if i == 1 {
					dev = tc.dev
				}
				e, err := New(context.Background(), f.teacher, f.tok, f.ex, f.build, dev, cache, c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Evaluate(context.Background(), arch(32)); err != nil {
					t.Fatal(err)
				}
			}
			want := int64(2)
			if tc.hit {
				want = 1
			}
			if n := f.builds.Load(); n != want {
				t.Errorf("%d builds, want %d (cache hit %v)", n, want, tc.hit)
			}
		})
	}
}

// TestEvaluateHalves: EvaluateAccuracy and EvaluateLatency (a cluster's
// accuracy and latency jobs) each fill their half of the Result Evaluate
// gives, on the subsample or every example, cache nothing, and fail as
// Evaluate does; KeyOn names the measuring device.
func TestEvaluateHalves(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("full=", full), func(t *testing.T) {
			cache := &MemCache{}
			e := newEvaluator(t, f, f.ex, &devicetest.Fake{}, cache)
			want, err := newEvaluator(t, f, f.ex, &devicetest.Fake{}, &MemCache{}).Evaluate(ctx, arch(8))
			if full {
				want, err = newEvaluator(t, f, f.ex, &devicetest.Fake{}, &MemCache{}).EvaluateFull(ctx, arch(8))
			}
			if err != nil {
				t.Fatal(err)
			}
			acc, err := e.EvaluateAccuracy(ctx, arch(8), full)
			if err != nil {
				t.Fatal(err)
			}
			lat, err := e.EvaluateLatency(ctx, arch(8))
			if err != nil {
				t.Fatal(err)
			}
			if acc.Accuracy != want.Accuracy || acc.Examples != want.Examples || acc.TeacherKL != want.TeacherKL || acc.Metric != want.Metric ||
				acc.SizeBytes != want.SizeBytes || acc.Params != want.Params || acc.Key != want.Key || acc.EvaluatorVersion != Version {
				t.Errorf("accuracy half %+v, want the accuracy fields of %+v", acc, want)
			}
			if acc.Latency.Median != 0 || acc.FLOPs != 0 || acc.Device != "" {
				t.Errorf("accuracy half measured: %+v", acc)
			}
			if lat.Latency.Median <= 0 || lat.FLOPs != want.FLOPs || lat.Device != e.Fingerprint() || lat.Key != want.Key {
				t.Errorf("latency half %+v, want a measurement on %q", lat, e.Fingerprint())
			}
			if lat.Accuracy != 0 || lat.Examples != 0 || lat.SizeBytes != 0 {
				t.Errorf("latency half scored: %+v", lat)
			}
			if n := cache.Stats().Entries; n != 0 {
				t.Errorf("the halves cached %d entries", n)
			}
			if e.KeyOn(arch(8), full, e.Fingerprint()) != e.Key(arch(8), full) || e.KeyOn(arch(8), full, "a pi") == e.Key(arch(8), full) {
				t.Error("KeyOn does not name the measuring device")
			}
		})
	}
	t.Run("failures", func(t *testing.T) {
		broken := func(context.Context, space.Arch) (*transformer.Model, error) { return nil, errors.New("no such layer") }
		e, err := New(ctx, f.teacher, f.tok, f.ex, broken, &devicetest.Fake{}, &MemCache{}, Config{Subsample: 16})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.EvaluateAccuracy(ctx, arch(32), false); !errors.Is(err, ErrBuild) {
			t.Errorf("accuracy with a broken builder: %v, want ErrBuild", err)
		}
		e = newEvaluator(t, f, f.ex, &devicetest.Fake{FailFirst: 1}, &MemCache{})
		if _, err := e.EvaluateLatency(ctx, arch(32)); !errors.Is(err, ErrMeasure) || !errors.Is(err, devices.ErrUnavailable) {
			t.Errorf("latency on a failing device: %v, want ErrMeasure and ErrUnavailable", err)
		}
	})
}
