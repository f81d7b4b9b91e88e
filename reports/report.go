package reports

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg/draw"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/pipeline"
)

// The files WriteReport writes into a run directory.
const (
	ReportFile     = "report.html"
	ParetoJSONFile = "pareto.json"
	ParetoCSVFile  = "pareto.csv"
)

// Input is what a report shows: a saved front, the run's single-technique
// baselines (nil when not computed) and the validation of the accuracy
// proxy (nil: the front's own proxy check, ProxyFromFront, when it has
// one).
type Input struct {
	Front     *pipeline.Front
	Baselines []pipeline.Baseline
	Proxy     *ProxyValidation
}

// ProxyValidation is how well the search's accuracy proxy ranks
// candidates against a more faithful measure of the same candidates, as
// whoever measured it computed it. The report shows it as given.
type ProxyValidation struct {
	// Proxy and Target name the two measures compared, e.g. "accuracy on
	// the 256-example subsample" and "accuracy after fine-tuning".
	Proxy  string `json:"proxy"`
	Target string `json:"target"`
	// KendallTau is the rank correlation of the proxy and the target over
	// Points.
	KendallTau float64 `json:"kendall_tau"`
	// MaxAbsError is the largest |proxy − target| over Points, reached by
	// MaxAbsErrorKey; both zero when not computed.
	MaxAbsError    float64 `json:"max_abs_error,omitempty"`
	MaxAbsErrorKey string  `json:"max_abs_error_key,omitempty"`
	// Warning, when set, says the proxy is not to be trusted and why.
	Warning string `json:"warning,omitempty"`
	// Points are the candidates compared.
	Points []ProxyPoint `json:"points"`
}

// ProxyFromFront is the ProxyValidation of f's proxy check (accuracy on
// the search's subsample against accuracy on every example); nil when f
// has none.
func ProxyFromFront(f *pipeline.Front) *ProxyValidation {
	p := f.Proxy
	if p == nil {
		return nil
	}
	what := cmp.Or(p.Metric, "accuracy")
	v := &ProxyValidation{Proxy: fmt.Sprintf("%s on the %d-example subsample", what, p.Subsample),
		Target: fmt.Sprintf("%s on all %d examples", what, p.Examples), KendallTau: p.KendallTau,
		MaxAbsError: p.MaxAbsError, MaxAbsErrorKey: p.MaxAbsErrorKey, Warning: p.Warning}
	for _, pt := range p.Points {
		v.Points = append(v.Points, ProxyPoint{Key: pt.Key, Proxy: pt.Proxy, Target: pt.Full})
	}
	return v
}

// ProxyPoint is one candidate of a ProxyValidation.
type ProxyPoint struct {
	Key    string  `json:"key"`
	Proxy  float64 `json:"proxy"`
	Target float64 `json:"target"`
}

// Paths names the files WriteReport wrote.
type Paths struct {
	Report     string `json:"report"`
	ParetoJSON string `json:"pareto_json"`
	ParetoCSV  string `json:"pareto_csv"`
}

// WriteReport writes the report of in into dir: the front table as
// ParetoJSONFile and ParetoCSVFile (Table.WriteJSON, Table.WriteCSV) and
// the HTML page as ReportFile (RenderHTML), each file atomically. The
// page is rendered before any file is written, so a plotting error
// leaves dir as it was.
func WriteReport(dir string, in Input) (Paths, error) {
	if in.Front == nil {
		return Paths{}, fmt.Errorf("report for %s: no front", dir)
	}
	var page bytes.Buffer
	if err := RenderHTML(&page, in); err != nil {
		return Paths{}, err
	}
	tab := FrontTable(in.Front)
	p := Paths{Report: filepath.Join(dir, ReportFile), ParetoJSON: filepath.Join(dir, ParetoJSONFile), ParetoCSV: filepath.Join(dir, ParetoCSVFile)}
	if err := atomicfile.Write(p.ParetoJSON, tab.WriteJSON); err != nil {
		return Paths{}, fmt.Errorf("write %s: %w", p.ParetoJSON, err)
	}
	if err := atomicfile.Write(p.ParetoCSV, tab.WriteCSV); err != nil {
		return Paths{}, fmt.Errorf("write %s: %w", p.ParetoCSV, err)
	}
	if err := atomicfile.WriteBytes(p.Report, page.Bytes()); err != nil {
		return Paths{}, fmt.Errorf("write %s: %w", p.Report, err)
	}
	return p, nil
}

//go:embed template.html
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) },
	"mb":  func(b int64) string { return fmt.Sprintf("%.2f", float64(b)/1e6) },
	// before is a distilled row's accuracy before distillation and an arrow.
	"before": func(v *float64) string {
		if v == nil {
			return ""
		}
		return fmt.Sprintf("%.4f → ", *v)
	},
	// pctOf is a fraction in percent.
	"pctOf": func(v float64) float64 { return 100 * v },
}).Parse(pageText))

