package vec

import (
	"math"

	"golang.org/x/sys/cpu"
)

// useNEON selects the ASIMD assembly kernels (GELU, Exp, softmax,
// LayerNorm and AddBias); tests and benchmarks clear it to run the
// portable ones on the same machine.
var useNEON = cpu.ARM64.HasASIMD

// useAVX2 and useAVX512 are always false on arm64. Tests set them as on
// amd64, to no effect.
var useAVX2, useAVX512 = false, false

// The wrappers below run the assembly on the first n&^3 elements (the
// exported functions have checked the lengths) and the portable kernels
// on the rest.

func exp(dst, x []float32) {
	if n := len(x) &^ 3; useNEON && n > 0 {
		_ = dst[len(x)-1]
		expNEON(&dst[0], &x[0], n)
		dst, x = dst[n:], x[n:]
	}
	expGo(dst, x)
}

func gelu(x, bias []float32) {
	if n := len(x) &^ 3; useNEON && n > 0 {
		geluNEON(&x[0], biasPtr(bias, len(x)), n)
		x, bias = x[n:], tail(bias, n)
	}
	geluGo(x, bias)
}

func geluTanh(x, bias []float32) { geluTanhGo(x, bias) }
func relu(x, bias []float32)     { reluGo(x, bias) }
func tanh(x []float32)           { tanhGo(x) }

func add(x, b []float32) {
	if n := len(x) &^ 3; useNEON && n > 0 {
		_ = b[len(x)-1]
		addNEON(&x[0], &b[0], n)
		x, b = x[n:], b[n:]
	}
	addGo(x, b)
}

func dot(a, b []float32) float32          { return dotGo(a, b) }
func axpy(alpha float32, x, y []float32)  { axpyGo(alpha, x, y) }
func scaleRow(alpha float32, x []float32) { scaleGo(alpha, x) }

// softmaxExp is SoftmaxMaskedNorm on a non-empty row.
func softmaxExp(row []float32, mask []int32, scale float32) float32 {
	n := len(row) &^ 3
	if !useNEON || n == 0 {
		return softmaxGo(row, mask, scale)
	}
	var mp *int32
	if mask != nil {
		_ = mask[len(row)-1]
		mp = &mask[0]
	}
	m := softmaxMaxGo(row[n:], tail(mask, n), scale, softmaxMaxNEON(&row[0], mp, n, scale))
	if m == -inf32 { // nothing counts
		clear(row)
		return 0
	}
	sum := softmaxExpNEON(&row[0], mp, n, scale, m) + softmaxExpRowGo(row[n:], tail(mask, n), scale, m)
	return float32(1 / sum)
}

func layerNorm(x, delta, bias, gamma, beta []float32, eps float32) {
	n := len(x) &^ 3
	if !useNEON || n == 0 {
		layerNormGo(x, delta, bias, gamma, beta, eps)
		return
	}
	_, _ = gamma[len(x)-1], beta[len(x)-1]
	if delta != nil {
		add(x, delta)
		if bias != nil {
			add(x, bias)
		}
	}
	mean := (sum64NEON(&x[0], n) + sum64Go(x[n:])) / float64(len(x))
	ss := sqDev64NEON(&x[0], n, mean) + sqDev64Go(x[n:], mean)
	rstd := 1 / math.Sqrt(ss/float64(len(x))+float64(eps))
	lnApplyNEON(&x[0], &gamma[0], &beta[0], n, mean, rstd)
	lnApplyGo(x[n:], gamma[n:], beta[n:], mean, rstd)
}

// biasPtr returns &bias[0] for a bias of n values, or nil for no bias.
func biasPtr(bias []float32, n int) *float32 {
	if bias == nil {
		return nil
	}
	_ = bias[n-1]
	return &bias[0]
}

// tail returns s[n:], or nil when s is nil (no bias, no mask).
func tail[T any](s []T, n int) []T {
	if s == nil {
		return nil
	}
	return s[n:]
}

// The assembly kernels (vec_arm64.s): n is a positive multiple of 4; a nil
// bias or mask means none.

// geluNEON sets x[i] = GELU(x[i] + bias[i]) for i < n.
//
//go:noescape
func geluNEON(x, bias *float32, n int)

// expNEON sets dst[i] = e^x[i] for i < n.
//
//go:noescape
func expNEON(dst, x *float32, n int)

// addNEON sets x[i] += b[i] for i < n.
//
//go:noescape
func addNEON(x, b *float32, n int)

// softmaxMaxNEON returns the maximum of scale·x[i] over i < n with mask[i]
// != 0 (every i when mask is nil), or -Inf when there is none.
//
//go:noescape
func softmaxMaxNEON(x *float32, mask *int32, n int, scale float32) float32

// softmaxExpNEON sets x[i] = e^(scale·x[i] - max) where mask[i] != 0
// (every i when mask is nil) and 0 elsewhere, and returns the sum in
// float64.
//
//go:noescape
func softmaxExpNEON(x *float32, mask *int32, n int, scale, max float32) float64

// sum64NEON returns Σ x[i] over i < n in float64.
//
//go:noescape
func sum64NEON(x *float32, n int) float64

// sqDev64NEON returns Σ (x[i] - mean)² over i < n in float64.
//
//go:noescape
func sqDev64NEON(x *float32, n int, mean float64) float64

// lnApplyNEON sets x[i] = float32((x[i]-mean)·rstd)·gamma[i] + beta[i] for
// i < n.
//
//go:noescape
func lnApplyNEON(x, gamma, beta *float32, n int, mean, rstd float64)

// prefetch does nothing on arm64.
func prefetch([]float32, int, int, int) {}

// addLayerNormPairs does no rows two at a time: AddLayerNorm does them all
// with layerNorm.
func addLayerNormPairs(_, _, _, _, _ []float32, _ int, _ float32) int { return 0 }
