package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/search"
)

// frontWithProxy is testFront with a proxy check that warns and an exact
// front larger than the reported one.
func frontWithProxy() *pipeline.Front {
	f := testFront()
	f.ExactFrontSize = 5
	f.Proxy = &pipeline.ProxyCheck{Metric: "accuracy", Subsample: 100, Examples: 872, KendallTau: 0.5, MinTau: 0.8,
		MaxAbsError: 0.0421, MaxAbsErrorKey: f.Members[1].Key, Warning: "proxy check: Kendall τ 0.500 < 0.8 between …; raise evaluator.subsample"}
	for _, m := range f.Members {
		f.Proxy.Points = append(f.Proxy.Points, pipeline.ProxyPoint{Key: m.Key, Proxy: m.Result.Accuracy, Full: m.Full.Accuracy, Front: true})
	}
	return f
}

// TestReportShowsTheFrontsProxyCheck: without an explicit Input.Proxy the
// report shows the front's own proxy check, its largest error and its
// warning; the table (text and JSON) carries it and the exact front size.
func TestReportShowsTheFrontsProxyCheck(t *testing.T) {
	f := frontWithProxy()
	var page bytes.Buffer
	if err := RenderHTML(&page, Input{Front: f}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="proxy"`, "accuracy on all 872 examples against accuracy on the 100-example subsample: Kendall's τ = 0.500 over 3 candidates",
		"largest absolute difference is 0.0421", "Warning: proxy check: Kendall τ 0.500 &lt; 0.8", "3 of the 5 members of the exact front remain"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	tab := FrontTable(f)
	var text, js bytes.Buffer
	if err := tab.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"noise-aware front: 3 of the 5 candidates of the exact front",
		"proxy check: Kendall τ 0.500 between accuracy on 100 and on all 872 examples over 3 candidates; largest difference 0.0421"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := tab.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Proxy == nil || back.Proxy.Warning != f.Proxy.Warning ||
		len(back.Proxy.Points) != 3 || back.ExactFrontSize != 5 {
		t.Errorf("JSON round trip: %v\n%s", err, js.String())
	}
}

// TestTableTiesFollowTheFrontRule: rows are tied by search.LatencyTied
// with the run's latency_epsilon, as the noise-aware front ties them.
func TestTableTiesFollowTheFrontRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		eps  float64
		want int // rows with a tie
	}{
		{"default epsilon: the 2.00 and 2.01 ms rows", 0, 2},
		{"3% epsilon ties nothing more (5 ms is 150% away)", 0.03, 2},
		{"an epsilon of 0.7 ties every member", 0.7, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFront()
			f.FrontRule = search.FrontConfig{LatencyEpsilon: tc.eps}
			got := 0
			for _, r := range FrontTable(f).Rows {
				if len(r.TiedWith) > 0 && !r.Teacher {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("%d member rows tied, want %d", got, tc.want)
			}
		})
	}
}
