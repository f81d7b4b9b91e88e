package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/qgemm"
	"github.com/edgenas/edgenas/transformer"
)

// Versions and identity written into every exported model.
const (
	IRVersion    = 8         // ONNX IR version of the ModelProto
	Opset        = 17        // version of the default ("ai.onnx") operator set
	ProducerName = "edgenas" // ModelProto.producer_name
)

// Names of the graph inputs and outputs, the ones Hugging Face's exporters
// use.
const (
	InputIDs        = "input_ids"         // int64 [batch, sequence]
	AttentionMask   = "attention_mask"    // int64 [batch, sequence], 0 for padding
	TokenTypeIDs    = "token_type_ids"    // int64 [batch, sequence]
	LastHiddenState = "last_hidden_state" // float [batch, sequence, hidden]
	PoolerOutput    = "pooler_output"     // float [batch, hidden], with a pooler
	Logits          = "logits"            // float [batch, num_labels], with a classifier
)

// InputNames are the graph inputs Export writes, in order.
var InputNames = []string{InputIDs, AttentionMask, TokenTypeIDs}

// OutputNames lists the graph outputs Export writes for m, in order:
// LastHiddenState, then PoolerOutput with a pooler and Logits with a
// pooler and a classifier.
func OutputNames(m *transformer.Model) []string {
	names := []string{LastHiddenState}
	if m.Pooler != nil {
		names = append(names, PoolerOutput)
		if m.Classifier != nil {
			names = append(names, Logits)
		}
	}
	return names
}

// Symbolic dimensions of the graph inputs and outputs.
const (
	DimBatch    = "batch"
	DimSequence = "sequence"
)

// TransposedSuffix ends the initializer name of every Linear weight: such a
// weight is stored as [in, out], the transpose of the Hugging Face tensor
// whose name precedes the suffix, so that the graph computes
// MatMul(x, W) + b. Every other initializer has its Hugging Face name and
// layout.
const TransposedSuffix = ".T"

// MetadataConfig is the metadata_props key whose value is the model's
// config.json (Config.Marshal).
const MetadataConfig = "edgenas.config"

// maskBias is added to the attention scores of padded keys. exp of it
// underflows to 0 in float32, so those keys get probability 0.
const maskBias = -1e9

// ErrInvalidModel is returned, wrapped with the problem, when a model's
// tensors disagree with its shapes or its config is invalid.
var ErrInvalidModel = errors.New("invalid model")

// ErrTooLarge is returned when the encoded model would exceed the 2 GiB
// limit of a protocol buffer message.
var ErrTooLarge = errors.New("model exceeds the 2 GiB protobuf limit")

// maxProtoSize is the largest message protobuf parsers accept.
const maxProtoSize = math.MaxInt32

// Export writes m to w as an ONNX model (see the package documentation for
// the graph). m is only read; it is checked before anything is written.
func Export(m *transformer.Model, w io.Writer) error {
	msg, err := encode(m, false)
	if err != nil {
		return err
	}
	return msg.writeTo(w)
}

// ExportFile writes m to path as an ONNX model, atomically: a reader never
// sees a partial file, and on error path is left as it was.
func ExportFile(m *transformer.Model, path string) error {
	msg, err := encode(m, false)
	if err == nil {
		err = atomicfile.Write(path, msg.writeTo)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}

// encode checks m and builds its ModelProto: the graph of the package
// comment, or with dynamic the one ExportORTDynamic documents.
func encode(m *transformer.Model, dynamic bool) (*message, error) {
	if err := check(m); err != nil {
		return nil, err
	}
	g := buildGraph(m, dynamic)
	cfg, err := m.Config.Marshal()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	model := modelProto(g)
	if dynamic {
		ms := &message{}
		ms.string(1, DomainMicrosoft)
		ms.int64(2, 1)
		model.embed(8, ms)
	}
	meta := &message{}
	meta.string(1, MetadataConfig)
	meta.bytes(2, cfg)
	model.embed(14, meta)
	if model.size > maxProtoSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, model.size)
	}
	return model, nil
}

// modelProto returns the ModelProto of graph g: IR version, producer and
// the default domain's opset.
func modelProto(g *message) *message {
	model := &message{}
	model.int64(1, IRVersion)
	model.string(2, ProducerName)
	model.embed(7, g)
	opset := &message{}
	opset.string(1, "")
	opset.int64(2, Opset)
	model.embed(8, opset)
	return model
}

