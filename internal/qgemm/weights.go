package qgemm

import (
	"errors"
	"fmt"
	"math"
)

// MaxIn is the largest In (the reduction length) a weight may have: with
// |xq| ≤ 127 (stored as x+128 ≤ 255 by the VNNI kernel) and |wq| ≤ 128 every
// int32 sum stays exact.
const MaxIn = 1 << 16

// Sentinel errors; the errors returned by this package wrap one of them.
var (
	// ErrShape reports dimensions or slice lengths that do not agree.
	ErrShape = errors.New("qgemm: bad shape")
	// ErrGroup reports an int4 group size other than 32, 64 or 128.
	ErrGroup = errors.New("qgemm: bad group size")
	// ErrValue reports a non-finite weight or a non-finite or negative scale.
	ErrValue = errors.New("qgemm: bad value")
)

// Packed layout, shared by every kernel: columns in panels of nr = 32
// output channels (the last zero-padded), K in steps of 4 (zero-padded);
// panel p, step s holds 128 bytes, column j's four values at 4j..4j+3.
// Per (panel, group): 32 int32 corrections (−128·Σ_{k∈g} wq[n,k], the
// starting value of the VNNI kernel's sums) and 32 float32 scales. Int4 stores each 128-byte chunk as 64
// bytes: byte b's low nibble is value b, its high nibble value b+64.
const (
	nr    = 32     // output channels per panel
	chunk = 4 * nr // bytes of one K step of an int8 panel
)

// packing is a quantized weight in the kernels' layout.
type packing struct {
	out, in int
	group   int // K values per scale group (a multiple of 4; In rounded up for Int8)
	groups  int // scale groups per row
	k4      int // K steps of 4
	panels  int
	int4    bool
	data    []byte    // panels·k4·128 bytes (Int8) or panels·k4·64 (Int4)
	corr    []int32   // (panel·groups + g)·32 + j
	scale   []float32 // same index
}

// Weights is a quantized Linear weight that Workspace.Mul can run: *Int8 or
// *Int4.
type Weights interface {
	// Out is the number of output channels (rows of W).
	Out() int
	// In is the number of input features (columns of W).
	In() int
	// Bytes is the exact storage size: quantized values plus scales, as
	// the raw tensors hold them.
	Bytes() int
	// Dequantize returns W as float32, Out×In row-major: q·scale.
	Dequantize() []float32
	pack() *packing
}

var (
	_ Weights = (*Int8)(nil)
	_ Weights = (*Int4)(nil)
)

// Int8 is a weight quantized per output channel to symmetric int8.
type Int8 struct {
	p packing
	// Scratch of SetRows and SetCols.
	tmp  []byte
	inv  []float32
	sums []int32
}

// Int4 is a weight quantized group-wise along In to symmetric int4.
type Int4 struct{ p packing }

// Out is the number of output channels.
func (w *Int8) Out() int { return w.p.out }

// In is the number of input features.
func (w *Int8) In() int { return w.p.in }

// Bytes is Out·In bytes of int8 values plus 4·Out bytes of scales.
func (w *Int8) Bytes() int { return w.p.out*w.p.in + 4*w.p.out }

func (w *Int8) pack() *packing { return &w.p }

// Out is the number of output channels.
func (w *Int4) Out() int { return w.p.out }

// In is the number of input features.
func (w *Int4) In() int { return w.p.in }

// Group is the number of input features that share a scale.
func (w *Int4) Group() int { return w.p.group }

// Bytes is Out·⌈In/2⌉ bytes of packed values plus 4·Out·⌈In/Group⌉ bytes
// of scales.
func (w *Int4) Bytes() int { return w.p.out*((w.p.in+1)/2) + 4*w.p.out*w.p.groups }

func (w *Int4) pack() *packing { return &w.p }

// checkDims validates a weight shape.
func checkDims(out, in, n int) error {
	if out <= 0 || in <= 0 {
		return fmt.Errorf("%w: %d×%d weight", ErrShape, out, in)
	}
	if in > MaxIn {
		return fmt.Errorf("%w: In %d exceeds MaxIn %d", ErrShape, in, MaxIn)
	}
	if out > math.MaxInt/in || n != out*in {
		return fmt.Errorf("%w: %d values for a %d×%d weight", ErrShape, n, out, in)
	}
	return nil
}

