package gemm

import "golang.org/x/sys/cpu"

// The micro-kernels this package has on arm64; kern holds the one in use.
const (
	kernGo   = iota // portable Go, 6×16
	kernNEON        // ASIMD assembly (FMLA), 6×16
)

// kern selects the micro-kernel: NEON whenever the CPU has ASIMD (every
// arm64 CPU Go runs on does). Tests change it to run both kernels.
var kern = bestKernel()

// bestKernel is the fastest micro-kernel the CPU supports.
func bestKernel() int {
	if cpu.ARM64.HasASIMD {
		return kernNEON
	}
	return kernGo
}

// tile is the kernels' tile: 6 rows of C, one 16-column panel (no taller one).
func tile() (rows, panels, tall int) { return 6, 1, 6 }

// micro runs the selected micro-kernel on tiles ≥ 1 full 6-row tiles stacked
// down A and C, with the contract of kernelGo.
func micro(_, panels, kcb int, a []float32, lda int, b, c []float32, ldc int, acc bool, tiles int) {
	if kern == kernGo {
		kernelGoTiles(kcb, a, lda, b, c, ldc, acc, tiles)
		return
	}
	// Bounds checks the assembly cannot make.
	_, _, _ = a[(tiles*6-1)*lda+kcb-1], b[kcb*nr-1], c[(tiles*6-1)*ldc+nr-1]
	kernel6x16NEON(kcb, &a[0], lda, &b[0], &c[0], ldc, acc, tiles)
}

// kernel6x16NEON is kernelGoTiles in ASIMD assembly: one fused
// multiply-add (FMLA) per step and element, in the order of kernelGo,
// whose sums the arm64 compiler fuses the same way.
//
//go:noescape
func kernel6x16NEON(kcb int, a *float32, lda int, b, c *float32, ldc int, acc bool, tiles int)

// packTrans fills one full panel of a transposed pack.
func packTrans(panel, b []float32, ldb, kcb int) { packTransGo(panel, b, ldb, kcb, nr) }
