package qgemm

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Weights made at run time: the keys and values of one attention head,
// quantized like activations and packed for Mul in the memory of the
// previous head.

// SetRows makes w the int8 quantization of the out×in matrix x (row stride
// ldx) per row, by the rule Mul applies to activations: scale
// s[n] = max|x[n]|/127 and values roundToEven(x·(127/max|x[n]|)) (a row
// that counts as zero, max|x[n]| below 2⁻¹²¹, has scale 0). w's memory is reused when large enough, so a
// weight remade for every input allocates nothing in steady state. x
// should be finite: a row holding NaN or ±Inf gives unspecified values in
// its row. Bad shapes panic.
func (w *Int8) SetRows(out, in int, x []float32, ldx int) {
	p := &w.p
	p.reshape(out, in)
	_ = x[(out-1)*ldx+in-1]
	if quantRows(p, out, in, x, ldx) {
		return
	}
	w.tmp = grow(w.tmp, 4*p.k4)
	tmp := w.tmp
	for n := 0; n < out; n++ {
		quantizeU8(0, 1, 1, x[n*ldx:], ldx, in, tmp, len(tmp), p.scale[n:n+1])
		// Four values of the row per K step, 128 bytes apart.
		dst := p.data[n/nr*p.k4*chunk+4*(n%nr):]
		for s := 0; s < p.k4; s++ {
			binary.LittleEndian.PutUint32(dst[s*chunk:], binary.LittleEndian.Uint32(tmp[4*s:])^0x80808080)
		}
		p.corr[n] = -128 * (sumBytes(tmp) - 128*int32(len(tmp)))
	}
}

// SetCols is SetRows for the out×in matrix whose row n is column n of x:
// element (n, k) is x[k·ldx+n], x holding in rows of out values (one
// attention head's values, which multiply the probabilities in P·V).
// Scales are per column of x.
func (w *Int8) SetCols(out, in int, x []float32, ldx int) {
	p := &w.p
	p.reshape(out, in)
	_ = x[(in-1)*ldx+out-1]
	w.inv = grow(w.inv, out)
	w.sums = grow(w.sums, out)
	inv, sums := w.inv, w.sums
	colMaxAbs(out, in, x, ldx, inv)
	for n, m := range inv {
		p.scale[n], inv[n] = scales(m)
	}
	clear(sums)
	quantCols(p, out, in, x, ldx, inv, sums)
	for n, s := range sums {
		p.corr[n] = -128 * s
	}
}

// reshape sizes p for an out×in Int8 weight, reusing its memory, and
// zeroes it.
func (p *packing) reshape(out, in int) {
	if out <= 0 || in <= 0 || in > MaxIn {
		panic(fmt.Sprintf("qgemm: %d×%d weight (In at most %d)", out, in, MaxIn))
	}
	k4 := (in + 3) / 4
	panels := (out + nr - 1) / nr
	*p = packing{out: out, in: in, group: 4 * k4, groups: 1, k4: k4, panels: panels,
		data: grow(p.data, panels*k4*chunk), corr: grow(p.corr, panels*nr), scale: grow(p.scale, panels*nr)}
	clear(p.data)
	clear(p.corr)
	clear(p.scale)
}

// sumBytes returns the sum of b's bytes (unsigned), b at most 2²⁴ long.
func sumBytes(b []byte) int32 {
	const lanes = 0x00ff00ff00ff00ff
	var s uint64
	var total int32
	for len(b) >= 8 {
		n := min(len(b)/8, 128) // 16-bit lanes hold 128 words of 2·255
		s = 0
		for i := 0; i < n; i++ {
			v := binary.LittleEndian.Uint64(b[8*i:])
			s += v&lanes + v>>8&lanes
		}
		s = s&0x0000ffff0000ffff + s>>16&0x0000ffff0000ffff
		total += int32(s&0xffffffff + s>>32)
		b = b[8*n:]
	}
	for _, v := range b {
		total += int32(v)
	}
	return total
}

// colMaxAbsGo stores max over k of |x[k·ldx+n]| into m[n], n < out.
func colMaxAbsGo(out, in int, x []float32, ldx int, m []float32) {
	bits := m[:out]
	for n := range bits {
		bits[n] = 0
	}
	for k := 0; k < in; k++ {
		for n, v := range x[k*ldx : k*ldx+out] {
			a := math.Float32bits(v) & 0x7fffffff
			if a > math.Float32bits(bits[n]) {
				bits[n] = math.Float32frombits(a)
			}
		}
	}
}

// quantColsGo stores roundToEven(x[k·ldx+n]·inv[n]) as value (n, k) of p
// (zeroed) for columns [n0, n1) and rows [k0, k1), adding each column's
// values to sums[n].
func quantColsGo(p *packing, n0, n1, k0, k1 int, x []float32, ldx int, inv []float32, sums []int32) {
	for k := k0; k < k1; k++ {
		base := k/4*chunk + k%4
		for n := n0; n < n1; n++ {
			q := quantOne(x[k*ldx+n], inv[n])
			p.data[n/nr*p.k4*chunk+base+4*(n%nr)] = byte(q)
			sums[n] += q
		}
	}
}
