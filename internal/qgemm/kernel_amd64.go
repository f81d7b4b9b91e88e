package qgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

// The kernels this package has; kern holds the one in use.
const (
	kernGo       = iota // portable Go, 12×32
	kernAVX2            // AVX2 assembly, 6×8 (int16 VPMADDWD)
	kernVNNI            // AVX512-VNNI assembly, 12×32 (VPDPBUSD); Int4 panels unpacked per call
	kernVNNIGFNI        // kernVNNI, reading Int4 panels as stored (GF2P8AFFINEQB)
	kernAMX             // Intel AMX assembly, 32×32 blocks (TDPBUSD), In a multiple of 64 (Int4: groups of 64 or 128, amx4Rows rows or more); vnniKernel otherwise
)

// kern selects the kernel: the fastest the CPU runs. Tests change it to run
// every kernel this machine supports.
var kern = bestKernel()

// bestKernel is the fastest kernel the CPU supports.
func bestKernel() int {
	vnni := cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
	switch {
	case vnni && cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8 && amxPermitted():
		return kernAMX
	case vnni:
		return vnniKernel()
	case cpu.X86.HasAVX2:
		return kernAVX2
	}
	return kernGo
}

// vnniKernel is the VNNI kernel this CPU runs best: reading Int4 panels
// as stored where it has GFNI.
func vnniKernel() int {
	if cpu.X86.HasAVX512GFNI {
		return kernVNNIGFNI
	}
	return kernVNNI
}

// kernelFor is the kernel that runs a product of m rows by p: the selected
// one, but VNNI (vnniKernel) instead of AMX for In not a multiple of 64
// (one AMX tile row) and for Int4 weights in groups of 32 (half a tile
// row) or with fewer than amx4Rows rows. Both read the same activations.
func kernelFor(p *packing, m int) int {
	if kern == kernAMX && (p.in%64 != 0 || p.int4 && (p.group%64 != 0 || m < amx4Rows)) {
		return vnniKernel()
	}
	return kern
}

// amx4Rows is the fewest rows from which an Int4 product runs on AMX,
// unpacking each panel once for all its rows: with fewer, VNNI with GFNI,
// reading the nibbles in place, is faster (measured on Sapphire Rapids
// with BenchmarkInt4Rows).
const amx4Rows = 24

// amxConfig is the AMX tile configuration kernelAMX loads: palette 1,
// tiles 0–7 all 16 rows of 64 bytes.
var amxConfig = func() (c [64]byte) {
	c[0] = 1
	for t := range 8 {
		c[16+2*t] = 64
		c[48+t] = 16
	}
	return c
}()

// runPanels computes rows [r0, r1) of the output panels [lo, hi) on
// thread t with the AMX kernel (r0 a multiple of its 32-row block),
// reporting false (nothing done) for any other kernel. kernelAMX4
// unpacks Int4 panels, a run of groups at a time, into the thread's panel
// scratch.
func (j *job) runPanels(t, lo, hi, r0, r1 int) bool {
	if j.k != kernAMX {
		return false
	}
	p, ws := j.p, j.ws
	m := r1 - r0
	mp := (m + amxRows - 1) / amxRows * amxRows
	a, sx := ws.xu8[r0*j.lda:(r0+mp)*j.lda], ws.sx[r0:r1]
	c := j.c[r0*j.ldc:]
	for pn := lo; pn < hi; pn++ {
		cols := min(nr, p.out-pn*nr)
		mask := uint32(1)<<cols - 1
		_ = c[(m-1)*j.ldc+pn*nr+cols-1]
		if !p.int4 {
			acc := ws.acc[t][:mp*nr]
			b := p.data[pn*p.k4*chunk : (pn+1)*p.k4*chunk]
			kernelAMX(&a[0], j.lda, &b[0], p.k4/16, m, &p.corr[pn*nr], &p.scale[pn*nr], &sx[0],
				&ws.bias[pn*nr], &c[pn*nr], j.ldc, mask, &acc[0], &amxConfig[0])
			continue
		}
		b := p.data[pn*p.k4*chunk/2 : (pn+1)*p.k4*chunk/2]
		acc, f := ws.acc[t][:min(p.groups, amx4Groups)*amxRows*nr], ws.f[t][:mp*nr]
		w := ws.panel[t][:min(p.k4, amx4Groups*p.group/4)*chunk]
		meta := pn * p.groups * nr
		_, _ = p.corr[meta+p.groups*nr-1], p.scale[meta+p.groups*nr-1]
		kernelAMX4(&a[0], j.lda, &b[0], p.k4/16, p.group/64, m, &p.corr[meta], &p.scale[meta], &sx[0],
			&ws.bias[pn*nr], &c[pn*nr], j.ldc, mask, &acc[0], &f[0], &w[0], &amxConfig[0])
	}
	return true
}

// kernelAMX computes every row of one panel (m rows of activations at
// stride lda, padded to whole blocks of 32; k64 chunks of 64 K values):
// kernelGo's contract with one group and flagFinal, C written in the
// columns set in mask. acc holds the int32 sums, 32 per row, rows padded
// like the activations.
//
//go:noescape
func kernelAMX(a *byte, lda int, b *byte, k64, m int, corr *int32, sw, sx, bias, c *float32, ldc int, mask uint32, acc *int32, cfg *byte)

