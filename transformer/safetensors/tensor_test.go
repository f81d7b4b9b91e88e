package safetensors

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// bigDim is a dimension whose square overflows an int: 2^40 on 64-bit.
const bigDim = 1 << (strconv.IntSize/2 + 8)

func TestNumElements(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		want  int
	}{
		{"scalar nil", nil, 1},
		{"scalar empty", []int{}, 1},
		{"vector", []int{7}, 7},
		{"matrix", []int{3, 4}, 12},
		{"zero sized", []int{3, 0, 5}, 0},
		{"negative", []int{3, -1}, -1},
		{"overflow", []int{bigDim, bigDim}, -1},
		{"overflow before zero", []int{bigDim, bigDim, 0}, -1},
		{"zero before huge", []int{0, bigDim, bigDim}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Tensor{Shape: tc.shape}).NumElements(); got != tc.want {
				t.Errorf("NumElements() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFloat32(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		want []float32
	}{
		{"F32", Tensor{DType: F32, Shape: []int{2}, Data: []byte{0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0}}, []float32{1, -2}},
		{"F16", Tensor{DType: F16, Shape: []int{2, 2}, Data: []byte{0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00}}, []float32{1, -2, 65504, 5.960464477539063e-08}},
		{"BF16", Tensor{DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3F, 0x00, 0xC0}}, []float32{1, -2}},
		{"F64", Tensor{DType: F64, Shape: []int{2}, Data: []byte{0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x9A, 0x99, 0x99, 0x99, 0x99, 0x99, 0xB9, 0x3F}}, []float32{1, 0.1}},
		{"scalar", Tensor{DType: F16, Shape: []int{}, Data: []byte{0x00, 0x3C}}, []float32{1}},
		{"zero sized", Tensor{DType: F32, Shape: []int{0, 4}, Data: []byte{}}, []float32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.t.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Float32() = %v, want %v", got, tc.want)
			}
		})
	}

	errTests := []struct {
		name string
		t    Tensor
		want error
	}{
		{"int8", Tensor{Name: "q", DType: I8, Shape: []int{1}, Data: []byte{1}}, ErrNotFloat},
		{"int64", Tensor{Name: "q", DType: I64, Shape: []int{1}, Data: make([]byte, 8)}, ErrNotFloat},
		{"unknown", Tensor{Name: "q", DType: "F8_E4M3", Shape: []int{1}, Data: []byte{1}}, ErrUnknownDType},
		{"short data", Tensor{Name: "q", DType: F32, Shape: []int{2}, Data: make([]byte, 7)}, ErrShapeMismatch},
		{"negative dim", Tensor{Name: "q", DType: F32, Shape: []int{-1}}, ErrShapeMismatch},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.t.Float32()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Float32() error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), `tensor "q"`) {
				t.Errorf("error %q does not name the tensor", err)
			}
		})
	}
}

func TestFromFloat32(t *testing.T) {
	v := []float32{1, -2, 0.5, 65504}
	shape := []int{2, 2}
	tt := FromFloat32("w", shape, v)
	shape[0] = 99
	v[0] = 42
	if tt.Name != "w" || tt.DType != F32 || !slices.Equal(tt.Shape, []int{2, 2}) {
		t.Fatalf("FromFloat32 = %+v", tt)
	}
	got, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2, 0.5, 65504}; !slices.Equal(got, want) {
		t.Errorf("Float32() = %v, want %v (input not copied?)", got, want)
	}
}

func TestFromFloat32As(t *testing.T) {
	v := []float32{1, -2, 65504, 0x1p-24, float32(math.Inf(1)), 1 + 0x1p-11, 1.0 / 3}
	tests := []struct {
		dt   DType
		data []byte
		back []float32
	}{
		{F16, []byte{0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x7C, 0x00, 0x3C, 0x55, 0x35},
			[]float32{1, -2, 65504, 0x1p-24, float32(math.Inf(1)), 1, 0.333251953125}},
		{BF16, []byte{0x80, 0x3F, 0x00, 0xC0, 0x80, 0x47, 0x80, 0x33, 0x80, 0x7F, 0x80, 0x3F, 0xAB, 0x3E},
			[]float32{1, -2, 65536, 0x1p-24, float32(math.Inf(1)), 1, 0.333984375}},
		{F32, nil, v},
		{F64, nil, v},
	}
	for _, tc := range tests {
		t.Run(string(tc.dt), func(t *testing.T) {
			tt, err := FromFloat32As("x", []int{len(v)}, v, tc.dt)
			if err != nil {
				t.Fatal(err)
			}
			if tt.DType != tc.dt || len(tt.Data) != len(v)*tc.dt.Size() {
				t.Fatalf("got dtype %s, %d bytes", tt.DType, len(tt.Data))
			}
			if tc.data != nil && !slices.Equal(tt.Data, tc.data) {
				t.Errorf("Data = % x, want % x", tt.Data, tc.data)
			}
			back, err := tt.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back, tc.back) {
				t.Errorf("Float32() = %v, want %v", back, tc.back)
			}
		})
	}
	errTests := []struct {
		name  string
		shape []int
		dt    DType
		want  error
	}{
		{"int dtype", []int{1}, I8, ErrNotFloat},
		{"unknown dtype", []int{1}, "Q4", ErrUnknownDType},
		{"shape mismatch", []int{2}, F16, ErrShapeMismatch},
		{"negative shape", []int{-1}, F16, ErrShapeMismatch},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromFloat32As("x", tc.shape, []float32{1}, tc.dt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), `tensor "x"`) {
				t.Errorf("error %q does not name the tensor", err)
			}
		})
	}
}
