package vec

import (
	"fmt"
	"math"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/mat"
)

// useAVX2 selects the AVX2+FMA assembly kernels; tests and benchmarks clear
// it to run the portable ones on the same machine.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAVX512 selects, among the assembly kernels, the AVX-512 ones where
// they exist (GELU, softmax's exponentials); it only counts when useAVX2
// is set. VPMOVD2M needs
// AVX512DQ.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// useNEON is always false on amd64. Tests set it as on arm64, to no effect.
var useNEON = false

// The wrappers below are only called with non-empty slices whose lengths
// the exported functions have checked, so &s[0] is in bounds and the
// assembly may touch n elements from it. The assembly handles any n ≥ 1:
// 8 lanes at a time, then one masked (VMASKMOVPS) step for the rest.

func exp(dst, x []float32) {
	if useAVX2 {
		_ = dst[len(x)-1]
		expAVX2(&dst[0], &x[0], len(x))
		return
	}
	expGo(dst, x)
}

func gelu(x, bias []float32) {
	if useAVX2 && useAVX512 {
		geluAVX512(&x[0], biasPtr(bias, len(x)), &geluTable[0], len(x))
		return
	}
	if useAVX2 {
		geluAVX2(&x[0], biasPtr(bias, len(x)), len(x))
		return
	}
	geluGo(x, bias)
}

func geluTanh(x, bias []float32) {
	if useAVX2 {
		geluTanhAVX2(&x[0], biasPtr(bias, len(x)), len(x))
		return
	}
	geluTanhGo(x, bias)
}

func relu(x, bias []float32) {
	if useAVX2 {
		reluAVX2(&x[0], biasPtr(bias, len(x)), len(x))
		return
	}
	reluGo(x, bias)
}

func tanh(x []float32) {
	if useAVX2 {
		tanhAVX2(&x[0], len(x))
		return
	}
	tanhGo(x)
}

func add(x, b []float32) {
	if useAVX2 {
		_ = b[len(x)-1]
		addAVX2(&x[0], &b[0], len(x))
		return
	}
	addGo(x, b)
}

