package onnx

import (
	"fmt"
	"math"
	"slices"
)

// This file is a small interpreter for the ONNX operators the exporter
// uses, written from the operator specifications (opset 17). Running a
// decoded graph with it checks the graph's semantics against the engine
// without ONNX Runtime. Each operator computes in float64; run rounds
// every FLOAT result to float32, as the tensor type requires (so that the
// graph's activation quantization sees float32 values, as the engine's
// and ONNX Runtime's do), and keeps DOUBLE results (from a Cast to DOUBLE,
// and what is computed from them) in float64.

// value is a tensor: float64 data, or int64 data when isInt (BOOL and the
// integer types are int). double marks float data of type DOUBLE, not
// rounded to float32 by run; elem is the ONNX type of integer data where
// an operator needs it (initializers, Constants, Cast and QuantizeLinear
// outputs), else 0.
type value struct {
	shape  []int
	f      []float64
	i      []int64
	isInt  bool
	double bool
	elem   int64
}

func (v *value) size() int {
	n := 1
	for _, d := range v.shape {
		n *= d
	}
	return n
}

func floatValue(shape []int, f []float64) *value { return &value{shape: shape, f: f} }
func intValue(shape []int, i []int64) *value     { return &value{shape: shape, i: i, isInt: true} }

func tensorValue(t *pTensor) (*value, error) {
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	switch t.Type {
	case typeFloat:
		f32 := t.floats()
		f := make([]float64, len(f32))
		for i, x := range f32 {
			f[i] = float64(x)
		}
		return floatValue(shape, f), nil
	case typeInt64:
		v := intValue(shape, t.int64s())
		v.elem = typeInt64
		return v, nil
	case typeInt8, typeUint8, typeInt32:
		v := intValue(shape, t.ints())
		v.elem = t.Type
		return v, nil
	}
	return nil, fmt.Errorf("tensor %q: data type %d", t.Name, t.Type)
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// broadcast returns the numpy broadcast shape of a and b and, for each,
// the strides into it per output axis (0 on broadcast axes).
func broadcast(a, b []int) (out, sa, sb []int, err error) {
	r := max(len(a), len(b))
	out = make([]int, r)
	sa, sb = make([]int, r), make([]int, r)
	stA, stB := strides(a), strides(b)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		ia, ib := i-(r-len(a)), i-(r-len(b))
		if ia >= 0 {
			da = a[ia]
		}
		if ib >= 0 {
			db = b[ib]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, nil, nil, fmt.Errorf("cannot broadcast %v and %v", a, b)
		}
		if ia >= 0 && da != 1 {
			sa[i] = stA[ia]
		}
		if ib >= 0 && db != 1 {
			sb[i] = stB[ib]
		}
	}
	return out, sa, sb, nil
}

// elementwise applies fn element-wise with broadcasting to two float tensors.
func elementwise(a, b *value, fn func(x, y float64) float64) (*value, error) {
	if a.isInt || b.isInt {
		return nil, fmt.Errorf("binary op on int tensors")
	}
	shape, sa, sb, err := broadcast(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	out := floatValue(shape, nil)
	n := out.size()
	out.f = make([]float64, n)
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		oa, ob := 0, 0
		for i, x := range idx {
			oa += x * sa[i]
			ob += x * sb[i]
		}
		out.f[k] = fn(a.f[oa], b.f[ob])
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}

func unary(a *value, fn func(float64) float64) (*value, error) {
	if a.isInt {
		return nil, fmt.Errorf("unary op on an int tensor")
	}
	out := floatValue(slices.Clone(a.shape), make([]float64, len(a.f)))
	for i, x := range a.f {
		out.f[i] = fn(x)
	}
	return out, nil
}

func axis(ax int64, rank int) (int, error) {
	a := int(ax)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", ax, rank)
	}
	return a, nil
}

