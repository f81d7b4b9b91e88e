package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

// result makes an evaluation result of a one-layer arch with heads h.
func result(h int, acc float64, median, mad time.Duration, size int64) evaluator.Result {
	a := space.Arch{Layers: []space.LayerGene{{Heads: h, FFN: 64, Bits: 8}}, EmbeddingBits: 32, SeqLen: 32}
	return evaluator.Result{Key: a.Key(), Arch: a, Accuracy: acc, Metric: "accuracy", Examples: 100, SizeBytes: size,
		Latency: devices.Measurement{Stats: devices.Stats{Median: median, P90: median + mad, MAD: mad, Runs: 9}}, Device: "dev"}
}

// testFront is a front of three members (two of them tied in latency)
// with the teacher rescored.
func testFront() *pipeline.Front {
	teacher := result(4, 0.80, 10*time.Millisecond, 100*time.Microsecond, 40_000_000)
	teacher.Arch.Layers = append(teacher.Arch.Layers, teacher.Arch.Layers[0])
	f := &pipeline.Front{RunID: "run-x", RunDir: "runs/x", Evaluations: 50, Teachers: []evaluator.Result{teacher}}
	for _, m := range []struct {
		h       int
		acc     float64
		lat     time.Duration
		mad     time.Duration
		size    int64
		fullAcc float64
	}{
		{1, 0.70, 2 * time.Millisecond, 20 * time.Microsecond, 4_000_000, 0.72},
		{2, 0.78, 2010 * time.Microsecond, 30 * time.Microsecond, 8_000_000, 0.76},
		{3, 0.79, 5 * time.Millisecond, 50 * time.Microsecond, 20_000_000, 0.78},
	} {
		r := result(m.h, m.acc, m.lat, m.mad, m.size)
		full := r
		full.Accuracy, full.Examples = m.fullAcc, 872
		f.Members = append(f.Members, pipeline.Member{Candidate: search.Candidate{Key: r.Key, Result: r}, Full: &full})
	}
	// Slowest first in the file: the table sorts by latency.
	f.Members[0], f.Members[2] = f.Members[2], f.Members[0]
	return f
}

func TestFrontTable(t *testing.T) {
	tab := FrontTable(testFront())
	if len(tab.Rows) != 4 || !tab.Rows[0].Teacher || tab.Rows[0].Key != "teacher" {
		t.Fatalf("rows %+v", tab.Rows)
	}
	fast := tab.Rows[1]
	if fast.Arch.Layers[0].Heads != 1 || tab.Rows[3].Arch.Layers[0].Heads != 3 {
		t.Errorf("not fastest first: %v, %v", fast.Key, tab.Rows[3].Key)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(fast.SpeedUp, 5) || !near(fast.SizeReduction, 10) || !near(fast.AccuracyChange, (0.72-0.80)/0.80) ||
		fast.Accuracy != 0.72 || fast.SubsampleAccuracy != 0.70 || fast.Examples != 872 {
		t.Errorf("fastest row %+v", fast)
	}
	if teacher := tab.Rows[0]; teacher.SpeedUp != 1 || teacher.SizeReduction != 1 || teacher.AccuracyChange != 0 {
		t.Errorf("teacher row %+v", teacher)
	}
	// 2.000 ms ± 0.020 and 2.010 ms ± 0.030 are tied; 5 ms is not.
	if len(tab.Rows[1].TiedWith) != 1 || tab.Rows[1].TiedWith[0] != tab.Rows[2].Key || len(tab.Rows[3].TiedWith) != 0 {
		t.Errorf("ties: %v / %v / %v", tab.Rows[1].TiedWith, tab.Rows[2].TiedWith, tab.Rows[3].TiedWith)
	}
	if !strings.HasPrefix(fast.Architecture, "1 layer; layer 1: 1 head, FFN 64, int8") {
		t.Errorf("architecture %q", fast.Architecture)
	}
}

func TestTableWriters(t *testing.T) {
	tab := FrontTable(testFront())
	var text bytes.Buffer
	if err := tab.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Pareto front: 3 of 50 candidates", "teacher  0.8000", "-10.0%", "5.0×", "10.0×", "≈", "1 layer; layer 1: 1 head", "run directory: runs/x"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := tab.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Rows) != 4 || back.Rows[1].SpeedUp != tab.Rows[1].SpeedUp {
		t.Fatalf("JSON round trip: %v\n%s", err, js.String())
	}
	var c bytes.Buffer
	if err := tab.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil || len(recs) != 5 || len(recs[0]) != len(csvHeader) || recs[1][0] != "teacher" || recs[2][1] != "false" {
		t.Fatalf("CSV: %v\n%v", err, recs)
	}
}

// TestDistilledTable: the distilled front's table has the teacher's row
// and the distilled students on the distilled front only, each with its
// accuracy before and after distillation; WriteText shows both.
func TestDistilledTable(t *testing.T) {
	f := distilledFront()
	f.Distilled[1].OnFront = false
	tab := DistilledTable(f)
	if !tab.Distilled || tab.Evaluations != 2 || len(tab.Rows) != 2 || !tab.Rows[0].Teacher {
		t.Fatalf("table %+v", tab)
	}
	r := tab.Rows[1]
	if r.Key != f.Distilled[0].Key || r.Accuracy != 0.65 || r.Before == nil || *r.Before != 0.5 || r.SpeedUp == 0 {
		t.Fatalf("row %+v", r)
	}
	var b strings.Builder
	if err := tab.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Distilled front: 1 of 2 distilled students", "0.5000 → 0.6500"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if FrontTable(f).Distilled || FrontTable(f).Rows[1].Before != nil {
		t.Error("the compressed front's table is marked distilled")
	}
}
