package compress

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// teacher is a small random 3-layer model with 4 heads of 8 and FFN 32.
func teacher(t testing.TB) *transformer.Model {
	t.Helper()
	c := transformer.DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 50, 32, 3, 4, 32
	c.MaxPositionEmbeddings, c.NumLabels = 16, 2
	m, err := transformer.NewRandom(c, rand.New(rand.NewPCG(1, 2)), 0.3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func batch() *tokenizer.Batch {
	rows := [][]int32{{2, 7, 9, 11, 3}, {2, 5, 3}}
	b := &tokenizer.Batch{Size: 2, SeqLen: 5, IDs: make([]int32, 10), TypeIDs: make([]int32, 10), Mask: make([]int32, 10)}
	for r, row := range rows {
		copy(b.IDs[r*5:], row)
		for j := range row {
			b.Mask[r*5+j] = 1
		}
		b.Lengths = append(b.Lengths, len(row))
	}
	return b
}

func full(m *transformer.Model) space.Arch {
	a := space.Arch{EmbeddingBits: 32, SeqLen: 16}
	for i, l := range m.Layers {
		a.Layers = append(a.Layers, space.LayerGene{Source: i, Heads: l.Heads, FFN: l.FFN, Bits: 32})
	}
	return a
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func logits(t *testing.T, m *transformer.Model) []float32 {
	t.Helper()
	o, err := m.Forward(batch())
	if err != nil {
		t.Fatal(err)
	}
	return o.Logits
}

// scores makes an Importance that ranks units by the given order.
func scores(m *transformer.Model, head func(l, h int) float64, neuron func(l, n int) float64) *Importance {
	imp := &Importance{}
	for l, layer := range m.Layers {
		var hs, ns []float64
		for h := 0; h < layer.Heads; h++ {
			hs = append(hs, head(l, h))
		}
		for n := 0; n < layer.FFN; n++ {
			ns = append(ns, neuron(l, n))
		}
		imp.Heads, imp.Neurons, imp.Layers = append(imp.Heads, hs), append(imp.Neurons, ns), append(imp.Layers, float64(l))
	}
	return imp
}

func TestApplyFullArchReproducesTeacher(t *testing.T) {
	m := teacher(t)
	s, err := Apply(m, full(m), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(logits(t, m), logits(t, s)); d != 0 {
		t.Fatalf("full student differs from teacher by %g", d)
	}
	s.Layers[0].Query.W[0] += 1
	if m.Layers[0].Query.W[0] == s.Layers[0].Query.W[0] {
		t.Fatal("student aliases the teacher's weights")
	}
}

// TestPruningRemovesExactlyTheUnits zeroes the pruned heads' value
// projections and the pruned neurons' FFN inputs in a copy of the teacher:
// those units then contribute nothing, so the smaller student must compute
// the same function.
func TestPruningRemovesExactlyTheUnits(t *testing.T) {
	m := teacher(t)
	// Keep heads 1 and 3 and the even neurons.
	imp := scores(m, func(_, h int) float64 { return float64(h % 2) }, func(_, n int) float64 { return float64(1 - n%2) })
	a := full(m)
	for i := range a.Layers {
		a.Layers[i].Heads, a.Layers[i].FFN = 2, 16
	}
	s, err := Apply(m, a, imp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.NumParams() >= m.NumParams() || s.Layers[0].Query.Out != 16 || s.Layers[0].Inter.Out != 16 {
		t.Fatalf("student not smaller: %d params, query %d, FFN %d", s.NumParams(), s.Layers[0].Query.Out, s.Layers[0].Inter.Out)
	}
	z, err := Apply(m, full(m), nil, Options{}) // a private copy to zero
	if err != nil {
		t.Fatal(err)
	}
	for li := range z.Layers {
		l := &z.Layers[li]
		for h := 0; h < 4; h += 2 {
			for j := h * 8; j < (h+1)*8; j++ {
				clear(l.Value.W[j*32 : (j+1)*32])
				l.Value.B[j] = 0
			}
		}
		for n := 1; n < 32; n += 2 {
			clear(l.Inter.W[n*32 : (n+1)*32])
			l.Inter.B[n] = 0
		}
	}
	if d := maxDiff(logits(t, z), logits(t, s)); d > 1e-5 {
		t.Fatalf("pruned student and zeroed teacher differ by %g", d)
	}
	if d := maxDiff(logits(t, m), logits(t, s)); d < 1e-4 {
		t.Fatalf("pruning changed nothing (diff %g): the test is vacuous", d)
	}
}

func TestLayerSelectionAndSharing(t *testing.T) {
	m := teacher(t)
	imp := scores(m, func(_, h int) float64 { return float64(h) }, func(_, n int) float64 { return float64(n) })
	imp.Layers = []float64{0.1, 0.9, 0.5}
	a := space.Arch{Layers: []space.LayerGene{
		{Source: 0, Heads: 2, FFN: 8, Bits: 32},
		{Source: 1, Heads: 2, FFN: 8, Bits: 32, SharePrev: true},
		{Source: 2, Heads: 4, FFN: 32, Bits: 32},
	}, EmbeddingBits: 32, SeqLen: 16}
	for _, mode := range []ShareMode{ShareBest, ShareMean} {
		t.Run(string(mode), func(t *testing.T) {
			s, err := Apply(m, a, imp, Options{Share: mode})
			if err != nil {
				t.Fatal(err)
			}
			if &s.Layers[0].Query.W[0] != &s.Layers[1].Query.W[0] {
				t.Fatal("group not shared")
			}
			p1, _ := pruneLayer(&m.Layers[1], []int{2, 3}, seq(32)[24:])
			p0, _ := pruneLayer(&m.Layers[0], []int{2, 3}, seq(32)[24:])
			want := p1.Query.W[5] // best: source 1 has the higher layer score
			if mode == ShareMean {
				want = (p0.Query.W[5] + p1.Query.W[5]) / 2
			}
			if got := s.Layers[0].Query.W[5]; got != want {
				t.Fatalf("shared weight %v, want %v", got, want)
			}
			if !s.Config.Edgenas.Layers[1].SharesPrevious || s.Config.Edgenas.Layers[2].SharesPrevious {
				t.Fatalf("config layers %+v", s.Config.Edgenas.Layers)
			}
			logits(t, s)
		})
	}
}

func TestApplyRejectsInvalidArchs(t *testing.T) {
	m := teacher(t)
	for _, tc := range []struct {
		name string
		edit func(a *space.Arch)
		want string
	}{
		{"too many heads", func(a *space.Arch) { a.Layers[0].Heads = 5 }, "layers[0].heads"},
		{"rank above dims", func(a *space.Arch) { a.Layers[1].FFNRank = 33 }, "layers[1].ffn_rank"},
		{"bits", func(a *space.Arch) { a.Layers[2].Bits = 6 }, "layers[2].bits"},
		{"source", func(a *space.Arch) { a.Layers[1].Source = 7 }, "layers[1].source"},
		{"order", func(a *space.Arch) { a.Layers[1].Source = 0 }, "layers[1].source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := full(m)
			tc.edit(&a)
			_, err := Apply(m, a, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	a := full(m)
	a.Layers[0].Heads = 2
	if _, err := Apply(m, a, nil, Options{}); err == nil || !strings.Contains(err.Error(), "importance") {
		t.Errorf("pruning without scores: %v", err)
	}
	bad := &Importance{Heads: [][]float64{{1}}}
	if _, err := Apply(m, a, bad, Options{}); err == nil || !strings.Contains(err.Error(), "importance") {
		t.Errorf("mis-shaped scores: %v", err)
	}
}

func TestTopK(t *testing.T) {
	if got := topK([]float64{0.5, 2, 2, 0.1, 3}, 3); !slices.Equal(got, []int{1, 2, 4}) {
		t.Fatalf("topK = %v", got)
	}
}

func BenchmarkApply(b *testing.B) {
	c, err := transformer.ShapeConfig("mini", 30522)
	if err != nil {
		b.Fatal(err)
	}
	m, err := transformer.NewRandom(c, rand.New(rand.NewPCG(1, 1)), 0.02)
	if err != nil {
		b.Fatal(err)
	}
	imp := scores(m, func(_, h int) float64 { return float64(h) }, func(_, n int) float64 { return float64(n % 7) })
	a := full(m)
	for i := range a.Layers {
		a.Layers[i].Heads, a.Layers[i].FFN = 2, 512
	}
	for b.Loop() {
		if _, err := Apply(m, a, imp, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOptionsKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Options
		same bool
	}{
		{"defaults spelled out", Options{}, Options{Share: ShareBest, Int4Group: transformer.DefaultInt4Group}, true},
		{"share mode", Options{Share: ShareBest}, Options{Share: ShareMean}, false},
		{"int4 group", Options{Int4Group: 32}, Options{Int4Group: 128}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Key() == tc.b.Key(); got != tc.same {
				t.Errorf("Key(%+v) = %q, Key(%+v) = %q; equal %v, want %v", tc.a, tc.a.Key(), tc.b, tc.b.Key(), got, tc.same)
			}
		})
	}
	// Every field of Options is in the key, by name.
	k := Options{}.Key()
	v := reflect.TypeOf(Options{})
	for i := 0; i < v.NumField(); i++ {
		if !strings.Contains(k, v.Field(i).Name+"=") {
			t.Errorf("key %q lacks field %s", k, v.Field(i).Name)
		}
	}
}