// check returns every inconsistency of m that would make the graph wrong,
// each wrapping ErrInvalidModel.
func check(m *transformer.Model) error {
	if m == nil {
		return fmt.Errorf("%w: nil model", ErrInvalidModel)
	}
	if err := m.Config.Validate(); err != nil {
		return fmt.Errorf("%w: config: %w", ErrInvalidModel, err)
	}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidModel, fmt.Sprintf(format, a...)))
	}
	c := &m.Config
	H := c.HiddenSize
	if len(m.Layers) != c.NumHiddenLayers {
		bad("%d layers, config says num_hidden_layers %d", len(m.Layers), c.NumHiddenLayers)
	}
	m.Params(func(name string, shape []int, p []float32, _ transformer.ParamKind) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		if p != nil && len(p) != n {
			bad("tensor %q: shape %v holds %d values, has %d", name, shape, n, len(p))
		}
	})
	linear := func(name string, l *transformer.Linear, in, out int) {
		if l.In != in || l.Out != out {
			bad("%s: shape %d→%d, want %d→%d", name, l.In, l.Out, in, out)
		} else if err := l.Validate(); err != nil {
			bad("%s: %v", name, err)
		} else if q, ok := l.QW.(*qgemm.Int4); ok && q.Group() != c.Int4GroupSize() {
			bad("%s: int4 group %d, config says %d", name, q.Group(), c.Int4GroupSize())
		} else if q, ok := l.QU.(*qgemm.Int4); ok && q.Group() != c.Int4GroupSize() {
			bad("%s: int4 group %d, config says %d", name, q.Group(), c.Int4GroupSize())
		}
	}
	store := func(name string, l *transformer.Linear, rank, bits int) {
		if l.Rank != rank || l.WeightBits() != bits {
			bad("%s: rank %d at %d bits, config says rank %d at %d bits", name, l.Rank, l.WeightBits(), rank, bits)
		}
	}
	e := &m.Embeddings
	E := c.EmbeddingRank()
	if E == 0 {
		E = H
	}
	if (e.Projection != nil) != (c.EmbeddingRank() > 0) {
		bad("embeddings: projection present %v, config embedding_rank %d", e.Projection != nil, c.EmbeddingRank())
	} else if e.Projection != nil {
		linear("embedding projection", e.Projection, E, H)
		store("embedding projection", e.Projection, 0, 32)
	}
	if wb := e.WordBits; wb%32 != c.EmbeddingBits()%32 {
		bad("word embeddings: %d bits, config says %d", wb, c.EmbeddingBits())
	} else if wb == 8 || wb == 4 {
		if t := e.WordQ; t == nil || e.Word != nil || t.Rows != c.VocabSize || t.Cols != E || t.Bits != wb {
			bad("word embeddings: want a %d×%d %d-bit table", c.VocabSize, E, wb)
		} else if err := t.Validate(); err != nil {
			bad("word embeddings: %v", err)
		} else if wb == 4 && t.Group != c.Int4GroupSize() {
			bad("word embeddings: int4 group %d, config says %d", t.Group, c.Int4GroupSize())
		}
	} else if len(e.Word) != c.VocabSize*E || e.WordQ != nil {
		bad("word embeddings: %d values, want %d×%d", len(e.Word), c.VocabSize, E)
	}
	norm := func(name string, n *transformer.LayerNorm) {
		if len(n.Gamma) != H || len(n.Beta) != H {
			bad("%s: %d gains and %d shifts, want %d", name, len(n.Gamma), len(n.Beta), H)
		}
	}
	norm("embeddings LayerNorm", &m.Embeddings.Norm)
	for i := range m.Layers {
		l := &m.Layers[i]
		p := fmt.Sprintf("layer %d: ", i)
		if l.Heads <= 0 || l.HeadSize <= 0 || l.FFN <= 0 {
			bad("%sheads %d, head size %d, FFN %d: want all positive", p, l.Heads, l.HeadSize, l.FFN)
			continue
		}
		// The config travels in the metadata and must describe the weights.
		if lc := c.Layer(i); l.Heads != lc.NumAttentionHeads || l.FFN != lc.IntermediateSize || l.HeadSize != c.HeadSize() {
			bad("%sheads %d of size %d, FFN %d; config says heads %d of size %d, FFN %d",
				p, l.Heads, l.HeadSize, l.FFN, lc.NumAttentionHeads, c.HeadSize(), lc.IntermediateSize)
		}
		inner := l.Heads * l.HeadSize
		lc := c.Layer(i)
		for _, x := range []struct {
			name string
			l    *transformer.Linear
			rank int
		}{{"query", &l.Query, lc.AttentionRank}, {"key", &l.Key, lc.AttentionRank}, {"value", &l.Value, lc.AttentionRank},
			{"attention output", &l.AttnOut, lc.AttentionRank}, {"intermediate", &l.Inter, lc.FFNRank}, {"output", &l.Out, lc.FFNRank}} {
			store(p+x.name, x.l, x.rank, lc.WeightBits())
		}
		linear(p+"query", &l.Query, H, inner)
		linear(p+"key", &l.Key, H, inner)
		linear(p+"value", &l.Value, H, inner)
		linear(p+"attention output", &l.AttnOut, inner, H)
		norm(p+"attention LayerNorm", &l.AttnNorm)
		linear(p+"intermediate", &l.Inter, H, l.FFN)
		linear(p+"output", &l.Out, l.FFN, H)
		norm(p+"output LayerNorm", &l.OutNorm)
	}
	if m.Pooler != nil {
		linear("pooler", m.Pooler, H, H)
		store("pooler", m.Pooler, 0, 32)
		if m.Classifier != nil {
			store("classifier", m.Classifier, 0, 32)
			if m.Classifier.Out != c.NumLabels {
				bad("classifier: %d labels, config says num_labels %d", m.Classifier.Out, c.NumLabels)
			}
			linear("classifier", m.Classifier, H, m.Classifier.Out)
		}
	}
	return errors.Join(errs...)
}

// ONNX TensorProto.DataType values.
const (
	typeFloat  = 1
	typeUint8  = 2
	typeInt8   = 3
	typeInt32  = 6
	typeInt64  = 7
	typeBool   = 9
	typeDouble = 11
)

