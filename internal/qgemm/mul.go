package qgemm

import (
	"fmt"
	"math"

	"github.com/edgenas/edgenas/internal/par"
)

// mr is the row padding of the quantized activations: a multiple of every
// kernel's row tile (VNNI 12, AVX2 6, arm64 SDOT and ASIMD 4, Go 12).
const mr = 12

// maxRows is the largest row tile of any kernel but AMX's.
const maxRows = 12

// amxRows is the row block of the AMX kernel, which computes a panel's
// rows 32 at a time (the activations padded to whole blocks).
const amxRows = 32

// amx4Groups is the number of Int4 groups the AMX kernel sums on tiles
// before scaling them (amx_amd64.s): their int32 sums, 4 KB per group,
// and their unpacked weights stay in L1.
const amx4Groups = 4

// Workspace holds the scratch memory of quantized products: the quantized
// activations and their scales, the padded bias and, per thread, the
// int32 sums of the AMX kernel (and its float sums for Int4) and, for
// Int4 weights the kernel cannot read as stored, one unpacked panel (for
// AMX, up to amx4Groups groups of it). The zero value is ready to use; it
// grows to the largest shape seen and then allocates nothing, whatever
// Threads is (helper goroutines are started once and stop when the
// Workspace is garbage). A Workspace must not be copied after first use.
type Workspace struct {
	// Threads is the number of goroutines one product may use; 0 or 1 runs
	// on the calling goroutine only. Results do not depend on it.
	Threads int
	// Pool, when not nil, runs the products on its threads instead of
	// Threads, so that one caller's workspaces share helper goroutines.
	// It must not be running another step while Mul runs.
	Pool *par.Pool

	xu8   []byte      // activations + 128, rows padded to mr, row stride 4·k4
	xi16  []int16     // signed activations for the AVX2 kernel, same layout
	sx    []float32   // per-row activation scales, padded to mr rows
	bias  []float32   // the bias, zero-padded to whole panels
	panel [][]byte    // per-thread unpacked Int4 panel, or one run of its groups for AMX
	acc   [][]int32   // per-thread int32 sums of the AMX kernel
	f     [][]float32 // per-thread float sums of the AMX kernel's Int4 groups
	own   *par.Pool   // the Pool of Threads goroutines when Pool is nil
	j     job         // the current product
	q     quant       // the current activation quantization
}

// grow returns s with length n, reusing its memory when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// growEach returns s with at least threads entries, the first threads
// each grown to length n (grow): per-thread scratch.
func growEach[T any](s [][]T, threads, n int) [][]T {
	for len(s) < threads {
		s = append(s, nil)
	}
	for t := range threads {
		s[t] = grow(s[t], n)
	}
	return s
}

