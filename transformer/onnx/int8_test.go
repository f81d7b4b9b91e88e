package onnx

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/internal/qgemm"
	"github.com/edgenas/edgenas/internal/vec"
	"github.com/edgenas/edgenas/transformer"
)

// engineAttention is the context the engine computes for one int8 layer of
// heads heads of size hs from the rows of q, k and v ([batch·seq,
// heads·hs]) and the 0/1 mask [batch·seq], composed of the kernels its
// packHead and attendBlock call for an int8 layer: keys quantized per key
// (Int8.SetRows), values per feature (SetCols), the query and probability
// rows by Workspace.Mul, the unnormalized softmax of
// vec.SoftmaxMaskedNorm, and its norm applied to P·V.
func engineAttention(q, k, v []float32, mask []int32, batch, seq, heads, hs int) []float32 {
	inner := heads * hs
	ctx := make([]float32, batch*seq*inner)
	scale := float32(1 / math.Sqrt(float64(hs)))
	var keys, values qgemm.Int8
	var ws qgemm.Workspace
	scores := make([]float32, seq*seq)
	norms := make([]float32, seq)
	for bi := 0; bi < batch; bi++ {
		for h := 0; h < heads; h++ {
			at := bi*seq*inner + h*hs
			keys.SetRows(seq, hs, k[at:], inner)
			values.SetCols(hs, seq, v[at:], inner)
			ws.Mul(seq, q[at:], inner, &keys, nil, scores, seq)
			for i := 0; i < seq; i++ {
				norms[i] = vec.SoftmaxMaskedNorm(scores[i*seq:(i+1)*seq], mask[bi*seq:(bi+1)*seq], scale)
			}
			ws.Mul(seq, scores, seq, &values, nil, ctx[at:], inner)
			for i := 0; i < seq; i++ {
				vec.Scale(norms[i], ctx[at+i*inner:at+i*inner+hs])
			}
		}
	}
	return ctx
}

// attentionModel returns a model whose graph is builder.attention alone
// for layer l, with float inputs q, k and v [batch, seq, heads·hs] and the
// additive mask [batch, 1, 1, seq], and the name of its output, the
// context [batch, seq, heads·hs].
func attentionModel(t *testing.T, l *transformer.Layer) ([]byte, string) {
	t.Helper()
	b := newBuilder()
	batch, seq := dim{param: DimBatch}, dim{param: DimSequence}
	inner := dim{value: int64(l.Heads * l.HeadSize)}
	for _, in := range []string{"q", "k", "v", "mask"} {
		b.values[in] = true
	}
	g := &message{}
	out := b.attention("/attention", l, "q", "k", "v", "mask")
	for _, n := range b.nodes {
		g.embed(1, n)
	}
	g.string(2, "attention")
	for _, in := range []string{"q", "k", "v"} {
		g.embed(11, valueInfo(in, typeFloat, batch, seq, inner))
	}
	g.embed(11, valueInfo("mask", typeFloat, batch, dim{value: 1}, dim{value: 1}, seq))
	g.embed(12, valueInfo(out, typeFloat, batch, seq, inner))
	model := modelProto(g)
	var buf bytes.Buffer
	if err := model.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), out
}

// attentionCase is an input of the attention graph: random queries, keys
// and values of unit variance, with rows the engine gives scale 0.
type attentionCase struct {
	name    string
	lengths []int // real tokens per sequence, padded to the longest
}

// attentionCases are the inputs the int8 attention is checked on.
var attentionCases = []attentionCase{
	{"one sequence", []int{7}},
	{"padded batch", []int{17, 9, 1}},
	{"long", []int{64, 50}},
}

// attentionHeads and attentionHeadSize shape the layer of attentionCases.
const attentionHeads, attentionHeadSize = 3, 16

