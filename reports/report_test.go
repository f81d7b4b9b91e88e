package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/search"
)

var update = flag.Bool("update", false, "rewrite the golden files of the report tests")

// syntheticFront is a run of n evaluated candidates, members of them on
// the front (every other one rescored), hist hypervolume points and the
// teacher rescored at seq 32; every number is fixed.
func syntheticFront(n, members, hist int) *pipeline.Front {
	rng := rand.New(rand.NewPCG(1, 2))
	teacher := result(4, 0.91, 10*time.Millisecond, 100*time.Microsecond, 44_000_000)
	f := &pipeline.Front{RunID: "run-synthetic", RunDir: "runs/synthetic", Stop: search.StopMaxEvaluations, Evaluations: n,
		Generations: hist, Candidates: n, Teachers: []evaluator.Result{teacher},
		Config: fmt.Sprintf("teacher: {dir: teacher}\nsearch:\n  budget: {max_evaluations: %d}\n  # <not a tag> & co\n", n)}
	cand := func(i int, acc, latMS float64, size int64) search.Candidate {
		r := result(1+i%4, acc, time.Duration(latMS*1e6), 20*time.Microsecond, size)
		r.Key = fmt.Sprintf("cand-%04d", i)
		return search.Candidate{Key: r.Key, Result: r, Score: search.Score{Reward: acc - 0.02*latMS, Feasible: true}, Generation: i / 16, Slot: i % 16}
	}
	for i := range n {
		lat := 1 + 9*rng.Float64()
		acc := 0.5 + 0.35*(1-math.Exp(-lat/3)) - 0.15*rng.Float64()
		f.All = append(f.All, cand(i, acc, lat, 2_000_000+int64(38e6*rng.Float64())))
	}
	for j := range members {
		lat := 1 + 8*float64(j)/float64(members)
		c := cand(j*n/members, 0.6+0.3*(1-math.Exp(-lat/2.5)), lat, 3_000_000+int64(j)*1_000_000)
		f.All[j*n/members] = c
		m := pipeline.Member{Candidate: c}
		if j%2 == 0 {
			full := c.Result
			full.Accuracy, full.Examples = c.Result.Accuracy+0.005, 872
			m.Full = &full
		}
		f.Members = append(f.Members, m)
	}
	for h := range hist {
		f.History = append(f.History, search.HVPoint{Generation: h, Evaluations: (h + 1) * n / hist,
			Hypervolume: 0.3 * (1 - math.Exp(-float64(h)/20)), FrontSize: min(members, h+1),
			NoiseHypervolume: 0.28 * (1 - math.Exp(-float64(h)/20)), NoiseFrontSize: min(members, h+1)})
	}
	return f
}

// syntheticBaselines are baselines measured at seq 16 and 32 (the teacher
// row among them).
func syntheticBaselines() []pipeline.Baseline {
	var out []pipeline.Baseline
	for i, tech := range []string{"teacher", "heads", "layers", "quantization"} {
		lat := 10 / float64(i+1)
		out = append(out, pipeline.Baseline{Technique: tech, Strength: "some", Accuracy: 0.9 - 0.05*float64(i), Metric: "accuracy",
			Latency:   []pipeline.SeqLatency{{SeqLen: 16, MS: lat / 2}, {SeqLen: 32, MS: lat}},
			SizeBytes: 44_000_000 / int64(i+1)})
	}
	return out
}

func syntheticProxy() *ProxyValidation {
	p := &ProxyValidation{Proxy: "accuracy on the subsample", Target: "accuracy after fine-tuning", KendallTau: 0.6}
	for i := range 5 {
		p.Points = append(p.Points, ProxyPoint{Key: fmt.Sprintf("cand-%04d", i), Proxy: 0.7 + 0.03*float64(i), Target: 0.72 + 0.02*float64(i%3)})
	}
	return p
}

// bareFront is a front of one candidate without teacher, history or
// baselines.
func bareFront() *pipeline.Front {
	r := result(2, 0.75, 3*time.Millisecond, 30*time.Microsecond, 5_000_000)
	c := search.Candidate{Key: r.Key, Result: r, Score: search.Score{Reward: 0.5, Feasible: true}}
	return &pipeline.Front{RunID: "run-bare", RunDir: "runs/bare", Partial: true, Evaluations: 1, Candidates: 1,
		Members: []pipeline.Member{{Candidate: c}}, All: []search.Candidate{c}, Config: "search: {}\n"}
}

func TestRenderHTMLGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"full", Input{Front: syntheticFront(40, 6, 8), Baselines: syntheticBaselines(), Proxy: syntheticProxy()}},
		{"bare", Input{Front: bareFront()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := RenderHTML(&a, tc.in); err != nil {
				t.Fatal(err)
			}
			if err := RenderHTML(&b, tc.in); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("two renderings of the same input differ")
			}
			path := filepath.Join("testdata", "report_"+tc.name+".golden.html")
			if *update {
				if err := os.WriteFile(path, a.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./reports -run Golden -update to create it)", err)
			}
			if !bytes.Equal(a.Bytes(), want) {
				t.Errorf("%s differs from the rendering (go test ./reports -run Golden -update rewrites it after review)", path)
			}
		})
	}
}

// TestRenderHTMLSections: what the page holds depends on what the run
// has: plots as inline SVG, the teacher first, ties, the baselines and the
// teacher in the plots only when known, the proxy section only when given;
// text is escaped and no script is needed.
func TestRenderHTMLSections(t *testing.T) {
	render := func(in Input) string {
		var buf bytes.Buffer
		if err := RenderHTML(&buf, in); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	tied := testFront() // its members 1 and 2 are tied in latency
	for _, tc := range []struct {
		name      string
		in        Input
		has, lack []string
		svgs      int
	}{
		{"full", Input{Front: syntheticFront(40, 6, 8), Baselines: syntheticBaselines(), Proxy: syntheticProxy()},
			[]string{`id="proxy"`, "Proxy validation", "Kendall's τ = 0.600 over 5 candidates", "baselines, latency at sequence length 32",
				"▲ the teacher", "&lt;not a tag&gt; &amp; co", `<tr class="teacher">`, "hypervolume by evaluation", "best reward by evaluation",
				"latency, median (ms)", "size (MB)", "with 4 baselines"},
			[]string{"<script", "PARTIAL", "Partial:", "nothing to plot"}, 5},
		{"no proxy or baselines", Input{Front: syntheticFront(40, 6, 8)},
			[]string{"▲ the teacher"}, []string{"Proxy validation", `id="proxy"`, "■", "baselines"}, 4},
		{"ties", Input{Front: tied}, []string{`≈ #2</span>`, `≈ #1</span>`, "teacher</td>"}, []string{"≈ #3"}, 2},
		{"distilled", Input{Front: distilledFront()}, []string{`id="distilled"`, "Distilled front", "distilled front (purple)",
			"0.5000 → 0.6500", "Export takes the distilled weights"}, nil, 4},
		{"bare", Input{Front: bareFront()}, []string{"Partial:", "nothing to plot yet", "<td>#1</td>"},
			[]string{"▲ the teacher", `<tr class="teacher">`}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := render(tc.in)
			for _, s := range tc.has {
				if !strings.Contains(page, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.lack {
				if strings.Contains(page, s) {
					t.Errorf("page has %q", s)
				}
			}
			if n := strings.Count(page, "<svg "); n != tc.svgs {
				t.Errorf("%d inline SVGs, want %d", n, tc.svgs)
			}
			if strings.Contains(page, "<?xml") {
				t.Error("an SVG kept its XML prologue")
			}
		})
	}
	if err := RenderHTML(&bytes.Buffer{}, Input{}); err == nil {
		t.Error("no error without a front")
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	f := syntheticFront(40, 6, 8)
	paths, err := WriteReport(dir, Input{Front: f, Baselines: syntheticBaselines()})
	if err != nil {
		t.Fatal(err)
	}
	want := Paths{Report: filepath.Join(dir, "report.html"), ParetoJSON: filepath.Join(dir, "pareto.json"), ParetoCSV: filepath.Join(dir, "pareto.csv")}
	if paths != want {
		t.Fatalf("paths %+v, want %+v", paths, want)
	}
	tab := FrontTable(f)
	data, err := os.ReadFile(paths.ParetoJSON)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, tab) {
		t.Errorf("pareto.json is not the front table: %v", err)
	}
	cf, err := os.Open(paths.ParetoCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	recs, err := csv.NewReader(cf).ReadAll()
	if err != nil || len(recs) != len(tab.Rows)+1 || recs[1][0] != "teacher" {
		t.Errorf("pareto.csv: %v, %d records", err, len(recs))
	}
	html, err := os.ReadFile(paths.Report)
	if err != nil || !bytes.Contains(html, []byte("<svg ")) {
		t.Errorf("report.html: %v", err)
	}
	t.Run("missing directory", func(t *testing.T) {
		missing := filepath.Join(dir, "nope")
		if _, err := WriteReport(missing, Input{Front: f}); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("err %v, want one naming %s", err, missing)
		}
	})
	t.Run("no front", func(t *testing.T) {
		if _, err := WriteReport(dir, Input{}); err == nil {
			t.Error("no error")
		}
	})
}

// TestReportRendersInChromium renders a report in headless Chromium and
// checks that the four plots are drawn: each plot's frame (a border of a
// colour nothing else on the page has) holds ink, points of the front's
// colour in the two trade-off plots and the history colour in the others.
func TestReportRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed and CI is set (.ci/run installs the Debian package chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium); CI runs this test")
	}
	// Kept when the test fails, to look at.
	dir, err := os.MkdirTemp("", "edgenas-report-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	paths, err := WriteReport(dir, Input{Front: syntheticFront(300, 12, 30), Baselines: syntheticBaselines()})
	if err != nil {
		t.Fatal(err)
	}
	img := screenshot(t, bin, paths.Report, filepath.Join(dir, "report.png"))
	frames := findFrames(img, color.RGBA{R: 0xb4, G: 0xbc, B: 0xcb, A: 0xff}, 500, 350)
	if len(frames) != 4 {
		t.Fatalf("found %d plot frames %v in the screenshot, want 4 (report and screenshot kept in %s)", len(frames), frames, dir)
	}
	for i, r := range frames {
		in := r.Inset(2)
		ink, marked := 0, 0
		mark := colFront
		if i >= 2 {
			mark = colHistory
		}
		for y := in.Min.Y; y < in.Max.Y; y++ {
			for x := in.Min.X; x < in.Max.X; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				if c.R < 0xf0 || c.G < 0xf0 || c.B < 0xf0 {
					ink++
				}
				if near(c, mark, 24) {
					marked++
				}
			}
		}
		area := in.Dx() * in.Dy()
		if ink < area/50 || marked < 50 {
			t.Errorf("plot %d at %v: %d of %d pixels inked, %d of the series colour; want ≥ 2%% and ≥ 50 (report and screenshot kept in %s)", i, r, ink, area, marked, dir)
		}
	}
}