func dot(a, b []float32) float32 {
	if useAVX2 {
		_ = b[len(a)-1]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGo(a, b)
}

func axpy(alpha float32, x, y []float32) {
	if useAVX2 {
		_ = y[len(x)-1]
		axpyAVX2(alpha, &x[0], &y[0], len(x))
		return
	}
	axpyGo(alpha, x, y)
}

func scaleRow(alpha float32, x []float32) {
	if useAVX2 {
		scaleAVX2(alpha, &x[0], len(x))
		return
	}
	scaleGo(alpha, x)
}

// softmaxExp is SoftmaxMaskedNorm on a non-empty row.
func softmaxExp(row []float32, mask []int32, scale float32) float32 {
	if !useAVX2 {
		return softmaxGo(row, mask, scale)
	}
	var mp *int32
	n := len(row)
	if mask != nil {
		_ = mask[n-1]
		mp = &mask[0]
	}
	m := softmaxMaxAVX2(&row[0], mp, n, scale)
	if m == float32(math.Inf(-1)) { // nothing counts
		clear(row)
		return 0
	}
	var sum float64
	if useAVX512 {
		sum = softmaxExpAVX512(&row[0], mp, n, scale, m)
	} else {
		sum = softmaxExpAVX2(&row[0], mp, n, scale, m)
	}
	return float32(1 / sum)
}

func layerNorm(x, delta, bias, gamma, beta []float32, eps float32) {
	if !useAVX2 {
		layerNormGo(x, delta, bias, gamma, beta, eps)
		return
	}
	n := len(x)
	_, _ = gamma[n-1], beta[n-1]
	var dp, bp *float32
	if delta != nil {
		_ = delta[n-1]
		dp, bp = &delta[0], biasPtr(bias, n)
	}
	layerNormAVX2(&x[0], dp, bp, &gamma[0], &beta[0], n, eps)
}

// addLayerNormPairs does AddLayerNorm's rows of n floats two at a time
// (addLayerNorm2AVX2 or its AVX-512 twin, each row as layerNorm does it,
// to the bit) where it can, and returns where the rows it left start.
func addLayerNormPairs(x, delta, bias, gamma, beta []float32, n int, eps float32) int {
	r := 0
	if useAVX2 && bias != nil && n%16 == 0 {
		_, _, _ = gamma[n-1], beta[n-1], bias[n-1]
		for ; r+2*n <= len(x); r += 2 * n {
			_, _ = x[r+2*n-1], delta[r+2*n-1]
			if useAVX512 {
				addLayerNorm2AVX512(&x[r], &delta[r], &bias[0], &gamma[0], &beta[0], n, eps)
			} else {
				addLayerNorm2AVX2(&x[r], &delta[r], &bias[0], &gamma[0], &beta[0], n, eps)
			}
		}
	}
	return r
}

// biasPtr returns &bias[0] for a bias of n values, or nil for no bias.
func biasPtr(bias []float32, n int) *float32 {
	if bias == nil {
		return nil
	}
	_ = bias[n-1]
	return &bias[0]
}

// The assembly kernels (vec_amd64.s). A nil bias or delta means none.

// expAVX2 sets dst[i] = e^x[i] for i < n.
//
//go:noescape
func expAVX2(dst, x *float32, n int)

// geluAVX2 sets x[i] = GELU(x[i] + bias[i]) for i < n.
//
//go:noescape
func geluAVX2(x, bias *float32, n int)

// geluAVX512 sets x[i] = GELU(x[i] + bias[i]) for i < n, with Φ read
// from tab (geluTable).
//
//go:noescape
func geluAVX512(x, bias, tab *float32, n int)

// geluTanhAVX2 sets x[i] = GELUTanh(x[i] + bias[i]) for i < n.
//
//go:noescape
func geluTanhAVX2(x, bias *float32, n int)

// reluAVX2 sets x[i] = max(x[i] + bias[i], 0) for i < n.
//
//go:noescape
func reluAVX2(x, bias *float32, n int)

// tanhAVX2 sets x[i] = tanh(x[i]) for i < n.
//
//go:noescape
func tanhAVX2(x *float32, n int)

// addAVX2 sets x[i] += b[i] for i < n.
//
//go:noescape
func addAVX2(x, b *float32, n int)

// dotAVX2 returns Σ a[i]·b[i] over i < n.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// axpyAVX2 sets y[i] += alpha·x[i] for i < n.
//
//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

// scaleAVX2 sets x[i] *= alpha for i < n.
//
//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

// softmaxMaxAVX2 returns the maximum of scale·x[i] over i < n with mask[i]
// != 0 (every i when mask is nil), or -Inf when there is none.
//
//go:noescape
func softmaxMaxAVX2(x *float32, mask *int32, n int, scale float32) float32

// softmaxExpAVX2 sets x[i] = e^(scale·x[i] - max) where mask[i] != 0 (every
// i when mask is nil) and 0 elsewhere, and returns the sum in float64.
//
//go:noescape
func softmaxExpAVX2(x *float32, mask *int32, n int, scale, max float32) float64

//go:noescape
func softmaxExpAVX512(x *float32, mask *int32, n int, scale, max float32) float64

// layerNormAVX2 sets the row x[:n] = LayerNorm(x + delta + bias) (delta
// and bias optional; bias only with delta).
//
//go:noescape
func layerNormAVX2(x, delta, bias, gamma, beta *float32, n int, eps float32)

// addLayerNorm2AVX2 is layerNormAVX2 with delta and bias on the two rows
// of n floats at x (and delta), n a positive multiple of 16, bit for bit.
//
//go:noescape
func addLayerNorm2AVX2(x, delta, bias, gamma, beta *float32, n int, eps float32)

// addLayerNorm2AVX512 is addLayerNorm2AVX2 on ZMM registers, bit for bit.
//
//go:noescape
func addLayerNorm2AVX512(x, delta, bias, gamma, beta *float32, n int, eps float32)

// prefetchRows runs PREFETCHT1 on lines cache lines from each of rows
// rows of x, ld floats apart.
//
//go:noescape
func prefetchRows(x *float32, rows, ld, lines int)

func prefetch(x []float32, rows, ld, width int) {
	prefetchRows(&x[0], rows, ld, (width+15)/16)
}

// GELU on AVX-512 is x·Φ(x), Φ(x) = (1+erf(x/√2))/2, with Φ evaluated
// piecewise: w = x·geluScale + geluPieces/2 - 1/2 (one fused multiply-add
// in float32) is clamped to [-1/2, geluPieces-1/2], piece i = round(w) and
// t = w - i in [-1/2, 1/2], and Φ ≈ Σₖ geluTable[k·geluPieces+i]·tᵏ; below
// -geluEdge Φ is 0 and from geluEdge on 1 (where it rounds to 0 or 1 in
// the product). The lookups are two-table permutes (VPERMT2PS) of
// registers, so GELU costs about half of what the erf polynomials and the
// exponential of the other paths cost. Accuracy, measured on 4·10⁶ points
// of [-8, 8]: 5.3e-7 absolute at most, about one ulp of the result,
// against 4.1e-7 for the polynomials; quartic pieces would be off by up
// to 2e-6 relative where Φ is small.
const (
	geluPieces = 32
	geluDegree = 5
	geluEdge   = 6
	// geluScale is geluPieces/(2·geluEdge) in float32, as the kernel
	// multiplies by it.
	geluScale float32 = geluPieces / (2.0 * geluEdge)
)

// geluTable holds the pieces' coefficients, coefficient k of piece i at
// k·geluPieces+i: each piece interpolates Φ at the geluDegree+1 Chebyshev
// points of its t interval (the x that the kernel's float32 w maps to),
// in float64, rounded to float32.
var geluTable = fitGELU()

// fitGELU computes geluTable, each piece's coefficients solving the
// Vandermonde system of its Chebyshev points with gonum.
func fitGELU() (tab [(geluDegree + 1) * geluPieces]float32) {
	const n = geluDegree + 1
	a, phi := mat.NewDense(n, n, nil), mat.NewVecDense(n, nil)
	var c mat.VecDense
	for i := range geluPieces {
		for j := range n {
			t := 0.5 * math.Cos(math.Pi*(float64(j)+0.5)/n)
			x := (float64(i) + t - (geluPieces-1)/2.0) / float64(geluScale)
			p := 1.0
			for k := range n {
				a.Set(j, k, p)
				p *= t
			}
			phi.SetVec(j, 0.5*math.Erfc(-x/math.Sqrt2))
		}
		if err := c.SolveVec(a, phi); err != nil {
			panic(fmt.Sprintf("vec: GELU piece %d: %v", i, err)) // Chebyshev points make it regular
		}
		for k := range n {
			tab[k*geluPieces+i] = float32(c.AtVec(k))
		}
	}
	return tab
}