// Mul computes C = dequant(Xq·Wqᵀ) + bias for the m×In matrix x (row
// stride ldx) and the quantized weight w, overwriting the m×Out matrix C
// (row stride ldc); the exact operations are in the package comment. bias
// has Out values or is nil (zero). x should be finite: a row holding NaN or
// ±Inf gives unspecified values in its row of C. Mismatched lengths panic.
func (ws *Workspace) Mul(m int, x []float32, ldx int, w Weights, bias []float32, c []float32, ldc int) {
	p := w.pack()
	if m < 0 {
		panic(fmt.Sprintf("qgemm: negative row count %d", m))
	}
	if bias != nil && len(bias) != p.out {
		panic(fmt.Sprintf("qgemm: %d bias values for %d outputs", len(bias), p.out))
	}
	if m == 0 {
		return
	}
	_, _ = x[(m-1)*ldx+p.in-1], c[(m-1)*ldc+p.out-1]
	pool := ws.pool()
	k := kernelFor(p, m)
	mp := (m + mr - 1) / mr * mr
	if k == kernAMX {
		mp = (m + amxRows - 1) / amxRows * amxRows // whole tiles of rows
	}
	lda := 4 * p.k4
	ws.sx = grow(ws.sx, mp)
	if k == kernAVX2 {
		ws.xi16 = grow(ws.xi16, mp*lda)
	} else {
		ws.xu8 = grow(ws.xu8, mp*lda)
	}
	ws.q = quant{ws: ws, i16: k == kernAVX2, m: m, x: x, ldx: ldx, in: p.in, lda: lda}
	ws.bias = grow(ws.bias, p.panels*nr)
	clear(ws.bias[copy(ws.bias, bias):])
	parallel := m*p.in*p.out >= parallelMACs
	blocks := mp / amxRows
	byBlocks := k == kernAMX && parallel && splitRows(blocks, p.panels, pool.Threads())
	threads := min(pool.Threads(), p.panels)
	if byBlocks {
		threads = min(pool.Threads(), blocks)
	}
	switch {
	case k == kernAMX && p.int4: // one row block's sums of amx4Groups groups, and their float sums
		ws.acc = growEach(ws.acc, threads, min(p.groups, amx4Groups)*amxRows*nr)
		ws.f = growEach(ws.f, threads, mp*nr)
	case k == kernAMX:
		ws.acc = growEach(ws.acc, threads, mp*nr)
	}
	sb := chunk // bytes per K step of the panels the kernel reads
	if p.int4 && direct4(k) {
		sb = chunk / 2
	} else if p.int4 {
		steps := p.k4 // K steps unpacked at a time
		if k == kernAMX {
			steps = min(steps, amx4Groups*p.group/4)
		}
		ws.panel = growEach(ws.panel, threads, steps*chunk)
	}
	ws.j = job{ws: ws, p: p, k: k, sb: sb, m: m, lda: lda, c: c, ldc: ldc}
	switch {
	case byBlocks:
		pool.Run((*rowBlocks)(&ws.j), blocks)
	case parallel:
		ws.quantize(pool, m, p.in, mp)
		pool.Run(&ws.j, p.panels)
	default:
		ws.quantize(pool, m, p.in, mp)
		ws.j.Range(0, 0, p.panels)
	}
	ws.j, ws.q = job{}, quant{}
}

// quantize quantizes the activations of the current product (ws.q), m
// rows of in values padded to mp rows, split over pool's threads when
// they are many (parallelQuant).
func (ws *Workspace) quantize(pool *par.Pool, m, in, mp int) {
	if m*in >= parallelQuant {
		pool.Run(&ws.q, mp)
	} else {
		ws.q.Range(0, 0, mp)
	}
}

// splitRows reports whether an AMX product of blocks 32-row blocks and
// panels 32-column panels is better split over threads by row blocks than
// by panels: when that gives no thread more of the work. Split by row
// blocks, each thread quantizes its own rows and computes every panel of
// them, with no hand-off between quantization and product.
func splitRows(blocks, panels, threads int) bool {
	byRows := (blocks + threads - 1) / threads * panels
	byPanels := (panels + threads - 1) / threads * blocks
	return blocks >= threads && byRows <= byPanels
}

// rowBlocks is a product run by 32-row blocks of the AMX kernel: each
// range quantizes its rows and computes every panel of them.
type rowBlocks job

// Range quantizes the padded rows of blocks [lo, hi) and computes their
// rows of every panel, as range t (its AMX sums).
func (rb *rowBlocks) Range(t, lo, hi int) {
	j := (*job)(rb)
	j.ws.q.Range(0, lo*amxRows, hi*amxRows)
	j.runPanels(t, 0, j.p.panels, lo*amxRows, min(hi*amxRows, j.m))
}

// parallelQuant is the number of activations (rows × In) from which their
// quantization is split over threads, and parallelMACs the number of
// multiply-adds from which the product is: below, handing work to another
// thread costs more than it saves.
const (
	parallelQuant = 16 << 10
	parallelMACs  = 1 << 17
)