// screenshot renders the page at path in headless Chromium (bin) at 1200 ×
// 2000 CSS pixels, scale 1, into out and decodes it.
func screenshot(t *testing.T, bin, page, out string) image.Image {
	t.Helper()
	// The timeout only guards against a hung browser.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--user-data-dir="+t.TempDir(), "--screenshot="+out, "--window-size=1200,2000",
		"file://"+page)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return img
}

// findFrames returns the bounding boxes, top to bottom and left to right,
// of the connected sets of pixels of colour c that are at least w × h.
func findFrames(img image.Image, c color.RGBA, w, h int) []image.Rectangle {
	b := img.Bounds()
	seen := make([]bool, b.Dx()*b.Dy())
	is := func(x, y int) bool {
		return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c
	}
	var out []image.Rectangle
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := (y-b.Min.Y)*b.Dx() + x - b.Min.X
			if seen[i] || !is(x, y) {
				continue
			}
			r := image.Rect(x, y, x+1, y+1)
			stack := []image.Point{{x, y}}
			seen[i] = true
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				r = r.Union(image.Rect(p.X, p.Y, p.X+1, p.Y+1))
				for _, d := range []image.Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
					q := p.Add(d)
					j := (q.Y-b.Min.Y)*b.Dx() + q.X - b.Min.X
					if q.In(b) && !seen[j] && is(q.X, q.Y) {
						seen[j] = true
						stack = append(stack, q)
					}
				}
			}
			if r.Dx() >= w && r.Dy() >= h {
				out = append(out, r)
			}
		}
	}
	return out
}

// near reports whether a and b differ by at most tol in every channel.
func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

// BenchmarkReport2000 writes the report (pareto.json, pareto.csv and
// report.html with its plots) of a run of 2,000 evaluations with a front
// of 30 and 100 hypervolume points. Target: at most 1 s per report.
func BenchmarkReport2000(b *testing.B) {
	in := Input{Front: syntheticFront(2000, 30, 100), Baselines: syntheticBaselines()}
	dir := b.TempDir()
	for b.Loop() {
		if _, err := WriteReport(dir, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/report")
}

// distilledFront is syntheticFront with its first two members distilled:
// from accuracy 0.5 to 0.65 and 0.6.
func distilledFront() *pipeline.Front {
	f := syntheticFront(40, 6, 8)
	for i, acc := range []float64{0.65, 0.6} {
		m := f.Members[i]
		d := pipeline.Distilled{Key: m.Key, Result: m.Result, Before: 0.5, Score: m.Score, OnFront: true}
		d.Result.Accuracy = acc
		f.Distilled = append(f.Distilled, d)
	}
	return f
}