func gather(data, idx *value, ax int64) (*value, error) {
	if !idx.isInt {
		return nil, fmt.Errorf("Gather: float indices")
	}
	a, err := axis(ax, len(data.shape))
	if err != nil {
		return nil, err
	}
	outer := 1
	for _, d := range data.shape[:a] {
		outer *= d
	}
	inner := 1
	for _, d := range data.shape[a+1:] {
		inner *= d
	}
	n := data.shape[a]
	shape := slices.Concat(data.shape[:a], idx.shape, data.shape[a+1:])
	out := &value{shape: shape, isInt: data.isInt}
	for o := 0; o < outer; o++ {
		for _, j := range idx.i {
			if j < 0 {
				j += int64(n)
			}
			if j < 0 || j >= int64(n) {
				return nil, fmt.Errorf("Gather: index %d out of range [0, %d)", j, n)
			}
			off := (o*n + int(j)) * inner
			if data.isInt {
				out.i = append(out.i, data.i[off:off+inner]...)
			} else {
				out.f = append(out.f, data.f[off:off+inner]...)
			}
		}
	}
	return out, nil
}

func transpose(x *value, perm []int64) (*value, error) {
	r := len(x.shape)
	if len(perm) != r {
		return nil, fmt.Errorf("Transpose: perm %v for rank %d", perm, r)
	}
	shape := make([]int, r)
	for i, p := range perm {
		shape[i] = x.shape[p]
	}
	in := strides(x.shape)
	return pick(x, shape, nil, func(idx []int) int {
		off := 0
		for i, p := range perm {
			off += idx[i] * in[p]
		}
		return off
	}), nil
}

// pick returns the value of the given shape whose element at each index
// idx (row-major order) is x's element at offset src(idx), or where src
// is negative fill's one element (0 when fill is nil).
func pick(x *value, shape []int, fill *value, src func(idx []int) int) *value {
	out := &value{shape: shape, isInt: x.isInt}
	n := out.size()
	if x.isInt {
		out.i = make([]int64, n)
	} else {
		out.f = make([]float64, n)
	}
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		switch off := src(idx); {
		case off >= 0 && x.isInt:
			out.i[k] = x.i[off]
		case off >= 0:
			out.f[k] = x.f[off]
		case fill != nil && x.isInt:
			out.i[k] = fill.i[0]
		case fill != nil:
			out.f[k] = fill.f[0]
		}
		for i := len(shape) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// matmul multiplies [..., m, k] by [..., k, n], broadcasting batch axes.
func matmul(a, b *value) (*value, error) {
	if a.isInt || b.isInt || len(a.shape) < 2 || len(b.shape) < 2 {
		return nil, fmt.Errorf("MatMul: shapes %v and %v", a.shape, b.shape)
	}
	ra, rb := len(a.shape), len(b.shape)
	m, k, k2, n := a.shape[ra-2], a.shape[ra-1], b.shape[rb-2], b.shape[rb-1]
	if k != k2 {
		return nil, fmt.Errorf("MatMul: shapes %v and %v", a.shape, b.shape)
	}
	batch, sa, sb, err := broadcast(a.shape[:ra-2], b.shape[:rb-2])
	if err != nil {
		return nil, err
	}
	// The batch strides above count matrices; scale them to elements.
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	out := floatValue(append(slices.Clone(batch), m, n), make([]float64, nb*m*n))
	idx := make([]int, len(batch))
	for bi := 0; bi < nb; bi++ {
		oa, ob := 0, 0
		for i, x := range idx {
			oa += x * sa[i]
			ob += x * sb[i]
		}
		A, B := a.f[oa*m*k:], b.f[ob*k*n:]
		C := out.f[bi*m*n:]
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += A[i*k+p] * B[p*n+j]
				}
				C[i*n+j] = s
			}
		}
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < batch[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}

// intType is the range and width of an integer type the interpreter casts
// to.
type intType struct {
	lo, hi int64
	bits   uint
}