// pool is the Pool that runs products: Pool, or one of Threads goroutines
// made on first use (and again when Threads changes).
func (ws *Workspace) pool() *par.Pool {
	return par.Use(ws.Pool, &ws.own, ws.Threads)
}

// quant is the quantization of one product's activations, split by rows.
type quant struct {
	ws      *Workspace
	i16     bool // for the AVX2 kernel
	m       int
	x       []float32
	ldx, in int
	lda     int
}

// Range quantizes padded rows [lo, hi).
func (q *quant) Range(_, lo, hi int) {
	ws := q.ws
	if q.i16 {
		quantizeI16(lo, hi, q.m, q.x, q.ldx, q.in, ws.xi16, q.lda, ws.sx)
	} else {
		quantizeU8(lo, hi, q.m, q.x, q.ldx, q.in, ws.xu8, q.lda, ws.sx)
	}
}

// job is one product: what every panel of it needs.
type job struct {
	ws     *Workspace
	p      *packing
	k      int // kernel
	sb     int // bytes per K step of a panel as the kernel reads it
	m, lda int
	c      []float32
	ldc    int
}

// Range computes the output panels [lo, hi) as range t (its Int4 panel
// scratch, its AMX sums).
func (j *job) Range(t, lo, hi int) {
	if j.runPanels(t, lo, hi, 0, j.m) {
		return
	}
	p, ws := j.p, j.ws
	var f, tmp [maxRows * nr]float32
	for pn := lo; pn < hi; pn++ {
		var b []byte
		if p.int4 && j.sb == chunk {
			b = ws.panel[t]
			unpack4(b, p.data[pn*p.k4*chunk/2:(pn+1)*p.k4*chunk/2])
		} else {
			b = p.data[pn*p.k4*j.sb : (pn+1)*p.k4*j.sb]
		}
		meta := pn * p.groups * nr
		corr, sw := p.corr[meta:meta+p.groups*nr], p.scale[meta:meta+p.groups*nr]
		bias := ws.bias[pn*nr : (pn+1)*nr]
		cols := min(nr, p.out-pn*nr)
		for i0 := 0; i0 < j.m; {
			rows := tileRows(j.k, j.m-i0)
			c, ldc := j.c[i0*j.ldc+pn*nr:], j.ldc
			full := i0+rows <= j.m && cols == nr
			if !full {
				c, ldc = tmp[:], nr
			}
			j.tile(i0, rows, b, corr, sw, f[:], bias, c, ldc)
			if !full {
				for r := 0; r < min(rows, j.m-i0); r++ {
					copy(j.c[(i0+r)*j.ldc+pn*nr:][:cols], tmp[r*nr:])
				}
			}
			i0 += rows
		}
	}
}

// tile computes rows [i0, i0+rows) of one panel into c (row stride ldc,
// 32 columns), with the float accumulators of the groups in f.
func (j *job) tile(i0, rows int, b []byte, corr []int32, sw, f, bias, c []float32, ldc int) {
	p := j.p
	kg, ng := p.group/4, p.groups
	last := p.k4 - (ng-1)*kg // steps of the last group
	if last == kg {
		j.call(i0, rows, 0, b, kg, ng, corr, sw, f, flagFinal, bias, c, ldc)
		return
	}
	if ng > 1 {
		j.call(i0, rows, 0, b, kg, ng-1, corr, sw, f, 0, bias, c, ldc)
	}
	g := ng - 1
	j.call(i0, rows, g*kg, b[g*kg*j.sb:], last, 1, corr[g*nr:], sw[g*nr:], f, flagFinal|flagAcc*min(1, g), bias, c, ldc)
}

// Kernel flags.
const (
	flagAcc   = 1 // the first group adds to f instead of starting from 0
	flagFinal = 2 // after the last group, write C = f·sx + bias instead of f
)

