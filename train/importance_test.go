package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// refGateScores computes the gate scores by central finite differences of
// the float64 reference: each gate ξ is realized by scaling parameters,
// which multiplies exactly the gated tensor by ξ (a head's Value rows and
// biases scale its context; a neuron's column of the FFN output weight
// scales its activation's contribution; a layer's attention-output and
// FFN-output weights and biases scale both residual branches). Each row's
// own loss is differentiated, and |·| summed over rows.
func refGateScores(m *transformer.Model, b *tokenizer.Batch, labels []int) *GateScores {
	p := toParams64(m, nil)
	C := m.Classifier.Out
	rowLosses := func() []float64 {
		logits := refForward(m, p, b).logits
		out := make([]float64, len(labels))
		for r, y := range labels {
			out[r] = -refLogSoftmax(logits[r*C:(r+1)*C], 1)[y]
		}
		return out
	}
	// score returns Σ_rows |∂L_row/∂ξ| where ξ multiplies the selected
	// parameter entries.
	score := func(sel map[string][]int) float64 {
		const eps = 1e-4
		saved := map[string][]float64{}
		for name, idx := range sel {
			saved[name] = slices.Clone(p[name])
			_ = idx
		}
		set := func(xi float64) {
			for name, idx := range sel {
				for _, i := range idx {
					p[name][i] = saved[name][i] * xi
				}
			}
		}
		set(1 + eps)
		lp := rowLosses()
		set(1 - eps)
		lm := rowLosses()
		set(1)
		var s float64
		for r := range lp {
			s += math.Abs((lp[r] - lm[r]) / (2 * eps))
		}
		return s
	}
	span := func(lo, hi int) []int {
		var s []int
		for i := lo; i < hi; i++ {
			s = append(s, i)
		}
		return s
	}
	H := m.Config.HiddenSize
	s := NewGateScores(m)
	s.Examples = b.Size
	for li, l := range m.Layers {
		pre := fmt.Sprintf("bert.encoder.layer.%d.", li)
		hs := l.HeadSize
		for h := 0; h < l.Heads; h++ {
			s.Heads[li][h] = score(map[string][]int{
				pre + "attention.self.value.weight": span(h*hs*H, (h+1)*hs*H),
				pre + "attention.self.value.bias":   span(h*hs, (h+1)*hs),
			})
		}
		for j := 0; j < l.FFN; j++ {
			var col []int
			for o := 0; o < H; o++ {
				col = append(col, o*l.FFN+j)
			}
			s.Neurons[li][j] = score(map[string][]int{pre + "output.dense.weight": col})
		}
		all := func(name string) []int { return span(0, len(p[pre+name])) }
		s.Layers[li] = score(map[string][]int{
			pre + "attention.output.dense.weight": all("attention.output.dense.weight"),
			pre + "attention.output.dense.bias":   all("attention.output.dense.bias"),
			pre + "output.dense.weight":           all("output.dense.weight"),
			pre + "output.dense.bias":             all("output.dense.bias"),
		})
	}
	return s
}

// compareScores fails when got and want differ beyond float32 backward
// accuracy.
func compareScores(t *testing.T, got, want *GateScores, abs, rel float64) {
	t.Helper()
	if got.Examples != want.Examples {
		t.Errorf("examples %d, want %d", got.Examples, want.Examples)
	}
	cmp := func(what string, g, w []float64) {
		for i := range w {
			if math.Abs(g[i]-w[i]) > abs+rel*math.Abs(w[i]) {
				t.Errorf("%s[%d]: %.7g, want %.7g", what, i, g[i], w[i])
			}
		}
	}
	for l := range want.Layers {
		cmp(fmt.Sprintf("layer %d heads", l), got.Heads[l], want.Heads[l])
		cmp(fmt.Sprintf("layer %d neurons", l), got.Neurons[l], want.Neurons[l])
	}
	cmp("layers", got.Layers, want.Layers)
}

func TestImportanceFiniteDifferences(t *testing.T) {
	for _, act := range activations {
		t.Run(act, func(t *testing.T) {
			m := randomModel(t, testConfig(act, []int{2, 3, 1}, []int{12, 7, 5}), 11, 0.5)
			rng := rand.New(rand.NewPCG(12, 12))
			b := testBatch(rng, m.Config.VocabSize, 6, 3, 5, 2)
			labels := []int{2, 0, 1, 1}
			s := NewGateScores(m)
			loss, err := NewNet(m, 2).ImportanceStep(b, labels, s)
			if err != nil {
				t.Fatal(err)
			}
			if want := 4 * refCE(refForward(m, toParams64(m, nil), b).logits, labels, 3); math.Abs(loss-want) > 1e-4 {
				t.Errorf("loss %v, reference %v", loss, want)
			}
			compareScores(t, s, refGateScores(m, b, labels), 2e-5, 2e-3)
		})
	}
}