// intTypes holds the integer types the interpreter casts to.
var intTypes = map[int64]intType{
	typeUint8: {0, math.MaxUint8, 8},
	typeInt8:  {math.MinInt8, math.MaxInt8, 8},
	typeInt32: {math.MinInt32, math.MaxInt32, 32},
	typeInt64: {math.MinInt64, math.MaxInt64, 64},
}

// cast is Cast(x, to=to). To BOOL: non-zero is 1. To FLOAT: rounded to
// float32 (to nearest even), kept as float64; to DOUBLE: unchanged. To an
// integer type: an integer keeps its low bits, two's complement (as C and
// numpy convert); a float is truncated toward zero, and one whose
// truncation is out of the type's range (undefined by the specification)
// or NaN is an error.
func cast(x *value, to int64) (*value, error) {
	switch to {
	case typeBool:
		out := intValue(slices.Clone(x.shape), make([]int64, x.size()))
		for i := range out.i {
			if x.isInt && x.i[i] != 0 || !x.isInt && x.f[i] != 0 {
				out.i[i] = 1
			}
		}
		return out, nil
	case typeFloat, typeDouble:
		out := floatValue(slices.Clone(x.shape), make([]float64, x.size()))
		for i := range out.f {
			v := 0.0
			if x.isInt {
				v = float64(x.i[i])
			} else {
				v = x.f[i]
			}
			if to == typeFloat {
				v = float64(float32(v))
			}
			out.f[i] = v
		}
		out.double = to == typeDouble
		return out, nil
	}
	r, ok := intTypes[to]
	if !ok {
		return nil, fmt.Errorf("Cast to %d", to)
	}
	out := intValue(slices.Clone(x.shape), make([]int64, x.size()))
	out.elem = to
	for i := range out.i {
		if !x.isInt {
			f := math.Trunc(x.f[i])
			if !(f >= float64(r.lo) && f <= float64(r.hi)) {
				return nil, fmt.Errorf("Cast to %d: %g out of range [%d, %d]", to, x.f[i], r.lo, r.hi)
			}
			out.i[i] = int64(f)
			continue
		}
		v := x.i[i]
		if r.bits < 64 {
			v &= 1<<r.bits - 1 // the low bits
			if r.lo < 0 && v > r.hi {
				v -= 1 << r.bits // negative in two's complement
			}
		}
		out.i[i] = v
	}
	return out, nil
}

// matMulInteger is MatMulInteger(A, B[, a_zero_point[, b_zero_point]]):
// (A − a_zero_point)·(B − b_zero_point) as MatMul broadcasts it, exactly,
// in int32. A and B hold 8-bit integers; a zero point is a scalar, or a
// 1-D tensor of one value per row of A (per column of B). Optional inputs
// are left out from the end only (run does not take empty input names).
func matMulInteger(in []*value) (*value, error) {
	if len(in) < 2 || len(in) > 4 {
		return nil, fmt.Errorf("%d inputs, want 2 to 4", len(in))
	}
	for i, v := range in {
		if !v.isInt {
			return nil, fmt.Errorf("input %d is float, want an 8-bit integer tensor", i)
		}
		for _, x := range v.i {
			if x < math.MinInt8 || x > math.MaxUint8 {
				return nil, fmt.Errorf("input %d holds %d, not an 8-bit integer", i, x)
			}
		}
	}
	// shifted returns x − zero as float64 (exact), the zero point
	// broadcast along axis (from the end) when it is 1-D.
	shifted := func(x, zero *value, axis int) (*value, error) {
		if len(x.shape) < 2 {
			return nil, fmt.Errorf("shape %v: want a matrix or a batch of them", x.shape)
		}
		n, step := x.shape[len(x.shape)-axis], strides(x.shape)[len(x.shape)-axis]
		if zero != nil && len(zero.shape) != 0 && (len(zero.shape) != 1 || zero.shape[0] != n) {
			return nil, fmt.Errorf("zero point of shape %v for %v: want a scalar or %d values", zero.shape, x.shape, n)
		}
		out := floatValue(x.shape, make([]float64, len(x.i)))
		for i, v := range x.i {
			z := int64(0)
			switch {
			case zero == nil:
			case len(zero.shape) == 0:
				z = zero.i[0]
			default:
				z = zero.i[i/step%n]
			}
			out.f[i] = float64(v - z)
		}
		return out, nil
	}
	var za, zb *value
	if len(in) > 2 {
		za = in[2]
	}
	if len(in) > 3 {
		zb = in[3]
	}
	a, err := shifted(in[0], za, 2)
	if err != nil {
		return nil, fmt.Errorf("A: %w", err)
	}
	b, err := shifted(in[1], zb, 1)
	if err != nil {
		return nil, fmt.Errorf("B: %w", err)
	}
	p, err := matmul(a, b) // exact: |terms| < 2¹⁶, far fewer than 2³⁷ of them
	if err != nil {
		return nil, err
	}
	out := intValue(p.shape, make([]int64, len(p.f)))
	for i, v := range p.f {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, fmt.Errorf("sum %g overflows int32", v)
		}
		out.i[i] = int64(v)
	}
	return out, nil
}

