package vec

import "strconv"

// Exp sets dst[i] = e^x[i]. dst may be x itself (but no other overlap).
// Results below e^-87.3365 (the smallest normal float32) are flushed to 0,
// x > 88.7228 gives +Inf and NaN gives NaN. It panics if len(dst) !=
// len(x).
func Exp(dst, x []float32) {
	if len(dst) != len(x) {
		panicLen("Exp", "len(dst)", len(dst), "len(x)", len(x))
	}
	if len(x) > 0 {
		exp(dst, x)
	}
}

// SoftmaxMasked turns row into a probability distribution in place:
// row[j] = e^(scale·row[j] - m) / Σₖ e^(scale·row[k] - m), the sum and the
// maximum m running over the entries k that count: those with mask[k] !=
// 0, or every entry when mask is nil. Entries that do not count become
// exactly 0; if none counts (or every counted score is -Inf) the whole row
// becomes 0. It panics if mask is not nil and len(mask) != len(row).
func SoftmaxMasked(row []float32, mask []int32, scale float32) {
	if mask != nil && len(mask) != len(row) {
		panicLen("SoftmaxMasked", "len(mask)", len(mask), "len(row)", len(row))
	}
	if len(row) > 0 {
		if norm := softmaxExp(row, mask, scale); norm != 0 {
			scaleRow(norm, row)
		}
	}
}

// SoftmaxMaskedNorm is SoftmaxMasked without its last step: row[j] becomes
// e^(scale·row[j] - m) for the entries that count and 0 for the others,
// and the returned norm is the factor SoftmaxMasked would multiply the row
// by (1/Σ, or 0 when nothing counts). A caller that multiplies the row by
// a matrix can scale the smaller product instead: attention scales the
// rows of P·V. It panics if mask is not nil and len(mask) != len(row).
func SoftmaxMaskedNorm(row []float32, mask []int32, scale float32) (norm float32) {
	if mask != nil && len(mask) != len(row) {
		panicLen("SoftmaxMaskedNorm", "len(mask)", len(mask), "len(row)", len(row))
	}
	if len(row) == 0 {
		return 0
	}
	return softmaxExp(row, mask, scale)
}

// GELU applies the exact (erf) GELU, x·Φ(x) = 0.5·x·(1+erf(x/√2)), to x in
// place.
func GELU(x []float32) {
	if len(x) > 0 {
		gelu(x, nil)
	}
}

// GELUTanh applies the tanh approximation of GELU,
// 0.5·x·(1+tanh(√(2/π)·(x+0.044715·x³))), to x in place (Hugging Face's
// "gelu_new" and "gelu_pytorch_tanh").
func GELUTanh(x []float32) {
	if len(x) > 0 {
		geluTanh(x, nil)
	}
}

// ReLU sets x[i] = max(x[i], 0) in place; NaN stays NaN.
func ReLU(x []float32) {
	if len(x) > 0 {
		relu(x, nil)
	}
}

// Tanh sets x[i] = tanh(x[i]) in place.
func Tanh(x []float32) {
	if len(x) > 0 {
		tanh(x)
	}
}

// AddBias adds bias to every row of x: x[r·n+j] += bias[j] with n =
// len(bias). It panics unless len(x) is a multiple of len(bias).
func AddBias(x, bias []float32) {
	n := rows("AddBias", x, bias)
	for r := 0; r < len(x); r += n {
		add(x[r:r+n], bias)
	}
}

// AddBiasGELU is AddBias followed by GELU in one pass over x.
func AddBiasGELU(x, bias []float32) {
	n := rows("AddBiasGELU", x, bias)
	for r := 0; r < len(x); r += n {
		gelu(x[r:r+n], bias)
	}
}

// AddBiasGELUTanh is AddBias followed by GELUTanh in one pass over x.
func AddBiasGELUTanh(x, bias []float32) {
	n := rows("AddBiasGELUTanh", x, bias)
	for r := 0; r < len(x); r += n {
		geluTanh(x[r:r+n], bias)
	}
}