// inputs returns the case's batch and sequence length, q, k and v
// [batch·seq, heads·hs], the 0/1 mask and the graph's additive mask.
func (tc attentionCase) inputs() (batch, seq int, q, k, v []float32, mask []int32, additive []float32) {
	batch = len(tc.lengths)
	for _, n := range tc.lengths {
		seq = max(seq, n)
	}
	const inner, hs = attentionHeads * attentionHeadSize, attentionHeadSize
	rng := rand.New(rand.NewPCG(uint64(seq), 3))
	rows := batch * seq
	q, k, v = make([]float32, rows*inner), make([]float32, rows*inner), make([]float32, rows*inner)
	for _, x := range [][]float32{q, k, v} {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
	}
	// Rows the engine gives scale 0 must give 0, not NaN: an all-zero
	// value feature, query row (head 0 of row 0) and key row (head 1 of
	// the last row).
	for r := 0; r < rows; r++ {
		v[r*inner+5] = 0
	}
	clear(q[:hs])
	clear(k[(rows-1)*inner+hs : (rows-1)*inner+2*hs])
	mask = make([]int32, rows)
	additive = make([]float32, rows)
	for bi, n := range tc.lengths {
		for j := 0; j < seq; j++ {
			if j < n {
				mask[bi*seq+j] = 1
			} else {
				additive[bi*seq+j] = maskBias
			}
		}
	}
	return batch, seq, q, k, v, mask, additive
}

// int8AttentionTol bounds the difference between the exported int8
// attention, run by the float64 interpreter, and the engine's, on contexts
// of magnitude about 1: the graph quantizes exactly as the engine does
// (same scales, same integers, exact integer products), so what is left is
// float32 against float64 rounding of the scale products, the exponential
// and the norm, about 1e-7 relative. A single quantized value rounded the
// other way (an x·127/max|x| within a rounding error of a half) would move
// a context value by about 1e-3; the inputs are chosen so that none is.
const int8AttentionTol = 1e-5

// TestInt8AttentionMatchesEngine runs the attention the exporter writes for
// an int8 layer in the interpreter and compares its context with the
// engine's kernels (engineAttention), padded keys and all-zero rows
// included: they agree within int8AttentionTol, and the float
// attention the exporter writes for other layers (what it wrote for int8
// layers too before) does not, since the engine's int8 quantization of the
// queries, keys, values and probabilities moves the context by about 1e-2.
func TestInt8AttentionMatchesEngine(t *testing.T) {
	for _, tc := range attentionCases {
		t.Run(tc.name, func(t *testing.T) {
			batch, seq, q, k, v, mask, additive := tc.inputs()
			want := engineAttention(q, k, v, mask, batch, seq, attentionHeads, attentionHeadSize)
			shape := []int{batch, seq, attentionHeads * attentionHeadSize}
			f64 := func(shape []int, x []float32) *value {
				f := make([]float64, len(x))
				for i, v := range x {
					f[i] = float64(v)
				}
				return floatValue(shape, f)
			}
			inputs := map[string]*value{"q": f64(shape, q), "k": f64(shape, k), "v": f64(shape, v), "mask": f64([]int{batch, 1, 1, seq}, additive)}
			for _, bits := range []int{8, 4, 32} {
				l := &transformer.Layer{Heads: attentionHeads, HeadSize: attentionHeadSize, Query: transformer.Linear{Bits: bits}}
				data, out := attentionModel(t, l)
				pm, err := parseModel(data)
				if err != nil {
					t.Fatal(err)
				}
				for i := range pm.Graph.Nodes {
					n := &pm.Graph.Nodes[i]
					if !inOpset17(n.Op, len(n.In)) || n.Domain != "" {
						t.Errorf("node %s: operator %q in domain %q with %d inputs: not in opset17", n.Name, n.Op, n.Domain, len(n.In))
					}
					checkAttrs(t, nil, n) // no LayerNormalization, which reads the model
				}
				got, err := run(&pm.Graph, inputs)
				if err != nil {
					t.Fatal(err)
				}
				ctx := got[out]
				if ctx == nil || len(ctx.f) != len(want) {
					t.Fatalf("%d-bit layer: context %v, want %d values", bits, ctx, len(want))
				}
				checkAttention(t, l, maxDiff(want, ctx.f))
			}
		})
	}
}

