package train

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/safetensors"
)

// smallModel is a 1-layer model with a classifier, every parameter set to
// a distinct value.
func smallModel(t *testing.T) *transformer.Model {
	t.Helper()
	cfg := transformer.DefaultConfig()
	cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = 6, 4, 1, 2, 8
	cfg.MaxPositionEmbeddings, cfg.NumLabels = 8, 2
	m, err := transformer.NewModel(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	m.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) {
		for i := range p {
			k++
			p[i] = float32(math.Sin(float64(k)))
		}
	})
	return m
}

func TestLRSchedule(t *testing.T) {
	c := AdamWConfig{LR: 1, WarmupSteps: 4, TotalSteps: 12}
	want := map[int]float64{0: 0, 1: 0.25, 2: 0.5, 4: 1, 5: 7.0 / 8, 8: 0.5, 11: 1.0 / 8, 12: 0, 20: 0}
	for step, w := range want {
		if got := c.LRAt(step); math.Abs(got-w) > 1e-12 {
			t.Errorf("LRAt(%d) = %v, want %v", step, got, w)
		}
	}
	constant := AdamWConfig{LR: 0.3}
	if constant.LRAt(1) != 0.3 || constant.LRAt(1000) != 0.3 {
		t.Error("no schedule should keep the rate constant")
	}
	if (AdamWConfig{}).LRAt(1) != DefaultAdamW().LR {
		t.Error("zero config should use the default rate")
	}
}

// TestAdamWHandComputed checks two steps on scalars against the formulas
// worked out by hand (PyTorch's AdamW): p ← p·(1−lr·wd) − lr/(1−β1ᵗ)·m /
// (√(v/(1−β2ᵗ)) + ε).
func TestAdamWHandComputed(t *testing.T) {
	m := smallModel(t)
	g := NewGrads(m)
	o := NewAdamW(m, AdamWConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5})
	w0, b0 := m.Classifier.W[0], m.Classifier.B[0] // a weight (decayed) and a bias (not)
	g.Classifier.W[0], g.Classifier.B[0] = 0.2, -0.4

	if _, err := o.Step(g); err != nil {
		t.Fatal(err)
	}
	// Step 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², update = lr·sign(g).
	wantW := float64(w0)*(1-0.1*0.5) - 0.1*0.2/(0.2+1e-8)
	wantB := float64(b0) + 0.1*0.4/(0.4+1e-8)
	if d := math.Abs(float64(m.Classifier.W[0]) - wantW); d > 1e-6 {
		t.Errorf("step 1 weight %v, want %v", m.Classifier.W[0], wantW)
	}
	if d := math.Abs(float64(m.Classifier.B[0]) - wantB); d > 1e-6 {
		t.Errorf("step 1 bias %v, want %v", m.Classifier.B[0], wantB)
	}
	// A parameter with zero gradient only decays (weights) or stays (biases).
	w1 := m.Classifier.W[1]
	if m.Pooler.B[0] != smallModel(t).Pooler.B[0] {
		t.Error("zero-gradient bias moved")
	}

	// Step 2 with gradient 0.1 on the weight: m = 0.9·0.02 + 0.1·0.1 = 0.028,
	// v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5; m̂ = 0.028/0.19, v̂ = 4.996e-5/0.001999.
	w1st := float64(m.Classifier.W[0])
	g.Classifier.W[0], g.Classifier.B[0] = 0.1, 0
	if _, err := o.Step(g); err != nil {
		t.Fatal(err)
	}
	mh, vh := 0.028/0.19, 4.996e-5/(1-0.999*0.999)
	want2 := w1st*(1-0.1*0.5) - 0.1*mh/(math.Sqrt(vh)+1e-8)
	if d := math.Abs(float64(m.Classifier.W[0]) - want2); d > 1e-5 {
		t.Errorf("step 2 weight %v, want %v", m.Classifier.W[0], want2)
	}
	if got, want := float64(m.Classifier.W[1]), float64(w1)*(1-0.1*0.5); math.Abs(got-want) > 1e-6 {
		t.Errorf("zero-gradient weight %v, want decayed %v", got, want)
	}
	if o.Steps() != 2 {
		t.Errorf("Steps() = %d", o.Steps())
	}
}

func TestNoDecayOnBiasAndLayerNorm(t *testing.T) {
	m := smallModel(t)
	before := smallModel(t)
	o := NewAdamW(m, AdamWConfig{LR: 0.1, WeightDecay: 0.9})
	if _, err := o.Step(NewGrads(m)); err != nil {
		t.Fatal(err)
	}
	var moved, decayed []string
	var old [][]float32
	before.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { old = append(old, p) })
	i := 0
	m.Params(func(name string, _ []int, p []float32, kind transformer.ParamKind) {
		changed := p[0] != old[i][0]
		if kind == transformer.ParamWeight && changed {
			decayed = append(decayed, name)
		}
		if kind != transformer.ParamWeight && changed {
			moved = append(moved, name)
		}
		i++
	})
	if len(moved) > 0 {
		t.Errorf("biases or LayerNorm decayed: %v", moved)
	}
	if len(decayed) == 0 {
		t.Error("no weight decayed")
	}
}