// AddBiasReLU is AddBias followed by ReLU in one pass over x.
func AddBiasReLU(x, bias []float32) {
	n := rows("AddBiasReLU", x, bias)
	for r := 0; r < len(x); r += n {
		relu(x[r:r+n], bias)
	}
}

// LayerNorm normalizes every row of x (rows of n = len(gamma) values) in
// place: x = (x-mean)/sqrt(var+eps)·gamma + beta, with the population
// variance. Mean and variance are computed in two passes (the second
// corrects the first's mean), so rows with a large mean keep their
// accuracy. It panics unless len(beta) == len(gamma) and len(x) is a
// multiple of len(gamma).
func LayerNorm(x, gamma, beta []float32, eps float32) {
	n := normRows("LayerNorm", x, gamma, beta)
	for r := 0; r < len(x); r += n {
		layerNorm(x[r:r+n], nil, nil, gamma, beta, eps)
	}
}

// AddLayerNorm is the residual + bias + LayerNorm fusion after a
// projection: x = LayerNorm(x + delta + bias) row by row, in one call.
// delta has the shape of x; bias, if not nil, has one row's length. It
// panics on other lengths, like LayerNorm.
func AddLayerNorm(x, delta, bias, gamma, beta []float32, eps float32) {
	n := normRows("AddLayerNorm", x, gamma, beta)
	if len(delta) != len(x) {
		panicLen("AddLayerNorm", "len(delta)", len(delta), "len(x)", len(x))
	}
	if bias != nil && len(bias) != n {
		panicLen("AddLayerNorm", "len(bias)", len(bias), "len(gamma)", n)
	}
	for r := addLayerNormPairs(x, delta, bias, gamma, beta, n, eps); r < len(x); r += n {
		layerNorm(x[r:r+n], delta[r:r+n], bias, gamma, beta, eps)
	}
}

// Dot returns Σ a[i]·b[i]. It panics if len(a) != len(b).
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panicLen("Dot", "len(a)", len(a), "len(b)", len(b))
	}
	if len(a) == 0 {
		return 0
	}
	return dot(a, b)
}

// Axpy sets y[i] += alpha·x[i]. It panics if len(x) != len(y).
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panicLen("Axpy", "len(x)", len(x), "len(y)", len(y))
	}
	if len(x) > 0 {
		axpy(alpha, x, y)
	}
}

// Scale sets x[i] *= alpha.
func Scale(alpha float32, x []float32) {
	if len(x) > 0 {
		scaleRow(alpha, x)
	}
}

// rows checks that x holds whole rows of len(bias) and returns that
// length.
func rows(fn string, x, bias []float32) int {
	n := len(bias)
	if n == 0 {
		if len(x) != 0 {
			panicLen(fn, "len(bias)", 0, "len(x)", len(x))
		}
		return 1
	}
	if len(x)%n != 0 {
		panicLen(fn, "len(x)", len(x), "row length len(bias)", n)
	}
	return n
}

// normRows is rows for the LayerNorm parameters.
func normRows(fn string, x, gamma, beta []float32) int {
	if len(beta) != len(gamma) {
		panicLen(fn, "len(beta)", len(beta), "len(gamma)", len(gamma))
	}
	return rows(fn, x, gamma)
}

// panicLen reports programmer misuse: lengths that do not fit.
func panicLen(fn, what string, got int, against string, want int) {
	panic("vec." + fn + ": " + what + " = " + strconv.Itoa(got) + " does not fit " + against + " = " + strconv.Itoa(want))
}

// Prefetch asks the CPU to bring rows rows of width floats, row i at
// x[i·ld:], into this core's cache ahead of their use (PREFETCHT1 on
// amd64; nothing elsewhere). It changes no value; x must hold the rows.
func Prefetch(x []float32, rows, ld, width int) {
	if rows <= 0 || width <= 0 {
		return
	}
	_ = x[(rows-1)*ld+width-1]
	prefetch(x, rows, ld, width)
}
