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
//     MatMul + Add projections, Reshape and Transpose into heads, MatMul,
//     Mul by 1/√head_size, Add of the mask term (1−mask)·(−1e9) broadcast
//     over [batch, 1, 1, sequence] so that padded keys get probability 0,
//     Softmax on the last axis, MatMul, Transpose and Reshape back; in
//     layers with int8 weights, whose attention the engine runs in int8
//     (transformer.Layer.Int8Attention), the engine's products instead:
//     queries per row, keys per key, values per feature and the
//     unnormalized probabilities e^(s−max) per row quantized in float
//     (Round(x·127/max|x|), scale max|x|/127, zero rows 0, via Abs,
//     ReduceMax, Div, Equal, Where, Mul and Round), MatMuls of the
//     integer-valued matrices (exact in float32) multiplied by the scales
//     in qgemm's order, and the norm 1/Σe (ReduceSum in double,
//     Reciprocal) applied to P·V, so that ONNX Runtime gives the engine's
//     attention to within rounding;
//   - residual Add and LayerNormalization after attention and after the
//     feed-forward block, whose activation is hidden_act: exact GELU with Erf
//     ("gelu"), the tanh approximation ("gelu_new", "gelu_pytorch_tanh"), or
//     Relu;
//   - pooler: Gather of position 0, MatMul + Add, Tanh; classifier: MatMul +
//     Add.
//
// Parameters are initializers in float32, stored little-endian in raw_data,
// under their Hugging Face names (transformer.Model.Params). Linear weights
// are stored transposed, [in, out], and their names end in TransposedSuffix;
// embedding tables, biases and LayerNorm parameters keep the Hugging Face
// layout. Small constants (shapes, scalars) are Constant nodes, so the
// initializers are exactly the model's parameters. Nodes are in topological
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