func TestClipping(t *testing.T) {
	m := smallModel(t)
	g := NewGrads(m)
	g.Classifier.W[0], g.Classifier.W[1] = 3, 4 // norm 5
	o := NewAdamW(m, AdamWConfig{LR: 0.1, Clip: 1})
	st, err := o.Step(g)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Clipped || math.Abs(st.GradNorm-5) > 1e-9 || st.Step != 1 || st.LR != 0.1 {
		t.Fatalf("stats %+v", st)
	}
	if n := GradNorm(g); math.Abs(n-1) > 1e-5 {
		t.Errorf("clipped norm %v, want 1", n)
	}
	if math.Abs(float64(o.m[len(o.m)-2][0])-0.1*0.6) > 1e-6 { // classifier.weight moments see the clipped 0.6
		t.Errorf("first moment %v, want 0.06", o.m[len(o.m)-2][0])
	}
	// Under the limit nothing is scaled.
	clear(g.Classifier.W)
	g.Classifier.W[0] = 0.5
	if st, _ := o.Step(g); st.Clipped || g.Classifier.W[0] != 0.5 {
		t.Errorf("small gradient clipped: %+v", st)
	}
}

func TestAdamWRejects(t *testing.T) {
	m := smallModel(t)
	o := NewAdamW(m, AdamWConfig{})
	g := NewGrads(m)
	g.Pooler.W[3] = float32(math.Inf(-1))
	before := m.Pooler.W[0]
	if _, err := o.Step(g); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("infinite gradient: %v", err)
	}
	if m.Pooler.W[0] != before || o.Steps() != 0 {
		t.Error("a refused step changed the model")
	}
	other := smallModel(t)
	other.Classifier = nil
	if _, err := o.Step(NewGrads(other)); err == nil || !strings.Contains(err.Error(), "tensors") {
		t.Fatalf("mismatched gradient: %v", err)
	}
}

func TestAdamWStateRoundTrip(t *testing.T) {
	m := smallModel(t)
	o := NewAdamW(m, AdamWConfig{LR: 0.01})
	g := NewGrads(m)
	g.Classifier.W[2] = 0.7
	o.Step(g)
	o.Step(g)
	ts, meta := o.Tensors()
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m2 := smallModel(t)
	o2 := NewAdamW(m2, AdamWConfig{LR: 0.01})
	if err := o2.Restore(f); err != nil {
		t.Fatal(err)
	}
	if o2.Steps() != 2 {
		t.Fatalf("restored step %d", o2.Steps())
	}
	// The same next step from the same state gives the same weights.
	copyParams(m2, m)
	o.Step(g)
	o2.Step(g)
	if m.Classifier.W[2] != m2.Classifier.W[2] {
		t.Errorf("after restore: %v vs %v", m.Classifier.W[2], m2.Classifier.W[2])
	}

	bad := []struct {
		name string
		edit func(f *safetensors.File)
		want string
	}{
		{"missing tensor", func(f *safetensors.File) { f.Tensors = f.Tensors[1:] }, "missing"},
		{"bad step", func(f *safetensors.File) { f.Metadata = map[string]string{"step": "-1"} }, "step"},
		{"no step", func(f *safetensors.File) { f.Metadata = nil }, "step"},
		{"bad shape", func(f *safetensors.File) { f.Tensors[0].Shape = []int{1}; f.Tensors[0].Data = f.Tensors[0].Data[:4] }, "shape"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := safetensors.Parse(buf.Bytes())
			f2 := &safetensors.File{Tensors: append([]safetensors.Tensor(nil), f.Tensors...), Metadata: f.Metadata}
			tc.edit(f2)
			if err := o2.Restore(f2); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// copyParams copies src's parameters into dst (same layout).
func copyParams(dst, src *transformer.Model) {
	var ps [][]float32
	src.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { ps = append(ps, p) })
	i := 0
	dst.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { copy(p, ps[i]); i++ })
}

func BenchmarkAdamWStepMini(b *testing.B) {
	cfg, _ := transformer.ShapeConfig("mini", 30522)
	m, _ := transformer.NewModel(cfg, true)
	g := NewGrads(m)
	g.Classifier.W[0] = 1
	o := NewAdamW(m, AdamWConfig{LR: 1e-4, WeightDecay: 0.01, Clip: 1})
	b.ResetTimer()
	for range b.N {
		if _, err := o.Step(g); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(m.NumParams()), "params")
}