// ONNX AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrTensor = 4
	attrInts   = 7
)

// attribute is one node attribute of the types the graph uses.
type attribute struct {
	name string
	typ  int
	f    float32
	i    int64
	ints []int64
	t    *message
}

func intAttr(name string, v int64) attribute     { return attribute{name: name, typ: attrInt, i: v} }
func floatAttr(name string, v float32) attribute { return attribute{name: name, typ: attrFloat, f: v} }
func intsAttr(name string, v ...int64) attribute {
	return attribute{name: name, typ: attrInts, ints: v}
}

func (a *attribute) encode() *message {
	m := &message{}
	m.string(1, a.name)
	switch a.typ {
	case attrFloat:
		m.float32(2, a.f)
	case attrInt:
		m.int64(3, a.i)
	case attrTensor:
		m.embed(5, a.t)
	case attrInts:
		for _, v := range a.ints {
			m.int64(8, v)
		}
	}
	m.int64(20, int64(a.typ))
	return m
}

// builder accumulates the nodes and initializers of a graph in topological
// order.
type builder struct {
	nodes     []*message
	inits     []*message
	nodeNames map[string]bool
	values    map[string]bool      // every value defined so far
	consts    map[string]string    // constant key → value name
	inputs    map[string]quantized // activation → its quantization (quantizedInput)
	dynamic   bool                 // Linears as DynamicQuantizeMatMul (ExportORTDynamic)
}

// newBuilder returns an empty builder.
func newBuilder() *builder {
	return &builder{nodeNames: map[string]bool{}, values: map[string]bool{}, consts: map[string]string{}, inputs: map[string]quantized{}}
}

// node appends a node and returns the name of its single output: out, or
// the node's name followed by "_output_0" when out is empty. Node names are
// made unique with a numeric suffix.
func (b *builder) node(op, name string, inputs []string, out string, attrs ...attribute) string {
	if b.nodeNames[name] {
		for i := 1; ; i++ {
			if n := name + "_" + strconv.Itoa(i); !b.nodeNames[n] {
				name = n
				break
			}
		}
	}
	b.nodeNames[name] = true
	if out == "" {
		out = name + "_output_0"
	}
	n := &message{}
	for _, in := range inputs {
		if !b.values[in] {
			panic("onnx: node " + name + " reads undefined value " + in)
		}
		n.string(1, in)
	}
	if b.values[out] {
		panic("onnx: value " + out + " defined twice")
	}
	b.values[out] = true
	n.string(2, out)
	n.string(3, name)
	n.string(4, op)
	for i := range attrs {
		n.embed(5, attrs[i].encode())
	}
	b.nodes = append(b.nodes, n)
	return out
}

// tensor encodes a TensorProto whose raw data is given either as bytes or as
// float32 values (transposed when rows > 0).
func tensor(name string, dtype int, dims []int64, raw []byte, f []float32, rows, cols int) *message {
	t := &message{}
	t.packedInt64(1, dims)
	t.int64(2, int64(dtype))
	if name != "" {
		t.string(8, name)
	}
	if f != nil {
		t.float32s(9, f, rows, cols)
	} else {
		t.bytes(9, raw)
	}
	return t
}

// weight adds a float initializer and returns its name. When rows > 0, data
// is a rows×cols matrix and its transpose is stored. A name already added
// is returned as is: layers that share weights read one initializer.
func (b *builder) weight(name string, dims []int64, data []float32, rows, cols int) string {
	if b.values[name] {
		return name // a shared layer's weights: one initializer, read twice
	}
	b.values[name] = true
	b.inits = append(b.inits, tensor(name, typeFloat, dims, nil, data, rows, cols))
	return name
}

