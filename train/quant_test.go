package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

// cloneModel returns a deep copy of m.
func cloneModel(m *transformer.Model) *transformer.Model {
	c := NewGrads(m)
	var src [][]float32
	m.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { src = append(src, p) })
	i := 0
	c.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { copy(p, src[i]); i++ })
	return c
}

func TestFakeQuantForward(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1, 2}, []int{12, 6, 9}), 21, 0.5)
	b := testBatch(rand.New(rand.NewPCG(22, 22)), m.Config.VocabSize, 6, 3, 5)
	for _, tc := range []struct {
		name string
		bits []int
	}{{"int8", []int{8, 8, 8}}, {"int4", []int{4, 4, 4}}, {"mixed", []int{2, 0, 16}}, {"float", []int{32, 0, 32}}} {
		t.Run(tc.name, func(t *testing.T) {
			q := cloneModel(m)
			if err := QuantizeWeights(q, tc.bits); err != nil {
				t.Fatal(err)
			}
			want, err := q.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			n := NewNet(m, 2)
			if err := n.SetFakeQuant(tc.bits); err != nil {
				t.Fatal(err)
			}
			got, err := n.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want.Logits {
				if d := math.Abs(float64(want.Logits[i] - got.Logits[i])); d > 1e-5 {
					t.Fatalf("logits[%d] = %v, quantized model %v", i, got.Logits[i], want.Logits[i])
				}
			}
			// The model itself is untouched, and turning quantization off
			// gives the float model back.
			if err := n.SetFakeQuant(nil); err != nil {
				t.Fatal(err)
			}
			ref, _ := m.Forward(b)
			got, _ = n.Forward(b)
			for i := range ref.Logits {
				if d := math.Abs(float64(ref.Logits[i] - got.Logits[i])); d > 1e-5 {
					t.Fatalf("after SetFakeQuant(nil): logits[%d] = %v, float model %v", i, got.Logits[i], ref.Logits[i])
				}
			}
		})
	}
}

// TestFakeQuantSTE checks the straight-through estimator: the gradient
// with respect to the float weights equals the gradient of the loss of the
// quantized model with respect to its (quantized) weights.
func TestFakeQuantSTE(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}), 23, 0.5)
	rng := rand.New(rand.NewPCG(24, 24))
	b := testBatch(rng, m.Config.VocabSize, 5, 3, 4)
	labels := []int{2, 0, 1}
	bits := []int{4, 3}
	n := NewNet(m, 1)
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
	p := toParams64(q, nil)
	lossOf := func(p params64) float64 { return refCE(refForward(q, p, b).logits, labels, 3) }
	if want := lossOf(p); math.Abs(want-loss) > 1e-5 {
		t.Fatalf("loss %v, quantized reference %v", loss, want)
	}
	checkGrad(t, p, grads32(g, nil), lossOf, func(string) bool { return true }, 10, rng)
}

func TestQuantizeGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const rows, cols = 5, 40
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	clear(w[2*cols : 3*cols]) // an all-zero row stays zero
	for _, bits := range []int{2, 4, 8} {
		t.Run(string(rune('0'+bits))+"bit", func(t *testing.T) {
			q := make([]float32, len(w))
			quantizeInto(q, w, cols, bits)
			qmax := float64(int(1)<<(bits-1) - 1)
			for r := 0; r < rows; r++ {
				var m float64
				for _, v := range w[r*cols : (r+1)*cols] {
					m = math.Max(m, math.Abs(float64(v)))
				}
				for j := 0; j < cols; j++ {
					v, x := float64(q[r*cols+j]), float64(w[r*cols+j])
					if m == 0 {
						if v != 0 {
							t.Fatalf("zero row quantized to %v", v)
						}
						continue
					}
					level := v / (m / qmax)
					if math.Abs(level-math.Round(level)) > 1e-3 || math.Abs(level) > qmax+1e-3 {
						t.Fatalf("row %d: %v is not on the %d-bit grid (level %v)", r, v, bits, level)
					}
					if math.Abs(v-x) > m/qmax/2*(1+1e-5) {
						t.Fatalf("row %d: %v rounds %v by more than half a step", r, v, x)
					}
				}
			}
		})
	}
}

func TestSetFakeQuantErrors(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}), 1, 0.5)
	n := NewNet(m, 1)
	for _, tc := range []struct {
		name string
		bits []int
	}{{"length", []int{8}}, {"one bit", []int{1, 8}}, {"too wide", []int{8, 24}}, {"negative", []int{-8, 8}}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := n.SetFakeQuant(tc.bits); !errors.Is(err, ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
			if err := QuantizeWeights(cloneModel(m), tc.bits); !errors.Is(err, ErrInput) {
				t.Fatalf("QuantizeWeights: err = %v, want ErrInput", err)
			}
			if n.FakeQuant() != nil {
				t.Fatal("a rejected setting was kept")
			}
		})
	}
}