// kernelAMX4 is kernelAMX for an Int4 panel b as stored, in groups of
// kg64 chunks of 64 K values (the last group possibly shorter):
// kernelGo's contract with every group and flagFinal. It unpacks up to
// amx4Groups groups at a time to the int8 layout into w. corr and sw hold
// 32 values per group; acc holds one 32-row block's int32 sums of up to
// amx4Groups groups, 32×32 per group, and f the float sums of every row
// (32 per row, rows padded like the activations).
//
//go:noescape
func kernelAMX4(a *byte, lda int, b *byte, k64, kg64, m int, corr *int32, sw, sx, bias, c *float32, ldc int, mask uint32, acc *int32, f *float32, w *byte, cfg *byte)

// unpack4 expands an Int4 panel (64 bytes per K step) to the int8 layout
// (128 bytes per step), with AVX-512 where the selected kernel implies it.
func unpack4(dst, src []byte) {
	n := len(src) / (chunk / 2)
	if !avx512() || n == 0 {
		unpack4Go(dst, src)
		return
	}
	_ = dst[n*chunk-1]
	unpack4AVX512(&dst[0], &src[0], n)
}

// unpack4AVX512 is unpack4Go for n > 0 whole K steps.
//
//go:noescape
func unpack4AVX512(dst, src *byte, n int)

// avx512 reports whether the selected kernel implies AVX-512 (VNNI, with
// or without GFNI, or AMX, which runs on CPUs that have it), so the
// AVX-512 quantizers run.
func avx512() bool { return kern >= kernVNNI }

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

// quantRowsU8 quantizes rows rows of in values (row i at x[i·ldx:]) into
// dst (row i at dst[i·lda:]) and their scales into sx, as rowScale and
// quantRowU8 do row by row, in one AVX-512 call, reporting false (nothing
// done) without AVX-512.
func quantRowsU8(x []float32, ldx, in, rows int, dst []byte, lda int, sx []float32) bool {
	if !avx512() {
		return false
	}
	_, _, _ = x[(rows-1)*ldx+in-1], dst[(rows-1)*lda+in-1], sx[rows-1]
	quantRowsU8512(&x[0], ldx, in, rows, &dst[0], lda, &sx[0])
	return true
}

// quantRowsU8512 is quantRowsU8 on AVX-512 (rows ≥ 1, in ≥ 1).
//
//go:noescape
func quantRowsU8512(x *float32, ldx, in, rows int, dst *byte, lda int, sx *float32)

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

// colMaxAbs stores max over k of |x[k·ldx+n]| into m[n], n < out; x
// holds at least (in-1)·ldx+out values.
func colMaxAbs(out, in int, x []float32, ldx int, m []float32) {
	n16 := 0
	if avx512() {
		n16 = out &^ 15
		_ = m[out-1]
		for n := 0; n < n16; n += 16 {
			colMaxAbs512(&x[n], ldx, in, &m[n])
		}
	}
	if n16 < out {
		colMaxAbsGo(out-n16, in, x[n16:], ldx, m[n16:])
	}
}

// quantCols stores roundToEven(x[k·ldx+n]·inv[n]) as value (n, k) of p
// (zeroed, out×in), adding each column's values to sums[n]; x holds at
// least (in-1)·ldx+out values.
func quantCols(p *packing, out, in int, x []float32, ldx int, inv []float32, sums []int32) {
	n16, steps := 0, in/4
	if avx512() && steps > 0 {
		n16 = out &^ 15
		_, _ = inv[out-1], sums[out-1]
		for n := 0; n < n16; n += 16 {
			dst := p.data[n/nr*p.k4*chunk+4*(n%nr):]
			_ = dst[(steps-1)*chunk+63]
			quantCols512(&x[n], ldx, steps, &inv[n], &dst[0], &sums[n])
		}
		quantColsGo(p, 0, n16, 4*steps, in, x, ldx, inv, sums) // rows after the last whole step
	}
	quantColsGo(p, n16, out, 0, in, x, ldx, inv, sums)
}

// quantRows is SetRows's quantization of rows [0, out) of x into p
// (zeroed, out×in) with the AVX-512 helper, reporting false (nothing
// done) without AVX512-VNNI or when in is not a multiple of 16.
func quantRows(p *packing, out, in int, x []float32, ldx int) bool {
	if !avx512() || in%16 != 0 {
		return false
	}
	for n0 := 0; n0 < out; n0 += nr {
		rows := min(nr, out-n0)
		dst := p.data[n0/nr*p.k4*chunk:]
		_ = dst[(p.k4-1)*chunk+4*(rows-1)+3]
		_ = x[(n0+rows-1)*ldx+in-1]
		_, _ = p.scale[n0+rows-1], p.corr[n0+rows-1]
		quantRows512(&x[n0*ldx], ldx, rows, in, &dst[0], &p.scale[n0], &p.corr[n0])
	}
	return true
}

// quantRows512 is SetRows for rows rows of one panel, in a positive
// multiple of 16, dst at the first row's first K step.
//
//go:noescape
func quantRows512(x *float32, ldx, rows, in int, dst *byte, scale *float32, corr *int32)

// colMaxAbs512 stores max over k < in of |x[k·ldx+n]| into m[n], n < 16.
//
//go:noescape
func colMaxAbs512(x *float32, ldx, in int, m *float32)

// quantCols512 is quantColsGo for 16 columns and 4·steps rows, x, inv,
// sums and the packed bytes dst taken from the first column.
//
//go:noescape
func quantCols512(x *float32, ldx, steps int, inv *float32, dst *byte, sums *int32)

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

// quantI16AVX2 stores roundToEven(x·inv) as int16 for x[0:n], n a positive
// multiple of 8.
//
//go:noescape
func quantI16AVX2(x *float32, n int, inv float32, dst *int16)
