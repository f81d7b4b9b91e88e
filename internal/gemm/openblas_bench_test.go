//go:build openblas

// The engine's GEMM side by side with OpenBLAS sgemm (build tag openblas,
// cgo, libopenblas-dev); scripts/bench.sh engine runs it and tabulates it.
// The cgo binding lives in scripts/benchtable/openblas because cgo cannot be
// used in a _test.go file.

package gemm_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/internal/gemm"
	"github.com/edgenas/edgenas/scripts/benchtable/openblas"
)

// compareM is the number of rows of A in the comparison: 128 tokens.
const compareM = 128

// compareShapes are the K×N shapes of the comparison: the products of
// BERT-tiny (128), BERT-mini (256, 1024) and BERT-base (768, 3072) layers.
var compareShapes = [][2]int{{128, 128}, {128, 512}, {256, 1024}, {512, 2048}, {768, 3072}, {3072, 768}}

// BenchmarkGEMMCompare times C = A·Wᵀ for a 128×K activation A and an N×K
// weight W (the PyTorch layout of a Linear weight), single-threaded, in
// GFLOP/s (2·M·K·N per product). Names are MxKxN.
//
//   - edgenas: W packed once with gemm.Pack(w, K, K, N, true), as the engine
//     packs weights at load time; the timed loop is Workspace.Mul only.
//   - openblas: row-major cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans)
//     on the same A and W, alpha 1, beta 0; OpenBLAS packs W inside every
//     call (it has no pre-packed interface), so that copy is in its time.
//
// OpenBLAS runs with one thread (openblas_set_num_threads(1); scripts/bench.sh
// also sets OPENBLAS_NUM_THREADS=1); run with -cpu 1 for a single-threaded
// engine. Before timing, the two results are checked to agree.
func BenchmarkGEMMCompare(b *testing.B) {
	openblas.SetNumThreads(1)
	b.Logf("OpenBLAS core %s, %d thread(s), config: %s", openblas.CoreName(), openblas.NumThreads(), openblas.Config())
	for _, s := range compareShapes {
		m, k, n := compareM, s[0], s[1]
		rng := rand.New(rand.NewPCG(uint64(k), uint64(n)))
		a := normals(rng, m*k)
		w := normals(rng, n*k)
		flops := 2 * float64(m) * float64(k) * float64(n)
		p := gemm.Pack(w, k, k, n, true)

		// The two must compute the same product.
		var ws gemm.Workspace
		got, want := make([]float32, m*n), make([]float32, m*n)
		ws.Mul(m, a, k, p, got, n)
		openblas.Sgemm(m, n, k, a, k, w, k, true, want, n)
		var diff, scale float64
		for i := range got {
			diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
			scale = math.Max(scale, math.Abs(float64(want[i])))
		}
		if diff > 1e-4*scale {
			b.Fatalf("%dx%dx%d: edgenas and OpenBLAS differ by %.3g (largest |C| %.3g)", m, k, n, diff, scale)
		}

		name := fmt.Sprintf("%dx%dx%d", m, k, n)
		b.Run(name+"/edgenas", func(b *testing.B) {
			var ws gemm.Workspace
			c := make([]float32, m*n)
			ws.Mul(m, a, k, p, c, n) // grow the workspace before timing
			for b.Loop() {
				ws.Mul(m, a, k, p, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/openblas", func(b *testing.B) {
			c := make([]float32, m*n)
			for b.Loop() {
				openblas.Sgemm(m, n, k, a, k, w, k, true, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// normals returns n values drawn from N(0, 1).
func normals(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}
