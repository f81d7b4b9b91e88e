package vec

import (
	"math/rand/v2"
	"testing"
)

// benchPaths runs body as one sub-benchmark per kernel set ("avx2" where
// available, then "go"), reporting elements per second; n is the number of
// elements one call of body processes.
func benchPaths(b *testing.B, n int, body func()) {
	for _, p := range paths() {
		b.Run(p.name, func(b *testing.B) {
			defer p.use()()
			b.SetBytes(int64(4 * n))
			b.ReportAllocs()
			for b.Loop() {
				body()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
		})
	}
}

func randSlice(n int, scale float64) []float32 {
	r := rand.New(rand.NewPCG(uint64(n), 11))
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

func BenchmarkExp(b *testing.B) {
	const n = 4096
	x, dst := randSlice(n, 5), make([]float32, n)
	benchPaths(b, n, func() { Exp(dst, x) })
}

// The in-place benchmarks restore their input from a pristine copy at the
// start of every iteration (included in the time, a few percent): applied
// to its own output again and again, an activation would drift into
// subnormal numbers, which are slow on x86.

func BenchmarkGELU(b *testing.B) {
	const n = 2048
	src, x := randSlice(n, 3), make([]float32, n)
	benchPaths(b, n, func() {
		copy(x, src)
		GELU(x)
	})
}

func BenchmarkGELUTanh(b *testing.B) {
	const n = 2048
	src, x := randSlice(n, 3), make([]float32, n)
	benchPaths(b, n, func() {
		copy(x, src)
		GELUTanh(x)
	})
}

func BenchmarkTanh(b *testing.B) {
	const n = 2048
	src, x := randSlice(n, 2), make([]float32, n)
	benchPaths(b, n, func() {
		copy(x, src)
		Tanh(x)
	})
}

// BenchmarkAddBiasGELU is the FFN activation of a BERT-base layer for 16
// tokens: 16 rows of 3072.
func BenchmarkAddBiasGELU(b *testing.B) {
	const rows, n = 16, 3072
	src, x, bias := randSlice(rows*n, 3), make([]float32, rows*n), randSlice(n, 0.1)
	benchPaths(b, rows*n, func() {
		copy(x, src)
		AddBiasGELU(x, bias)
	})
}

// BenchmarkSoftmaxMasked is one attention row of 128 keys, the last 28
// of them padding.
func BenchmarkSoftmaxMasked(b *testing.B) {
	const n = 128
	src := randSlice(n, 4)
	row := make([]float32, n)
	mask := make([]int32, n)
	for i := range 100 {
		mask[i] = 1
	}
	benchPaths(b, n, func() {
		copy(row, src)
		SoftmaxMasked(row, mask, 0.125)
	})
}

// BenchmarkSoftmaxMaskedNorm is one attention row of 512 keys as
// attention normalizes it: exponentials and their sum, the division left
// to the caller.
func BenchmarkSoftmaxMaskedNorm(b *testing.B) {
	const n = 512
	src := randSlice(n, 4)
	row := make([]float32, n)
	benchPaths(b, n, func() {
		copy(row, src)
		SoftmaxMaskedNorm(row, nil, 0.125)
	})
}

func BenchmarkLayerNorm(b *testing.B) {
	for _, c := range []struct {
		name    string
		rows, n int
	}{{"128x256", 128, 256}, {"128x768", 128, 768}} {
		b.Run(c.name, func(b *testing.B) {
			x := randSlice(c.rows*c.n, 2)
			gamma, beta := randSlice(c.n, 1), randSlice(c.n, 1)
			benchPaths(b, c.rows*c.n, func() { LayerNorm(x, gamma, beta, 1e-12) })
		})
	}
}

func BenchmarkAddLayerNorm(b *testing.B) {
	for _, c := range []struct {
		name    string
		rows, n int
	}{{"128x256", 128, 256}, {"128x768", 128, 768}} {
		b.Run(c.name, func(b *testing.B) {
			x, delta := randSlice(c.rows*c.n, 2), randSlice(c.rows*c.n, 0.1)
			bias, gamma, beta := randSlice(c.n, 0.1), randSlice(c.n, 1), randSlice(c.n, 1)
			benchPaths(b, c.rows*c.n, func() { AddLayerNorm(x, delta, bias, gamma, beta, 1e-12) })
		})
	}
}

func BenchmarkDot(b *testing.B) {
	const n = 768
	x, y := randSlice(n, 1), randSlice(n, 1)
	var sink float32
	benchPaths(b, n, func() { sink += Dot(x, y) })
	_ = sink
}

func BenchmarkAxpy(b *testing.B) {
	const n = 768
	x, y := randSlice(n, 1), randSlice(n, 1)
	benchPaths(b, n, func() { Axpy(1e-3, x, y) })
}
