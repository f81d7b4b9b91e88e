package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgenas/edgenas/internal/par"
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

// withKernel runs f with micro-kernel k selected.
func withKernel(k int, f func()) {
	old := kern
	kern = k
	defer func() { kern = old }()
	f()
}

func TestMulMatchesReference(t *testing.T) {
	shapes := [][3]int{
		{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {5, 15, 300}, {13, 33, 257},
		{128, 128, 128}, {12, 48, 512}, {3, 2, 600}, {0, 5, 5}, {5, 0, 5}, {4, 9, 0},
		{8, 32, 4}, {16, 64, 256}, {9, 48, 17}, {17, 80, 513}, {24, 16, 8}, {1, 200, 70},
		// Row tiles of 12 then 8 (AVX-512): 2×12; 2×12+8; 2×8 (not 12+4+…).
		{24, 64, 40}, {36, 96, 300}, {44, 48, 260},
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
					if m > 0 {
						// The last row of A ends at its last column: the
						// kernel reads nothing past it.
						a = a[:(m-1)*lda+kk]
						withKernel(k, func() {
							var w Workspace
							w.MulRaw(m, n, kk, a, lda, b, ldb, transB, c, ldc)
						})
					}
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
	for name, kern := range kernels() {
		t.Run(name, func(t *testing.T) {
			var ref []float32
			for _, threads := range []int{1, 2, 3, 8, -2} {
				c := make([]float32, m*n)
				w := Workspace{Threads: threads}
				if threads < 0 { // a shared Pool of -threads
					w = Workspace{Pool: par.New(-threads)}
				}
				withKernel(kern, func() { w.Mul(m, a, k, p, c, n) })
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
		})
	}
}

// TestWideAndNarrowTilesAgree checks that a column computed by a two-panel
// tile is bit-identical to the same column computed by a one-panel tile,
// the property that makes results independent of how panels are split
// over threads.
func TestWideAndNarrowTilesAgree(t *testing.T) {
	m, n, k := 16, 48, 300 // three panels: a wide tile, then a narrow one
	rng := rand.New(rand.NewPCG(5, 5))
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	wide := Pack(b, k, k, n, true)
	second := Pack(b[16*k:], k, k, 16, true) // the second panel alone
	for name, kern := range kernels() {
		t.Run(name, func(t *testing.T) {
			c, c2 := make([]float32, m*n), make([]float32, m*16)
			withKernel(kern, func() {
				var w Workspace
				w.Mul(m, a, k, wide, c, n)
				// Columns 16..31 again, now in a one-panel product.
				w.Mul(m, a, k, second, c2, 16)
			})
			for i := 0; i < m; i++ {
				for j := 0; j < 16; j++ {
					if x, y := c[i*n+16+j], c2[i*16+j]; math.Float32bits(x) != math.Float32bits(y) {
						t.Fatalf("C[%d][%d] = %v in the wide product, %v alone", i, 16+j, x, y)
					}
				}
			}
		})
	}
}

// TestTallAndShortTilesAgree checks that rows computed by the tallest
// tile (12 rows on AVX-512) are bit-identical to the same rows computed in
// products of 8 rows (short tiles only), whatever mix of tile heights m
// needs, so that results do not depend on how rows are grouped.
func TestTallAndShortTilesAgree(t *testing.T) {
	const n, k = 96, 300 // a lone last panel too, and two K blocks
	for name, kern := range kernels() {
		for _, m := range []int{12, 20, 24, 32, 36, 44, 128, 131} {
			t.Run(fmt.Sprintf("%s/m=%d", name, m), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(m), 6))
				a, b := randSlice(rng, m*k), randSlice(rng, (n+16)*k)
				p := Pack(b, k, k, n+16, true)
				c, c8 := make([]float32, m*(n+16)), make([]float32, m*(n+16))
				withKernel(kern, func() {
					var w Workspace
					w.Mul(m, a, k, p, c, n+16)
					for i := 0; i < m; i += 8 {
						w.Mul(min(8, m-i), a[i*k:], k, p, c8[i*(n+16):], n+16)
					}
				})
				for i, x := range c {
					if y := c8[i]; math.Float32bits(x) != math.Float32bits(y) {
						t.Fatalf("C[%d][%d] = %v in one product, %v by 8 rows", i/(n+16), i%(n+16), x, y)
					}
				}
			})
		}
	}
}

func TestRepackReusesMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	big := randSlice(rng, 300*70)
	var p Packed
	p.Repack(big, 70, 300, 70, false)
	before := &p.data[0]
	for _, sh := range [][2]int{{20, 33}, {300, 70}, {1, 1}} {
		k, n := sh[0], sh[1]
		for _, transB := range []bool{false, true} {
			ldb := n
			if transB {
				ldb = k
			}
			if allocs := testing.AllocsPerRun(3, func() { p.Repack(big, ldb, k, n, transB) }); allocs != 0 {
				t.Fatalf("%d×%d trans=%v: %v allocations", k, n, transB, allocs)
			}
			if &p.data[0] != before {
				t.Fatal("Repack moved to new memory")
			}
			want := Pack(big, ldb, k, n, transB)
			if p.K != want.K || p.N != want.N || !slices.Equal(p.data, want.data) {
				t.Fatalf("%d×%d trans=%v: Repack differs from Pack", k, n, transB)
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
	for _, tc := range []struct {
		name string
		w    *Workspace
	}{
		{"threads1", &Workspace{}},
		{"threads2", &Workspace{Threads: 2}},
		{"pool3", &Workspace{Pool: par.New(3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			w.Mul(m, a, k, p, c, n)
			w.MulRaw(m, n, k, a, k, b, k, true, c, n)
			if allocs := testing.AllocsPerRun(10, func() {
				w.Mul(m, a, k, p, c, n)
				w.MulRaw(m, n, k, a, k, b, k, true, c, n)
			}); allocs != 0 {
				t.Fatalf("%v allocations per run", allocs)
			}
		})
	}
}

func TestPackedBytes(t *testing.T) {
	p := Pack(make([]float32, 10*20), 20, 10, 20, false)
	if got, want := p.Bytes(), 4*10*32; got != want { // 20 columns pad to 2 panels of 16
		t.Fatalf("Bytes = %d, want %d", got, want)
	}
}

// gemmShapes are the K×N shapes of the issue at M = 128, then BERT-mini's
// (H 256, fused Q|K|V 768, F 1024) that the 256×1024 does not cover.
var gemmShapes = [][2]int{{128, 128}, {128, 512}, {256, 1024}, {512, 2048}, {768, 3072}, {3072, 768}, {256, 256}, {256, 768}, {1024, 256}}

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

// BenchmarkMulColdWeights is BenchmarkMul's active kernel on BERT-mini's
// shapes with weights as a forward pass meets them: each product uses the
// next of 16 packed matrices (12 to 16 MB, past L2), so that B comes from
// L3 or memory, as every layer's weights do once per pass, while A and C
// stay in cache.
func BenchmarkMulColdWeights(b *testing.B) {
	const mats = 16
	for _, sh := range [][2]int{{256, 768}, {256, 256}, {256, 1024}, {1024, 256}} {
		m, k, n := 128, sh[0], sh[1]
		rng := rand.New(rand.NewPCG(4, 4))
		a, c := randSlice(rng, m*k), make([]float32, m*n)
		ps := make([]*Packed, mats)
		for i := range ps {
			ps[i] = Pack(randSlice(rng, n*k), k, k, n, true)
		}
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			var ws Workspace
			i := 0
			for b.Loop() {
				ws.Mul(m, a, k, ps[i%mats], c, n)
				i++
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkRepack packs one attention head's keys (transposed) and values
// as the engine does for every (sequence, head): 128 tokens, head size 64,
// read in place from a Q|K|V matrix of row stride 768.
func BenchmarkRepack(b *testing.B) {
	const T, hs, ld = 128, 64, 768
	rng := rand.New(rand.NewPCG(7, 7))
	qkv := randSlice(rng, T*ld)
	for name, kern := range kernels() {
		for _, c := range []struct {
			name   string
			k, n   int
			transB bool
		}{{"keys", hs, T, true}, {"values", T, hs, false}} {
			b.Run(name+"/"+c.name, func(b *testing.B) {
				var p Packed
				withKernel(kern, func() {
					for b.Loop() {
						p.Repack(qkv, ld, c.k, c.n, c.transB)
					}
				})
			})
		}
	}
}
