package qgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/internal/gemm"
)

// ffnShapes are the benchmark products: M rows, K inputs, N outputs.
var ffnShapes = [][3]int{{128, 256, 1024}, {128, 1024, 256}, {128, 768, 3072}, {128, 3072, 768}}

func gflops(b *testing.B, m, k, n int) {
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// benchQuant times Workspace.Mul, activation quantization included.
func benchQuant(b *testing.B, mk func(w []float32, out, in int) (Weights, error)) {
	for _, sh := range ffnShapes {
		m, k, n := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewPCG(1, 2))
		x, wf, bias := randSlice(rng, m*k, 1), randSlice(rng, n*k, 0.05), randSlice(rng, n, 1)
		w, err := mk(wf, n, k)
		if err != nil {
			b.Fatal(err)
		}
		c := make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			var ws Workspace
			for b.Loop() {
				ws.Mul(m, x, k, w, bias, c, n)
			}
			gflops(b, m, k, n)
		})
	}
}

func BenchmarkInt8(b *testing.B) {
	benchQuant(b, func(w []float32, out, in int) (Weights, error) { return QuantizeInt8(w, out, in) })
}

func BenchmarkInt4(b *testing.B) {
	benchQuant(b, func(w []float32, out, in int) (Weights, error) { return QuantizeInt4(w, out, in, 64) })
}

// BenchmarkFP32 is the reference: internal/gemm's packed product (bias not
// added).
func BenchmarkFP32(b *testing.B) {
	for _, sh := range ffnShapes {
		m, k, n := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewPCG(1, 2))
		x, wf := randSlice(rng, m*k, 1), randSlice(rng, n*k, 0.05)
		p := gemm.Pack(wf, k, k, n, true)
		c := make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			var ws gemm.Workspace
			for b.Loop() {
				ws.Mul(m, x, k, p, c, n)
			}
			gflops(b, m, k, n)
		})
	}
}

// BenchmarkQuantizeActivations is the per-token quantization alone.
func BenchmarkQuantizeActivations(b *testing.B) {
	const m, k = 128, 3072
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, m*k, 1)
	a := make([]byte, m*k)
	sx := make([]float32, m)
	for b.Loop() {
		quantizeU8(0, m, m, x, k, k, a, k, sx)
	}
}

// BenchmarkInt8Kernels runs one FFN shape on every kernel this machine has.
func BenchmarkInt8Kernels(b *testing.B) {
	benchKernels(b, func(w []float32, out, in int) (Weights, error) { return QuantizeInt8(w, out, in) })
}

// BenchmarkInt4Kernels is BenchmarkInt8Kernels for Int4 (groups of 64):
// on a CPU with GFNI, vnni unpacks every panel per product and vnni-gfni
// reads them as stored.
func BenchmarkInt4Kernels(b *testing.B) {
	benchKernels(b, func(w []float32, out, in int) (Weights, error) { return QuantizeInt4(w, out, in, 64) })
}

// benchKernels times Workspace.Mul on one FFN shape with every kernel.
func benchKernels(b *testing.B, mk mkWeights) {
	const m, k, n = 128, 768, 3072
	rng := rand.New(rand.NewPCG(1, 2))
	x, wf := randSlice(rng, m*k, 1), randSlice(rng, n*k, 0.05)
	w, err := mk(wf, n, k)
	if err != nil {
		b.Fatal(err)
	}
	c := make([]float32, m*n)
	for name, kn := range kernels() {
		b.Run(name, func(b *testing.B) {
			withKernel(kn, func() {
				var ws Workspace
				for b.Loop() {
					ws.Mul(m, x, k, w, nil, c, n)
				}
			})
			gflops(b, m, k, n)
		})
	}
}

// BenchmarkInt4Rows times Int4 products (groups of 64) of the BERT-mini
// shapes at few to many rows on every kernel: where AMX (unpacking each
// panel once per product) overtakes VNNI, amx4Rows. Below amx4Rows the
// amx runs are VNNI's.
func BenchmarkInt4Rows(b *testing.B) {
	for _, sh := range [][2]int{{256, 1024}, {1024, 256}} {
		k, n := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(1, 2))
		wf := randSlice(rng, n*k, 0.05)
		w, err := QuantizeInt4(wf, n, k, 64)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []int{4, 8, 12, 16, 24, 32, 64} {
			x, c := randSlice(rng, m*k, 1), make([]float32, m*n)
			for name, kn := range kernels() {
				if name != "vnni-gfni" && name != "amx" {
					continue
				}
				b.Run(fmt.Sprintf("%dx%dx%d/%s", m, k, n, name), func(b *testing.B) {
					withKernel(kn, func() {
						var ws Workspace
						for b.Loop() {
							ws.Mul(m, x, k, w, nil, c, n)
						}
					})
					gflops(b, m, k, n)
				})
			}
		}
	}
}
