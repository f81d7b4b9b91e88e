package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

// lowRankConfig is testConfig with low-rank layers: attention rank ar[i]
// and FFN rank fr[i] (0 = full) for layer i, and a factorized word table of
// rank embRank (0 = none).
func lowRankConfig(act string, heads, ffn, ar, fr []int, embRank int) transformer.Config {
	c := testConfig(act, heads, ffn)
	for i := range c.Edgenas.Layers {
		c.Edgenas.Layers[i].AttentionRank, c.Edgenas.Layers[i].FFNRank = ar[i], fr[i]
	}
	c.Edgenas.EmbeddingRank = embRank
	return c
}

// lowRankCases are students mixing dense and low-rank layers with per-layer
// head counts: low-rank attention only, low-rank FFN only, both, and a
// factorized word table.
var lowRankCases = []struct {
	name               string
	heads, ffn, ar, fr []int
	embRank            int
	labels, lengths    []int
	seed               uint64
}{
	{name: "mixed", heads: []int{2, 1, 2}, ffn: []int{12, 6, 9}, ar: []int{3, 0, 2}, fr: []int{0, 2, 4},
		labels: []int{2, 0, 1, 1}, lengths: []int{6, 3, 5, 2}, seed: 31},
	{name: "factorized", heads: []int{1, 2}, ffn: []int{10, 8}, ar: []int{0, 4}, fr: []int{3, 0}, embRank: 5,
		labels: []int{0, 2, 1}, lengths: []int{4, 7, 2}, seed: 32},
}

func TestLowRankForwardMatchesEngine(t *testing.T) {
	for _, tc := range lowRankCases {
		for _, act := range activations {
			for _, threads := range []int{1, 2} {
				t.Run(tc.name+"/"+act+"/threads"+string(rune('0'+threads)), func(t *testing.T) {
					m := randomModel(t, lowRankConfig(act, tc.heads, tc.ffn, tc.ar, tc.fr, tc.embRank), tc.seed, 0.5)
					if m.IsDense() || m.Layers[0].Inter.Rank+m.Layers[0].Query.Rank == 0 {
						t.Fatal("the test model is not low-rank")
					}
					b := testBatch(rand.New(rand.NewPCG(tc.seed, 2)), m.Config.VocabSize, tc.lengths...)
					want, err := m.NewSession(threads).Run(b)
					if err != nil {
						t.Fatal(err)
					}
					got, err := NewNet(m, threads).Forward(b)
					if err != nil {
						t.Fatal(err)
					}
					checkForward(t, m, b, want, got)
				})
			}
		}
	}
}

// TestLowRankGradients checks every gradient entry of low-rank students
// (factors U and V, biases, the word projection, and the dense layers
// around them) against central differences of the float64 reference, over
// padded batches, for each activation.
func TestLowRankGradients(t *testing.T) {
	for _, tc := range lowRankCases {
		for _, act := range activations {
			m := randomModel(t, lowRankConfig(act, tc.heads, tc.ffn, tc.ar, tc.fr, tc.embRank), tc.seed, 0.5)
			rng := rand.New(rand.NewPCG(tc.seed, 4))
			b := testBatch(rng, m.Config.VocabSize, tc.lengths...)
			g := NewGrads(m)
			loss, _, err := NewNet(m, 2).ClassifyStep(b, tc.labels, g)
			if err != nil {
				t.Fatal(err)
			}
			p := toParams64(m, nil)
			lossOf := func(p params64) float64 { return refCE(refForward(m, p, b).logits, tc.labels, 3) }
			if want := lossOf(p); math.Abs(want-loss) > 1e-5 {
				t.Fatalf("%s/%s: loss %v, reference %v", tc.name, act, loss, want)
			}
			got := grads32(g, nil)
			for _, grp := range append(paramGroups[:len(paramGroups):len(paramGroups)], struct {
				name string
				keep func(string) bool
			}{"factors", func(s string) bool {
				return strings.HasSuffix(s, ".weight_u") || strings.HasSuffix(s, ".weight_v") || strings.Contains(s, "word_projection")
			}}) {
				t.Run(tc.name+"/"+act+"/"+grp.name, func(t *testing.T) {
					checkGrad(t, p, got, lossOf, grp.keep, 0, rng)
				})
			}
		}
	}
}