// checkAttention checks the largest difference d between the attention
// exported for layer l and the engine's int8 attention: within
// int8AttentionTol for layers with int8 attention (int8 and int4 weights),
// and far outside it for float attention, so that the tolerance tells the
// two apart.
func checkAttention(t *testing.T, l *transformer.Layer, d float64) {
	t.Helper()
	t.Logf("%d-bit layer's attention: max abs diff to the engine's int8 attention %.3g", l.Query.WeightBits(), d)
	if l.Int8Attention() && d > int8AttentionTol {
		t.Errorf("int8 attention differs from the engine's by %.3g > %g", d, int8AttentionTol)
	}
	if !l.Int8Attention() && d <= 100*int8AttentionTol {
		t.Errorf("float attention within %.3g of the engine's int8 attention: the tolerance cannot tell them apart", d)
	}
}

// TestInterpreterQuantOps checks the interpreter's float operators that
// the activation quantization and the int8 attention use against values
// worked out from the ONNX specification: reductions over an inner axis
// keep it as 1, Where and Equal broadcast.
func TestInterpreterQuantOps(t *testing.T) {
	x := floatValue([]int{2, 3}, []float64{0.5, 1.5, -2.5, 2.5, -0.5, 3})
	for _, tc := range []struct {
		name  string
		node  pNode
		in    []*value
		shape []int
		want  []float64
	}{
		{"Abs", pNode{Op: "Abs"}, []*value{x}, []int{2, 3}, []float64{0.5, 1.5, 2.5, 2.5, 0.5, 3}},
		{"ReduceMax axis -2", pNode{Op: "ReduceMax", Attrs: map[string]pAttr{"axes": {Ints: []int64{-2}}, "keepdims": {I: 1}}},
			[]*value{x}, []int{1, 3}, []float64{2.5, 1.5, 3}},
		{"ReduceSum axis 1", pNode{Op: "ReduceSum", Attrs: map[string]pAttr{"keepdims": {I: 1}}},
			[]*value{x, intValue([]int{1}, []int64{1})}, []int{2, 1}, []float64{-0.5, 5}},
		{"Reciprocal", pNode{Op: "Reciprocal"}, []*value{floatValue([]int{2}, []float64{4, -0.5})}, []int{2}, []float64{0.25, -2}},
		{"Where broadcast", pNode{Op: "Where"},
			[]*value{intValue([]int{2, 1}, []int64{1, 0}), floatValue(nil, []float64{7}), x}, []int{2, 3}, []float64{7, 7, 7, 2.5, -0.5, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eval(&tc.node, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.shape) != fmt.Sprint(tc.shape) || fmt.Sprint(got.f) != fmt.Sprint(tc.want) {
				t.Errorf("got %v %v, want %v %v", got.shape, got.f, tc.shape, tc.want)
			}
		})
	}
	less, err := eval(&pNode{Op: "Less"}, []*value{x, floatValue(nil, []float64{1.5})})
	if err != nil || !less.isInt || fmt.Sprint(less.i) != "[1 0 1 0 1 0]" {
		t.Errorf("Less: %v, %v; want BOOL [1 0 1 0 1 0]", less, err)
	}
}