// constant returns the output of a Constant node holding the given int64
// (ints) or float32 (floats) values, a scalar when dims is nil. Equal
// constants share one node.
func (b *builder) constant(dims []int64, ints []int64, floats []float32) string {
	var key strings.Builder
	var raw []byte
	if floats != nil {
		key.WriteString("const_float")
		for _, f := range floats {
			key.WriteString("_" + strconv.FormatFloat(float64(f), 'g', -1, 32))
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
	} else {
		key.WriteString("const_int64")
		for _, v := range ints {
			key.WriteString("_" + strconv.FormatInt(v, 10))
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	}
	if dims == nil {
		key.WriteString("_scalar")
	}
	name := key.String()
	if v, ok := b.consts[name]; ok {
		return v
	}
	dtype := typeInt64
	if floats != nil {
		dtype = typeFloat
	}
	t := tensor("", dtype, dims, raw, nil, 0, 0)
	out := b.node("Constant", "/Constant_"+strings.TrimPrefix(name, "const_"), nil, name,
		attribute{name: "value", typ: attrTensor, t: t})
	b.consts[name] = out
	return out
}

// zeroPoint returns the output of a Constant node holding the scalar v of
// the 8-bit type dtype, typeUint8 (v in [0, 255]) or typeInt8 (v in
// [-128, 127]); equal constants share one node.
func (b *builder) zeroPoint(dtype int, v int) string {
	name := "const_uint8_" + strconv.Itoa(v) + "_scalar"
	if dtype == typeInt8 {
		name = "const_int8_" + strconv.Itoa(v) + "_scalar"
	}
	if out, ok := b.consts[name]; ok {
		return out
	}
	t := tensor("", dtype, nil, []byte{byte(v)}, nil, 0, 0)
	out := b.node("Constant", "/Constant_"+strings.TrimPrefix(name, "const_"), nil, name,
		attribute{name: "value", typ: attrTensor, t: t})
	b.consts[name] = out
	return out
}

func (b *builder) scalarInt(v int64) string     { return b.constant(nil, []int64{v}, nil) }
func (b *builder) scalarFloat(v float32) string { return b.constant(nil, nil, []float32{v}) }
func (b *builder) ints(v ...int64) string       { return b.constant([]int64{int64(len(v))}, v, nil) }

// linear adds x·Wᵀ + b for l, whose Hugging Face name is param: a
// low-rank Linear as two products through its factors, each weight in its
// storage form (see product).
func (b *builder) linear(scope, param string, l *transformer.Linear, x, out string) string {
	if b.dynamic {
		return b.dynamicLinear(scope, param, l, x, out)
	}
	var y string
	if l.Rank > 0 {
		y = b.product(scope, param+".weight_v", l.Rank, l.In, l.V, l.QV, x)
		y = b.product(scope, param+".weight_u", l.Out, l.Rank, l.U, l.QU, y)
	} else {
		y = b.product(scope, param+".weight", l.Out, l.In, l.W, l.QW, x)
	}
	bias := b.weight(param+".bias", []int64{int64(l.Out)}, l.B, 0, 0)
	return b.node("Add", scope+"/Add", []string{y, bias}, out)
}

// product adds x·Wᵀ for the rows×cols weight named param (Hugging Face
// layout), without bias, x being [batch, sequence, cols]. Float weights
// (float32, and half precision as the rounded values) are a MatMul by the
// float initializer PARAM.T ([cols, rows]). Quantized weights are
// multiplied as the engine does (qgemm's Workspace.Mul): x quantized per
// row (quantizedInput), exact integer products of it with the weight's
// integers, each cast to float (one rounding, as the engine's float32 of
// its int32 sum) and multiplied by the weight scales, then by the row
// scales, so that ONNX Runtime gives the engine's products to within its
// float32 rounding. Int8: one MatMulInteger by the INT8 initializer
// PARAM.T.int8 ([cols, rows]) and the per-column scales PARAM.T.scale
// ([rows]). Int4 (which opset 17 has no type for): the values widened to
// the INT8 initializer PARAM.T.int8 of shape [groups, group, rows] (In
// zero-padded to whole groups) and the scales PARAM.T.scale [groups,
// rows]; x, padded likewise, is multiplied group by group, a Slice of it
// by the group's Gather of the weight (constant, so ONNX Runtime folds it
// into a weight it prepacks), and the scaled group products are summed in
// group order by Adds, as the engine sums them. (One MatMulInteger batched
// over the groups and a ReduceSum, or Adds, ran the int4 BERT-mini at seq
// 128 in 14.3 and 12.7 ms in ONNX Runtime 1.30, against 9.3 ms so.) A
// weight already added (a shared layer's) is reused.
func (b *builder) product(scope, param string, rows, cols int, f []float32, q qgemm.Weights, x string) string {
	name := param + TransposedSuffix
	if q == nil {
		wf := b.weight(name, []int64{int64(cols), int64(rows)}, f, rows, cols)
		return b.node("MatMul", scope+"/MatMul", []string{x, wf}, "")
	}
	wq, sw := name+".int8", name+".scale"
	in := b.quantizedInput(scope, x)
	var y string
	switch w := q.(type) {
	case *qgemm.Int8:
		if !b.values[wq] { // a shared layer's weight is added once
			v, _, sc, _ := w.Raw()
			raw := make([]byte, rows*cols)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					raw[j*rows+i] = byte(v[i*cols+j])
				}
			}
			b.init(wq, typeInt8, []int64{int64(cols), int64(rows)}, raw)
			b.weight(sw, []int64{int64(rows)}, sc, 0, 0)
		}
		y = b.integerProduct(scope, in.a, in.zero, wq)
		y = b.node("Mul", scope+"/Mul", []string{y, sw}, "")
	case *qgemm.Int4:
		g := w.Group()
		groups := (cols + g - 1) / g
		if !b.values[wq] {
			packed, _, sc, _ := w.Raw()
			rb := (cols + 1) / 2
			raw := make([]byte, groups*g*rows) // [groups·group, rows], zero-padded
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					nib := packed[i*rb+j/2] >> (4 * (j % 2)) << 4
					raw[j*rows+i] = byte(int8(nib) >> 4)
				}
			}
			scales := make([]float32, groups*rows) // [groups, rows]
			for i := 0; i < rows; i++ {
				for k := 0; k < groups; k++ {
					scales[k*rows+i] = sc[i*groups+k]
				}
			}
			b.init(wq, typeInt8, []int64{int64(groups), int64(g), int64(rows)}, raw)
			b.weight(sw, []int64{int64(groups), int64(rows)}, scales, 0, 0)
		}
		a := in.a
		if pad := groups*g - cols; pad > 0 { // with the zero point: xq = 0
			a = b.node("Pad", scope+"/Pad", []string{a, b.ints(0, 0, 0, 0, 0, int64(pad)), in.zero}, "")
		}
		for k := range groups {
			ak := b.node("Slice", scope+"/Slice", []string{a, b.ints(int64(k * g)), b.ints(int64((k + 1) * g)), b.ints(-1)}, "")
			wk := b.node("Gather", scope+"/Gather", []string{wq, b.scalarInt(int64(k))}, "", intAttr("axis", 0))
			sk := b.node("Gather", scope+"/Gather", []string{sw, b.scalarInt(int64(k))}, "", intAttr("axis", 0))
			tk := b.integerProduct(scope, ak, in.zero, wk)
			tk = b.node("Mul", scope+"/Mul", []string{tk, sk}, "")
			if k == 0 {
				y = tk
			} else {
				y = b.node("Add", scope+"/Add", []string{y, tk}, "")
			}
		}
	default:
		panic(fmt.Sprintf("onnx: weight %s of unknown type %T", param, q))
	}
	return b.node("Mul", scope+"/Mul", []string{y, in.scale}, "")
}

