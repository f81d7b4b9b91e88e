package onnx

import (
	"io"
	"math"

	"github.com/edgenas/edgenas/transformer"
)

// DomainMicrosoft is the operator domain of ONNX Runtime's contrib
// operators, which ExportORTDynamic's graph imports (version 1).
const DomainMicrosoft = "com.microsoft"

// ExportORTDynamic writes m to w as ONNX Runtime's dynamic int8
// quantization of m's float model: the graph Export writes for the float
// (dequantized) weights, passed through onnxruntime.quantization's
// quantize_dynamic with its defaults (weights QInt8, symmetric, one scale
// per tensor; only MatMuls whose second input is a constant, so attention's
// two products stay float) and then through ORT's own graph fusions, which
// turn DynamicQuantizeLinear + MatMulInteger + Cast + Mul + Add into one
// com.microsoft DynamicQuantizeMatMul. Every Linear's MatMul (both factors
// of a low-rank one; the pooler and classifier too) is therefore written as
// that node: A float, B the int8 weight [in, out], b_scale max|W|/127 (1
// for an all-zero weight), b_zero_point 0, and the Linear's bias as its
// fifth input on the last product. ONNX Runtime quantizes A per tensor to
// uint8 with a zero point at run time. Embedding tables stay float.
//
// It is the reference an int8 edgenas student is measured against (see
// scripts/bench.sh compress); the engine never runs this graph. Errors are
// those of Export.
func ExportORTDynamic(m *transformer.Model, w io.Writer) error {
	msg, err := encode(m, true)
	if err != nil {
		return err
	}
	return msg.writeTo(w)
}

// dynamicLinear is linear for ExportORTDynamic: each product a
// DynamicQuantizeMatMul, the bias fused into the last.
func (b *builder) dynamicLinear(scope, param string, l *transformer.Linear, x, out string) string {
	bias := b.weight(param+".bias", []int64{int64(l.Out)}, l.B, 0, 0)
	if l.Rank > 0 {
		u, v := l.Factors()
		y := b.dynamicMatMul(scope+"/weight_v", param+".weight_v", l.Rank, l.In, v, x, "", "")
		return b.dynamicMatMul(scope+"/weight_u", param+".weight_u", l.Out, l.Rank, u, y, bias, out)
	}
	return b.dynamicMatMul(scope, param+".weight", l.Out, l.In, l.Dense(), x, bias, out)
}

// dynamicMatMul adds DynamicQuantizeMatMul(x, Wᵀ quantized, scale, 0[,
// bias]) for the rows×cols weight w named param, whose quantized transpose
// is the initializer PARAM.T_quantized (reused when a shared layer added it
// already), with PARAM.T_scale and PARAM.T_zero_point.
func (b *builder) dynamicMatMul(scope, param string, rows, cols int, w []float32, x, bias, out string) string {
	name := param + TransposedSuffix
	q, s, zp := name+"_quantized", name+"_scale", name+"_zero_point"
	if !b.values[q] {
		var amax float32
		for _, v := range w {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		scale := amax / 127
		if amax == 0 {
			scale = 1
		}
		raw := make([]byte, rows*cols)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				v := math.RoundToEven(float64(w[i*cols+j] / scale))
				raw[j*rows+i] = byte(int8(max(-127, min(127, v))))
			}
		}
		b.init(q, typeInt8, []int64{int64(cols), int64(rows)}, raw)
		b.weight(s, nil, []float32{scale}, 0, 0)
		b.init(zp, typeInt8, nil, []byte{0})
	}
	in := []string{x, q, s, zp}
	if bias != "" {
		in = append(in, bias)
	}
	y := b.node("DynamicQuantizeMatMul", scope+"/DynamicQuantizeMatMul", in, out)
	b.nodes[len(b.nodes)-1].string(7, DomainMicrosoft)
	return y
}