// checkGroup validates an int4 group size.
func checkGroup(group int) error {
	switch group {
	case 32, 64, 128:
		return nil
	}
	return fmt.Errorf("%w: %d (want 32, 64 or 128)", ErrGroup, group)
}

// newPacking allocates the packed form.
func newPacking(out, in, group int, int4 bool) packing {
	k4 := (in + 3) / 4
	if !int4 {
		group = 4 * k4
	}
	p := packing{out: out, in: in, group: group, groups: (in + group - 1) / group,
		k4: k4, panels: (out + nr - 1) / nr, int4: int4}
	size := p.panels * k4 * chunk
	if int4 {
		size /= 2
	}
	p.data = make([]byte, size)
	p.corr = make([]int32, p.panels*p.groups*nr)
	p.scale = make([]float32, p.panels*p.groups*nr)
	return p
}

// set stores value q of row n, column k; a zero-initialized packing is
// filled value by value.
func (p *packing) set(n, k int, q int8) {
	pn, j := n/nr, n%nr
	i := (pn*p.k4+k/4)*chunk + 4*j + k%4
	if !p.int4 {
		p.data[i] = byte(q)
	} else {
		c, b := i/chunk, i%chunk
		if b < chunk/2 {
			p.data[c*chunk/2+b] |= byte(q) & 0x0f
		} else {
			p.data[c*chunk/2+b-chunk/2] |= byte(q) << 4
		}
	}
	p.corr[(pn*p.groups+k/p.group)*nr+j] -= 128 * int32(q)
}

// get returns value q of row n, column k.
func (p *packing) get(n, k int) int8 {
	i := (n/nr*p.k4+k/4)*chunk + 4*(n%nr) + k%4
	if !p.int4 {
		return int8(p.data[i])
	}
	c, b := i/chunk, i%chunk
	if b < chunk/2 {
		return int8(p.data[c*chunk/2+b]<<4) >> 4
	}
	return int8(p.data[c*chunk/2+b-chunk/2]) >> 4
}

// scaleAt is a pointer to the scale of row n, group g.
func (p *packing) scaleAt(n, g int) *float32 {
	return &p.scale[(n/nr*p.groups+g)*nr+n%nr]
}

// dequantize returns q·scale, Out×In.
func (p *packing) dequantize() []float32 {
	w := make([]float32, p.out*p.in)
	for n := 0; n < p.out; n++ {
		for k := 0; k < p.in; k++ {
			w[n*p.in+k] = float32(p.get(n, k)) * *p.scaleAt(n, k/p.group)
		}
	}
	return w
}

// Dequantize returns W as float32 (Out×In): q·scale of its row.
func (w *Int8) Dequantize() []float32 { return w.p.dequantize() }

// Dequantize returns W as float32 (Out×In): q·scale of its row and group.
func (w *Int4) Dequantize() []float32 { return w.p.dequantize() }

