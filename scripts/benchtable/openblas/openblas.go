//go:build openblas && cgo

package openblas

// #cgo LDFLAGS: -lopenblas
// #include <cblas.h>
import "C"

import "fmt"

// Sgemm computes C = A·op(B) in row-major order with cblas_sgemm (alpha 1,
// beta 0): A is m×k with row stride lda, C is m×n with row stride ldc, and B
// is k×n with row stride ldb, or, with transB, n×k (the PyTorch layout of a
// Linear weight, so that C = A·Bᵀ). It panics when a slice is too short.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		panic("openblas: empty product")
	}
	var tb C.enum_CBLAS_TRANSPOSE = C.CblasNoTrans
	bRows, bCols := k, n
	if transB {
		tb = C.CblasTrans
		bRows, bCols = n, k
	}
	if len(a) < (m-1)*lda+k || len(b) < (bRows-1)*ldb+bCols || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("openblas: slices too short for %d×%d×%d", m, k, n))
	}
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, tb,
		C.blasint(m), C.blasint(n), C.blasint(k), 1,
		(*C.float)(&a[0]), C.blasint(lda),
		(*C.float)(&b[0]), C.blasint(ldb), 0,
		(*C.float)(&c[0]), C.blasint(ldc))
}

// SetNumThreads sets the number of threads OpenBLAS uses.
func SetNumThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// NumThreads returns the number of threads OpenBLAS uses.
func NumThreads() int { return int(C.openblas_get_num_threads()) }

// CoreName returns the CPU core type OpenBLAS selected its kernels for (it
// follows OPENBLAS_CORETYPE when that is set).
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

// Config returns OpenBLAS's build configuration string.
func Config() string { return C.GoString(C.openblas_get_config()) }
