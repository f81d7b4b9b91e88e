package safetensors

import "math"

// DType is a safetensors element type, spelled as in the header ("F32").
type DType string

// The element types this package reads and writes. F64, F32, F16 and BF16
// convert to and from float32; the others are carried as raw bytes.
const (
	F64  DType = "F64"  // IEEE 754 binary64
	F32  DType = "F32"  // IEEE 754 binary32
	F16  DType = "F16"  // IEEE 754 binary16 (half)
	BF16 DType = "BF16" // bfloat16: the upper 16 bits of a binary32
	I64  DType = "I64"  // signed 64-bit integer
	I32  DType = "I32"  // signed 32-bit integer
	I16  DType = "I16"  // signed 16-bit integer
	I8   DType = "I8"   // signed 8-bit integer
	U64  DType = "U64"  // unsigned 64-bit integer
	U32  DType = "U32"  // unsigned 32-bit integer
	U16  DType = "U16"  // unsigned 16-bit integer
	U8   DType = "U8"   // unsigned 8-bit integer
	BOOL DType = "BOOL" // one byte per element, 0 or 1
)

// Size returns the bytes per element of d, or 0 if d is unknown.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, BOOL:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point type (F64, F32, F16, BF16),
// that is whether Tensor.Float32 can convert it.
func (d DType) IsFloat() bool {
	switch d {
	case F64, F32, F16, BF16:
		return true
	}
	return false
}

// halfToFloat32 converts IEEE binary16 bits to the float32 of the same value
// (exact: every half, subnormals included, is a float32). Infinities keep
// their sign and NaNs their sign and payload.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * 0x1p-24
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// float32ToHalf converts f to IEEE binary16 bits, rounding to nearest with
// ties to even. Values too large become infinities, too small signed zeros;
// NaNs stay NaNs (quiet, with the upper payload bits kept).
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7c00 | 0x200 | uint16(mant>>13)
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal: the result is full * 2^(exp-126) in units of
		// 2^-24, i.e. full >> (14-e). Below a shift of 24 even the
		// largest significand rounds to zero.
		shift := uint(14 - e)
		if shift > 24 {
			return sign
		}
		return sign | uint16(roundShift(mant|0x800000, shift))
	}
	// Normal. A carry out of the mantissa correctly bumps the exponent,
	// up to 0x7c00 (infinity).
	return sign | uint16(uint32(e)<<10+roundShift(mant, 13))
}

// roundShift returns x >> shift rounded to nearest, ties to even (shift >= 1).
func roundShift(x uint32, shift uint) uint32 {
	q := x >> shift
	rem := x & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// bf16ToFloat32 converts bfloat16 bits to float32 (exact).
func bf16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// float32ToBF16 converts f to bfloat16 bits, rounding to nearest with ties to
// even. NaNs stay NaNs (quiet).
func float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// RoundHalf returns f rounded to the nearest IEEE binary16 value (ties to
// even), as a float32: the value an F16 tensor stores for f. Values beyond
// the half range become infinities.
func RoundHalf(f float32) float32 { return halfToFloat32(float32ToHalf(f)) }
