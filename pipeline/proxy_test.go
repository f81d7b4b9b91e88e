package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/search"
)

func TestKendallTauB(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
		ok   bool
	}{
		{"same order", []float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1, true},
		{"reversed", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1, true},
		// 6 pairs: (1,2)c (1,3)c (1,4)c (2,3)d (2,4)c (3,4)c → (5−1)/6.
		{"one swap", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 4.0 / 6, true},
		// x ties the pair (1,2): n₁ = 1; y has no ties. Pairs: (1,2) tied
		// in x, (1,3)c (1,4)c (2,3)c (2,4)c (3,4)d → (4−1)/√(5·6).
		{"ties in x", []float64{1, 1, 2, 3}, []float64{1, 2, 4, 3}, 3 / math.Sqrt(30), true},
		// Both tie the pair (1,2) (counted in n₁ and n₂); the rest
		// concordant: 5/√(5·5) = 1.
		{"joint tie", []float64{1, 1, 2, 3}, []float64{5, 5, 6, 7}, 1, true},
		// Hand count: x = (0.5, 0.5, 0.7, 0.9, 0.6), y = (0.52, 0.55, 0.7, 0.8, 0.8).
		// Pairs (i<j): 12 tied x; 13 c; 14 c; 15 c; 23 c; 24 c; 25 c;
		// 34 c; 35 d; 45 tied y → 7 concordant, 1 discordant; n₀ = 10,
		// n₁ = 1, n₂ = 1 → 6/9.
		{"tied on both sides separately", []float64{0.5, 0.5, 0.7, 0.9, 0.6}, []float64{0.52, 0.55, 0.7, 0.8, 0.8}, 6.0 / 9, true},
		{"constant proxy", []float64{0.5, 0.5, 0.5}, []float64{1, 2, 3}, 0, false},
		{"one point", []float64{1}, []float64{2}, 0, false},
		{"none", nil, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := KendallTauB(tc.x, tc.y)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("KendallTauB = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestProxyCandidates(t *testing.T) {
	var all []search.Candidate
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		all = append(all, search.Candidate{Key: k})
	}
	members := []Member{{Candidate: all[4]}, {Candidate: all[1]}}
	for _, tc := range []struct {
		name    string
		samples int
		want    int
	}{
		{"fewer than the others", 3, 5},
		{"more than the others: all of them", 32, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ProxyCheckConfig{Samples: tc.samples, Seed: 4}
			got := proxyCandidates(c, members, all)
			keys := make([]string, len(got))
			for i, g := range got {
				keys[i] = g.Key
			}
			if len(got) != tc.want || keys[0] != "e" || keys[1] != "b" {
				t.Fatalf("candidates %v: want %d, the front (e, b) first", keys, tc.want)
			}
			if rest := keys[2:]; slices.Contains(rest, "e") || slices.Contains(rest, "b") || !slices.IsSorted(rest) {
				t.Errorf("sample %v: want other candidates, in the search's order", rest)
			}
			if again := proxyCandidates(c, members, all); !slices.EqualFunc(again, got, func(x, y search.Candidate) bool { return x.Key == y.Key }) {
				t.Error("same seed, another sample")
			}
		})
	}
}

