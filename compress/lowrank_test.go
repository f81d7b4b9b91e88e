package compress

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFactorize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const out, in = 24, 40
	// A matrix of rank 5 exactly: a rank-5 factorization reproduces it.
	a := make([]float32, out*5)
	b := make([]float32, 5*in)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	w := make([]float32, out*in)
	for i := 0; i < out; i++ {
		for j := 0; j < in; j++ {
			var s float32
			for k := 0; k < 5; k++ {
				s += a[i*5+k] * b[k*in+j]
			}
			w[i*in+j] = s
		}
	}
	product := func(u, v []float32, rank int) []float32 {
		p := make([]float32, out*in)
		for i := 0; i < out; i++ {
			for j := 0; j < in; j++ {
				var s float64
				for k := 0; k < rank; k++ {
					s += float64(u[i*rank+k]) * float64(v[k*in+j])
				}
				p[i*in+j] = float32(s)
			}
		}
		return p
	}
	for _, tc := range []struct {
		rank    int
		maxDiff float64
	}{{5, 1e-4}, {24, 1e-4}} {
		u, v, kept, err := factorize(w, out, in, tc.rank)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(w, product(u, v, tc.rank)); d > tc.maxDiff || math.Abs(kept-1) > 1e-9 {
			t.Errorf("rank %d: max diff %g, kept %v", tc.rank, d, kept)
		}
	}
	u, v, kept, err := factorize(w, out, in, 2)
	if err != nil {
		t.Fatal(err)
	}
	if kept >= 1 || kept <= 0 {
		t.Errorf("rank 2 of a rank-5 matrix keeps %v of the energy", kept)
	}
	if d := maxDiff(w, product(u, v, 2)); d < 1e-3 {
		t.Errorf("rank 2 reproduces a rank-5 matrix (diff %g): the test is vacuous", d)
	}
	for _, bad := range []int{0, 25, -1} {
		if _, _, _, err := factorize(w, out, in, bad); err == nil {
			t.Errorf("rank %d accepted", bad)
		}
	}
}
