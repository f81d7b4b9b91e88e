package gemm

import "golang.org/x/sys/cpu"

// useAsm selects the AVX2/FMA assembly micro-kernel; tests clear it to run
// the portable one.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel runs the micro-kernel (see kernelGo for the contract): the
// assembly one when the CPU has AVX2 and FMA.
func kernel(kcb int, a, b, c []float32, ldc int, acc bool) {
	if !useAsm {
		kernelGo(kcb, a, b, c, ldc, acc)
		return
	}
	// Bounds checks the assembly cannot make.
	_, _, _ = a[kcb*mr-1], b[kcb*nr-1], c[(mr-1)*ldc+nr-1]
	kernel6x16(kcb, &a[0], &b[0], &c[0], ldc, acc)
}

//go:noescape
func kernel6x16(kcb int, a, b, c *float32, ldc int, acc bool)
