package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

// The micro-kernels this package has; kern holds the one in use.
const (
	kernGo     = iota // portable Go, 6×16
	kernAVX2          // AVX2/FMA assembly, 6×16
	kernAVX512        // AVX-512F assembly, 8×32 and 12×32 (8×16 for a lone panel)
)

// kern selects the micro-kernel: the widest the CPU runs. Tests change it
// to run every kernel this machine supports.
var kern = bestKernel()

// bestKernel is the fastest micro-kernel the CPU supports.
func bestKernel() int {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return kernAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return kernAVX2
	}
	return kernGo
}

// tile is the selected kernel's tile: rows of C, and the most 16-column B
// panels one call covers; tall is the rows of the tallest tile, which
// covers that many panels (whole tiles only: edges use the rows-high one).
func tile() (rows, panels, tall int) {
	if kern == kernAVX512 {
		return 8, 2, 12
	}
	return 6, 1, 6
}

// micro runs the selected micro-kernel on tiles ≥ 1 full tiles of rows
// rows (tile's rows, or its tall with its panels) stacked down A and C,
// each of panels panels (at most tile's), with the contract of kernelGo.
func micro(rows, panels, kcb int, a []float32, lda int, b, c []float32, ldc int, acc bool, tiles int) {
	if kern == kernGo {
		kernelGoTiles(kcb, a, lda, b, c, ldc, acc, tiles)
		return
	}
	// Bounds checks the assembly cannot make.
	_, _, _ = a[(tiles*rows-1)*lda+kcb-1], b[panels*kcb*nr-1], c[(tiles*rows-1)*ldc+panels*nr-1]
	switch {
	case kern == kernAVX512 && rows == 12:
		kernel12x32(kcb, &a[0], lda, &b[0], &c[0], ldc, acc, tiles)
	case kern == kernAVX512 && panels == 2:
		kernel8x32(kcb, &a[0], lda, &b[0], &c[0], ldc, acc, tiles)
	case kern == kernAVX512:
		kernel8x16(kcb, &a[0], lda, &b[0], &c[0], ldc, acc, tiles)
	default:
		kernel6x16(kcb, &a[0], lda, &b[0], &c[0], ldc, acc, tiles)
	}
}

//go:noescape
func kernel6x16(kcb int, a *float32, lda int, b, c *float32, ldc int, acc bool, tiles int)

//go:noescape
func kernel8x32(kcb int, a *float32, lda int, b, c *float32, ldc int, acc bool, tiles int)

//go:noescape
func kernel8x16(kcb int, a *float32, lda int, b, c *float32, ldc int, acc bool, tiles int)

//go:noescape
func kernel12x32(kcb int, a *float32, lda int, b, c *float32, ldc int, acc bool, tiles int)

// packTrans fills one full panel of a transposed pack (see packTransGo)
// with gathers when the CPU has them.
func packTrans(panel, b []float32, ldb, kcb int) {
	if kern == kernGo || ldb >= 1<<27 { // gather indices are int32 element offsets
		packTransGo(panel, b, ldb, kcb, nr)
		return
	}
	// Bounds checks the assembly cannot make.
	_, _ = panel[kcb*nr-1], b[(nr-1)*ldb+kcb-1]
	var idx [nr]int32
	for jj := range idx {
		idx[jj] = int32(jj * ldb)
	}
	if kern == kernAVX512 {
		packTransAVX512(&panel[0], &b[0], &idx, kcb)
	} else {
		packTransAVX2(&panel[0], &b[0], &idx, kcb)
	}
}

//go:noescape
func packTransAVX512(dst, src *float32, idx *[nr]int32, kcb int)

//go:noescape
func packTransAVX2(dst, src *float32, idx *[nr]int32, kcb int)
