package vec

import "math"

// The portable kernels: plain Go, one element at a time, evaluating the
// same approximations as the assembly in float32 (reductions accumulate in
// float64). Every architecture without the assembly runs them, and amd64
// runs them when the CPU lacks AVX2 or FMA.

var inf32 = float32(math.Inf(1))

// expCore returns e^x for expLo ≤ x ≤ expHi (no range handling): x = n·ln2
// + r, e^r by polynomial, then 2ⁿ added into the exponent bits.
func expCore(x float32) float32 {
	t := x*log2e + expMagic
	n := t - expMagic
	scale := math.Float32bits(t) << 23 // n<<23: the magic's own bits shift out
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := expP6*r + expP5
	p = p*r + expP4
	p = p*r + expP3
	p = p*r + expP2
	p = p*r + 1
	p = p*r + 1
	return math.Float32frombits(math.Float32bits(p) + scale)
}

// exp32 returns e^x with the package's range rules: 0 below expLo, +Inf
// above expHi, NaN for NaN.
func exp32(x float32) float32 {
	switch {
	case x < expLo:
		return 0
	case !(x <= expHi): // above expHi, or NaN
		return x + inf32
	}
	return expCore(x)
}

// erfcBig returns erfc(a) for erfSplit ≤ a ≤ erfMax.
func erfcBig(a float32) float32 {
	b := erfB5*a + erfB4
	b = b*a + erfB3
	b = b*a + erfB2
	b = b*a + erfB1
	b = b*a + erfB0
	return expCore(b)
}

// onePlusErf32 returns 1+erf(z), formed as 2-e or e with e = 1-erf|z|
// (erfc|z| straight from the exponential when |z| is large), so that the
// negative tail keeps its relative accuracy.
func onePlusErf32(z float32) float32 {
	a := z
	if a < 0 {
		a = -a
	}
	var e float32
	switch {
	case a < erfSplit:
		s := a * a
		p := erfS5*s + erfS4
		p = p*s + erfS3
		p = p*s + erfS2
		p = p*s + erfS1
		p = p*s + erfS0
		e = 1 - a*p
	case a <= erfMax:
		e = erfcBig(a)
	case a > erfMax:
		e = 0
	default: // NaN
		return z
	}
	if math.Float32bits(z)>>31 != 0 {
		return e
	}
	return 2 - e
}

// gelu32 returns 0.5·x·(1+erf(x/√2)).
func gelu32(x float32) float32 {
	return 0.5 * x * onePlusErf32(x*invSqrt2)
}

// geluTanh32 returns 0.5·x·(1+tanh(√(2/π)·(x+0.044715x³))), computed as
// x/(1+e^{-2u}).
func geluTanh32(x float32) float32 {
	y := x * (geluTA + geluTB*(x*x))
	return x / (1 + exp32(y))
}

// tanh32 returns tanh x.
func tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if !(a >= tanhSplit) { // small, or NaN
		s := x * x
		p := tanhT4*s + tanhT3
		p = p*s + tanhT2
		p = p*s + tanhT1
		p = p*s + tanhT0
		return (x*s)*p + x
	}
	a = min(a, tanhCap)
	t := 1 - 2/(expCore(a+a)+1)
	if x < 0 {
		return -t
	}
	return t
}

func expGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp32(v)
	}
}

// geluGo applies GELU to x (+ bias when bias is not nil; len(bias) ==
// len(x)), and likewise the other activations below.
func geluGo(x, bias []float32) {
	if bias != nil {
		bias = bias[:len(x)]
		for i, v := range x {
			x[i] = gelu32(v + bias[i])
		}
		return
	}
	for i, v := range x {
		x[i] = gelu32(v)
	}
}

func geluTanhGo(x, bias []float32) {
	if bias != nil {
		bias = bias[:len(x)]
		for i, v := range x {
			x[i] = geluTanh32(v + bias[i])
		}
		return
	}
	for i, v := range x {
		x[i] = geluTanh32(v)
	}
}

// relu32 returns max(x, 0), keeping NaN and -0.
func relu32(x float32) float32 {
	if x < 0 {
		return 0
	}
	return x
}

func reluGo(x, bias []float32) {
	if bias != nil {
		bias = bias[:len(x)]
		for i, v := range x {
			x[i] = relu32(v + bias[i])
		}
		return
	}
	for i, v := range x {
		x[i] = relu32(v)
	}
}

func tanhGo(x []float32) {
	for i, v := range x {
		x[i] = tanh32(v)
	}
}

// addGo adds b to x element-wise (len(b) == len(x)).
func addGo(x, b []float32) {
	b = b[:len(x)]
	for i := range x {
		x[i] += b[i]
	}
}

func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// softmaxGo is SoftmaxMasked for one row (mask nil or len(mask) ==
// len(row)).
func softmaxGo(row []float32, mask []int32, scale float32) (norm float32) {
	m := softmaxMaxGo(row, mask, scale, -inf32)
	if m == -inf32 { // nothing counts
		clear(row)
		return 0
	}
	return float32(1 / softmaxExpRowGo(row, mask, scale, m))
}

// softmaxMaxGo returns the maximum of m and scale·row[j] over the entries
// that count.
func softmaxMaxGo(row []float32, mask []int32, scale, m float32) float32 {
	if mask != nil {
		mask = mask[:len(row)]
	}
	for j, v := range row {
		if mask == nil || mask[j] != 0 {
			m = max(m, scale*v)
		}
	}
	return m
}

// softmaxExpRowGo sets row[j] = e^(scale·row[j] - m) for the entries that
// count and 0 for the others, and returns the sum in float64.
func softmaxExpRowGo(row []float32, mask []int32, scale, m float32) float64 {
	if mask != nil {
		mask = mask[:len(row)]
	}
	var sum float64
	for j, v := range row {
		var e float32
		if mask == nil || mask[j] != 0 {
			e = exp32(scale*v - m)
			sum += float64(e)
		}
		row[j] = e
	}
	return sum
}

// layerNormGo normalizes one row: x = LayerNorm(x + delta + bias) with
// delta and bias optional (nil). Mean and variance are two-pass in
// float64.
func layerNormGo(x, delta, bias, gamma, beta []float32, eps float32) {
	n := len(x)
	if delta != nil {
		delta = delta[:n]
		if bias != nil {
			bias = bias[:n]
			for i := range x {
				x[i] = x[i] + delta[i] + bias[i]
			}
		} else {
			addGo(x, delta)
		}
	}
	mean := sum64Go(x) / float64(n)
	rstd := 1 / math.Sqrt(sqDev64Go(x, mean)/float64(n)+float64(eps))
	lnApplyGo(x, gamma, beta, mean, rstd)
}

// sum64Go returns Σ x[i] in float64.
func sum64Go(x []float32) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	return sum
}

// sqDev64Go returns Σ (x[i] - mean)² in float64.
func sqDev64Go(x []float32, mean float64) float64 {
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return ss
}

// lnApplyGo sets x[i] = float32((x[i]-mean)·rstd)·gamma[i] + beta[i].
func lnApplyGo(x, gamma, beta []float32, mean, rstd float64) {
	gamma, beta = gamma[:len(x)], beta[:len(x)]
	for i, v := range x {
		x[i] = float32((float64(v)-mean)*rstd)*gamma[i] + beta[i]
	}
}
