package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

// fakeEvals is a trivial Evaluations: a Result is computed from the
// architecture's key at once (or fails as fail says), filed in a map.
type fakeEvals struct {
	teacher string
	// fail, when set, makes evaluations fail with its error.
	fail error

	mu        sync.Mutex
	cache     map[evaluator.CacheKey]evaluator.Result
	evaluated int
}

func newFakeEvals(teacher string) *fakeEvals {
	return &fakeEvals{teacher: teacher, cache: map[evaluator.CacheKey]evaluator.Result{}}
}

func (f *fakeEvals) Key(a space.Arch, full bool) evaluator.CacheKey {
	return evaluator.NewCacheKey(a.Key(), f.teacher, fmt.Sprint("data full=", full), "fake", evaluator.Version)
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
func (f *fakeEvals) Fingerprint() string   { return "fake" }

func (f *fakeEvals) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	f.mu.Lock()
	f.evaluated++
	f.mu.Unlock()
	if f.fail != nil {
		return evaluator.Result{}, f.fail
	}
	return evaluator.Result{Key: a.Key(), Arch: a, Accuracy: float64(a.Layers[0].FFN) / 1000, EvaluatorVersion: evaluator.Version}, nil
}

func (f *fakeEvals) EvaluateFull(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	r, err := f.Evaluate(ctx, a)
	r.Examples = 1
	return r, err
}

// fakeArch returns a distinct architecture per i.
func fakeArch(i int) space.Arch {
	return space.Arch{Layers: []space.LayerGene{{Source: 0, Heads: 1, FFN: i + 1, Bits: 32}}, SeqLen: 16}
}

// startCluster starts an embedded server on loopback and a worker (in
// this process) evaluating with workerEv; it returns a coordinator of
// coordEv with settings cfg.
func startCluster(t testing.TB, coordEv, workerEv Evaluations, cfg pipeline.ClusterConfig, workers int) *Coordinator {
	t.Helper()
	srv, err := StartServer(pipeline.ClusterConfig{Embedded: &pipeline.EmbeddedNATSConfig{Listen: "127.0.0.1:0"}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i := range workers {
		nc, err := Connect(cfg, []string{srv.ClientURL()}, fmt.Sprintf("worker-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		w, err := NewWorker(ctx, nc, workerEv, cfg, WorkerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = w.Run(ctx) })
	}
	nc, err := Connect(cfg, []string{srv.ClientURL()}, "coordinator")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c, err := NewCoordinator(ctx, nc, coordEv, "run-test", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