// quantized is an activation quantized per row for MatMulInteger: the
// operand a with its zero point and the row scales.
type quantized struct {
	a, zero, scale string
}

// quantizedInput returns x quantized per row along its last axis
// (quantizeRows) as MatMulInteger's first operand: xq+128 as UINT8 with
// the zero point 128, so that the product Σ(a−128)·w is exactly Σxq·w.
// ONNX Runtime's CPU kernels run uint8 × int8 (what its own
// DynamicQuantizeMatMul uses) far faster than int8 × int8 (see the
// package documentation). Products of the same x (the query, key and
// value projections) share one quantization, as the engine's fused Q|K|V
// product quantizes its input once.
func (b *builder) quantizedInput(scope, x string) quantized {
	if q, ok := b.inputs[x]; ok {
		return q
	}
	zero := b.zeroPoint(typeUint8, 128)
	a, sx := b.quantizeRows(scope+"/input_quant", x, -1, zero)
	q := quantized{a, zero, sx}
	b.inputs[x] = q
	return q
}

// integerProduct adds the exact int32 product MatMulInteger(a, w) (zero,
// when not empty, a's zero point), batched as MatMul, cast to float.
func (b *builder) integerProduct(scope, a, zero, w string) string {
	in := []string{a, w}
	if zero != "" {
		in = append(in, zero)
	}
	y := b.node("MatMulInteger", scope+"/MatMulInteger", in, "")
	return b.node("Cast", scope+"/Cast", []string{y}, "", intAttr("to", typeFloat))
}

// init adds an initializer of raw little-endian data and returns its name.
func (b *builder) init(name string, dtype int, dims []int64, raw []byte) string {
	b.values[name] = true
	b.inits = append(b.inits, tensor(name, dtype, dims, raw, nil, 0, 0))
	return name
}

// layerNorm adds LayerNormalization over the last axis.
func (b *builder) layerNorm(scope, param string, n *transformer.LayerNorm, x, out string) string {
	g := b.weight(param+".weight", []int64{int64(len(n.Gamma))}, n.Gamma, 0, 0)
	beta := b.weight(param+".bias", []int64{int64(len(n.Beta))}, n.Beta, 0, 0)
	return b.node("LayerNormalization", scope+"/LayerNormalization", []string{x, g, beta}, out,
		intAttr("axis", -1), floatAttr("epsilon", n.Eps))
}

// activation adds the element-wise function named by hidden_act.
func (b *builder) activation(scope, act, x string) string {
	switch act {
	case transformer.ActReLU:
		return b.node("Relu", scope+"/Relu", []string{x}, "")
	case transformer.ActGELUNew, transformer.ActGELUTanh:
		// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
		x2 := b.node("Mul", scope+"/Mul", []string{x, x}, "")
		x3 := b.node("Mul", scope+"/Mul", []string{x2, x}, "")
		c := b.node("Mul", scope+"/Mul", []string{x3, b.scalarFloat(0.044715)}, "")
		s := b.node("Add", scope+"/Add", []string{x, c}, "")
		s = b.node("Mul", scope+"/Mul", []string{s, b.scalarFloat(float32(math.Sqrt(2 / math.Pi)))}, "")
		t := b.node("Tanh", scope+"/Tanh", []string{s}, "")
		t = b.node("Add", scope+"/Add", []string{t, b.scalarFloat(1)}, "")
		y := b.node("Mul", scope+"/Mul", []string{x, t}, "")
		return b.node("Mul", scope+"/Mul", []string{y, b.scalarFloat(0.5)}, "")
	default:
		// 0.5·x·(1 + erf(x/√2))
		d := b.node("Div", scope+"/Div", []string{x, b.scalarFloat(math.Sqrt2)}, "")
		e := b.node("Erf", scope+"/Erf", []string{d}, "")
		e = b.node("Add", scope+"/Add", []string{e, b.scalarFloat(1)}, "")
		y := b.node("Mul", scope+"/Mul", []string{x, e}, "")
		return b.node("Mul", scope+"/Mul", []string{y, b.scalarFloat(0.5)}, "")
	}
}