// TestSearchChecksTheProxy: a search scored on a subsample (24 of 48
// examples) ends with a proxy check over the front and a sample of the
// other candidates, saved in front.json; a threshold above 1 warns.
func TestSearchChecksTheProxy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		warn  bool
	}{
		{"default threshold", "", false},
		{"threshold above any τ", "proxy_check: {min_tau: 1.01, samples: 2}\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := openTiny(t, dir, tc.extra)
			f, err := r.Search(context.Background(), SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := f.Proxy
			if p == nil {
				t.Fatal("no proxy check")
			}
			samples := 32
			if tc.warn {
				samples = 2
			}
			if want := len(f.Members) + min(samples, f.Candidates-len(f.Members)); len(p.Points) != want {
				t.Errorf("%d points, want %d (front %d + sample of the other %d)", len(p.Points), want, len(f.Members), f.Candidates-len(f.Members))
			}
			if p.Subsample != 24 || p.Examples != 48 || p.Partial {
				t.Errorf("subsample %d of %d examples (partial %v), want 24 of 48", p.Subsample, p.Examples, p.Partial)
			}
			byKey := map[string]search.Candidate{}
			for _, c := range f.All {
				byKey[c.Key] = c
			}
			ev, err := r.Evaluator(context.Background(), r.Config.Compress.Options())
			if err != nil {
				t.Fatal(err)
			}
			var maxErr float64
			for i, pt := range p.Points {
				full, err := ev.EvaluateFull(context.Background(), byKey[pt.Key].Result.Arch)
				if err != nil {
					t.Fatal(err)
				}
				if pt.Proxy != byKey[pt.Key].Result.Accuracy || pt.Full != full.Accuracy || pt.Front != (i < len(f.Members)) {
					t.Errorf("point %+v: want proxy %v, full %v", pt, byKey[pt.Key].Result.Accuracy, full.Accuracy)
				}
				maxErr = max(maxErr, math.Abs(pt.Proxy-pt.Full))
			}
			if p.MaxAbsError != maxErr {
				t.Errorf("max abs error %v, want %v", p.MaxAbsError, maxErr)
			}
			if got := p.Warning != ""; got != (tc.warn || p.TauUndefined || p.KendallTau < DefaultProxyMinTau) {
				t.Errorf("warning %q with τ %v (undefined %v)", p.Warning, p.KendallTau, p.TauUndefined)
			}
			if tc.warn && !strings.Contains(p.Warning, "raise evaluator.subsample") {
				t.Errorf("warning %q does not say what to do", p.Warning)
			}
			saved, err := LoadFront(r.Config.RunDir)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Proxy == nil || len(saved.Proxy.Points) != len(p.Points) || saved.Proxy.Warning != p.Warning {
				t.Errorf("front.json proxy check %+v, want %+v", saved.Proxy, p)
			}
		})
	}
}

// TestNoProxyCheckOnEveryExample: a search scored on every example has
// nothing to check.
func TestNoProxyCheckOnEveryExample(t *testing.T) {
	dir := t.TempDir()
	path := pipelinetest.WriteConfigs(t, dir, "")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	every := strings.Replace(string(data), "subsample: 24", "subsample: 48", 1)
	if every == string(data) {
		t.Fatal("the tiny search config has no subsample: 24 to change")
	}
	if err := os.WriteFile(path, []byte(every), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), cfg, Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Search(context.Background(), SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Proxy != nil {
		data, _ := json.Marshal(f.Proxy)
		t.Errorf("proxy check %s on a search scored on every example", data)
	}
}

func TestProxyCheckInterrupted(t *testing.T) {
	cands := []search.Candidate{
		{Key: "a", Result: evaluator.Result{Accuracy: 0.5, Examples: 10, Metric: "accuracy"}},
		{Key: "b", Result: evaluator.Result{Accuracy: 0.6, Examples: 10, Metric: "accuracy"}},
		{Key: "c", Result: evaluator.Result{Accuracy: 0.7, Examples: 10, Metric: "accuracy"}},
	}
	n := 0
	p, err := proxyCheck(ProxyCheckConfig{}.withDefaults(), 40, cands, 1, func(c search.Candidate) (evaluator.Result, error) {
		if n++; n == 3 {
			return evaluator.Result{}, context.Canceled
		}
		return evaluator.Result{Accuracy: c.Result.Accuracy + 0.1}, nil
	})
	if err != context.Canceled || !p.Partial || len(p.Points) != 2 || p.KendallTau != 1 || math.Abs(p.MaxAbsError-0.1) > 1e-12 {
		t.Errorf("got %+v, %v; want 2 points, partial, τ 1, error 0.1, and the error", p, err)
	}
}
