package pipeline

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// TestRunMetrics: one Registerer in Options carries the metrics of the
// run's evaluators (every one of them, sharing one set of series) and of
// its search; a run reopened on the same registry counts on.
func TestRunMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadConfig(pipelinetest.WriteConfigs(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	open := func() *Run {
		r, err := Open(context.Background(), cfg, Options{Device: &devicetest.Fake{}, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := open()
	t.Cleanup(func() { r.Close() }) // the run open at the end
	value := func(name, labels string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				var ls string
				for _, l := range m.GetLabel() {
					ls += l.GetName() + "=" + l.GetValue() + " "
				}
				if ls == labels {
					if h := m.GetHistogram(); h != nil {
						return float64(h.GetSampleCount())
					}
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("%s{%s} not gathered", name, labels)
		return 0
	}
	f, err := r.Search(context.Background(), SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := value("edgenas_evaluations_total", "outcome=ok source=fresh ")
	// The search's evaluations, the teacher's and the rescoring of the
	// front and of the teacher on every example are all fresh.
	if min := float64(f.Evaluations + len(f.Members) + 1); fresh < min {
		t.Errorf("%v fresh evaluations counted, want at least %v", fresh, min)
	}
	if got := value("edgenas_search_evaluations_total", ""); got != float64(f.Evaluations) {
		t.Errorf("edgenas_search_evaluations_total %v, want %d", got, f.Evaluations)
	}
	if got := value("edgenas_search_budget_used_ratio", "budget=evaluations "); got != 1 {
		t.Errorf("budget used %v, want 1 (the search ran to max_evaluations)", got)
	}
	// Rescoring on every example (the proxy check's points: the front and
	// a sample of the others; the teacher) reuses the subsample's
	// measurement.
	if f.Proxy == nil || len(f.Proxy.Points) < len(f.Members) {
		t.Fatalf("proxy check %+v, want the front and a sample rescored", f.Proxy)
	}
	if got, want := value("edgenas_measured_latency_seconds", ""), fresh-float64(len(f.Proxy.Points)+len(f.Teachers)); got != want {
		t.Errorf("%v latencies observed for %v fresh evaluations, %d of them rescorings of candidates and %d of the teacher; want %v", got, fresh, len(f.Proxy.Points), len(f.Teachers), want)
	}
	// A second evaluator of the run (other compress options) counts into
	// the same series instead of failing to register.
	ev, err := r.Evaluator(context.Background(), compress.Options{Share: compress.ShareMean})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Evaluate(context.Background(), f.Members[0].Result.Arch); err != nil {
		t.Fatal(err)
	}
	if got := value("edgenas_evaluations_total", "outcome=ok source=fresh "); got != fresh+1 {
		t.Errorf("after the second evaluator's evaluation: %v fresh, want %v", got, fresh+1)
	}
	// The run reopened on the same registry resumes its finished search:
	// every evaluation it repeats is served by the cache.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open()
	if _, err := r.Search(context.Background(), SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := value("edgenas_evaluations_total", "outcome=ok source=fresh "); got != fresh+1 {
		t.Errorf("the reopened run computed %v evaluations again", got-fresh-1)
	}
	if n := testutil.CollectAndCount(reg, "edgenas_evaluations_total"); n != 6 {
		t.Errorf("edgenas_evaluations_total has %d series, want 6", n)
	}
}