// QuantizeInt8 quantizes w (out×in, row-major, PyTorch layout) per output
// channel: scale s = max|w[n]|/127 (float32), q = round(w/s) (half away
// from zero) clamped to [-127, 127]; an all-zero row has scale 0.
func QuantizeInt8(w []float32, out, in int) (*Int8, error) {
	if err := checkDims(out, in, len(w)); err != nil {
		return nil, err
	}
	q := &Int8{p: newPacking(out, in, 0, false)}
	for n := 0; n < out; n++ {
		if err := q.p.quantizeRow(w[n*in:(n+1)*in], n, 127); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// QuantizeInt4 quantizes w (out×in, row-major) in groups of group (32, 64
// or 128) consecutive values along In, the last group of a row holding
// what remains when group does not divide in: scale s = max|w|/7 per
// (row, group), q = round(w/s) clamped to [-7, 7].
func QuantizeInt4(w []float32, out, in, group int) (*Int4, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if err := checkDims(out, in, len(w)); err != nil {
		return nil, err
	}
	q := &Int4{p: newPacking(out, in, group, true)}
	for n := 0; n < out; n++ {
		if err := q.p.quantizeRow(w[n*in:(n+1)*in], n, 7); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// quantizeRow quantizes row n (in values) group by group.
func (p *packing) quantizeRow(row []float32, n int, lim float64) error {
	for g := 0; g < p.groups; g++ {
		lo, hi := g*p.group, min(p.in, (g+1)*p.group)
		var amax float64
		for k, v := range row[lo:hi] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: weight [%d][%d] is %v", ErrValue, n, lo+k, v)
			}
			amax = max(amax, math.Abs(float64(v)))
		}
		s := float32(amax / lim)
		*p.scaleAt(n, g) = s
		if s == 0 {
			continue
		}
		for k := lo; k < hi; k++ {
			q := math.Round(float64(row[k]) / float64(s))
			p.set(n, k, int8(min(lim, max(-lim, q))))
		}
	}
	return nil
}

// Raw returns the tensors a model file stores: q (int8, shape [Out, In],
// row-major) and scales (float32, shape [Out]). The slices are new.
func (w *Int8) Raw() (q []int8, qShape []int, scales []float32, scalesShape []int) {
	p := &w.p
	q = make([]int8, p.out*p.in)
	scales = make([]float32, p.out)
	for n := 0; n < p.out; n++ {
		for k := 0; k < p.in; k++ {
			q[n*p.in+k] = p.get(n, k)
		}
		scales[n] = *p.scaleAt(n, 0)
	}
	return q, []int{p.out, p.in}, scales, []int{p.out}
}

// Raw returns the tensors a model file stores: packed (uint8, shape
// [Out, ⌈In/2⌉]: value 2i of a row in the low nibble of byte i, value 2i+1
// in the high nibble, two's complement; an odd In leaves the last high
// nibble 0) and scales (float32, shape [Out, ⌈In/Group⌉]). The slices are
// new.
func (w *Int4) Raw() (packed []uint8, packedShape []int, scales []float32, scalesShape []int) {
	p := &w.p
	rb := (p.in + 1) / 2
	packed = make([]uint8, p.out*rb)
	scales = make([]float32, p.out*p.groups)
	for n := 0; n < p.out; n++ {
		for k := 0; k < p.in; k++ {
			v := byte(p.get(n, k)) & 0x0f
			packed[n*rb+k/2] |= v << (4 * (k % 2))
		}
		for g := 0; g < p.groups; g++ {
			scales[n*p.groups+g] = *p.scaleAt(n, g)
		}
	}
	return packed, []int{p.out, rb}, scales, []int{p.out, p.groups}
}

// checkScales validates scales against the wanted shape (rows, cols); a
// cols of 0 means a 1-D [rows] shape, also accepted as [rows, 1].
func checkScales(scales []float32, shape []int, rows, cols int) error {
	ok := false
	switch {
	case cols == 0:
		ok = len(shape) == 1 && shape[0] == rows || len(shape) == 2 && shape[0] == rows && shape[1] == 1
		cols = 1
	default:
		ok = len(shape) == 2 && shape[0] == rows && shape[1] == cols
	}
	if !ok {
		return fmt.Errorf("%w: scales shape %v, want [%d %d]", ErrShape, shape, rows, cols)
	}
	if len(scales) != rows*cols {
		return fmt.Errorf("%w: %d scales for shape %v", ErrShape, len(scales), shape)
	}
	for i, s := range scales {
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("%w: scale %d is %v", ErrValue, i, s)
		}
	}
	return nil
}

// Int8FromRaw builds an Int8 from the tensors Raw returns: q of shape
// [Out, In] and scales of shape [Out] (or [Out, 1]), finite and ≥ 0. Any
// int8 value is accepted, -128 included.
func Int8FromRaw(q []int8, qShape []int, scales []float32, scalesShape []int) (*Int8, error) {
	if len(qShape) != 2 {
		return nil, fmt.Errorf("%w: int8 weight shape %v, want 2 dimensions", ErrShape, qShape)
	}
	out, in := qShape[0], qShape[1]
	if err := checkDims(out, in, len(q)); err != nil {
		return nil, err
	}
	if err := checkScales(scales, scalesShape, out, 0); err != nil {
		return nil, err
	}
	w := &Int8{p: newPacking(out, in, 0, false)}
	for n := 0; n < out; n++ {
		for k := 0; k < in; k++ {
			w.p.set(n, k, q[n*in+k])
		}
		*w.p.scaleAt(n, 0) = scales[n]
	}
	return w, nil
}

// Int4FromRaw builds an Int4 of in input features and the given group size
// from the tensors Raw returns: packed of shape [Out, ⌈in/2⌉] and scales
// of shape [Out, ⌈in/group⌉], finite and ≥ 0. Every nibble is accepted,
// -8 included; the unused high nibble of an odd in is ignored.
func Int4FromRaw(in, group int, packed []uint8, packedShape []int, scales []float32, scalesShape []int) (*Int4, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if len(packedShape) != 2 {
		return nil, fmt.Errorf("%w: int4 weight shape %v, want 2 dimensions", ErrShape, packedShape)
	}
	out, rb := packedShape[0], packedShape[1]
	if in <= 0 || rb != (in+1)/2 {
		return nil, fmt.Errorf("%w: int4 weight shape %v for In %d, want [Out %d]", ErrShape, packedShape, in, (in+1)/2)
	}
	if err := checkDims(out, rb, len(packed)); err != nil {
		return nil, err
	}
	if err := checkDims(out, in, out*in); err != nil {
		return nil, err
	}
	groups := (in + group - 1) / group
	if err := checkScales(scales, scalesShape, out, groups); err != nil {
		return nil, err
	}
	w := &Int4{p: newPacking(out, in, group, true)}
	for n := 0; n < out; n++ {
		for k := 0; k < in; k++ {
			v := packed[n*rb+k/2] >> (4 * (k % 2)) << 4
			w.p.set(n, k, int8(v)>>4)
		}
		for g := 0; g < groups; g++ {
			*w.p.scaleAt(n, g) = scales[n*groups+g]
		}
	}
	return w, nil
}

// ConcatInt8 returns one Int8 holding the rows of ws in order (every
// weight with the same In): a Mul by it computes the products by each
// weight side by side, bit for bit as separate Muls over the same
// activations would, quantizing the activations once. ws are not changed.
func ConcatInt8(ws ...*Int8) (*Int8, error) {
	p, err := concat(packingsOf(ws))
	if err != nil {
		return nil, err
	}
	return &Int8{p: p}, nil
}

// ConcatInt4 is ConcatInt8 for Int4 weights, which must also share their
// group size.
func ConcatInt4(ws ...*Int4) (*Int4, error) {
	p, err := concat(packingsOf(ws))
	if err != nil {
		return nil, err
	}
	return &Int4{p: p}, nil
}

// packingsOf returns the packed forms of ws.
func packingsOf[W Weights](ws []W) []*packing {
	ps := make([]*packing, len(ws))
	for i, w := range ws {
		ps[i] = w.pack()
	}
	return ps
}

// concat returns a packing holding the rows of ps in order, all of one
// storage (the callers' types see to it), In and group size. A part that
// starts on a panel boundary is copied whole (its padding columns are
// zero, and a part after it that does not start on one is set value by
// value over them).
func concat(ps []*packing) (packing, error) {
	if len(ps) == 0 {
		return packing{}, fmt.Errorf("%w: no weights to concatenate", ErrShape)
	}
	p0 := ps[0]
	out := 0
	for i, p := range ps {
		if p.in != p0.in {
			return packing{}, fmt.Errorf("%w: weight %d has In %d, weight 0 has %d", ErrShape, i, p.in, p0.in)
		}
		if p.group != p0.group {
			return packing{}, fmt.Errorf("%w: weight %d has group %d, weight 0 has %d", ErrGroup, i, p.group, p0.group)
		}
		out += p.out
	}
	if err := checkDims(out, p0.in, out*p0.in); err != nil {
		return packing{}, err
	}
	c := newPacking(out, p0.in, p0.group, p0.int4)
	data := len(c.data) / c.panels // bytes of one panel
	n0 := 0
	for _, src := range ps {
		if n0%nr == 0 {
			pn := n0 / nr
			copy(c.data[pn*data:], src.data)
			copy(c.corr[pn*c.groups*nr:], src.corr)
			copy(c.scale[pn*c.groups*nr:], src.scale)
		} else {
			for n := 0; n < src.out; n++ {
				for k := 0; k < src.in; k++ {
					c.set(n0+n, k, src.get(n, k))
				}
				for g := 0; g < src.groups; g++ {
					*c.scaleAt(n0+n, g) = *src.scaleAt(n, g)
				}
			}
		}
		n0 += src.out
	}
	return c, nil
}
