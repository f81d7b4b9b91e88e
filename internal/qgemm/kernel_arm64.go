package qgemm

import "golang.org/x/sys/cpu"

// The kernels this package has on arm64; kern holds the one in use.
const (
	kernGo   = iota // portable Go, 12×32
	kernAVX2        // never selected on arm64
	kernNEON        // ASIMD assembly, 4×16 (SMULL, ADDP, SADALP)
	kernDot         // ASIMD dot-product assembly, 4×16 (SDOT)
	kernAMX         // never selected off amd64
)

// kern selects the kernel: the fastest the CPU runs. Tests change it to run
// every kernel this machine supports.
var kern = bestKernel()

// bestKernel is the fastest kernel the CPU supports: SDOT with the
// dot-product extension (ARMv8.2 and later, optional before 8.4), else
// plain ASIMD, which every arm64 CPU Go runs on has.
func bestKernel() int {
	switch {
	case cpu.ARM64.HasASIMD && cpu.ARM64.HasASIMDDP:
		return kernDot
	case cpu.ARM64.HasASIMD:
		return kernNEON
	}
	return kernGo
}

// tileRows is the row tile of kernel k whatever rows remain: kernRows.
func tileRows(k, _ int) int { return kernRows(k) }

// direct4 reports false: every kernel here reads Int4 panels unpacked to
// the int8 layout.
func direct4(int) bool { return false }

// kernRows is the row tile of kernel k.
func kernRows(k int) int {
	if k == kernNEON || k == kernDot {
		return 4
	}
	return 12
}

// callAsm runs the selected assembly kernel on one row tile from K step
// s0 (see job.call), reporting false when the Go kernel is selected.
func (j *job) callAsm(i0, rows, s0 int, b []byte, kg, ng int, corr []int32, sw, f []float32, flags int, sx, bias, c []float32, ldc int) bool {
	if j.k != kernNEON && j.k != kernDot {
		return false
	}
	a := j.ws.xu8[i0*j.lda+4*s0:]
	_ = a[(rows-1)*j.lda+4*kg*ng-1]
	for q := 0; q < nr; q += 16 {
		if j.k == kernDot {
			kernelDot(&a[0], j.lda, &b[4*q], kg, ng, &sw[q], &f[q], flags, &sx[0], &bias[q], &c[q], ldc)
		} else {
			kernelNEON(&a[0], j.lda, &b[4*q], kg, ng, &sw[q], &f[q], flags, &sx[0], &bias[q], &c[q], ldc)
		}
	}
	return true
}

// quantRowsU8 reports false: rows are quantized one at a time here.
func quantRowsU8([]float32, int, int, int, []byte, int, []float32) bool { return false }

// quantRowI16 stores roundToEven(x·inv) into dst.
func quantRowI16(x []float32, inv float32, dst []int16) { quantRowI16Go(x, inv, dst) }

// kernelDot is the SDOT kernel: the contract of kernelGo on a 4×16 tile
// whose b, sw, f, bias and c start at the tile's first column (corr is not
// needed: see kernel_arm64.s).
//
//go:noescape
func kernelDot(a *byte, lda int, b *byte, kg, ng int, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

// kernelNEON is kernelDot on plain ASIMD: each step's 4-byte products
// widened to int16 (SMULL), summed in pairs (ADDP, at most 2·127·128 in
// magnitude, so exact) and accumulated into int32 (SADALP).
//
//go:noescape
func kernelNEON(a *byte, lda int, b *byte, kg, ng int, sw, f *float32, flags int, sx, bias, c *float32, ldc int)
