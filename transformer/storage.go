package transformer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/edgenas/edgenas/internal/qgemm"
	"github.com/edgenas/edgenas/transformer/safetensors"
)

// ErrStorage is returned, wrapped with the problem, when a weight cannot be
// stored in the requested form (a bit width other than 32, 16, 8 or 4, a
// value half precision cannot hold, factors of the wrong size).
var ErrStorage = errors.New("unsupported weight storage")

// WeightBits returns the storage precision of l's weight: 32, 16, 8 or 4.
func (l *Linear) WeightBits() int { return bitsOrDefault(l.Bits) }

// Quantized reports whether l's weight is held as int8 or int4 (in QW, or QU
// and QV) rather than as float32 values.
func (l *Linear) Quantized() bool { b := l.WeightBits(); return b == 8 || b == 4 }

// NewLowRank returns the low-rank Linear y = (x·Vᵀ)·Uᵀ + b of u (out×rank)
// and v (rank×in), float32; the slices are used, not copied.
func NewLowRank(u, v, b []float32, out, rank, in int) (Linear, error) {
	if rank < 1 || out < 1 || in < 1 || len(u) != out*rank || len(v) != rank*in || len(b) != out {
		return Linear{}, fmt.Errorf("%w: low-rank factors of %d and %d values and %d biases for %d×%d at rank %d",
			ErrStorage, len(u), len(v), len(b), out, in, rank)
	}
	return Linear{In: in, Out: out, Rank: rank, U: u, V: v, B: b}, nil
}

// Dense returns l's weight as the float32 Out×In matrix it computes with:
// W itself for a dense float Linear (aliased), else a new slice holding U·V
// and/or the dequantized values.
func (l *Linear) Dense() []float32 {
	if l.Rank == 0 {
		if l.Quantized() {
			return l.QW.Dequantize()
		}
		return l.W
	}
	u, v := l.Factors()
	w := make([]float32, l.Out*l.In)
	for i := 0; i < l.Out; i++ {
		row := w[i*l.In : (i+1)*l.In]
		for k := 0; k < l.Rank; k++ {
			a := u[i*l.Rank+k]
			for j, x := range v[k*l.In : (k+1)*l.In] {
				row[j] += a * x
			}
		}
	}
	return w
}

// Factors returns the float32 factors of a low-rank Linear: U (Out×Rank)
// and V (Rank×In), aliased for float storage, dequantized copies for
// quantized storage. It returns nil for a full-rank Linear.
func (l *Linear) Factors() (u, v []float32) {
	if l.Rank == 0 {
		return nil, nil
	}
	if l.Quantized() {
		return l.QU.Dequantize(), l.QV.Dequantize()
	}
	return l.U, l.V
}

// Store returns a copy of l whose weight (or both factors) is held at bits:
// 32 keeps float32, 16 rounds every value to half precision, 8 quantizes
// per output channel to int8 and 4 group-wise to int4 (group 32, 64 or
// 128; see internal/qgemm). l must hold float32 weights (Bits 32 or 16).
// The bias is copied and stays float32.
func (l *Linear) Store(bits, group int) (Linear, error) {
	if l.Quantized() {
		return Linear{}, fmt.Errorf("%w: the weight is already %d-bit; store from float weights", ErrStorage, l.WeightBits())
	}
	out := Linear{In: l.In, Out: l.Out, Rank: l.Rank, Bits: bits, B: slices.Clone(l.B)}
	one := func(w []float32, rows, cols int, f *[]float32, q *qgemm.Weights) error {
		switch bits {
		case 32, 0:
			out.Bits = 0
			*f = slices.Clone(w)
		case 16:
			h, err := roundHalf(w)
			if err != nil {
				return err
			}
			*f = h
		case 8:
			w8, err := qgemm.QuantizeInt8(w, rows, cols)
			if err != nil {
				return err
			}
			*q = w8
		case 4:
			w4, err := qgemm.QuantizeInt4(w, rows, cols, group)
			if err != nil {
				return err
			}
			*q = w4
		default:
			return fmt.Errorf("%w: %d bits (want 32, 16, 8 or 4)", ErrStorage, bits)
		}
		return nil
	}
	var err error
	if l.Rank == 0 {
		err = one(l.W, l.Out, l.In, &out.W, &out.QW)
	} else if err = one(l.U, l.Out, l.Rank, &out.U, &out.QU); err == nil {
		err = one(l.V, l.Rank, l.In, &out.V, &out.QV)
	}
	if err != nil {
		return Linear{}, err
	}
	return out, nil
}