// wordEmbeddings adds the word embedding lookup: a Gather from the float
// table, or, for a quantized table, Gathers of its INT8 values (int4
// widened, [vocab, groups, group]) and scales ([vocab, groups, 1]), Cast,
// Mul, Reshape and Slice; then, for a factorized model, the projection to
// hidden.
func (b *builder) wordEmbeddings(es string, m *transformer.Model) string {
	c, e := &m.Config, &m.Embeddings
	const name = "bert.embeddings.word_embeddings.weight"
	var x string
	if t := e.WordQ; t != nil {
		groups := (t.Cols + t.Group - 1) / t.Group
		raw := make([]byte, t.Rows*groups*t.Group)
		row := make([]float32, t.Cols)
		unit := *t
		unit.Scales = make([]float32, len(t.Scales))
		for i := range unit.Scales {
			unit.Scales[i] = 1
		}
		for r := 0; r < t.Rows; r++ {
			unit.Row(r, row) // the integer values
			for j, v := range row {
				raw[r*groups*t.Group+j] = byte(int8(v))
			}
		}
		qv := b.init(name+".int8", typeInt8, []int64{int64(t.Rows), int64(groups), int64(t.Group)}, raw)
		s := b.weight(name+".scale", []int64{int64(t.Rows), int64(groups), 1}, t.Scales, 0, 0)
		v := b.node("Gather", es+"/word_embeddings/Gather", []string{qv, InputIDs}, "")
		sc := b.node("Gather", es+"/word_embeddings/Gather", []string{s, InputIDs}, "")
		v = b.node("Cast", es+"/word_embeddings/Cast", []string{v}, "", intAttr("to", typeFloat))
		v = b.node("Mul", es+"/word_embeddings/Mul", []string{v, sc}, "")
		v = b.node("Reshape", es+"/word_embeddings/Reshape", []string{v, b.ints(0, 0, int64(groups*t.Group))}, "")
		x = b.node("Slice", es+"/word_embeddings/Slice", []string{v, b.ints(0), b.ints(int64(t.Cols)), b.ints(2)}, "")
	} else {
		cols := c.HiddenSize
		if e.Projection != nil {
			cols = e.Projection.In
		}
		word := b.weight(name, []int64{int64(c.VocabSize), int64(cols)}, e.Word, 0, 0)
		x = b.node("Gather", es+"/word_embeddings/Gather", []string{word, InputIDs}, "")
	}
	if e.Projection != nil {
		x = b.linear(es+"/word_projection", "bert.embeddings.word_projection", e.Projection, x, "")
	}
	return x
}

// dim is one dimension of a graph input or output: symbolic when param is
// set.
type dim struct {
	param string
	value int64
}

// valueInfo encodes a ValueInfoProto of a tensor.
func valueInfo(name string, elem int, dims ...dim) *message {
	shape := &message{}
	for _, d := range dims {
		dm := &message{}
		if d.param != "" {
			dm.string(2, d.param)
		} else {
			dm.int64(1, d.value)
		}
		shape.embed(1, dm)
	}
	tt := &message{}
	tt.int64(1, int64(elem))
	tt.embed(2, shape)
	typ := &message{}
	typ.embed(1, tt)
	v := &message{}
	v.string(1, name)
	v.embed(2, typ)
	return v
}

// attention adds the self-attention of layer l in scope as: the query,
// key and value projections q, k and v ([batch, sequence, heads·head_size])
// split into heads, the scores, the masked softmax with the additive mask
// ([batch, 1, 1, sequence]) and the context, returned as [batch,
// sequence, heads·head_size]. In float layers it is MatMul, Mul by
// 1/√head_size, Add of the mask, Softmax and MatMul; in layers whose
// attention the engine runs in int8 (transformer.Layer.Int8Attention, not
// in ExportORTDynamic's graph), int8Attention.
func (b *builder) attention(as string, l *transformer.Layer, q, k, v, mask string) string {
	heads, hs := int64(l.Heads), int64(l.HeadSize)
	split := b.ints(0, 0, heads, hs)
	// [batch, seq, heads·hs] → [batch, heads, seq, hs] (keys: [batch, heads, hs, seq]).
	q = b.node("Reshape", as+"/Reshape", []string{q, split}, "")
	q = b.node("Transpose", as+"/Transpose", []string{q}, "", intsAttr("perm", 0, 2, 1, 3))
	k = b.node("Reshape", as+"/Reshape", []string{k, split}, "")
	k = b.node("Transpose", as+"/Transpose", []string{k}, "", intsAttr("perm", 0, 2, 3, 1))
	v = b.node("Reshape", as+"/Reshape", []string{v, split}, "")
	v = b.node("Transpose", as+"/Transpose", []string{v}, "", intsAttr("perm", 0, 2, 1, 3))
	scale := b.scalarFloat(float32(1 / math.Sqrt(float64(l.HeadSize)))) // as the engine computes it
	var ctx string
	if l.Int8Attention() && !b.dynamic {
		ctx = b.int8Attention(as, q, k, v, scale, mask)
	} else {
		scores := b.node("MatMul", as+"/MatMul", []string{q, k}, "")
		scores = b.node("Mul", as+"/Mul", []string{scores, scale}, "")
		scores = b.node("Add", as+"/Add", []string{scores, mask}, "")
		probs := b.node("Softmax", as+"/Softmax", []string{scores}, "", intAttr("axis", -1))
		ctx = b.node("MatMul", as+"/MatMul", []string{probs, v}, "")
	}
	ctx = b.node("Transpose", as+"/Transpose", []string{ctx}, "", intsAttr("perm", 0, 2, 1, 3))
	return b.node("Reshape", as+"/Reshape", []string{ctx, b.ints(0, 0, heads*hs)}, "")
}

