package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// testConfig is a tiny model with per-layer head counts and FFN widths
// (heads[i], ffn[i]), head size 4, hidden 8, three labels.
func testConfig(act string, heads, ffn []int) transformer.Config {
	c := transformer.DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers = 23, 8, len(heads)
	c.NumAttentionHeads, c.IntermediateSize = 2, 16
	c.MaxPositionEmbeddings, c.TypeVocabSize, c.NumLabels = 16, 2, 3
	c.HiddenAct = act
	c.LayerNormEps = 1e-5
	c.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: 4}
	for i := range heads {
		c.Edgenas.Layers = append(c.Edgenas.Layers, transformer.LayerConfig{NumAttentionHeads: heads[i], IntermediateSize: ffn[i]})
	}
	return c
}

func randomModel(t testing.TB, cfg transformer.Config, seed uint64, std float64) *transformer.Model {
	t.Helper()
	m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(seed, 7)), std)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testBatch is a padded batch of rows with the given lengths over vocab;
// every row's second half has token type 1.
func testBatch(rng *rand.Rand, vocab int, lengths ...int) *tokenizer.Batch {
	var encs []tokenizer.Encoding
	for _, n := range lengths {
		e := tokenizer.Encoding{IDs: make([]int32, n), TypeIDs: make([]int32, n)}
		for j := range e.IDs {
			e.IDs[j] = int32(rng.IntN(vocab))
			if j >= n/2 {
				e.TypeIDs[j] = 1
			}
		}
		encs = append(encs, e)
	}
	b := tokenizer.NewBatch(encs, 0)
	return &b
}

var activations = []string{transformer.ActGELU, transformer.ActGELUNew, transformer.ActReLU}

