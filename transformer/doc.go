// Package transformer is the inference engine of edgenas: a BERT encoder
// (embeddings, multi-head self-attention with the padding mask, FFN with
// GELU or ReLU, pooler, sequence-classification head). Each Linear is dense
// or low-rank (two thin factors) and stored in float32, half precision,
// int8 or int4 (Linear, Store); the word embeddings may be factorized
// (ALBERT) and stored in 16, 8 or 4 bits. int8 and int4 products run on
// internal/qgemm with per-token activation quantization. In layers with
// int8 or int4 weights, attention's two products are int8: each head's keys
// are quantized per key and its values per feature (qgemm's SetRows and
// SetCols), the queries and the softmax numerators per row as every
// activation is; the query, key and value weights form one product, so
// the layer input of an int8 layer is quantized once. (On the demo task
// this moved dev accuracy of int8 models by at most ±0.2 points, and of
// int4 students by at most ±0.12 points, one example, on the demo and
// SST-2 tasks.)
//
// It reads and writes checkpoints as users have them: Hugging Face
// config.json (BertConfig, plus an optional "edgenas" section for students
// whose layers differ in head count and FFN width) and model.safetensors
// (F32, F16, BF16; subpackage safetensors). Text becomes ids with the
// WordPiece tokenizer of subpackage tokenizer, and any model exports to ONNX
// with subpackage onnx.
//
// Every matrix product goes through internal/gemm (weights packed once by
// Prepare, cache-blocked, an AVX2/FMA micro-kernel on amd64, pure Go
// elsewhere) and every element-wise step through internal/vec, so kernels
// change without touching model code. A Session runs repeated forward passes
// without allocating, on a configurable number of threads (1 by default;
// results are identical whatever the count): one internal/par pool of
// that many goroutines runs every step of a pass, split by tokens (the
// embeddings, bias, activation and LayerNorm steps), by (sequence, head)
// (attention) or by output panels (the matrix products, whose activation
// quantization is split by tokens).
//
// Concurrency: a *Model is read-only during Forward; any number of
// goroutines may run Forward (or their own Sessions) on one model at once.
// Prepare must not run concurrently with a forward pass. Load, Save and the
// constructors are safe to call concurrently on distinct models.
package transformer
