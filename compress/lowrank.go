package compress

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// factorize returns the best rank-r approximation of the out×in matrix w
// (Eckart–Young, by truncated SVD in float64) as two thin factors: u
// (out×r) and v (r×in) with u·v ≈ w, each carrying the square root of the
// singular values so both have comparable scale. It also returns the
// fraction of w's squared Frobenius norm the approximation keeps.
func factorize(w []float32, out, in, r int) (u, v []float32, kept float64, err error) {
	if r < 1 || r > min(out, in) {
		return nil, nil, 0, fmt.Errorf("rank %d outside [1, min(%d, %d)]", r, out, in)
	}
	a := mat.NewDense(out, in, nil)
	for i := 0; i < out; i++ {
		for j := 0; j < in; j++ {
			a.Set(i, j, float64(w[i*in+j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, nil, 0, fmt.Errorf("SVD of a %d×%d matrix did not converge", out, in)
	}
	s := svd.Values(nil)
	var U, V mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	u = make([]float32, out*r)
	v = make([]float32, r*in)
	var total, part float64
	for k, sk := range s {
		total += sk * sk
		if k < r {
			part += sk * sk
		}
	}
	for k := 0; k < r; k++ {
		root := math.Sqrt(s[k])
		for i := 0; i < out; i++ {
			u[i*r+k] = float32(U.At(i, k) * root)
		}
		for j := 0; j < in; j++ {
			v[k*in+j] = float32(V.At(j, k) * root)
		}
	}
	if total == 0 {
		return u, v, 1, nil
	}
	return u, v, part / total, nil
}
