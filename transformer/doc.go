// Package transformer is the inference engine of edgenas: a BERT encoder
// (embeddings, multi-head self-attention with the padding mask, FFN with
// GELU or ReLU, pooler, sequence-classification head) over float32 weights.
//
// It reads and writes checkpoints as users have them: Hugging Face
// config.json (BertConfig, plus an optional "edgenas" section for students
// whose layers differ in head count and FFN width) and model.safetensors
// (F32, F16, BF16; subpackage safetensors). Text becomes ids with the
// WordPiece tokenizer of subpackage tokenizer, and any model exports to ONNX
// with subpackage onnx.
//
// Every matrix product goes through one internal function, matmul, so faster
// kernels change nothing else.
//
// Concurrency: a *Model is read-only during Forward; any number of
// goroutines may run Forward on one model at once. Load, Save and the
// constructors are safe to call concurrently on distinct models.
package transformer