func TestForwardMatchesEngine(t *testing.T) {
	for _, act := range activations {
		for _, threads := range []int{1, 2} {
			t.Run(act+"/threads"+string(rune('0'+threads)), func(t *testing.T) {
				m := randomModel(t, testConfig(act, []int{2, 1, 2}, []int{12, 6, 9}), 1, 0.5)
				b := testBatch(rand.New(rand.NewPCG(2, 2)), m.Config.VocabSize, 7, 3, 5, 1)
				want, err := m.Forward(b)
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

// paramGroups names the op each parameter belongs to.
var paramGroups = []struct {
	name string
	keep func(string) bool
}{
	{"embeddings", func(s string) bool { return strings.HasSuffix(s, "_embeddings.weight") }},
	{"layernorm", func(s string) bool { return strings.Contains(s, "LayerNorm") }},
	{"attention", func(s string) bool {
		return strings.Contains(s, "attention.self") || strings.Contains(s, "attention.output.dense")
	}},
	{"ffn", func(s string) bool {
		return strings.Contains(s, "intermediate.") || strings.Contains(s, "output.dense") && !strings.Contains(s, "attention")
	}},
	{"pooler", func(s string) bool { return strings.HasPrefix(s, "bert.pooler") }},
	{"classifier", func(s string) bool { return strings.HasPrefix(s, "classifier") }},
}

// checkForward compares Net's forward output got with the engine's want
// (within 1e-5) and its logits with the float64 reference (within 1e-4).
func checkForward(t *testing.T, m *transformer.Model, b *tokenizer.Batch, want, got *transformer.Output) {
	t.Helper()
	for name, pair := range map[string][2][]float32{
		"last_hidden": {want.LastHidden, got.LastHidden},
		"pooled":      {want.Pooled, got.Pooled},
		"logits":      {want.Logits, got.Logits},
	} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("%s: %d values, engine %d", name, len(pair[1]), len(pair[0]))
		}
		for i := range pair[0] {
			if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-5 {
				t.Fatalf("%s[%d]: %v, engine %v", name, i, pair[1][i], pair[0][i])
			}
		}
	}
	ref := refForward(m, toParams64(m, nil), b)
	for i, v := range ref.logits {
		if d := math.Abs(v - float64(got.Logits[i])); d > 1e-4 {
			t.Fatalf("logits[%d]: %v, float64 reference %v", i, got.Logits[i], v)
		}
	}
}

func TestClassifyStepGradients(t *testing.T) {
	for _, act := range activations {
		m := randomModel(t, testConfig(act, []int{2, 1}, []int{12, 6}), 3, 0.5)
		rng := rand.New(rand.NewPCG(4, 4))
		b := testBatch(rng, m.Config.VocabSize, 5, 3, 4)
		labels := []int{2, 0, 1}
		g := NewGrads(m)
		loss, _, err := NewNet(m, 2).ClassifyStep(b, labels, g)
		if err != nil {
			t.Fatal(err)
		}
		p := toParams64(m, nil)
		lossOf := func(p params64) float64 { return refCE(refForward(m, p, b).logits, labels, 3) }
		if want := lossOf(p); math.Abs(want-loss) > 1e-5 {
			t.Fatalf("%s: loss %v, reference %v", act, loss, want)
		}
		got := grads32(g, nil)
		for _, grp := range paramGroups {
			t.Run(act+"/"+grp.name, func(t *testing.T) {
				checkGrad(t, p, got, lossOf, grp.keep, 0, rng)
			})
		}
	}
}

// TestClassifyStepRandomSubset checks a random subset of every tensor of a
// wider model with more layers, padding and both token types.
func TestClassifyStepRandomSubset(t *testing.T) {
	cfg := testConfig(transformer.ActGELU, []int{3, 1, 2}, []int{20, 7, 11})
	cfg.HiddenSize = 12
	m := randomModel(t, cfg, 5, 0.3)
	rng := rand.New(rand.NewPCG(6, 6))
	b := testBatch(rng, m.Config.VocabSize, 9, 2, 6, 9, 4)
	labels := []int{0, 1, 2, 2, 1}
	g := NewGrads(m)
	n := NewNet(m, 3)
	// Two steps: the accumulator must hold their sum.
	for range 2 {
		if _, _, err := n.ClassifyStep(b, labels, g); err != nil {
			t.Fatal(err)
		}
	}
	p := toParams64(m, nil)
	lossOf := func(p params64) float64 { return 2 * refCE(refForward(m, p, b).logits, labels, 3) }
	checkGrad(t, p, grads32(g, nil), lossOf, func(string) bool { return true }, 12, rng)
}

// TestSharedLayersGradient checks an ALBERT-style student (layers 1 and 2
// share layer 1's weights): the gradient of the shared tensors is the sum
// over the layers that use them, accumulated through aliased slices.
func TestSharedLayersGradient(t *testing.T) {
	cfg := testConfig(transformer.ActGELU, []int{2, 1, 1}, []int{12, 6, 6})
	cfg.Edgenas.Layers[2].SharesPrevious = true
	m := randomModel(t, cfg, 15, 0.4)
	rng := rand.New(rand.NewPCG(16, 16))
	b := testBatch(rng, m.Config.VocabSize, 7, 3, 5)
	labels := []int{0, 2, 1}
	g := NewGrads(m)
	if _, _, err := NewNet(m, 2).ClassifyStep(b, labels, g); err != nil {
		t.Fatal(err)
	}
	if &g.Layers[1].Query.W[0] != &g.Layers[2].Query.W[0] {
		t.Fatal("the gradient accumulator does not share the group's tensors")
	}
	p := toParams64(m, nil)
	lossOf := func(p params64) float64 { return refCE(refForward(m, p, b).logits, labels, 3) }
	checkGrad(t, p, grads32(g, nil), lossOf, func(name string) bool { return strings.Contains(name, "layer.1.") }, 40, rng)
}

func TestThreadsIdentical(t *testing.T) {
	checkThreadsIdentical(t, randomModel(t, testConfig(transformer.ActGELU, []int{2, 1, 2}, []int{12, 6, 9}), 8, 0.5))
}

// checkThreadsIdentical checks that ClassifyStep's gradients of m are
// bitwise the same on 1, 2 and 5 threads.
func checkThreadsIdentical(t *testing.T, m *transformer.Model) {
	t.Helper()
	b := testBatch(rand.New(rand.NewPCG(9, 9)), m.Config.VocabSize, 7, 3, 5, 1, 6)
	labels := []int{0, 1, 2, 0, 1}
	var ref *transformer.Model
	for _, threads := range []int{1, 2, 5} {
		g := NewGrads(m)
		if _, _, err := NewNet(m, threads).ClassifyStep(b, labels, g); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = g
			continue
		}
		a, r := grads32(g, nil), grads32(ref, nil)
		for name, v := range a {
			for i := range v {
				if math.Float32bits(v[i]) != math.Float32bits(r[name][i]) {
					t.Fatalf("threads=%d: %s[%d] = %v, one thread %v", threads, name, i, v[i], r[name][i])
				}
			}
		}
	}
}

func TestActivationBackward(t *testing.T) {
	xs := make([]float32, 0, 400)
	for x := -6.0; x <= 6; x += 0.0301 {
		xs = append(xs, float32(x))
	}
	for _, act := range activations {
		t.Run(act, func(t *testing.T) {
			u := append([]float32(nil), xs...)
			a := append([]float32(nil), xs...)
			activate(act, a)
			d := make([]float32, len(u))
			for i := range d {
				d[i] = 1
			}
			activationBackward(act, d, u, a)
			for i, x := range u {
				const h = 1e-6
				fd := (refAct(act, float64(x)+h) - refAct(act, float64(x)-h)) / (2 * h)
				if math.Abs(fd-float64(d[i])) > 2e-6 {
					t.Errorf("%s'(%v) = %v, want %v", act, x, d[i], fd)
				}
			}
		})
	}
}

func TestNewGrads(t *testing.T) {
	cfg := testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6})
	m := randomModel(t, cfg, 1, 0.5)
	for _, tc := range []struct {
		name               string
		pooler, classifier bool
	}{{"full", true, true}, {"pooler-only", true, false}, {"bare", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			mm := withHeads(m, tc.pooler, tc.classifier)
			g := NewGrads(mm)
			if (g.Pooler != nil) != tc.pooler || (g.Classifier != nil) != tc.classifier {
				t.Fatalf("heads: pooler %v classifier %v", g.Pooler != nil, g.Classifier != nil)
			}
			var sizes []int
			mm.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { sizes = append(sizes, len(p)) })
			i := 0
			g.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) {
				if len(p) != sizes[i] {
					t.Errorf("%s: %d values, want %d", name, len(p), sizes[i])
				}
				for _, v := range p {
					if v != 0 {
						t.Fatalf("%s is not zero", name)
					}
				}
				i++
			})
		})
	}
}

