package safetensors

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestDTypeSize(t *testing.T) {
	tests := []struct {
		d     DType
		size  int
		float bool
	}{
		{F64, 8, true}, {F32, 4, true}, {F16, 2, true}, {BF16, 2, true},
		{I64, 8, false}, {I32, 4, false}, {I16, 2, false}, {I8, 1, false},
		{U64, 8, false}, {U32, 4, false}, {U16, 2, false}, {U8, 1, false},
		{BOOL, 1, false}, {"F8_E4M3", 0, false}, {"f32", 0, false}, {"", 0, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.d), func(t *testing.T) {
			if got := tc.d.Size(); got != tc.size {
				t.Errorf("Size() = %d, want %d", got, tc.size)
			}
			if got := tc.d.IsFloat(); got != tc.float {
				t.Errorf("IsFloat() = %v, want %v", got, tc.float)
			}
		})
	}
}

func TestHalfToFloat32(t *testing.T) {
	tests := []struct {
		name string
		h    uint16
		want float32
	}{
		{"one", 0x3C00, 1},
		{"minus two", 0xC000, -2},
		{"max", 0x7BFF, 65504},
		{"smallest subnormal", 0x0001, 5.960464477539063e-08},
		{"largest subnormal", 0x03FF, 6.097555160522461e-05},
		{"smallest normal", 0x0400, 6.103515625e-05},
		{"one third", 0x3555, 0.333251953125},
		{"zero", 0x0000, 0},
		{"inf", 0x7C00, float32(math.Inf(1))},
		{"minus inf", 0xFC00, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := halfToFloat32(tc.h); got != tc.want {
				t.Errorf("halfToFloat32(%#04x) = %g, want %g", tc.h, got, tc.want)
			}
		})
	}
	t.Run("minus zero", func(t *testing.T) {
		if got := math.Float32bits(halfToFloat32(0x8000)); got != 0x80000000 {
			t.Errorf("bits = %#08x, want 0x80000000", got)
		}
	})
	t.Run("NaN", func(t *testing.T) {
		for _, h := range []uint16{0x7E00, 0x7C01, 0xFE00, 0x7FFF} {
			if got := halfToFloat32(h); got == got {
				t.Errorf("halfToFloat32(%#04x) = %g, want NaN", h, got)
			}
		}
	})
}

// TestHalfRoundTripExhaustive checks all 65536 halves: decode then encode
// gives the same bits (NaNs come back quiet).
func TestHalfRoundTripExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		want := h
		if h&0x7C00 == 0x7C00 && h&0x3FF != 0 {
			want |= 0x200 // NaN, quieted
		}
		if got := float32ToHalf(halfToFloat32(h)); got != want {
			t.Fatalf("float32ToHalf(halfToFloat32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

func TestFloat32ToHalf(t *testing.T) {
	bits := math.Float32frombits
	tests := []struct {
		name string
		f    float32
		want uint16
	}{
		{"one", 1, 0x3C00},
		{"minus two", -2, 0xC000},
		{"max", 65504, 0x7BFF},
		{"below overflow midpoint", math.Nextafter32(65520, 0), 0x7BFF},
		{"overflow midpoint ties to inf", 65520, 0x7C00},
		{"huge", 1e10, 0x7C00},
		{"minus huge", -1e10, 0xFC00},
		{"inf", float32(math.Inf(1)), 0x7C00},
		{"tie 1+2^-11 to even", 1 + 0x1p-11, 0x3C00},
		{"tie 1+3*2^-11 to even", 1 + 3*0x1p-11, 0x3C02},
		{"above tie", bits(0x3F801001), 0x3C01},
		{"below tie", bits(0x3F800FFF), 0x3C00},
		{"smallest subnormal", 0x1p-24, 0x0001},
		{"half smallest subnormal ties to zero", 0x1p-25, 0x0000},
		{"above half smallest subnormal", bits(0x33000001), 0x0001},
		{"three halves subnormal ties to even", 3 * 0x1p-25, 0x0002},
		{"largest subnormal", 1023 * 0x1p-24, 0x03FF},
		{"rounds up to smallest normal", 0x1p-14 - 0x1p-25, 0x0400},
		{"float32 subnormal", bits(1), 0x0000},
		{"minus tiny", -1e-30, 0x8000},
		{"one third", 1.0 / 3, 0x3555},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := float32ToHalf(tc.f); got != tc.want {
				t.Errorf("float32ToHalf(%g) = %#04x, want %#04x", tc.f, got, tc.want)
			}
		})
	}
	t.Run("NaN", func(t *testing.T) {
		for _, b := range []uint32{0x7FC00000, 0x7F800001, 0xFFC00000, 0x7FBFFFFF} {
			got := float32ToHalf(math.Float32frombits(b))
			if got&0x7C00 != 0x7C00 || got&0x3FF == 0 {
				t.Errorf("float32ToHalf(NaN %#08x) = %#04x, want a NaN", b, got)
			}
			if got>>15 != uint16(b>>31) {
				t.Errorf("float32ToHalf(NaN %#08x) = %#04x lost the sign", b, got)
			}
		}
	})
}

