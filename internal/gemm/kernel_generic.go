//go:build !amd64

package gemm

// useAsm is false: off amd64 only the portable micro-kernel exists.
var useAsm = false

// kernel runs the portable micro-kernel.
func kernel(kcb int, a, b, c []float32, ldc int, acc bool) {
	kernelGo(kcb, a, b, c, ldc, acc)
}