// quantizeLinear is QuantizeLinear(x, y_scale[, y_zero_point]) per
// tensor: saturate(RoundToEven(x / y_scale) + y_zero_point) in the type of
// the zero point, UINT8 or INT8 (UINT8 and 0 without it).
func quantizeLinear(in []*value) (*value, error) {
	if len(in) < 2 || len(in) > 3 {
		return nil, fmt.Errorf("%d inputs, want 2 or 3", len(in))
	}
	x, scale := in[0], in[1]
	if x.isInt || scale.isInt || scale.size() != 1 || len(scale.shape) > 1 {
		return nil, fmt.Errorf("want float x and a float scalar scale, got scale %v", scale.shape)
	}
	elem, zero := int64(typeUint8), int64(0)
	if len(in) == 3 {
		z := in[2]
		if !z.isInt || z.size() != 1 || len(z.shape) > 1 {
			return nil, fmt.Errorf("zero point of shape %v: want an integer scalar", z.shape)
		}
		elem, zero = z.elem, z.i[0]
	}
	if elem != typeUint8 && elem != typeInt8 {
		return nil, fmt.Errorf("zero point of type %d, want UINT8 or INT8", elem)
	}
	r := intTypes[elem]
	out := intValue(slices.Clone(x.shape), make([]int64, len(x.f)))
	out.elem = elem
	for i, v := range x.f {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("NaN")
		}
		q := math.RoundToEven(v/scale.f[0]) + float64(zero)
		out.i[i] = int64(max(float64(r.lo), min(float64(r.hi), q)))
	}
	return out, nil
}