// TestFloat32ToHalfNearest checks on random float32 bit patterns that the
// encoded half is the nearest one, ties to even, by exact comparison with
// its neighbours.
func TestFloat32ToHalfNearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Bias exponents toward the half range.
		b := rng.Uint32()
		if rng.IntN(2) == 0 {
			b = b&0x807FFFFF | uint32(100+rng.IntN(45))<<23
		}
		f := math.Float32frombits(b)
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		h := float32ToHalf(f)
		checkNearest(t, f, h)
	}
}

func checkNearest(t *testing.T, f float32, h uint16) {
	t.Helper()
	x := new(big.Float).SetFloat64(math.Abs(float64(f)))
	mag := h & 0x7FFF
	if h>>15 != uint16(math.Float32bits(f)>>31) {
		t.Fatalf("float32ToHalf(%g) = %#04x: wrong sign", f, h)
	}
	dist := func(m uint16) *big.Float {
		var v *big.Float
		if m == 0x7C00 { // infinity stands in for 2^16, the next power
			v = new(big.Float).SetFloat64(65536)
		} else {
			v = new(big.Float).SetFloat64(float64(halfToFloat32(m)))
		}
		return new(big.Float).Abs(new(big.Float).Sub(x, v))
	}
	d := dist(mag)
	for _, n := range []uint16{mag - 1, mag + 1} {
		if n > 0x7C00 || (mag == 0 && n == 0xFFFF) {
			continue
		}
		switch dist(n).Cmp(d) {
		case -1:
			t.Fatalf("float32ToHalf(%g) = %#04x, but %#04x is nearer", f, h, n)
		case 0:
			if mag&1 != 0 {
				t.Fatalf("float32ToHalf(%g) = %#04x, tie with %#04x not to even", f, h, n)
			}
		}
	}
}

func TestBF16(t *testing.T) {
	bits := math.Float32frombits
	t.Run("decode", func(t *testing.T) {
		for _, tc := range []struct {
			h    uint16
			want float32
		}{{0x3F80, 1}, {0xC000, -2}, {0x7F7F, 3.3895313892515355e38}, {0x0001, 9.183549615799121e-41}, {0x7F80, float32(math.Inf(1))}} {
			if got := bf16ToFloat32(tc.h); got != tc.want {
				t.Errorf("bf16ToFloat32(%#04x) = %g, want %g", tc.h, got, tc.want)
			}
		}
		if got := bf16ToFloat32(0x7FC0); got == got {
			t.Errorf("bf16ToFloat32(0x7FC0) = %g, want NaN", got)
		}
	})
	t.Run("round trip exhaustive", func(t *testing.T) {
		for i := range 1 << 16 {
			h := uint16(i)
			want := h
			if h&0x7F80 == 0x7F80 && h&0x7F != 0 {
				want |= 0x40
			}
			if got := float32ToBF16(bf16ToFloat32(h)); got != want {
				t.Fatalf("float32ToBF16(bf16ToFloat32(%#04x)) = %#04x, want %#04x", h, got, want)
			}
		}
	})
	tests := []struct {
		name string
		f    float32
		want uint16
	}{
		{"one", 1, 0x3F80},
		{"tie to even down", bits(0x3F808000), 0x3F80},
		{"tie to even up", bits(0x3F818000), 0x3F82},
		{"above tie", bits(0x3F808001), 0x3F81},
		{"below tie", bits(0x3F807FFF), 0x3F80},
		{"max float32 overflows", math.MaxFloat32, 0x7F80},
		{"minus max float32", -math.MaxFloat32, 0xFF80},
		{"NaN with low payload stays NaN", bits(0x7F800001), 0x7FC0},
		{"minus zero", float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := float32ToBF16(tc.f); got != tc.want {
				t.Errorf("float32ToBF16(%g) = %#04x, want %#04x", tc.f, got, tc.want)
			}
		})
	}
}
