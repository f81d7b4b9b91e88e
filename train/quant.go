package train

import (
	"fmt"
	"math"

	"github.com/edgenas/edgenas/transformer"
)

// SetFakeQuant turns on fake quantization of the encoder layers' weights:
// at every forward pass the six matrices of layer i (query, key, value,
// attention output, intermediate, output; both factors U and V of a
// low-rank one) are rounded to bitsPerLayer[i] bits, symmetric per row
// (output channel; U's rows and V's rows, as the engine's int8 factors):
// scale = max|w|/(2^(b-1)-1), w' = scale·clamp(round(w/scale)). The backward pass uses the rounded
// weights and hands their gradient to the real ones unchanged (the
// straight-through estimator), so a quantized student can be recovered by
// training or distillation.
//
// A width of 0 or 32 leaves a layer in float32; widths 2 to 16 quantize
// (16 means the int16 grid, which is as good as lossless here). Biases,
// LayerNorms, embeddings, pooler and classifier are never quantized.
// bitsPerLayer nil turns fake quantization off; otherwise it needs one
// entry per layer. A bad list returns an error wrapping ErrInput and leaves
// the setting unchanged.
func (n *Net) SetFakeQuant(bitsPerLayer []int) error {
	if bitsPerLayer == nil {
		n.quant = nil
		return nil
	}
	if len(bitsPerLayer) != len(n.m.Layers) {
		return fmt.Errorf("%w: fake quantization: %d bit widths for %d layers", ErrInput, len(bitsPerLayer), len(n.m.Layers))
	}
	q := make([]int, len(bitsPerLayer))
	for i, b := range bitsPerLayer {
		switch {
		case b == 0 || b == 32:
		case b >= 2 && b <= 16:
			q[i] = b
		default:
			return fmt.Errorf("%w: fake quantization: layer %d: %d bits (want 0 or 32 for float, or 2..16)", ErrInput, i, b)
		}
	}
	n.quant = q
	return nil
}

// FakeQuant returns the bit widths set by SetFakeQuant (0 = float), or nil
// when fake quantization is off.
func (n *Net) FakeQuant() []int {
	if n.quant == nil {
		return nil
	}
	return append([]int(nil), n.quant...)
}

// QuantizeWeights rounds the encoder weights of m (the factors of low-rank
// ones) in place exactly as a Net with SetFakeQuant(bitsPerLayer) does in
// its forward pass, so a student recovered under fake quantization can be
// exported with the weights it was trained with. A layer to be rounded
// whose weights are not float32 returns an error wrapping ErrInput, and m
// is left unchanged. Call m.Prepare afterwards.
func QuantizeWeights(m *transformer.Model, bitsPerLayer []int) error {
	if len(bitsPerLayer) != len(m.Layers) {
		return fmt.Errorf("%w: quantize: %d bit widths for %d layers", ErrInput, len(bitsPerLayer), len(m.Layers))
	}
	bits := make([]int, len(bitsPerLayer))
	for i, b := range bitsPerLayer {
		if b == 32 {
			b = 0
		}
		if b != 0 && (b < 2 || b > 16) {
			return fmt.Errorf("%w: quantize: layer %d: %d bits (want 0 or 32 for float, or 2..16)", ErrInput, i, b)
		}
		bits[i] = b
		if b == 0 {
			continue
		}
		l := &m.Layers[i]
		for _, lin := range []*transformer.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.Inter, &l.Out} {
			if lin.WeightBits() != 32 {
				return fmt.Errorf("%w: quantize: layer %d holds %d-bit weights, not float32", ErrInput, i, lin.WeightBits())
			}
		}
	}
	for i, b := range bits {
		if b == 0 || (i > 0 && m.Config.Layer(i).SharesPrevious && bits[i-1] == b) {
			continue // float, or the shared weights were rounded already
		}
		l := &m.Layers[i]
		for _, lin := range []*transformer.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.Inter, &l.Out} {
			if lin.Rank == 0 {
				quantizeInto(lin.W, lin.W, lin.In, b)
				continue
			}
			quantizeInto(lin.U, lin.U, lin.Rank, b)
			quantizeInto(lin.V, lin.V, lin.In, b)
		}
	}
	return nil
}

// quantizeInto writes w (rows of cols values) rounded to bits bits per row
// into dst (dst may be w); bits 0 copies.
func quantizeInto(dst, w []float32, cols, bits int) {
	if bits == 0 {
		copy(dst, w)
		return
	}
	qmax := float32(int(1)<<(bits-1) - 1)
	for r := 0; r+cols <= len(w); r += cols {
		row, out := w[r:r+cols], dst[r:r+cols]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		if m == 0 || math.IsInf(float64(m), 0) || m != m {
			copy(out, row)
			continue
		}
		scale := m / qmax
		inv := 1 / scale
		for j, v := range row {
			q := float32(math.RoundToEven(float64(v * inv)))
			q = min(max(q, -qmax), qmax)
			out[j] = q * scale
		}
	}
}