// TestInterpreterIntegerOps checks the interpreter's MatMulInteger,
// QuantizeLinear, Pad, Slice and its Casts to and from the 8- and 32-bit integer types against values worked
// out from the ONNX specification: zero points subtracted per tensor, per
// row of A and per column of B, batches broadcast; float to integer
// truncates toward zero and is an error out of the type's range (undefined
// by the specification), integer to integer keeps the low bits, integer to
// FLOAT rounds to float32; Pad adds its constant (0 by default) before and
// after each axis; Slice counts negative indices from the end and clamps;
// QuantizeLinear rounds half to even, adds the zero point and saturates to
// its type.
func TestInterpreterIntegerOps(t *testing.T) {
	a := intValue([]int{2, 3}, []int64{1, 2, 3, 4, 5, 6})             // 2×3
	b := intValue([]int{3, 2}, []int64{1, -1, 0, 2, -3, 127})         // 3×2
	u := intValue([]int{2, 3}, []int64{129, 130, 131, 132, 133, 134}) // a + 128
	for _, tc := range []struct {
		name  string
		op    string
		to    int64
		in    []*value
		shape []int
		want  string // the values, fmt.Sprint
	}{
		{"MatMulInteger", "MatMulInteger", 0, []*value{a, b}, []int{2, 2}, "[-8 384 -14 768]"},
		{"MatMulInteger zero point 128", "MatMulInteger", 0, []*value{u, b, intValue(nil, []int64{128})}, []int{2, 2}, "[-8 384 -14 768]"},
		{"MatMulInteger zero point per row", "MatMulInteger", 0, []*value{a, b, intValue([]int{2}, []int64{0, 3})}, []int{2, 2}, "[-8 384 -8 384]"},
		{"MatMulInteger zero point of B per column", "MatMulInteger", 0,
			[]*value{a, b, intValue(nil, []int64{0}), intValue([]int{2}, []int64{1, 0})}, []int{2, 2}, "[-14 384 -29 768]"},
		{"MatMulInteger batched", "MatMulInteger", 0,
			[]*value{intValue([]int{2, 1, 3}, []int64{1, 2, 3, -1, -2, -3}), b}, []int{2, 1, 2}, "[-8 384 8 -384]"},
		{"Pad with a constant", "Pad", 0, []*value{intValue([]int{1, 2}, []int64{1, 2}), intValue([]int{4}, []int64{0, 1, 0, 2}), intValue(nil, []int64{128})},
			[]int{1, 5}, "[128 1 2 128 128]"},
		{"Pad with zeros", "Pad", 0, []*value{intValue([]int{2, 1}, []int64{1, 2}), intValue([]int{4}, []int64{1, 0, 0, 1})}, []int{3, 2}, "[0 0 1 0 2 0]"},
		{"Slice of the last axis", "Slice", 0, []*value{a, intValue([]int{1}, []int64{1}), intValue([]int{1}, []int64{3}), intValue([]int{1}, []int64{-1})},
			[]int{2, 2}, "[2 3 5 6]"},
		{"Slice clamped, every axis", "Slice", 0, []*value{a, intValue([]int{2}, []int64{-1, -2}), intValue([]int{2}, []int64{5, 99})},
			[]int{1, 2}, "[5 6]"},
		{"QuantizeLinear to UINT8 with zero point 128", "QuantizeLinear", 0,
			[]*value{floatValue([]int{5}, []float64{-127, 0.5, 1.5, -2.5, 200}), floatValue(nil, []float64{1}), zeroPointValue(typeUint8, 128)},
			[]int{5}, "[1 128 130 126 255]"},
		{"QuantizeLinear to INT8 saturates", "QuantizeLinear", 0,
			[]*value{floatValue([]int{3}, []float64{-200, 2.5, -0.75}), floatValue(nil, []float64{0.5}), zeroPointValue(typeInt8, 0)},
			[]int{3}, "[-128 5 -2]"},
		{"QuantizeLinear without zero point to UINT8", "QuantizeLinear", 0,
			[]*value{floatValue([]int{2}, []float64{-3, 3.5}), floatValue(nil, []float64{1})}, []int{2}, "[0 4]"},
		{"Cast float to INT8", "Cast", typeInt8, []*value{floatValue([]int{4}, []float64{-2.7, 127, -128, 0.9})}, []int{4}, "[-2 127 -128 0]"},
		{"Cast float to UINT8", "Cast", typeUint8, []*value{floatValue([]int{3}, []float64{0, 255, 128.5})}, []int{3}, "[0 255 128]"},
		{"Cast INT32 to UINT8 keeps the low bits", "Cast", typeUint8, []*value{intValue([]int{2}, []int64{300, -1})}, []int{2}, "[44 255]"},
		{"Cast INT32 to INT8 keeps the low bits", "Cast", typeInt8, []*value{intValue([]int{2}, []int64{200, -129})}, []int{2}, "[-56 127]"},
		{"Cast float to INT32", "Cast", typeInt32, []*value{floatValue([]int{2}, []float64{-3e9 / 2, 2.5})}, []int{2}, "[-1500000000 2]"},
		{"Cast INT32 to FLOAT rounds to float32", "Cast", typeFloat, []*value{intValue([]int{2}, []int64{1<<24 + 1, -7})}, []int{2}, "[1.6777216e+07 -7]"},
		{"Cast INT32 to DOUBLE is exact", "Cast", typeDouble, []*value{intValue([]int{1}, []int64{1<<24 + 1})}, []int{1}, "[1.6777217e+07]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := pNode{Op: tc.op}
			if tc.op == "Cast" {
				n.Attrs = map[string]pAttr{"to": {I: tc.to}}
			}
			got, err := eval(&n, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			vals := fmt.Sprint(got.i)
			if !got.isInt {
				vals = fmt.Sprint(got.f)
			}
			wantInt := tc.op == "MatMulInteger" || tc.to != typeFloat && tc.to != typeDouble
			if got.isInt != wantInt || fmt.Sprint(got.shape) != fmt.Sprint(tc.shape) || vals != tc.want {
				t.Errorf("got %v %s (integer %v), want %v %s", got.shape, vals, got.isInt, tc.shape, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		op   string
		to   int64
		in   []*value
	}{
		{"Cast of 128 to INT8", "Cast", typeInt8, []*value{floatValue([]int{1}, []float64{128})}},
		{"Cast of -1 to UINT8", "Cast", typeUint8, []*value{floatValue([]int{1}, []float64{-1})}},
		{"Cast of NaN to INT32", "Cast", typeInt32, []*value{floatValue([]int{1}, []float64{math.NaN()})}},
		{"MatMulInteger of floats", "MatMulInteger", 0, []*value{floatValue([]int{1, 1}, []float64{1}), b}},
		{"MatMulInteger of a 9-bit value", "MatMulInteger", 0, []*value{intValue([]int{1, 3}, []int64{256, 0, 0}), b}},
		{"MatMulInteger zero point of 3 for 2 rows", "MatMulInteger", 0, []*value{a, b, intValue([]int{3}, []int64{0, 0, 0})}},
		{"MatMulInteger of mismatched shapes", "MatMulInteger", 0, []*value{a, a}},
		{"Pad with pads for another rank", "Pad", 0, []*value{a, intValue([]int{2}, []int64{0, 1})}},
		{"QuantizeLinear with an INT64 zero point", "QuantizeLinear", 0, []*value{floatValue([]int{1}, []float64{1}), floatValue(nil, []float64{1}), intValue(nil, []int64{0})}},
		{"QuantizeLinear per axis", "QuantizeLinear", 0, []*value{floatValue([]int{2}, []float64{1, 2}), floatValue([]int{2}, []float64{1, 1})}},
		{"Slice with steps of 2", "Slice", 0, []*value{a, intValue([]int{1}, []int64{0}), intValue([]int{1}, []int64{3}), intValue([]int{1}, []int64{1}), intValue([]int{1}, []int64{2})}},
	} {
		t.Run("error/"+tc.name, func(t *testing.T) {
			n := pNode{Op: tc.op, Attrs: map[string]pAttr{"to": {I: tc.to}}}
			if got, err := eval(&n, tc.in); err == nil {
				t.Errorf("got %v, want an error", got)
			}
		})
	}
}

// zeroPointValue is a scalar zero point of the 8-bit type elem, as a Constant
// node gives it.
func zeroPointValue(elem int64, v int64) *value {
	z := intValue(nil, []int64{v})
	z.elem = elem
	return z
}