// call runs the selected kernel on the row tile [i0, i0+rows) from K step
// s0.
func (j *job) call(i0, rows, s0 int, b []byte, kg, ng int, corr []int32, sw, f []float32, flags int, bias, c []float32, ldc int) {
	ws := j.ws
	sx := ws.sx[i0:]
	// Bounds the assembly cannot check.
	_, _, _ = b[kg*ng*j.sb-1], corr[ng*nr-1], sw[ng*nr-1]
	_, _ = sx[rows-1], c[(rows-1)*ldc+nr-1]
	if !j.callAsm(i0, rows, s0, b, kg, ng, corr, sw, f, flags, sx, bias, c, ldc) {
		kernelGo(ws.xu8[i0*j.lda+4*s0:], j.lda, b, kg, ng, corr, sw, f, flags, sx, bias, c, ldc)
	}
}

// kernelGo is the portable kernel and the contract of the others: for a
// tile of 12 rows (rows of a at stride lda, values +128) and one 32-column
// panel b, for each of ng groups of kg K steps: t = float32(corr + Σ a·b)·sw
// (corr = −128·Σ b, so the sum is Σ (a−128)·b), added to f unless this is the first group and flags lacks
// flagAcc; after the last group, with flagFinal, C = f·sx[row] + bias;
// otherwise f (row stride 32) keeps the sums. corr, sw advance 32 per group.
func kernelGo(a []byte, lda int, b []byte, kg, ng int, corr []int32, sw, f []float32, flags int, sx, bias, c []float32, ldc int) {
	for r := 0; r < mr; r++ {
		ar := a[r*lda:]
		bg := b
		for g := 0; g < ng; g++ {
			var acc [nr]int32
			copy(acc[:], corr[g*nr:])
			for s := 0; s < kg; s++ {
				x0, x1, x2, x3 := int32(ar[0]), int32(ar[1]), int32(ar[2]), int32(ar[3])
				ch := bg[:chunk:chunk]
				for q := range nr {
					acc[q] += x0*int32(int8(ch[4*q])) + x1*int32(int8(ch[4*q+1])) +
						x2*int32(int8(ch[4*q+2])) + x3*int32(int8(ch[4*q+3]))
				}
				ar, bg = ar[4:], bg[chunk:]
			}
			fr := f[r*nr : (r+1)*nr]
			for q := range nr {
				t := float32(float32(acc[q]) * sw[g*nr+q])
				if g > 0 || flags&flagAcc != 0 {
					t = fr[q] + t
				}
				if g == ng-1 && flags&flagFinal != 0 {
					c[r*ldc+q] = float32(t*sx[r]) + bias[q]
				} else {
					fr[q] = t
				}
			}
		}
	}
}

// quantizeU8 quantizes rows [lo, hi) of x (in values each, row stride
// ldx) per row into a (row stride lda, values xq+128) and their scales
// into sx; the padding (columns in..lda, rows from m) holds 128 (xq = 0),
// scale 0.
func quantizeU8(lo, hi, m int, x []float32, ldx, in int, a []byte, lda int, sx []float32) {
	rows := min(hi, m) - lo
	fused := rows > 0 && quantRowsU8(x[lo*ldx:], ldx, in, rows, a[lo*lda:], lda, sx[lo:lo+rows])
	for i := lo; i < hi; i++ {
		row := a[i*lda : (i+1)*lda]
		if i >= m {
			fill128(row)
			sx[i] = 0
			continue
		}
		if !fused {
			var inv float32
			sx[i], inv = rowScale(x[i*ldx : i*ldx+in])
			quantRowU8(x[i*ldx:i*ldx+in], inv, row[:in])
		}
		fill128(row[in:])
	}
}

// pad128 is a run of the byte a quantized 0 is stored as.
var pad128 = func() (p [256]byte) {
	for i := range p {
		p[i] = 128
	}
	return p
}()

// fill128 sets every byte of b to 128 (xq = 0) a run of pad128 at a time:
// padded rows of the AMX kernel (31 of 32 for one token) are most of what
// one-token products quantize.
func fill128(b []byte) {
	for len(b) > 0 {
		b = b[copy(b, pad128[:]):]
	}
}