// TestLowRankDistillGradients checks the distillation terms that inject
// gradients inside the encoder (hidden states, attention maps) through a
// low-rank student, and shared low-rank layers.
func TestLowRankDistillGradients(t *testing.T) {
	cfg := lowRankConfig(transformer.ActGELU, []int{2, 1, 1}, []int{12, 6, 6}, []int{3, 2, 2}, []int{4, 0, 0}, 0)
	cfg.Edgenas.Layers[2].SharesPrevious = true
	sm := randomModel(t, cfg, 41, 0.5)
	tm := randomModel(t, testConfig(transformer.ActGELUNew, []int{2, 2, 1}, []int{16, 10, 8}), 42, 0.5)
	rng := rand.New(rand.NewPCG(43, 43))
	b := testBatch(rng, sm.Config.VocabSize, 5, 3, 4)
	labels := []int{1, 0, 2}
	kd := KDConfig{Temperature: 2, SoftWeight: 1, HardWeight: 0.3, HiddenWeight: 2, AttnWeight: 4}
	g := NewGrads(sm)
	if &g.Layers[1].Query.U[0] != &g.Layers[2].Query.U[0] {
		t.Fatal("the gradient accumulator does not share the group's factors")
	}
	loss, err := NewNet(sm, 2).DistillStep(NewNet(tm, 1), b, labels, kd, g)
	if err != nil {
		t.Fatal(err)
	}
	tOut := refForward(tm, toParams64(tm, nil), b)
	lossOf := func(p params64) float64 {
		k := refKD(refForward(sm, p, b), tOut, sm, tm, b, labels, kd)
		return kd.SoftWeight*k.Soft + kd.HardWeight*k.Hard + kd.HiddenWeight*k.Hidden + kd.AttnWeight*k.Attn
	}
	p := toParams64(sm, nil)
	if want := lossOf(p); math.Abs(want-loss) > 1e-5*math.Max(1, math.Abs(want)) {
		t.Fatalf("loss %v, reference %v", loss, want)
	}
	checkGrad(t, p, grads32(g, nil), lossOf, func(string) bool { return true }, 10, rng)
}

func TestLowRankThreadsIdentical(t *testing.T) {
	tc := lowRankCases[0]
	checkThreadsIdentical(t, randomModel(t, lowRankConfig(transformer.ActGELU, tc.heads, tc.ffn, tc.ar, tc.fr, 4), 8, 0.5))
}

// TestLowRankFakeQuant checks fake quantization of low-rank factors: the
// forward pass equals the model whose factors QuantizeWeights rounded, and
// the straight-through gradient of the float factors equals that model's
// gradient.
func TestLowRankFakeQuant(t *testing.T) {
	tc := lowRankCases[0]
	m := randomModel(t, lowRankConfig(transformer.ActGELU, tc.heads, tc.ffn, tc.ar, tc.fr, 0), 51, 0.5)
	rng := rand.New(rand.NewPCG(52, 52))
	b := testBatch(rng, m.Config.VocabSize, 5, 3, 4)
	labels := []int{2, 0, 1}
	bits := []int{4, 0, 8}
	n := NewNet(m, 2)
	if err := n.SetFakeQuant(bits); err != nil {
		t.Fatal(err)
	}
	g := NewGrads(m)
	loss, _, err := n.ClassifyStep(b, labels, g)
	if err != nil {
		t.Fatal(err)
	}
	q := cloneModel(m)
	if err := QuantizeWeights(q, bits); err != nil {
		t.Fatal(err)
	}
	want, err := q.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	got := n.output()
	for i := range want.Logits {
		if d := math.Abs(float64(want.Logits[i] - got.Logits[i])); d > 1e-5 {
			t.Fatalf("logits[%d] = %v, quantized model %v", i, got.Logits[i], want.Logits[i])
		}
	}
	if q.Layers[0].Query.U[0] == m.Layers[0].Query.U[0] && q.Layers[0].Query.V[0] == m.Layers[0].Query.V[0] {
		t.Fatal("QuantizeWeights left the low-rank factors unrounded")
	}
	p := toParams64(q, nil)
	lossOf := func(p params64) float64 { return refCE(refForward(q, p, b).logits, labels, 3) }
	if want := lossOf(p); math.Abs(want-loss) > 1e-5 {
		t.Fatalf("loss %v, quantized reference %v", loss, want)
	}
	checkGrad(t, p, grads32(g, nil), lossOf, func(string) bool { return true }, 10, rng)
}

