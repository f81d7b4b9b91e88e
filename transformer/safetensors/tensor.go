package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Tensor is one named tensor: its element type, its shape (empty for a
// scalar) and its raw little-endian bytes, row-major.
type Tensor struct {
	Name  string // the header key, e.g. "bert.pooler.dense.weight"
	DType DType  // element type
	Shape []int  // dimensions, outermost first; empty for a scalar
	Data  []byte // NumElements()*DType.Size() bytes, little-endian
}

// NumElements returns the product of t.Shape (1 for a scalar), or -1 if a
// dimension is negative or the product overflows an int.
func (t Tensor) NumElements() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// numElements multiplies shape left to right, reporting false on a negative
// dimension or on overflow (as Hugging Face's checked fold does, a zero
// after an overflowing prefix does not rescue the shape).
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		var ok bool
		if n, ok = mulInt(n, d); !ok {
			return 0, false
		}
	}
	return n, true
}

// mulInt returns a*b for non-negative a and b, and false if it overflows.
func mulInt(a, b int) (int, bool) {
	if b != 0 && a > math.MaxInt/b {
		return 0, false
	}
	return a * b, true
}

// byteSize returns the number of bytes a tensor of dtype d and the given shape
// holds, with an error wrapping ErrUnknownDType or ErrShapeMismatch.
func byteSize(d DType, shape []int) (int, error) {
	size := d.Size()
	if size == 0 {
		return 0, fmt.Errorf("%w %q", ErrUnknownDType, string(d))
	}
	if slices.ContainsFunc(shape, func(dim int) bool { return dim < 0 }) {
		return 0, fmt.Errorf("%w: shape %v has a negative dimension", ErrShapeMismatch, shape)
	}
	n, ok := numElements(shape)
	if ok {
		n, ok = mulInt(n, size)
	}
	if !ok {
		return 0, fmt.Errorf("%w: shape %v of %s: byte size overflows", ErrShapeMismatch, shape, d)
	}
	return n, nil
}

// check verifies that t's dtype is known and that len(t.Data) matches its
// shape; it returns the number of elements.
func (t Tensor) check() (int, error) {
	nbytes, err := byteSize(t.DType, t.Shape)
	if err != nil {
		return 0, err
	}
	if len(t.Data) != nbytes {
		return 0, fmt.Errorf("%w: shape %v of %s needs %d bytes, data has %d", ErrShapeMismatch, t.Shape, t.DType, nbytes, len(t.Data))
	}
	return nbytes / t.DType.Size(), nil
}

// Float32 returns t's elements converted to float32: F32 as is, F16 and BF16
// exactly, F64 rounded to nearest. It fails with ErrNotFloat for integer and
// BOOL tensors, ErrUnknownDType for unknown ones and ErrShapeMismatch when
// len(t.Data) does not match t.Shape. The result never aliases t.Data.
func (t Tensor) Float32() ([]float32, error) {
	if t.DType.Size() != 0 && !t.DType.IsFloat() {
		return nil, fmt.Errorf("tensor %q: %w: %s", t.Name, ErrNotFloat, t.DType)
	}
	n, err := t.check()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	out := make([]float32, n)
	d := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = bf16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		}
	}
	return out, nil
}

// FromFloat32 returns an F32 tensor holding a copy of v with the given shape
// (copied too). It does not check len(v) against shape; Write and Float32
// report a mismatch, and FromFloat32As checks it.
func FromFloat32(name string, shape []int, v []float32) Tensor {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: data}
}

// FromFloat32As returns a tensor of dtype dt (F32, F16, BF16 or F64) holding
// v with the given shape (copied), rounding to nearest with ties to even for
// F16 and BF16. It fails with ErrShapeMismatch if len(v) is not the product
// of shape, ErrNotFloat for integer dtypes and ErrUnknownDType for unknown
// ones.
func FromFloat32As(name string, shape []int, v []float32, dt DType) (Tensor, error) {
	if dt.Size() == 0 {
		return Tensor{}, fmt.Errorf("tensor %q: %w %q", name, ErrUnknownDType, string(dt))
	}
	if !dt.IsFloat() {
		return Tensor{}, fmt.Errorf("tensor %q: %w: %s", name, ErrNotFloat, dt)
	}
	n, ok := numElements(shape)
	if !ok || n != len(v) {
		return Tensor{}, fmt.Errorf("tensor %q: %w: shape %v, %d values", name, ErrShapeMismatch, shape, len(v))
	}
	data := make([]byte, dt.Size()*len(v))
	switch dt {
	case F32:
		for i, x := range v {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
	case F16:
		for i, x := range v {
			binary.LittleEndian.PutUint16(data[2*i:], float32ToHalf(x))
		}
	case BF16:
		for i, x := range v {
			binary.LittleEndian.PutUint16(data[2*i:], float32ToBF16(x))
		}
	case F64:
		for i, x := range v {
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(float64(x)))
		}
	}
	return Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), Data: data}, nil
}
