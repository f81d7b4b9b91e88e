package qgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

// The kernels this package has; kern holds the one in use.
const (
	kernGo       = iota // portable Go, 12×32
	kernAVX2            // AVX2 assembly, 6×8 (int16 VPMADDWD)
	kernVNNI            // AVX512-VNNI assembly, 12×32 (VPDPBUSD); Int4 panels unpacked per call
	kernVNNIGFNI        // kernVNNI, reading Int4 panels as stored (GF2P8AFFINEQB)
)

// kern selects the kernel: the fastest the CPU runs. Tests change it to run
// every kernel this machine supports.
var kern = bestKernel()

// bestKernel is the fastest kernel the CPU supports.
func bestKernel() int {
	vnni := cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
	switch {
	case vnni && cpu.X86.HasAVX512GFNI:
		return kernVNNIGFNI
	case vnni:
		return kernVNNI
	case cpu.X86.HasAVX2:
		return kernAVX2
	}
	return kernGo
}

// kernRows is the row tile of kernel k.
func kernRows(k int) int {
	if k == kernAVX2 {
		return 6
	}
	return 12
}

// tileRows is the row tile kernel k uses when left rows of the product
// remain: its kernRows, but VNNI takes its last 8 rows or fewer in tiles
// of 4 rows (a 1-row tile for a single one), which compute only those
// rows instead of 12.
func tileRows(k, left int) int {
	switch {
	case k < kernVNNI || left > 8:
		return kernRows(k)
	case left == 1:
		return 1
	}
	return 4
}

// direct4 reports whether kernel k reads Int4 panels as stored, without
// unpacking them to the int8 layout.
func direct4(k int) bool { return k == kernVNNIGFNI }

// callAsm runs the selected assembly kernel on one row tile from K step
// s0 (see job.call), reporting false when the Go kernel is selected.
func (j *job) callAsm(i0, rows, s0 int, b []byte, kg, ng int, corr []int32, sw, f []float32, flags int, sx, bias, c []float32, ldc int) bool {
	switch j.k {
	case kernVNNI, kernVNNIGFNI:
		a := j.ws.xu8[i0*j.lda+4*s0:]
		_ = a[(rows-1)*j.lda+4*kg*ng-1]
		switch d4 := j.p.int4 && direct4(j.k); {
		case d4 && rows == 12:
			kernelVNNI4(&a[0], j.lda, &b[0], kg, ng, &corr[0], &sw[0], &f[0], flags, &sx[0], &bias[0], &c[0], ldc)
		case d4 && rows == 4:
			kernelVNNI4R4(&a[0], j.lda, &b[0], kg, ng, &corr[0], &sw[0], &f[0], flags, &sx[0], &bias[0], &c[0], ldc)
		case d4:
			kernelVNNI4R1(&a[0], j.lda, &b[0], kg, ng, &corr[0], &sw[0], &f[0], flags, &sx[0], &bias[0], &c[0], ldc)
		case rows == 12:
			kernelVNNI(&a[0], j.lda, &b[0], kg, ng, &corr[0], &sw[0], &f[0], flags, &sx[0], &bias[0], &c[0], ldc)
		case rows == 4:
			kernelVNNIR4(&a[0], j.lda, &b[0], kg, ng, &corr[0], &sw[0], &f[0], flags, &sx[0], &bias[0], &c[0], ldc)
		default:
			kernelVNNIR1(&a[0], j.lda, &b[0], kg, ng, &corr[0], &sw[0], &f[0], flags, &sx[0], &bias[0], &c[0], ldc)
		}
	case kernAVX2:
		a := j.ws.xi16[i0*j.lda+4*s0:]
		_ = a[(rows-1)*j.lda+4*kg*ng-1]
		for q := 0; q < nr; q += 8 {
			kernelAVX2(&a[0], j.lda, &b[4*q], kg, ng, &sw[q], &f[q], flags, &sx[0], &bias[q], &c[q], ldc)
		}
	default:
		return false
	}
	return true
}

// maxAbs returns max|x|.
func maxAbs(x []float32) float32 {
	if kern >= kernVNNI && len(x) >= 16 {
		n := len(x) &^ 15
		return max(maxAbs512(&x[0], n), maxAbsGo(x[n:]))
	}
	return maxAbsGo(x)
}

// quantRowU8 stores roundToEven(x·inv)+128 into dst.
func quantRowU8(x []float32, inv float32, dst []byte) {
	if kern >= kernVNNI && len(x) >= 16 {
		n := len(x) &^ 15
		_ = dst[n-1]
		quantU8512(&x[0], n, inv, &dst[0])
		x, dst = x[n:], dst[n:]
	}
	quantRowU8Go(x, inv, dst)
}

// quantRowI16 stores roundToEven(x·inv) into dst.
func quantRowI16(x []float32, inv float32, dst []int16) {
	if kern == kernAVX2 && len(x) >= 8 {
		n := len(x) &^ 7
		_ = dst[n-1]
		quantI16AVX2(&x[0], n, inv, &dst[0])
		x, dst = x[n:], dst[n:]
	}
	quantRowI16Go(x, inv, dst)
}

// kernelVNNI is the AVX512-VNNI kernel: the contract of kernelGo on a
// 12×32 tile.
//
//go:noescape
func kernelVNNI(a *byte, lda int, b *byte, kg, ng int, corr *int32, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

// kernelVNNI4 is kernelVNNI on an Int4 panel as stored: 64 bytes per K
// step, byte b holding value b of the int8 layout in its low nibble and
// value b+64 in its high nibble.
//
//go:noescape
func kernelVNNI4(a *byte, lda int, b *byte, kg, ng int, corr *int32, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

// kernelVNNIR4 and kernelVNNIR1 are kernelVNNI on a tile of 4 and of 1
// row, and kernelVNNI4R4 and kernelVNNI4R1 the same for kernelVNNI4.
//
//go:noescape
func kernelVNNIR4(a *byte, lda int, b *byte, kg, ng int, corr *int32, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

//go:noescape
func kernelVNNIR1(a *byte, lda int, b *byte, kg, ng int, corr *int32, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

//go:noescape
func kernelVNNI4R4(a *byte, lda int, b *byte, kg, ng int, corr *int32, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

//go:noescape
func kernelVNNI4R1(a *byte, lda int, b *byte, kg, ng int, corr *int32, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

// kernelAVX2 is the AVX2 kernel: the contract of kernelGo on a 6×8 tile,
// with signed int16 activations (no correction) and b, sw, f, bias and c
// at the tile's first column.
//
//go:noescape
func kernelAVX2(a *int16, lda int, b *byte, kg, ng int, sw, f *float32, flags int, sx, bias, c *float32, ldc int)

// maxAbs512 returns max|x[0:n]|, n a positive multiple of 16.
//
//go:noescape
func maxAbs512(x *float32, n int) float32

// quantU8512 stores roundToEven(x·inv)+128 for x[0:n], n a positive
// multiple of 16.
//
//go:noescape
func quantU8512(x *float32, n int, inv float32, dst *byte)

// quantI16AVX2 stores roundToEven(x·inv) as int16 for x[0:n], n a positive
// multiple of 8.
//
//go:noescape
func quantI16AVX2(x *float32, n int, inv float32, dst *int16)