// withHeads returns a model sharing m's weights, with or without its
// pooler and classifier.
func withHeads(m *transformer.Model, pooler, classifier bool) *transformer.Model {
	mm := &transformer.Model{Config: m.Config, Embeddings: m.Embeddings, Layers: m.Layers}
	if pooler {
		mm.Pooler = m.Pooler
	}
	if classifier {
		mm.Classifier = m.Classifier
	}
	return mm
}

func TestBadInput(t *testing.T) {
	cfg := testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6})
	m := randomModel(t, cfg, 1, 0.5)
	rng := rand.New(rand.NewPCG(1, 2))
	good := testBatch(rng, cfg.VocabSize, 4, 2)
	long := testBatch(rng, cfg.VocabSize, cfg.MaxPositionEmbeddings+1)
	badID := testBatch(rng, cfg.VocabSize, 3)
	badID.IDs[1] = int32(cfg.VocabSize)
	broken := testBatch(rng, cfg.VocabSize, 3)
	broken.Mask[0] = 0
	bare := withHeads(m, false, false)
	other := randomModel(t, testConfig(transformer.ActGELU, []int{1, 1}, []int{12, 6}), 1, 0.5)
	for _, tc := range []struct {
		name   string
		m      *transformer.Model
		b      *tokenizer.Batch
		labels []int
		g      func() *transformer.Model
		want   error
	}{
		{"nil batch", m, nil, []int{0}, nil, ErrInput},
		{"too long", m, long, []int{0}, nil, ErrInput},
		{"token id", m, badID, []int{0}, nil, ErrInput},
		{"malformed batch", m, broken, []int{0}, nil, ErrInput},
		{"label out of range", m, good, []int{0, 3}, nil, ErrInput},
		{"negative label", m, good, []int{-1, 0}, nil, ErrInput},
		{"label count", m, good, []int{0}, nil, ErrInput},
		{"no head", bare, good, []int{0, 1}, nil, ErrInput},
		{"grad shape", m, good, []int{0, 1}, func() *transformer.Model { return NewGrads(other) }, ErrShape},
		{"grad is model", m, good, []int{0, 1}, func() *transformer.Model { return m }, ErrShape},
		{"nil grad", m, good, []int{0, 1}, func() *transformer.Model { return nil }, ErrShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGrads(tc.m)
			if tc.g != nil {
				g = tc.g()
			}
			_, _, err := NewNet(tc.m, 1).ClassifyStep(tc.b, tc.labels, g)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStepAllocations(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}), 1, 0.5)
	b := testBatch(rand.New(rand.NewPCG(3, 3)), m.Config.VocabSize, 6, 4, 5)
	labels := []int{0, 1, 2}
	g := NewGrads(m)
	n := NewNet(m, 2)
	if _, _, err := n.ClassifyStep(b, labels, g); err != nil {
		t.Fatal(err)
	}
	// Goroutines of the thread split allocate a little; buffers must not.
	allocs := testing.AllocsPerRun(10, func() {
		if _, _, err := n.ClassifyStep(b, labels, g); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 100 {
		t.Fatalf("%v allocations per step", allocs)
	}
	t.Logf("%v allocations per step (goroutine closures only)", allocs)
}