// slice is Slice(data, starts, ends[, axes[, steps]]) with steps 1 (the
// only ones supported): along each axis, the elements [start, end), each
// negative index counting from the end and both clamped to the axis.
func slice(in []*value) (*value, error) {
	if len(in) < 3 || len(in) > 5 {
		return nil, fmt.Errorf("%d inputs, want 3 to 5", len(in))
	}
	for _, v := range in[1:] {
		if !v.isInt {
			return nil, fmt.Errorf("float starts, ends, axes or steps")
		}
	}
	x := in[0]
	r := len(x.shape)
	starts, ends := in[1].i, in[2].i
	axes := make([]int64, len(starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	if len(in) > 3 {
		axes = in[3].i
	}
	if len(ends) != len(starts) || len(axes) != len(starts) {
		return nil, fmt.Errorf("%d starts, %d ends, %d axes", len(starts), len(ends), len(axes))
	}
	if len(in) > 4 {
		for _, st := range in[4].i {
			if st != 1 {
				return nil, fmt.Errorf("steps %v: only 1 is supported", in[4].i)
			}
		}
	}
	lo, hi := make([]int, r), slices.Clone(x.shape)
	for i, ax := range axes {
		a, err := axis(ax, r)
		if err != nil {
			return nil, err
		}
		clamp := func(v int64) int {
			if v < 0 {
				v += int64(x.shape[a])
			}
			return int(max(0, min(v, int64(x.shape[a]))))
		}
		lo[a], hi[a] = clamp(starts[i]), max(clamp(starts[i]), clamp(ends[i]))
	}
	shape := make([]int, r)
	for i := range shape {
		shape[i] = hi[i] - lo[i]
	}
	return pick(x, shape, nil, func(idx []int) int {
		src := 0
		for i, v := range idx {
			src = src*x.shape[i] + lo[i] + v
		}
		return src
	}), nil
}

// pad is Pad(data, pads[, constant_value]) in constant mode: pads holds
// the values added before each axis, then after each, all non-negative
// here (negative ones crop, which the exporter never writes); the new
// values are constant_value, 0 without it.
func pad(in []*value) (*value, error) {
	if len(in) < 2 || len(in) > 3 || !in[1].isInt {
		return nil, fmt.Errorf("want data, int64 pads and an optional constant")
	}
	x, pads := in[0], in[1].i
	r := len(x.shape)
	if len(pads) != 2*r {
		return nil, fmt.Errorf("%d pads for rank %d", len(pads), r)
	}
	shape := make([]int, r)
	for i := range shape {
		if pads[i] < 0 || pads[r+i] < 0 {
			return nil, fmt.Errorf("negative pads %v", pads)
		}
		shape[i] = x.shape[i] + int(pads[i]+pads[r+i])
	}
	var c *value
	if len(in) == 3 {
		if c = in[2]; c.size() != 1 || c.isInt != x.isInt {
			return nil, fmt.Errorf("constant_value %v for data of integer type %v", c.shape, x.isInt)
		}
	}
	return pick(x, shape, c, func(idx []int) int {
		src := 0
		for i, v := range idx {
			j := v - int(pads[i])
			if j < 0 || j >= x.shape[i] {
				return -1 // padding
			}
			src = src*x.shape[i] + j
		}
		return src
	}), nil
}

// lastAxisRows calls fn on every row along the last axis of a copy of x.
func lastAxisRows(x *value, fn func(row []float64)) *value {
	out := floatValue(slices.Clone(x.shape), slices.Clone(x.f))
	w := x.shape[len(x.shape)-1]
	for r := 0; r+w <= len(out.f) && w > 0; r += w {
		fn(out.f[r : r+w])
	}
	return out
}

// reduce folds x along one axis with fn starting from init, keeping the
// axis as 1 (keepdims=1; ONNX's default, and what the exporter writes).
func reduce(x *value, ax int64, init float64, fn func(acc, v float64) float64) (*value, error) {
	if x.isInt {
		return nil, fmt.Errorf("reduction of an int tensor")
	}
	a, err := axis(ax, len(x.shape))
	if err != nil {
		return nil, err
	}
	outer, n, inner := 1, x.shape[a], 1
	for _, d := range x.shape[:a] {
		outer *= d
	}
	for _, d := range x.shape[a+1:] {
		inner *= d
	}
	shape := slices.Clone(x.shape)
	shape[a] = 1
	out := floatValue(shape, make([]float64, outer*inner))
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			acc := init
			for k := 0; k < n; k++ {
				acc = fn(acc, x.f[(o*n+k)*inner+j])
			}
			out.f[o*inner+j] = acc
		}
	}
	return out, nil
}

// reduceAxes checks a reduction's axes (one) and keepdims (present, 1:
// the exporter always writes it) and returns the axis.
func reduceAxes(axes []int64, keep pAttr, ok bool) (int64, error) {
	if len(axes) != 1 || !ok || keep.I != 1 {
		return 0, fmt.Errorf("only one axis with keepdims=1 is supported, got axes %v", axes)
	}
	return axes[0], nil
}