// view is what the page template renders.
type view struct {
	Table     Table
	Rows      []rowView
	Distilled []Row // the distilled front's rows, the teacher's first; nil without distillation
	Front     *pipeline.Front
	Metric    string
	Plots     []plotView
	ProxyPlot *plotView
	Baselines int
	Proxy     *ProxyValidation
}

// rowView is one row of the page's front table: its label ("teacher" or
// its rank by latency) and the labels of the rows it is tied with.
type rowView struct {
	Row
	Label string
	Ties  string
}

// plotView is one plot of the page: its inline SVG (empty when there is
// nothing to draw) and its caption.
type plotView struct {
	ID, Title, Caption string
	SVG                template.HTML
}

// RenderHTML writes the report page of in to w: the plots (accuracy
// against latency and against size with the front highlighted, the
// teacher and baselines marked; hypervolume and best reward by
// evaluation) as inline SVG, the front table, the proxy validation when
// in has one and the run's config. The page needs no JavaScript.
func RenderHTML(w io.Writer, in Input) error {
	f := in.Front
	if f == nil {
		return fmt.Errorf("report: no front")
	}
	if in.Proxy == nil {
		in.Proxy = ProxyFromFront(f)
	}
	v := view{Table: FrontTable(f), Front: f, Metric: metric(f), Baselines: len(in.Baselines), Proxy: in.Proxy}
	labels, rank := map[string]string{}, 0
	for _, r := range v.Table.Rows {
		label := "teacher"
		if !r.Teacher {
			rank++
			label = fmt.Sprintf("#%d", rank)
		}
		labels[r.Key] = label
		v.Rows = append(v.Rows, rowView{Row: r, Label: label})
	}
	for i := range v.Rows {
		var ties []string
		for _, k := range v.Rows[i].TiedWith {
			ties = append(ties, labels[k])
		}
		v.Rows[i].Ties = strings.Join(ties, ", ")
	}
	if len(f.Distilled) > 0 {
		v.Distilled = DistilledTable(f).Rows
	}
	charts := charts(in, v.Metric)
	for _, c := range charts {
		svg, err := c.chart.svg()
		if err != nil {
			return fmt.Errorf("report %s: %w", f.RunDir, err)
		}
		// The SVG is ours: drawn above from numbers, its text from gonum's
		// escaping writer (svgo).
		pv := plotView{ID: c.id, Title: c.chart.title, Caption: c.caption, SVG: template.HTML(svg)}
		if c.id == "proxy" {
			v.ProxyPlot = &pv
			continue
		}
		v.Plots = append(v.Plots, pv)
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("report %s: %w", f.RunDir, err)
	}
	return nil
}

// metric names the front's accuracy metric.
func metric(f *pipeline.Front) string {
	for _, r := range f.Teachers {
		return r.Metric
	}
	for _, m := range f.Members {
		return m.Result.Metric
	}
	for _, c := range f.All {
		return c.Result.Metric
	}
	return "accuracy"
}

// namedChart is a chart with its id and caption on the page.
type namedChart struct {
	id, caption string
	chart       chart
}