// roundHalf returns w rounded to half precision, failing on a value beyond
// its range.
func roundHalf(w []float32) ([]float32, error) {
	h := make([]float32, len(w))
	for i, v := range w {
		h[i] = safetensors.RoundHalf(v)
		if math.IsInf(float64(h[i]), 0) || math.IsNaN(float64(h[i])) {
			return nil, fmt.Errorf("%w: value %d (%v) is not a finite half-precision number", ErrStorage, i, v)
		}
	}
	return h, nil
}

// macs is the number of multiply-adds of l per input row.
func (l *Linear) macs() int64 {
	if l.Rank > 0 {
		return int64(l.Rank) * int64(l.In+l.Out)
	}
	return int64(l.In) * int64(l.Out)
}

// storageBytes is the memory l's weight and bias occupy: 4 bytes per float
// value (half-precision weights are held as float32 in memory), the exact
// quantized bytes otherwise.
func (l *Linear) storageBytes() int64 {
	n := 4 * int64(len(l.B)+len(l.W)+len(l.U)+len(l.V))
	for _, q := range []qgemm.Weights{l.QW, l.QU, l.QV} {
		if q != nil {
			n += int64(q.Bytes())
		}
	}
	return n
}

// QuantTable is an embedding table quantized row by row: int8 with one
// scale per row, or int4 with one scale per group of Group columns. Rows
// are dequantized when looked up.
type QuantTable struct {
	Rows, Cols int
	Bits       int // 8 or 4
	Group      int // columns per scale (Bits 4); Cols for Bits 8
	// Data holds the values: Rows×Cols int8 (two's complement bytes) for
	// Bits 8, or Rows×⌈Cols/2⌉ bytes for Bits 4, column 2i in the low
	// nibble of byte i and column 2i+1 in the high nibble.
	Data []byte
	// Scales has one float32 per row and group, Rows×⌈Cols/Group⌉.
	Scales []float32
}

// NewQuantTable quantizes the rows×cols float32 table w to bits 8 or 4
// (group 32, 64 or 128 for 4), with the rounding rules of internal/qgemm.
func NewQuantTable(w []float32, rows, cols, bits, group int) (*QuantTable, error) {
	t := &QuantTable{Rows: rows, Cols: cols, Bits: bits}
	switch bits {
	case 8:
		q, err := qgemm.QuantizeInt8(w, rows, cols)
		if err != nil {
			return nil, err
		}
		v, _, s, _ := q.Raw()
		t.Data, t.Scales, t.Group = make([]byte, len(v)), s, cols
		for i, x := range v {
			t.Data[i] = byte(x)
		}
	case 4:
		q, err := qgemm.QuantizeInt4(w, rows, cols, group)
		if err != nil {
			return nil, err
		}
		t.Data, _, t.Scales, _ = q.Raw()
		t.Group = group
	default:
		return nil, fmt.Errorf("%w: a quantized table has 8 or 4 bits, not %d", ErrStorage, bits)
	}
	return t, nil
}

// groups is the number of scales per row.
func (t *QuantTable) groups() int { return (t.Cols + t.Group - 1) / t.Group }

// rowBytes is the number of data bytes per row.
func (t *QuantTable) rowBytes() int {
	if t.Bits == 4 {
		return (t.Cols + 1) / 2
	}
	return t.Cols
}

// Validate checks t's sizes and that its scales are finite and ≥ 0.
func (t *QuantTable) Validate() error {
	if t.Rows < 1 || t.Cols < 1 || (t.Bits != 8 && t.Bits != 4) || t.Group < 1 {
		return fmt.Errorf("%w: %d×%d table of %d bits, group %d", ErrStorage, t.Rows, t.Cols, t.Bits, t.Group)
	}
	if len(t.Data) != t.Rows*t.rowBytes() || len(t.Scales) != t.Rows*t.groups() {
		return fmt.Errorf("%w: %d data bytes and %d scales for a %d×%d %d-bit table", ErrStorage, len(t.Data), len(t.Scales), t.Rows, t.Cols, t.Bits)
	}
	for i, s := range t.Scales {
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("%w: scale %d is %v", ErrStorage, i, s)
		}
	}
	return nil
}