// where is Where(cond, x, y) with broadcasting, cond a BOOL (int) tensor:
// x where cond is true, else y.
func where(cond, x, y *value) (*value, error) {
	if !cond.isInt || x.isInt || y.isInt {
		return nil, fmt.Errorf("Where: want a BOOL condition and float values")
	}
	cx, _, _, err := broadcast(cond.shape, x.shape)
	if err != nil {
		return nil, err
	}
	shape, _, _, err := broadcast(cx, y.shape)
	if err != nil {
		return nil, err
	}
	// Strides of each input into the output shape (0 on broadcast axes).
	st := func(in []int) []int {
		_, s, _, _ := broadcast(in, shape)
		return s
	}
	sc, sx, sy := st(cond.shape), st(x.shape), st(y.shape)
	out := floatValue(shape, nil)
	out.f = make([]float64, out.size())
	idx := make([]int, len(shape))
	for k := range out.f {
		oc, ox, oy := 0, 0, 0
		for i, v := range idx {
			oc, ox, oy = oc+v*sc[i], ox+v*sx[i], oy+v*sy[i]
		}
		out.f[k] = y.f[oy]
		if cond.i[oc] != 0 {
			out.f[k] = x.f[ox]
		}
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}

// run evaluates g on the given inputs and returns every graph output.
func run(g *pGraph, inputs map[string]*value) (map[string]*value, error) {
	env := map[string]*value{}
	for k, v := range inputs {
		env[k] = v
	}
	for i := range g.Inits {
		v, err := tensorValue(&g.Inits[i])
		if err != nil {
			return nil, err
		}
		env[g.Inits[i].Name] = v
	}
	for _, n := range g.Nodes {
		in := make([]*value, len(n.In))
		for i, name := range n.In {
			if in[i] = env[name]; in[i] == nil {
				return nil, fmt.Errorf("node %s: input %q undefined", n.Name, name)
			}
		}
		out, err := eval(&n, in)
		if err != nil {
			return nil, fmt.Errorf("node %s (%s): %w", n.Name, n.Op, err)
		}
		if !out.isInt && n.Op != "Cast" { // Cast sets the type it casts to
			for _, v := range in {
				out.double = out.double || v.double && !v.isInt
			}
		}
		if !out.isInt && !out.double {
			for i, x := range out.f {
				out.f[i] = float64(float32(x))
			}
		}
		env[n.Out[0]] = out
	}
	res := map[string]*value{}
	for _, o := range g.Outputs {
		res[o.Name] = env[o.Name]
	}
	return res, nil
}

func eval(n *pNode, in []*value) (*value, error) {
	at := n.Attrs
	switch n.Op {
	case "Constant":
		return tensorValue(at["value"].T)
	case "Shape":
		s := make([]int64, len(in[0].shape))
		for i, d := range in[0].shape {
			s[i] = int64(d)
		}
		return intValue([]int{len(s)}, s), nil
	case "Gather":
		return gather(in[0], in[1], at["axis"].I)
	case "Range":
		start, limit, delta := in[0].i[0], in[1].i[0], in[2].i[0]
		var r []int64
		for v := start; v < limit; v += delta {
			r = append(r, v)
		}
		return intValue([]int{len(r)}, r), nil
	case "Add":
		return elementwise(in[0], in[1], func(x, y float64) float64 { return x + y })
	case "Sub":
		return elementwise(in[0], in[1], func(x, y float64) float64 { return x - y })
	case "Mul":
		return elementwise(in[0], in[1], func(x, y float64) float64 { return x * y })
	case "Div":
		return elementwise(in[0], in[1], func(x, y float64) float64 { return x / y })
	case "Erf":
		return unary(in[0], math.Erf)
	case "Abs":
		return unary(in[0], math.Abs)
	case "Exp":
		return unary(in[0], math.Exp)
	case "Reciprocal":
		return unary(in[0], func(x float64) float64 { return 1 / x })
	case "ReduceMax": // opset 13: axes is an attribute
		keep, ok := at["keepdims"]
		ax, err := reduceAxes(at["axes"].Ints, keep, ok)
		if err != nil {
			return nil, err
		}
		return reduce(in[0], ax, math.Inf(-1), math.Max)
	case "ReduceSum": // opset 13: axes is an input
		keep, ok := at["keepdims"]
		ax, err := reduceAxes(in[1].i, keep, ok)
		if err != nil {
			return nil, err
		}
		return reduce(in[0], ax, 0, func(acc, v float64) float64 { return acc + v })
	case "Less":
		lt, err := elementwise(in[0], in[1], func(x, y float64) float64 {
			if x < y {
				return 1
			}
			return 0
		})
		if err != nil {
			return nil, err
		}
		out := intValue(lt.shape, make([]int64, len(lt.f)))
		for i, v := range lt.f {
			out.i[i] = int64(v)
		}
		return out, nil
	case "Where":
		return where(in[0], in[1], in[2])
	case "Tanh":
		return unary(in[0], math.Tanh)
	case "Relu":
		return unary(in[0], func(x float64) float64 { return math.Max(0, x) })
	case "Cast":
		return cast(in[0], at["to"].I)
	case "MatMulInteger":
		return matMulInteger(in)
	case "Slice":
		return slice(in)
	case "QuantizeLinear":
		if _, ok := at["axis"]; ok {
			return nil, fmt.Errorf("per-axis quantization is not supported")
		}
		return quantizeLinear(in)
	case "Pad":
		if _, ok := at["mode"]; ok {
			return nil, fmt.Errorf("only the default mode, constant, is supported")
		}
		return pad(in)
	case "Unsqueeze":
		shape := slices.Clone(in[0].shape)
		axes := slices.Clone(in[1].i)
		slices.Sort(axes)
		for _, a := range axes {
			shape = slices.Insert(shape, int(a), 1)
		}
		return &value{shape: shape, f: in[0].f, i: in[0].i, isInt: in[0].isInt}, nil
	case "Reshape":
		x, spec := in[0], in[1].i
		shape := make([]int, len(spec))
		known, infer := 1, -1
		for i, d := range spec {
			switch {
			case d == 0:
				shape[i] = x.shape[i]
			case d == -1:
				infer = i
				continue
			default:
				shape[i] = int(d)
			}
			known *= shape[i]
		}
		if infer >= 0 {
			shape[infer] = x.size() / known
		}
		out := &value{shape: shape, f: x.f, i: x.i, isInt: x.isInt}
		if out.size() != x.size() {
			return nil, fmt.Errorf("Reshape %v to %v", x.shape, spec)
		}
		return out, nil
	case "Transpose":
		return transpose(in[0], at["perm"].Ints)
	case "MatMul":
		return matmul(in[0], in[1])
	case "Softmax":
		if a, err := axis(at["axis"].I, len(in[0].shape)); err != nil || a != len(in[0].shape)-1 {
			return nil, fmt.Errorf("Softmax: only the last axis is supported")
		}
		return lastAxisRows(in[0], func(row []float64) {
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			var s float64
			for i, v := range row {
				row[i] = math.Exp(v - mx)
				s += row[i]
			}
			for i := range row {
				row[i] /= s
			}
		}), nil
	case "LayerNormalization":
		if a, err := axis(at["axis"].I, len(in[0].shape)); err != nil || a != len(in[0].shape)-1 {
			return nil, fmt.Errorf("LayerNormalization: only the last axis is supported")
		}
		gamma, beta, eps := in[1].f, in[2].f, float64(at["epsilon"].F)
		return lastAxisRows(in[0], func(row []float64) {
			var mean, v float64
			for _, x := range row {
				mean += x
			}
			mean /= float64(len(row))
			for _, x := range row {
				v += (x - mean) * (x - mean)
			}
			v /= float64(len(row))
			for i, x := range row {
				row[i] = (x-mean)/math.Sqrt(v+eps)*gamma[i] + beta[i]
			}
		}), nil
	}
	return nil, fmt.Errorf("operator not supported by the test interpreter")
}