// quantizeI16 is quantizeU8 for the AVX2 kernel: signed xq as int16,
// padding 0.
func quantizeI16(lo, hi, m int, x []float32, ldx, in int, a []int16, lda int, sx []float32) {
	for i := lo; i < hi; i++ {
		row := a[i*lda : (i+1)*lda]
		if i >= m {
			clear(row)
			sx[i] = 0
			continue
		}
		var inv float32
		sx[i], inv = rowScale(x[i*ldx : i*ldx+in])
		quantRowI16(x[i*ldx:i*ldx+in], inv, row[:in])
		clear(row[in:])
	}
}

// rowScale returns the scale max|x|/127 of a row and the factor
// 127/max|x| that quantizes it, both 0 for a row that counts as zero
// (max|x| < MinAmax).
func rowScale(x []float32) (scale, inv float32) {
	return scales(maxAbs(x))
}

// MinAmax is 2⁻¹²¹, the least max|x| of a row that quantizes: below it
// 127/max|x| could overflow float32, and the row counts as zero (every
// value below 4e-37 in magnitude). Exports that quantize as the engine
// does (the ONNX export) apply the same rule.
const MinAmax = 0x1p-121

// scales returns amax/127 and 127/amax, or 0 and 0 when amax < MinAmax.
func scales(amax float32) (scale, inv float32) {
	if amax < MinAmax {
		return 0, 0
	}
	return amax / 127, 127 / amax
}

// maxAbs returns max|x| (by bit pattern, which orders non-NaN values).
func maxAbs(x []float32) float32 {
	var m0, m1, m2, m3 uint32
	for len(x) >= 4 {
		m0 = max(m0, math.Float32bits(x[0])&0x7fffffff)
		m1 = max(m1, math.Float32bits(x[1])&0x7fffffff)
		m2 = max(m2, math.Float32bits(x[2])&0x7fffffff)
		m3 = max(m3, math.Float32bits(x[3])&0x7fffffff)
		x = x[4:]
	}
	for _, v := range x {
		m0 = max(m0, math.Float32bits(v)&0x7fffffff)
	}
	return math.Float32frombits(max(m0, m1, m2, m3))
}

// roundMagic is 1.5·2²³: adding it to a float32 of magnitude below 2²²
// rounds to an integer, to nearest even, in the low mantissa bits.
const roundMagic = 12582912

// quantOne is roundToEven(v·inv) as int32 (|v·inv| ≤ 127 + rounding).
func quantOne(v, inv float32) int32 {
	y := float32(v*inv) + roundMagic
	return int32(math.Float32bits(y)) - 0x4b400000
}

// quantRowU8 stores roundToEven(x·inv)+128.
func quantRowU8(x []float32, inv float32, dst []byte) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = byte(quantOne(v, inv) + 128)
	}
}

// quantRowI16Go stores roundToEven(x·inv).
func quantRowI16Go(x []float32, inv float32, dst []int16) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = int16(quantOne(v, inv))
	}
}

// unpack4Go expands an Int4 panel (64 bytes per K step) to the int8 layout
// (128 bytes per step): low nibbles to the first half, high to the second,
// sign-extended, eight bytes at a time.
func unpack4Go(dst, src []byte) {
	const lo4, bit3 = 0x0f0f0f0f0f0f0f0f, 0x0808080808080808
	for c := 0; c+chunk/2 <= len(src); c += chunk / 2 {
		s, d := src[c:c+chunk/2], dst[2*c:2*c+chunk]
		for i := 0; i < chunk/2; i += 8 {
			v := le64(s[i:])
			l, h := v&lo4, v>>4&lo4
			l |= (l & bit3) * 0x1e
			h |= (h & bit3) * 0x1e
			put64(d[i:], l)
			put64(d[chunk/2+i:], h)
		}
	}
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func put64(b []byte, v uint64) {
	_ = b[7]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	b[4], b[5], b[6], b[7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
}
