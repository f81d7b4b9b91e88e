package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

// fakeEvals is a trivial Evaluations: a Result is computed from the
// architecture's key at once (or fails as fail says), filed in a map.
// Its accuracy is the first layer's FFN/1000, its latency median that
// many milliseconds, measured on the device of fingerprint device
// (default "fake").
type fakeEvals struct {
	teacher string
	device  string
	// fail, when set, makes evaluations fail with its error.
	fail error

	mu sync.Mutex
	// cache holds the stored Results; evaluated counts evaluations of
	// either kind, accuracy and latency those of each.
	cache                        map[evaluator.CacheKey]evaluator.Result
	evaluated, accuracy, latency int
}

func newFakeEvals(teacher string) *fakeEvals {
	return &fakeEvals{teacher: teacher, device: "fake", cache: map[evaluator.CacheKey]evaluator.Result{}}
}

func (f *fakeEvals) KeyOn(a space.Arch, full bool, fp string) evaluator.CacheKey {
	return evaluator.NewCacheKey(a.Key(), f.teacher, fmt.Sprint("data full=", full), fp, evaluator.Version)
}

func (f *fakeEvals) Lookup(k evaluator.CacheKey) (evaluator.Result, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.cache[k]
	return r, ok, nil
}

func (f *fakeEvals) Store(k evaluator.CacheKey, r evaluator.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cache[k] = r
}

func (f *fakeEvals) TeacherDigest() string { return f.teacher }
func (f *fakeEvals) DataDigest() string    { return "data" }
func (f *fakeEvals) SettingsKey() string   { return "settings" }
func (f *fakeEvals) BuilderKey() string    { return "builder" }
func (f *fakeEvals) Fingerprint() string   { return f.device }

// count counts an evaluation of kind and returns the failure to report.
func (f *fakeEvals) count(kind *int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evaluated++
	*kind++
	return f.fail
}

// counts returns the evaluations of each kind so far.
func (f *fakeEvals) counts() (accuracy, latency int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accuracy, f.latency
}

func (f *fakeEvals) EvaluateAccuracy(ctx context.Context, a space.Arch, full bool) (evaluator.Result, error) {
	if err := f.count(&f.accuracy); err != nil {
		return evaluator.Result{}, err
	}
	r := evaluator.Result{Key: a.Key(), Arch: a, Accuracy: float64(a.Layers[0].FFN) / 1000, Examples: 100, EvaluatorVersion: evaluator.Version}
	if full {
		r.Examples = 1000
	}
	return r, nil
}

func (f *fakeEvals) EvaluateLatency(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	if err := f.count(&f.latency); err != nil {
		return evaluator.Result{}, err
	}
	r := evaluator.Result{Key: a.Key(), Arch: a, EvaluatorVersion: evaluator.Version, Device: f.device}
	r.Latency.Median = time.Duration(a.Layers[0].FFN) * time.Millisecond
	return r, nil
}

// fakeArch returns a distinct architecture per i.
func fakeArch(i int) space.Arch {
	return space.Arch{Layers: []space.LayerGene{{Source: 0, Heads: 1, FFN: i + 1, Bits: 32}}, SeqLen: 16}
}

// testCluster is an embedded server on loopback with workers in this
// process, stopped when the test ends.
type testCluster struct {
	t   testing.TB
	url string
	ctx context.Context
}

func newTestCluster(t testing.TB) *testCluster {
	t.Helper()
	srv, err := StartServer(pipeline.ClusterConfig{Embedded: &pipeline.EmbeddedNATSConfig{Listen: "127.0.0.1:0"}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &testCluster{t: t, url: srv.ClientURL(), ctx: ctx}
}

// connect connects a client named name.
func (tc *testCluster) connect(name string) *nats.Conn {
	tc.t.Helper()
	nc, err := Connect(pipeline.ClusterConfig{}, []string{tc.url}, name)
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(nc.Close)
	return nc
}

// worker starts a worker of ev with cfg and opts.
func (tc *testCluster) worker(name string, ev Evaluations, cfg pipeline.ClusterConfig, opts WorkerOptions) {
	tc.t.Helper()
	w, err := NewWorker(tc.ctx, tc.connect(name), ev, cfg, opts)
	if err != nil {
		tc.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(tc.ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	tc.t.Cleanup(func() { cancel(); wg.Wait() })
}

// coordinator starts a coordinator of ev for run-test with cfg.
func (tc *testCluster) coordinator(ev Evaluations, cfg pipeline.ClusterConfig) *Coordinator {
	tc.t.Helper()
	c, err := NewCoordinator(tc.ctx, tc.connect("coordinator"), ev, "run-test", cfg, nil)
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(c.Close)
	return c
}

// startCluster starts an embedded server on loopback and workers (in
// this process, without a device name) evaluating with workerEv; it
// returns a coordinator of coordEv with settings cfg.
func startCluster(t testing.TB, coordEv, workerEv Evaluations, cfg pipeline.ClusterConfig, workers int) *Coordinator {
	t.Helper()
	tc := newTestCluster(t)
	for i := range workers {
		tc.worker(fmt.Sprintf("worker-%d", i), workerEv, cfg, WorkerOptions{})
	}
	return tc.coordinator(coordEv, cfg)
}