// TestQuantizedStudentRejected checks that students stored in 16, 8 or 4
// bits are refused with an error that names the supported path.
func TestQuantizedStudentRejected(t *testing.T) {
	for _, bits := range []int{16, 8, 4} {
		for _, rank := range []int{0, 2} {
			cfg := lowRankConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}, []int{rank, 0}, []int{0, rank}, 0)
			cfg.Edgenas.Layers[1].Bits = bits
			m := randomModel(t, cfg, 61, 0.5)
			b := testBatch(rand.New(rand.NewPCG(62, 62)), m.Config.VocabSize, 4, 2)
			_, _, err := NewNet(m, 1).ClassifyStep(b, []int{0, 1}, NewGrads(m))
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "SetFakeQuant") {
				t.Fatalf("%d bits, rank %d: err = %v, want ErrInput naming SetFakeQuant", bits, rank, err)
			}
		}
	}
	cfg := testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6})
	cfg.Edgenas.EmbeddingBits = 8
	m := randomModel(t, cfg, 63, 0.5)
	if _, err := NewNet(m, 1).Forward(testBatch(rand.New(rand.NewPCG(64, 64)), m.Config.VocabSize, 3)); !errors.Is(err, ErrInput) {
		t.Fatalf("int8 word table: err = %v, want ErrInput", err)
	}
}

