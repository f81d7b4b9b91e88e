package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// refMul is C = A·B (or A·Bᵀ) in float64.
func refMul(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				bv := b[p*ldb+j]
				if transB {
					bv = b[j*ldb+p]
				}
				s += float64(a[i*lda+p]) * float64(bv)
			}
			c[i*n+j] = s
		}
	}
	return c
}

// kernels names the micro-kernels this machine can run.
func kernels() map[string]bool {
	ks := map[string]bool{"go": false}
	if useAsm {
		ks["asm"] = true
	}
	return ks
}

// withKernel runs f with the assembly kernel on or off.
func withKernel(asm bool, f func()) {
	old := useAsm
	useAsm = asm
	defer func() { useAsm = old }()
	f()
}

func TestMulMatchesReference(t *testing.T) {
	shapes := [][3]int{
		{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {5, 15, 300}, {13, 33, 257},
		{128, 128, 128}, {12, 48, 512}, {3, 2, 600}, {0, 5, 5}, {5, 0, 5}, {4, 9, 0},
	}
	for name, k := range kernels() {
		for _, sh := range shapes {
			for _, transB := range []bool{false, true} {
				m, n, kk := sh[0], sh[1], sh[2]
				t.Run(fmt.Sprintf("%s/%dx%dx%d/trans=%v", name, m, n, kk, transB), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(m*1000+n), uint64(kk)))
					// Strides wider than the matrices, as for one head of Q.
					lda, ldc := kk+3, n+5
					ldb := n + 2
					if transB {
						ldb = kk + 2
					}
					a := randSlice(rng, max(1, m*lda))
					b := randSlice(rng, max(1, max(kk, n)*ldb))
					c := randSlice(rng, max(1, m*ldc)) // garbage to be overwritten
					guard := c[len(c)-1]
					want := refMul(m, n, kk, a, lda, b, ldb, transB)
					withKernel(k, func() {
						var w Workspace
						w.MulRaw(m, n, kk, a, lda, b, ldb, transB, c, ldc)
					})
					worst := 0.0
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							d := math.Abs(float64(c[i*ldc+j]) - want[i*n+j])
							worst = math.Max(worst, d/math.Sqrt(float64(kk)+1))
						}
					}
					if worst > 1e-5 {
						t.Fatalf("max scaled error %g", worst)
					}
					if m > 0 && n+5 > n && ldc > n && c[len(c)-1] != guard {
						t.Fatal("wrote past the last row's columns")
					}
				})
			}
		}
	}
}

func TestMulLeavesPaddingColumns(t *testing.T) {
	m, n, k := 7, 18, 20
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	ldc := n + 4
	c := make([]float32, m*ldc)
	for i := range c {
		c[i] = 42
	}
	var w Workspace
	w.MulRaw(m, n, k, a, k, b, n, false, c, ldc)
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			if c[i*ldc+j] != 42 {
				t.Fatalf("C[%d][%d] outside the product was written", i, j)
			}
		}
	}
}

func TestThreadsGiveIdenticalResults(t *testing.T) {
	m, n, k := 37, 200, 700
	rng := rand.New(rand.NewPCG(2, 2))
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	p := Pack(b, k, k, n, true)
	var ref []float32
	for _, threads := range []int{1, 2, 3, 8} {
		c := make([]float32, m*n)
		w := Workspace{Threads: threads}
		w.Mul(m, a, k, p, c, n)
		if ref == nil {
			ref = c
			continue
		}
		for i := range c {
			if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("threads=%d: C[%d] = %v, single thread %v", threads, i, c[i], ref[i])
			}
		}
	}
}

func TestMulAllocatesNothingInSteadyState(t *testing.T) {
	m, n, k := 128, 256, 300
	rng := rand.New(rand.NewPCG(3, 3))
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	p := Pack(b, k, k, n, true)
	c := make([]float32, m*n)
	var w Workspace
	w.Mul(m, a, k, p, c, n)
	w.MulRaw(m, n, k, a, k, b, k, true, c, n)
	if allocs := testing.AllocsPerRun(10, func() {
		w.Mul(m, a, k, p, c, n)
		w.MulRaw(m, n, k, a, k, b, k, true, c, n)
	}); allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
}

func TestPackedBytes(t *testing.T) {
	p := Pack(make([]float32, 10*20), 20, 10, 20, false)
	if got, want := p.Bytes(), 4*10*32; got != want { // 20 columns pad to 2 panels of 16
		t.Fatalf("Bytes = %d, want %d", got, want)
	}
}

// gemmShapes are the K×N shapes of the issue at M = 128.
var gemmShapes = [][2]int{{128, 128}, {128, 512}, {256, 1024}, {512, 2048}, {768, 3072}, {3072, 768}}

// BenchmarkMul reports GFLOP/s of C = A·Wᵀ at M = 128 for the engine's
// shapes, with the active kernel and the portable Go kernel side by side.
func BenchmarkMul(b *testing.B) {
	for _, sh := range gemmShapes {
		m, k, n := 128, sh[0], sh[1]
		rng := rand.New(rand.NewPCG(4, 4))
		a, w := randSlice(rng, m*k), randSlice(rng, n*k)
		p := Pack(w, k, k, n, true)
		c := make([]float32, m*n)
		for name, kern := range kernels() {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, k, n, name), func(b *testing.B) {
				withKernel(kern, func() {
					var ws Workspace
					for b.Loop() {
						ws.Mul(m, a, k, p, c, n)
					}
				})
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