func TestImportancePseudoLabels(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 2}, []int{8, 6}), 13, 0.5)
	b := testBatch(rand.New(rand.NewPCG(14, 14)), m.Config.VocabSize, 5, 7, 2)
	out, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	var argmax []int
	for r := 0; r < b.Size; r++ {
		row := out.Logits[r*3 : (r+1)*3]
		argmax = append(argmax, slices.Index(row, slices.Max(row)))
	}
	pseudo, err := Importance(m, []*tokenizer.Batch{b}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	labelled, err := Importance(m, []*tokenizer.Batch{b}, [][]int{argmax}, 1)
	if err != nil {
		t.Fatal(err)
	}
	compareScores(t, pseudo, labelled, 0, 0)
	compareScores(t, pseudo, refGateScores(m, b, argmax), 2e-5, 2e-3)
}

// TestImportanceBatching checks that a batch's scores are the sum of its
// examples' scores: examples do not interact, padding contributes nothing.
func TestImportanceBatching(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELUNew, []int{2, 1}, []int{9, 4}), 15, 0.5)
	rng := rand.New(rand.NewPCG(16, 16))
	lengths := []int{4, 9, 1, 6}
	labels := []int{1, 2, 0, 2}
	whole := testBatch(rng, m.Config.VocabSize, lengths...)
	var singles []*tokenizer.Batch
	var singleLabels [][]int
	for r := range lengths {
		ids, types, _ := whole.Row(r)
		n := lengths[r]
		b := tokenizer.NewBatch([]tokenizer.Encoding{{IDs: ids[:n], TypeIDs: types[:n]}}, 0)
		singles = append(singles, &b)
		singleLabels = append(singleLabels, labels[r:r+1])
	}
	got, err := Importance(m, []*tokenizer.Batch{whole}, [][]int{labels}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Importance(m, singles, singleLabels, 2)
	if err != nil {
		t.Fatal(err)
	}
	compareScores(t, got, want, 1e-6, 1e-4)
}

func TestImportanceThreadsIdentical(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 3}, []int{10, 7}), 17, 0.5)
	b := testBatch(rand.New(rand.NewPCG(18, 18)), m.Config.VocabSize, 7, 3, 5, 1, 6)
	labels := []int{0, 1, 2, 0, 1}
	ref, err := Importance(m, []*tokenizer.Batch{b}, [][]int{labels}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{2, 5} {
		s, err := Importance(m, []*tokenizer.Batch{b}, [][]int{labels}, threads)
		if err != nil {
			t.Fatal(err)
		}
		compareScores(t, s, ref, 0, 0)
	}
}

// TestImportanceLeavesClassifyStep checks that the hooks are off outside
// ImportanceStep: a Net that scored importance computes the same gradients
// as a fresh one.
func TestImportanceLeavesClassifyStep(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{8, 6}), 19, 0.5)
	b := testBatch(rand.New(rand.NewPCG(20, 20)), m.Config.VocabSize, 4, 6)
	labels := []int{1, 2}
	used := NewNet(m, 2)
	if _, err := used.ImportanceStep(b, labels, NewGateScores(m)); err != nil {
		t.Fatal(err)
	}
	g1, g2 := NewGrads(m), NewGrads(m)
	if _, _, err := used.ClassifyStep(b, labels, g1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewNet(m, 2).ClassifyStep(b, labels, g2); err != nil {
		t.Fatal(err)
	}
	a, r := grads32(g1, nil), grads32(g2, nil)
	for name, v := range a {
		if !slices.Equal(v, r[name]) {
			t.Fatalf("%s differs after ImportanceStep", name)
		}
	}
}

func TestImportanceBadInput(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{8, 6}), 21, 0.5)
	b := testBatch(rand.New(rand.NewPCG(22, 22)), m.Config.VocabSize, 4, 6)
	other := NewGateScores(randomModel(t, testConfig(transformer.ActGELU, []int{1, 1}, []int{8, 6}), 21, 0.5))
	noHead := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{8, 6}), 21, 0.5)
	noHead.Classifier = nil
	for _, c := range []struct {
		name   string
		m      *transformer.Model
		labels []int
		s      *GateScores
		want   error
	}{
		{"label out of range", m, []int{0, 3}, NewGateScores(m), ErrInput},
		{"too few labels", m, []int{0}, NewGateScores(m), ErrInput},
		{"no classifier", noHead, nil, NewGateScores(noHead), ErrInput},
		{"scores of another shape", m, nil, other, ErrShape},
		{"nil scores", m, nil, nil, ErrShape},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := fmt.Sprint(c.s)
			_, err := NewNet(c.m, 1).ImportanceStep(b, c.labels, c.s)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if fmt.Sprint(c.s) != before {
				t.Error("scores changed by a failed step")
			}
		})
	}
	if _, err := Importance(m, []*tokenizer.Batch{b}, [][]int{{0, 1}, {1, 0}}, 1); !errors.Is(err, ErrInput) {
		t.Errorf("label sets for other batches: error %v, want ErrInput", err)
	}
}

func TestNormalizeL2(t *testing.T) {
	rows := [][]float64{{3, 4}, {0, 0}, {2}}
	NormalizeL2(rows)
	want := [][]float64{{0.6, 0.8}, {0, 0}, {1}}
	for i := range want {
		for j := range want[i] {
			if math.Abs(rows[i][j]-want[i][j]) > 1e-15 {
				t.Fatalf("NormalizeL2: %v, want %v", rows, want)
			}
		}
	}
}
