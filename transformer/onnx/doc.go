// Package onnx exports a transformer.Model as an ONNX model, the deployment
// format of every edgenas student, so that ONNX Runtime and other ONNX
// engines run it with the same results as the edgenas engine.
//
// # What it owns
//
// Export and ExportFile, and the protocol buffer encoding of the ONNX
// ModelProto, written by hand (varints, length-delimited and packed fields)
// so that the package depends on nothing but the standard library and
// builds with CGO_ENABLED=0. Weights are streamed from the model into the
// writer and are never copied whole.
//
// # The model written
//
// IR version 8, operator set 17 of the default domain, producer "edgenas",
// and the model's config.json under the metadata key MetadataConfig.
//
// Inputs are input_ids, attention_mask and token_type_ids, int64 of shape
// [batch, sequence] (symbolic dimensions "batch" and "sequence"). Outputs are
// last_hidden_state, float [batch, sequence, hidden]; pooler_output, float
// [batch, hidden], when the model has a pooler; and logits, float [batch,
// num_labels], when it has a pooler and a classifier (the engine computes
// logits from the pooled output, so a classifier without a pooler is not
// exported).
//
// The graph follows transformer.Model.Forward operation by operation:
//
//   - embeddings: Gather of the word, position (positions 0..sequence-1, from
//     Shape and Range) and token-type tables, Add, LayerNormalization;
//   - attention, per layer with that layer's own head count and head size:
//     the query, key and value projections (Linears, below), Reshape and
//     Transpose into heads, MatMul, Mul by 1/√head_size, Add of the mask
//     term (1−mask)·(−1e9) broadcast over [batch, 1, 1, sequence] so that
//     padded keys get probability 0, Softmax on the last axis, MatMul,
//     Transpose and Reshape back; in layers with int8 or int4 weights,
//     whose attention the engine runs in int8
//     (transformer.Layer.Int8Attention), the engine's products instead:
//     queries per row, keys per key, values per feature and the
//     unnormalized probabilities e^(s−max) per row quantized as the engine
//     quantizes activations (below), exact MatMulIntegers cast to float and
//     multiplied by the scales in qgemm's order, and the norm 1/Σe
//     (ReduceSum in double, Reciprocal) applied to P·V, so that ONNX
//     Runtime gives the engine's attention to within rounding;
//   - residual Add and LayerNormalization after attention and after the
//     feed-forward block, whose activation is hidden_act: exact GELU with Erf
//     ("gelu"), the tanh approximation ("gelu_new", "gelu_pytorch_tanh"), or
//     Relu;
//   - pooler: Gather of position 0, MatMul + Add, Tanh; classifier: MatMul +
//     Add.
//
// Linears are x·Wᵀ + b: a MatMul by the float weight and an Add of the
// bias; low-rank ones are two products through their factors (x·Vᵀ·Uᵀ),
// each in its own storage. Int8 and int4 products are the engine's
// (qgemm, "The product"): the activations are quantized per row as the
// engine does, xq = Round(x·(127/max|x|)) (half to even; 0 for a zero
// row) with the scale max|x|/127, via Abs, ReduceMax, Div, Equal, Where,
// Mul and QuantizeLinear with scale 1 and zero point 128 into UINT8
// (xq+128; one quantization shared by the query, key and value
// projections, as the engine's fused product does); then an exact int32
// MatMulInteger with zero point 128 by the INT8 weight, Cast to float
// (the engine's float32 of its sum), Mul by the weight's per-column
// scales, Mul by the row scales, Add of the bias. Int4 weights (opset 17
// has no int4 type) are widened to INT8, [groups, group, out], In padded
// with zeros to whole groups (Pad of the activations with their zero
// point); each group's product is a MatMulInteger of a Slice of the
// activations by a Gather of the group's weights (constant, so ONNX
// Runtime folds and prepacks it), cast and multiplied by the group's
// scales, and the groups are summed by Adds in order, as the engine does.
// So ONNX Runtime computes the engine's integers and the engine's float32
// operations on them; what remains are last-bit differences of the float
// operators (LayerNormalization, Erf, Exp) from the engine's, which round
// a few of the about 10⁶ quantized activations of a BERT-mini forward the
// other way (a value within a rounding error of a half), each moving the
// outputs it reaches by one quantization step. uint8 × int8 is what ONNX
// Runtime's CPU kernels (and its own DynamicQuantizeMatMul) run fast: int8
// × int8 activations made the int8 BERT-mini at seq 128 six times slower
// (31 ms against 5.1 ms) in ONNX Runtime 1.30 on an Intel Xeon with AMX.
//
// Parameters are initializers stored little-endian in raw_data, under
// their Hugging Face names (transformer.Model.Params), in float32 but for
// quantized weights: INT8 values NAME.int8 with float32 scales NAME.scale.
// Linear weights are stored transposed, [in, out], and their names end in
// TransposedSuffix; embedding tables, biases and LayerNorm parameters keep
// the Hugging Face layout. Small constants (shapes, scalars, zero points)
// are Constant nodes, so the initializers are exactly the model's
// parameters. Nodes are in topological
// order and have unique names modeled on those of torch.onnx.
//
// # Errors
//
// A model whose tensors disagree with its shapes or with its config (which
// the file carries) is rejected with an error wrapping ErrInvalidModel,
// listing every problem, before anything is written; a model too big for one
// protocol buffer message gives ErrTooLarge. Errors of the writer are
// returned as they are, and ExportFile's errors name the file.
//
// # Concurrency
//
// Export and ExportFile only read the model; any number may run at once, on
// the same model too, provided nothing writes the model meanwhile.
//
// # Testing against ONNX Runtime
//
// The test TestMatchesONNXRuntime, behind the build tag "ort", runs the
// exported models in ONNX Runtime (cgo) and compares their outputs with the
// engine's. It needs the ONNX Runtime shared library, whose path it reads
// from EDGENAS_ORT_LIB; scripts/ort-setup.sh installs it and prints the path:
//
//	EDGENAS_ORT_LIB=$(scripts/ort-setup.sh) CGO_ENABLED=1 \
//		go test -tags ort -run ONNXRuntime ./transformer/onnx/
package onnx
