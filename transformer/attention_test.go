package transformer

import (
	"math"
	"math/rand/v2"
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
			s.attention(&s.workers[0], b, l, qkv, R, 0, b.Size*l.Heads*((T+R-1)/R))
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
