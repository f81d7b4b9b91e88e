package transformer

import (
	"math/rand/v2"
	"testing"
)

// TestQuantizedQKVFused checks that the query, key and value of a
// full-rank int8 or int4 layer run as one product with the bias in its
// epilogue, and that the forward pass is bit for bit the one of three
// separate products followed by a separate bias pass.
func TestQuantizedQKVFused(t *testing.T) {
	for _, tc := range []struct {
		name string
		bits int
	}{
		{"int8", 8},
		{"int4", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewRandom(studentConfig(func(e *EdgenasConfig) {
				for i := range e.Layers {
					e.Layers[i].Bits = tc.bits
				}
			}), rand.New(rand.NewPCG(5, 6)), 0.2)
			if err != nil {
				t.Fatal(err)
			}
			b := testBatch(randomRows(rand.New(rand.NewPCG(7, 8)), m.Config.VocabSize, 9, 4, 1, 7))
			fused, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.prep.layers {
				if m.prep.layers[i].qkv.single() == nil {
					t.Fatalf("layer %d: QKV not one product", i)
				}
			}
			// The same weights as three products over the same input.
			sep := *m.prep
			sep.layers = append([]preparedLayer(nil), m.prep.layers...)
			for i := range sep.layers {
				l := &m.Layers[i]
				sep.layers[i].qkv = plinear{a: stage{outStep: l.Query.Out, mats: []pmat{{q: l.Query.QW}, {q: l.Key.QW}, {q: l.Value.QW}}}}
				if l.Query.WeightBits() != tc.bits {
					t.Fatalf("layer %d: query weight of %d bits, want %d", i, l.Query.WeightBits(), tc.bits)
				}
			}
			s := m.NewSession(1)
			s.prep = &sep
			out, err := s.Run(b)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "fused QKV", out, fused)
		})
	}
}