// charts builds the page's plots of in.
func charts(in Input, metric string) []namedChart {
	f := in.Front
	type axis struct {
		id, name, label string
		of              func(latencyMS float64, size int64) float64
	}
	axes := []axis{
		{"latency", "latency", "latency, median (ms)", func(l float64, _ int64) float64 { return l }},
		{"size", "size", "size (MB)", func(_ float64, s int64) float64 { return float64(s) / 1e6 }},
	}
	var out []namedChart
	for _, ax := range axes {
		all := series{name: "evaluated", glyph: glyph(colAll, draw.CircleGlyph{}, 1.8)}
		for _, c := range f.All {
			all.pts = append(all.pts, point{ax.of(ms(c.Result.Latency.Median), c.Result.SizeBytes), c.Result.Accuracy})
		}
		front := series{name: "Pareto front", glyph: glyph(colFront, draw.CircleGlyph{}, 3.2), line: frontierLine}
		for _, m := range f.Members {
			acc := m.Result.Accuracy
			if m.Full != nil {
				acc = m.Full.Accuracy
			}
			front.pts = append(front.pts, point{ax.of(ms(m.Result.Latency.Median), m.Result.SizeBytes), acc})
		}
		distilled := series{name: "distilled front", glyph: glyph(colDistill, draw.RingGlyph{}, 3.2), line: frontierLine}
		for _, d := range f.DistilledFront() {
			distilled.pts = append(distilled.pts, point{ax.of(ms(d.Result.Latency.Median), d.Result.SizeBytes), d.Result.Accuracy})
		}
		teacherSeq := 0
		teacher := series{name: "teacher", glyph: glyph(colTeacher, draw.PyramidGlyph{}, 4.5)}
		if n := len(f.Teachers); n > 0 {
			t := f.Teachers[n-1]
			teacherSeq = t.Arch.SeqLen
			teacher.pts = []point{{ax.of(ms(t.Latency.Median), t.SizeBytes), t.Accuracy}}
			teacher.labels = []string{"teacher"}
		}
		base, baseSeq := series{name: "baselines", glyph: glyph(colBaseline, draw.BoxGlyph{}, 2.6)}, 0
		for _, b := range in.Baselines {
			if b.Technique == "teacher" && len(f.Teachers) > 0 {
				continue
			}
			if l, ok := baselineAt(b, teacherSeq); ok {
				base.pts = append(base.pts, point{ax.of(l.MS, b.SizeBytes), b.Accuracy})
				baseSeq = l.SeqLen
			}
		}
		caption := fmt.Sprintf("Every evaluated candidate (grey; %s on the search's subsample) and the Pareto front (red; rescored on every example when done) by %s; the red staircase joins the front members no other beats on these two axes.", metric, ax.name)
		if len(distilled.pts) > 0 {
			caption += " ○ the distilled front (purple): the distilled students, each at its accuracy after distillation."
		}
		if len(teacher.pts) > 0 {
			caption += " ▲ the teacher."
		}
		if len(base.pts) > 0 {
			caption += fmt.Sprintf(" ■ each compression technique alone (baselines, latency at sequence length %d).", baseSeq)
		}
		out = append(out, namedChart{id: ax.id, caption: caption, chart: chart{
			title: fmt.Sprintf("%s against %s", metric, ax.name), xLabel: ax.label, yLabel: metricLabel(metric),
			series: []series{all, base, front, distilled, teacher}, legend: true,
		}})
	}
	hv := series{name: "exact front", glyph: glyph(colHistory, draw.CircleGlyph{}, 1.5), line: plainLine}
	noise := series{name: "noise-aware front", glyph: glyph(colFront, draw.CircleGlyph{}, 1.5), line: plainLine}
	for _, h := range f.History {
		hv.pts = append(hv.pts, point{float64(h.Evaluations), h.Hypervolume})
		if h.NoiseFrontSize > 0 { // runs saved before noise-awareness have none
			noise.pts = append(noise.pts, point{float64(h.Evaluations), h.NoiseHypervolume})
		}
	}
	out = append(out, namedChart{id: "hypervolume",
		caption: "Hypervolume after each generation of the exact feasible front (green) and of the noise-aware front the run reports (red; latencies within the measured spread tied, so it is at most the exact one), in normalized objectives (accuracy, latency and size over their reference) against (0, 1, 1); higher is better.",
		chart: chart{title: "hypervolume by evaluation", xLabel: "evaluations", yLabel: "hypervolume (normalized)", series: []series{hv, noise},
			legend: len(noise.pts) > 0}})
	best := series{name: "best reward", glyph: glyph(colHistory, draw.CircleGlyph{}, 0), line: plainLine}
	top := math.Inf(-1)
	for i, c := range f.All {
		top = max(top, c.Reward)
		best.pts = append(best.pts, point{float64(i + 1), top})
	}
	out = append(out, namedChart{id: "reward",
		caption: "Best reward seen so far by evaluation (candidates in the order the search evaluated them); negative while no candidate met the hard constraints.",
		chart:   chart{title: "best reward by evaluation", xLabel: "evaluations", yLabel: "best reward", series: []series{best}}})
	if p := in.Proxy; p != nil {
		pts := series{name: "candidates", glyph: glyph(colFront, draw.CircleGlyph{}, 3)}
		for _, pt := range p.Points {
			pts.pts = append(pts.pts, point{pt.Proxy, pt.Target})
		}
		out = append(out, namedChart{id: "proxy",
			caption: fmt.Sprintf("%s against %s for %d candidates (Kendall's τ = %.3f).", p.Target, p.Proxy, len(p.Points), p.KendallTau),
			chart:   chart{title: "proxy validation", xLabel: p.Proxy, yLabel: p.Target, series: []series{pts}}})
	}
	return out
}

// baselineAt is b's latency at sequence length seq when measured there,
// else at its last.
func baselineAt(b pipeline.Baseline, seq int) (pipeline.SeqLatency, bool) {
	for _, l := range b.Latency {
		if l.SeqLen == seq {
			return l, true
		}
	}
	if n := len(b.Latency); n > 0 {
		return b.Latency[n-1], true
	}
	return pipeline.SeqLatency{}, false
}

// metricLabel is the axis label of an accuracy metric, with its range.
func metricLabel(metric string) string {
	switch metric {
	case "accuracy", "teacher_agreement":
		return metric + " (fraction, 0–1)"
	case "f1":
		return "F1 (0–1)"
	case "mcc":
		return "MCC (−1 to 1)"
	}
	return metric
}