// int8Attention adds the attention of an int8 layer as the engine computes
// it (transformer's packHead and attendBlock, on qgemm; see the qgemm
// package documentation), from the heads q [batch, heads, seq, hs], k
// [batch, heads, hs, seq] and v [batch, heads, seq, hs], the scalar score
// scale and the additive mask, returning the context [batch, heads, seq,
// hs]. Queries are quantized per row (UINT8 with the zero point 128, as
// quantizedInput), keys per key and values per feature (INT8), and
// probabilities per row (UINT8, being ≥ 0) by quantizeRows; the products
// are exact int32 MatMulIntegers cast to float, as the engine's, and are
// scaled back as qgemm does, (Σ·s_right)·s_left. The softmax
// is left unnormalized, e^(scale·s − max) with masked keys exactly 0
// (e^(−1e9) underflows), quantized per row, multiplied by the values, and
// only then multiplied by the norm 1/Σe, summed in float64 as
// vec.SoftmaxMaskedNorm does.
func (b *builder) int8Attention(as, q, k, v, scale, mask string) string {
	qz, signed := b.zeroPoint(typeUint8, 128), b.zeroPoint(typeInt8, 0)
	qq, sq := b.quantizeRows(as+"/query_quant", q, -1, qz)
	kq, sk := b.quantizeRows(as+"/key_quant", k, -2, signed)
	vq, sv := b.quantizeRows(as+"/value_quant", v, -2, signed)
	scores := b.integerProduct(as, qq, qz, kq)
	scores = b.node("Mul", as+"/Mul", []string{scores, sk}, "")
	scores = b.node("Mul", as+"/Mul", []string{scores, sq}, "")
	scores = b.node("Mul", as+"/Mul", []string{scores, scale}, "")
	scores = b.node("Add", as+"/Add", []string{scores, mask}, "")
	top := b.node("ReduceMax", as+"/ReduceMax", []string{scores}, "", intsAttr("axes", -1), intAttr("keepdims", 1))
	e := b.node("Sub", as+"/Sub", []string{scores, top}, "")
	e = b.node("Exp", as+"/Exp", []string{e}, "")
	sum := b.node("Cast", as+"/Cast", []string{e}, "", intAttr("to", typeDouble))
	sum = b.node("ReduceSum", as+"/ReduceSum", []string{sum, b.ints(-1)}, "", intAttr("keepdims", 1))
	norm := b.node("Reciprocal", as+"/Reciprocal", []string{sum}, "")
	norm = b.node("Cast", as+"/Cast", []string{norm}, "", intAttr("to", typeFloat))
	// e ≥ 0, so its integers are in [0, 127]: UINT8 as they are.
	pq, sp := b.quantizeRows(as+"/probs_quant", e, -1, b.zeroPoint(typeUint8, 0))
	ctx := b.integerProduct(as, pq, "", vq)
	ctx = b.node("Mul", as+"/Mul", []string{ctx, sv}, "")
	ctx = b.node("Mul", as+"/Mul", []string{ctx, sp}, "")
	return b.node("Mul", as+"/Mul", []string{ctx, norm}, "")
}

// quantizeRows adds the symmetric int8 quantization the engine applies to
// activations (qgemm's Workspace.Mul, Int8.SetRows and SetCols) to the rows
// of x along axis: with m = max|x| over the axis, the integers
// xq = Round(x·(127/m)) (round half to even, as the engine; 0 where
// m < 2⁻¹²¹, a row the engine counts as zero since 127/m could overflow)
// plus the zero point zero (a zeroPoint, whose type they take), by
// QuantizeLinear with scale 1 (x·(127/m)/1 is the product itself), and the
// scales m/127, of x's shape with the axis kept as 1.
func (b *builder) quantizeRows(scope, x string, axis int64, zero string) (q, scale string) {
	m := b.node("Abs", scope+"/Abs", []string{x}, "")
	m = b.node("ReduceMax", scope+"/ReduceMax", []string{m}, "", intsAttr("axes", axis), intAttr("keepdims", 1))
	c127 := b.scalarFloat(127)
	inv := b.node("Div", scope+"/Div", []string{c127, m}, "")
	isZero := b.node("Less", scope+"/Less", []string{m, b.scalarFloat(qgemm.MinAmax)}, "")
	inv = b.node("Where", scope+"/Where", []string{isZero, b.scalarFloat(0), inv}, "")
	q = b.node("Mul", scope+"/Mul", []string{x, inv}, "")
	q = b.node("QuantizeLinear", scope+"/QuantizeLinear", []string{q, b.scalarFloat(1), zero}, "")
	return q, b.node("Div", scope+"/Div", []string{m, c127}, "")
}