// Row writes row r of the table, dequantized (q·scale), into dst (Cols
// values).
func (t *QuantTable) Row(r int, dst []float32) {
	dst = dst[:t.Cols]
	g := t.groups()
	sc := t.Scales[r*g : (r+1)*g]
	if t.Bits == 8 {
		row := t.Data[r*t.Cols : (r+1)*t.Cols]
		s := sc[0]
		for j, b := range row {
			dst[j] = float32(int8(b)) * s
		}
		return
	}
	row := t.Data[r*t.rowBytes() : (r+1)*t.rowBytes()]
	for j := range dst {
		v := row[j/2] >> (4 * (j % 2)) << 4
		dst[j] = float32(int8(v)>>4) * sc[j/t.Group]
	}
}

// Dequantize returns the whole table as float32, Rows×Cols.
func (t *QuantTable) Dequantize() []float32 {
	w := make([]float32, t.Rows*t.Cols)
	for r := 0; r < t.Rows; r++ {
		t.Row(r, w[r*t.Cols:])
	}
	return w
}

// Bytes is the exact storage size: data plus 4 bytes per scale.
func (t *QuantTable) Bytes() int { return len(t.Data) + 4*len(t.Scales) }

// WordTable returns the word embedding table as float32, vocab×E (E the
// embedding rank when factorized, else hidden): Word itself when it is held
// as floats, else a dequantized copy.
func (e *Embeddings) WordTable() []float32 {
	if e.WordQ != nil {
		return e.WordQ.Dequantize()
	}
	return e.Word
}

// Validate checks that l's storage agrees with its shape: In, Out ≥ 1, Out
// biases, a rank in [0, min(In, Out)], bits 32, 16, 8 or 4, and weight or
// factors of the right sizes in the form Bits names (float slices or qgemm
// weights of the right kind).
func (l *Linear) Validate() error {
	if l.In < 1 || l.Out < 1 || len(l.B) != l.Out {
		return fmt.Errorf("%w: %d→%d Linear with %d biases", ErrStorage, l.In, l.Out, len(l.B))
	}
	if l.Rank < 0 || l.Rank > min(l.In, l.Out) {
		return fmt.Errorf("%w: rank %d of a %d→%d Linear", ErrStorage, l.Rank, l.In, l.Out)
	}
	bits := l.WeightBits()
	one := func(what string, rows, cols int, f []float32, q qgemm.Weights) error {
		switch bits {
		case 32, 16:
			if len(f) != rows*cols || q != nil {
				return fmt.Errorf("%w: %s: %d float values for %d×%d", ErrStorage, what, len(f), rows, cols)
			}
		case 8, 4:
			_, i8 := q.(*qgemm.Int8)
			_, i4 := q.(*qgemm.Int4)
			if q == nil || f != nil || q.Out() != rows || q.In() != cols || (bits == 8) != i8 || (bits == 4) != i4 {
				return fmt.Errorf("%w: %s: want a %d×%d %d-bit weight", ErrStorage, what, rows, cols, bits)
			}
		default:
			return fmt.Errorf("%w: %d bits", ErrStorage, bits)
		}
		return nil
	}
	if l.Rank == 0 {
		if l.U != nil || l.V != nil || l.QU != nil || l.QV != nil {
			return fmt.Errorf("%w: a full-rank Linear holds factors", ErrStorage)
		}
		return one("weight", l.Out, l.In, l.W, l.QW)
	}
	if l.W != nil || l.QW != nil {
		return fmt.Errorf("%w: a low-rank Linear holds a full weight", ErrStorage)
	}
	if err := one("factor U", l.Out, l.Rank, l.U, l.QU); err != nil {
		return err
	}
	return one("factor V", l.Rank, l.In, l.V, l.QV)
}