// TestLowRankStepAllocations holds a low-rank student's steps, with fake
// quantization, to the allocations of the dense model of the same layers:
// buffers are reused, only the thread split's closures allocate.
func TestLowRankStepAllocations(t *testing.T) {
	tc := lowRankCases[0]
	b := testBatch(rand.New(rand.NewPCG(3, 3)), 23, 6, 4, 5)
	labels := []int{0, 1, 2}
	allocs := func(m *transformer.Model) float64 {
		g := NewGrads(m)
		n := NewNet(m, 2)
		if err := n.SetFakeQuant([]int{8, 0, 4}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := n.ClassifyStep(b, labels, g); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(10, func() {
			if _, _, err := n.ClassifyStep(b, labels, g); err != nil {
				t.Fatal(err)
			}
		})
	}
	dense := allocs(randomModel(t, testConfig(transformer.ActGELU, tc.heads, tc.ffn), 1, 0.5))
	low := allocs(randomModel(t, lowRankConfig(transformer.ActGELU, tc.heads, tc.ffn, tc.ar, tc.fr, 4), 1, 0.5))
	if low > dense {
		t.Fatalf("%v allocations per low-rank step, %v per dense step", low, dense)
	}
	t.Logf("%v allocations per low-rank step, %v per dense step", low, dense)
}

// factorize returns a rank-r Linear approximating the dense l: V holds r
// orthonormal rows (Gram-Schmidt on random vectors drawn by rng) and
// U = W·Vᵀ, so that U·V is W projected onto V's row space (a randomized
// low-rank approximation, as a stand-in for compress's SVD).
func factorize(t *testing.T, l *transformer.Linear, r int, rng *rand.Rand) transformer.Linear {
	t.Helper()
	in, out := l.In, l.Out
	v := make([]float64, r*in)
	for k := 0; k < r; k++ {
		row := v[k*in : (k+1)*in]
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		for p := 0; p < k; p++ {
			prev := v[p*in : (p+1)*in]
			var dot float64
			for j := range row {
				dot += row[j] * prev[j]
			}
			for j := range row {
				row[j] -= dot * prev[j]
			}
		}
		var norm float64
		for _, x := range row {
			norm += x * x
		}
		for j := range row {
			row[j] /= math.Sqrt(norm)
		}
	}
	u := make([]float32, out*r)
	for i := 0; i < out; i++ {
		for k := 0; k < r; k++ {
			var s float64
			for j := 0; j < in; j++ {
				s += float64(l.W[i*in+j]) * v[k*in+j]
			}
			u[i*r+k] = float32(s)
		}
	}
	v32 := make([]float32, len(v))
	for i, x := range v {
		v32[i] = float32(x)
	}
	lr, err := transformer.NewLowRank(u, v32, append([]float32(nil), l.B...), out, r, in)
	if err != nil {
		t.Fatal(err)
	}
	return lr
}

// TestDistillationRecoversLowRankStudent builds a low-rank student of a
// random teacher the way compress.Apply does (same layers, attention and
// FFN matrices factorized, the rest copied) and distills it with Run: its
// KL to the teacher on the dev set must fall, and it must stay low-rank.
func TestDistillationRecoversLowRankStudent(t *testing.T) {
	c, err := tinyConfig(t).Resolved()
	if err != nil {
		t.Fatal(err)
	}
	c.Epochs = 4
	c.Model.Layers = 2
	tok, _, dev, err := loadData(c)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.ModelConfig(tok.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	teacher, err := transformer.NewRandom(mc, rand.New(rand.NewPCG(1, 1)), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// The student: layer 0 with rank-2 attention, layer 1 with a rank-3 FFN.
	ranks := [][2]int{{2, 0}, {0, 3}}
	sc := teacher.Config.Clone()
	for i, r := range ranks {
		sc.Edgenas.Layers[i].AttentionRank, sc.Edgenas.Layers[i].FFNRank = r[0], r[1]
	}
	student := cloneModel(teacher)
	student.Config = sc
	rng := rand.New(rand.NewPCG(2, 2))
	for i, r := range ranks {
		l := &student.Layers[i]
		if r[0] > 0 {
			for _, lin := range []*transformer.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut} {
				*lin = factorize(t, lin, r[0], rng)
			}
		}
		if r[1] > 0 {
			for _, lin := range []*transformer.Linear{&l.Inter, &l.Out} {
				*lin = factorize(t, lin, r[1], rng)
			}
		}
	}
	if student.IsDense() {
		t.Fatal("the student is dense")
	}
	params := student.NumParams()
	distillHalvesKL(t, c, NewDataset(tok, dev, c.MaxSeqLen), teacher, student)
	if student.NumParams() != params || student.Layers[0].Query.Rank != 2 || student.Layers[1].Inter.Rank != 3 {
		t.Fatal("distillation changed the student's form")
	}
}

// TestFactorizedMLMRejected checks that masked-LM pretraining, whose
// decoder is tied to a hidden-wide word table, refuses a factorized one.
func TestFactorizedMLMRejected(t *testing.T) {
	cfg := lowRankConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}, []int{0, 0}, []int{0, 0}, 4)
	m := randomModel(t, cfg, 71, 0.5)
	b := testBatch(rand.New(rand.NewPCG(72, 72)), m.Config.VocabSize, 4, 3)
	targets := make([]int, len(b.IDs))
	for i := range targets {
		targets[i] = -1
	}
	targets[1] = 5
	head := NewMLMHead(m.Config, nil, 0)
	_, _, err := NewNet(m, 1).MLMStep(b, targets, head, NewGrads(m), NewMLMGrads(head))
	if !errors.Is(err, ErrInput) {
		t.Fatalf("err = %v, want ErrInput", err)
	}
}