// buildGraph returns the GraphProto of a checked model; dynamic writes its
// Linears as ExportORTDynamic documents.
func buildGraph(m *transformer.Model, dynamic bool) *message {
	b := newBuilder()
	b.dynamic = dynamic
	c := &m.Config
	H := int64(c.HiddenSize)
	batch, seq := dim{param: DimBatch}, dim{param: DimSequence}
	inputs := []*message{
		valueInfo(InputIDs, typeInt64, batch, seq),
		valueInfo(AttentionMask, typeInt64, batch, seq),
		valueInfo(TokenTypeIDs, typeInt64, batch, seq),
	}
	for _, n := range []string{InputIDs, AttentionMask, TokenTypeIDs} {
		b.values[n] = true
	}
	outputs := []*message{valueInfo(LastHiddenState, typeFloat, batch, seq, dim{value: H})}

	// Embeddings: LayerNorm(word[ids] + position[0..T) + type[types]).
	e := &m.Embeddings
	const es = "/bert/embeddings"
	x := b.wordEmbeddings(es, m)
	pos := b.weight("bert.embeddings.position_embeddings.weight", []int64{int64(c.MaxPositionEmbeddings), H}, e.Position, 0, 0)
	typ := b.weight("bert.embeddings.token_type_embeddings.weight", []int64{int64(c.TypeVocabSize), H}, e.TokenType, 0, 0)
	shape := b.node("Shape", es+"/Shape", []string{InputIDs}, "")
	seqLen := b.node("Gather", es+"/Gather", []string{shape, b.scalarInt(1)}, "", intAttr("axis", 0))
	posIDs := b.node("Range", es+"/Range", []string{b.scalarInt(0), seqLen, b.scalarInt(1)}, "")
	p := b.node("Gather", es+"/position_embeddings/Gather", []string{pos, posIDs}, "")
	x = b.node("Add", es+"/Add", []string{x, p}, "")
	t := b.node("Gather", es+"/token_type_embeddings/Gather", []string{typ, TokenTypeIDs}, "")
	x = b.node("Add", es+"/Add", []string{x, t}, "")
	out := ""
	if len(m.Layers) == 0 {
		out = LastHiddenState
	}
	x = b.layerNorm(es+"/LayerNorm", "bert.embeddings.LayerNorm", &e.Norm, x, out)

	// Additive attention mask, [batch, 1, 1, sequence]: 0 where the mask is
	// non-zero, maskBias where it is 0.
	var mask string
	if len(m.Layers) > 0 {
		const ms = "/bert/extended_attention_mask"
		mb := b.node("Cast", ms+"/Cast", []string{AttentionMask}, "", intAttr("to", typeBool))
		mf := b.node("Cast", ms+"/Cast", []string{mb}, "", intAttr("to", typeFloat))
		inv := b.node("Sub", ms+"/Sub", []string{b.scalarFloat(1), mf}, "")
		bias := b.node("Mul", ms+"/Mul", []string{inv, b.scalarFloat(maskBias)}, "")
		mask = b.node("Unsqueeze", ms+"/Unsqueeze", []string{bias, b.ints(1, 2)}, "")
	}

	leader := 0 // first layer of the current sharing group
	for i := range m.Layers {
		l := &m.Layers[i]
		if !c.Layer(i).SharesPrevious {
			leader = i
		}
		s := fmt.Sprintf("/bert/encoder/layer.%d", i)
		p := fmt.Sprintf("bert.encoder.layer.%d.", leader)
		q := b.linear(s+"/attention/self/query", p+"attention.self.query", &l.Query, x, "")
		k := b.linear(s+"/attention/self/key", p+"attention.self.key", &l.Key, x, "")
		v := b.linear(s+"/attention/self/value", p+"attention.self.value", &l.Value, x, "")
		ctx := b.attention(s+"/attention/self", l, q, k, v, mask)
		a := b.linear(s+"/attention/output/dense", p+"attention.output.dense", &l.AttnOut, ctx, "")
		a = b.node("Add", s+"/attention/output/Add", []string{x, a}, "")
		x = b.layerNorm(s+"/attention/output/LayerNorm", p+"attention.output.LayerNorm", &l.AttnNorm, a, "")

		f := b.linear(s+"/intermediate/dense", p+"intermediate.dense", &l.Inter, x, "")
		f = b.activation(s+"/intermediate/intermediate_act_fn", c.HiddenAct, f)
		o := b.linear(s+"/output/dense", p+"output.dense", &l.Out, f, "")
		o = b.node("Add", s+"/output/Add", []string{x, o}, "")
		out := ""
		if i == len(m.Layers)-1 {
			out = LastHiddenState
		}
		x = b.layerNorm(s+"/output/LayerNorm", p+"output.LayerNorm", &l.OutNorm, o, out)
	}

	if m.Pooler != nil {
		cls := b.node("Gather", "/bert/pooler/Gather", []string{x, b.scalarInt(0)}, "", intAttr("axis", 1))
		pooled := b.linear("/bert/pooler/dense", "bert.pooler.dense", m.Pooler, cls, "")
		pooled = b.node("Tanh", "/bert/pooler/activation/Tanh", []string{pooled}, PoolerOutput)
		outputs = append(outputs, valueInfo(PoolerOutput, typeFloat, batch, dim{value: H}))
		if m.Classifier != nil {
			b.linear("/classifier", "classifier", m.Classifier, pooled, Logits)
			outputs = append(outputs, valueInfo(Logits, typeFloat, batch, dim{value: int64(m.Classifier.Out)}))
		}
	}

	g := &message{}
	for _, n := range b.nodes {
		g.embed(1, n)
	}
	g.string(2, "edgenas_bert")
	for _, t := range b.inits {
		g.embed(5, t)
	}
	for _, v := range inputs {
		g.embed(11, v)
	}
	for _, v := range outputs {
		g.embed(12, v)
	}
	return g
}
