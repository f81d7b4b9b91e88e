//go:build !amd64 && !arm64

package gemm

// kernGo is the only micro-kernel off amd64.
const kernGo = 0

// kern selects the micro-kernel; off amd64 only the portable one exists.
var kern = kernGo

// tile is the portable kernel's tile: 6 rows of C, one 16-column panel (no taller one).
func tile() (rows, panels, tall int) { return 6, 1, 6 }

// micro runs the portable micro-kernel on tiles full 6-row tiles.
func micro(_, panels, kcb int, a []float32, lda int, b, c []float32, ldc int, acc bool, tiles int) {
	kernelGoTiles(kcb, a, lda, b, c, ldc, acc, tiles)
}

// packTrans fills one full panel of a transposed pack.
func packTrans(panel, b []float32, ldb, kcb int) { packTransGo(panel, b, ldb, kcb, nr) }
