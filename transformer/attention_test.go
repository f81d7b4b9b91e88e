package transformer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInt8Attention checks that a layer with int8 weights runs attention's
// context product on values quantized to int8 per feature, and a float
// layer on the values as they are. The queries are zero, so every
// unmasked key gets probability 1/n (n unmasked keys) in both; each
// feature's values are a on the first key and 0.002·a on the others,
// which int8 rounds to 0 (0.002·127 < 0.5): the int8 context is a/n, the
// float one a·(1+0.002·(n-1))/n.
func TestInt8Attention(t *testing.T) {
	for _, tc := range []struct {
		name string
		bits int
	}{
		{"int8", 8},
		{"float", 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewRandom(studentConfig(func(e *EdgenasConfig) {
				for i := range e.Layers {
					e.Layers[i].Bits = tc.bits
				}
			}), rand.New(rand.NewPCG(3, 4)), 0.2)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(9, 9))
			b := testBatch(randomRows(rng, m.Config.VocabSize, 9, 6))
			s := m.NewSession(1)
			if _, err := s.Run(b); err != nil { // sizes the buffers
				t.Fatal(err)
			}
			l := &m.Layers[0]
			T, hs, inner := b.SeqLen, l.HeadSize, l.Heads*l.HeadSize
			qkv := make([]float32, b.Size*T*3*inner)
			for r := 0; r < b.Size*T; r++ {
				row := qkv[r*3*inner:]
				for c := 0; c < inner; c++ {
					row[inner+c] = float32(rng.NormFloat64()) // keys: any
					a := float32(c%hs+1) * 0.5
					switch {
					case b.Mask[r] == 0:
						row[2*inner+c] = 0
					case r%T == 0:
						row[2*inner+c] = a
					default:
						row[2*inner+c] = 0.002 * a
					}
				}
			}
			R := queryBlock(T)
			s.attention(&s.workers[0], b, l, qkv, R, 0, b.Size*l.Heads*((T+R-1)/R), s.threads > 1)
			for bi := 0; bi < b.Size; bi++ {
				n := float64(b.Lengths[bi])
				for i := 0; i < T; i++ {
					for c := 0; c < inner; c++ {
						a := float64(c%hs+1) * 0.5
						want := a / n
						if tc.bits == 32 {
							want = a * (1 + 0.002*(n-1)) / n
						}
						got := float64(s.ctx[(bi*T+i)*inner+c])
						if math.Abs(got-want) > 1e-5*want {
							t.Fatalf("sequence %d, query %d, feature %d: context %v, want %v", bi, i, c, got, want)
						}
					}
				}
			}
		})
	}
}

// TestAttentionRowsMatchesHeads checks that attention by row ranges over
// every head (attentionRows, with keys and values packed beforehand by
// packHeads, as several threads run int8 layers) gives the context bits
// of attention by (sequence, head) pairs, whatever the ranges: within a
// sequence, across the boundary between two, over a partial query block.
func TestAttentionRowsMatchesHeads(t *testing.T) {
	const T = 300 // queryBlock(300) = 104: partial blocks
	for _, tc := range []struct {
		name   string
		bits   int
		splits []int // range boundaries within [0, 2T)
	}{
		{"int8, all rows", 8, []int{0, 2 * T}},
		{"int8, inside and across sequences", 8, []int{0, 40, 290, 310, 2 * T}},
		{"int8, at the sequence boundary", 8, []int{0, T, 2 * T}},
		{"float, inside and across sequences", 32, []int{0, 150, 450, 2 * T}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.MaxPositionEmbeddings = T
			cfg.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: cfg.HeadSize()}
			for range cfg.NumHiddenLayers {
				cfg.Edgenas.Layers = append(cfg.Edgenas.Layers, LayerConfig{NumAttentionHeads: cfg.NumAttentionHeads,
					IntermediateSize: cfg.IntermediateSize, Bits: tc.bits})
			}
			m, err := NewRandom(cfg, rand.New(rand.NewPCG(5, 6)), 0.2)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			b := testBatch(randomRows(rng, m.Config.VocabSize, T, 211))
			s := m.NewSession(1)
			if _, err := s.Run(b); err != nil { // sizes the buffers
				t.Fatal(err)
			}
			l := &m.Layers[0]
			qkv := make([]float32, b.Size*T*3*l.Heads*l.HeadSize)
			for i := range qkv {
				qkv[i] = float32(rng.NormFloat64())
			}
			R := queryBlock(T)
			s.attention(&s.workers[0], b, l, qkv, R, 0, b.Size*l.Heads*((T+R-1)/R), s.threads > 1)
			want := slices.Clone(s.ctx)
			clear(s.ctx)
			s.packs = make([]headPack, b.Size*l.Heads)
			s.packHeads(b, l, qkv, 0, b.Size*l.Heads)
			for i := 0; i+1 < len(tc.splits); i++ {
				s.attentionRows(&s.workers[0], b, l, qkv, tc.splits[i], tc.splits[i+1])
			}
			for i := range want {
				if math.Float32bits(s.ctx[i]) != math.Float32bits(want[i]) {
					t.Fatalf("context[%d] = %v by rows, %v by heads", i, s.ctx[i], want[i])
				}
			}
		})
	}
}
