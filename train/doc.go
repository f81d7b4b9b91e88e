// Package train owns learning: the backward pass of the BERT encoder, the
// training objectives (sequence classification, masked LM, TinyBERT-style
// distillation), fake quantization with a straight-through estimator, the
// optimizer, the data pipeline and the training loop, and gradients for
// the importance scores that compress uses. The demo task generator lives
// in the subpackage demotask.
//
// # Forward and backward
//
// A Net wraps a *transformer.Model and runs training-time passes: its
// forward pass computes the same outputs as (*transformer.Model).Forward
// (within float32 rounding; tests hold it to 1e-5) and keeps every
// activation the backward pass needs. Each step (ClassifyStep, MLMStep,
// DistillStep) runs forward and backward and ADDS the gradient of its loss
// into an accumulator with the model's shapes (NewGrads), visited in
// lockstep with the model by Params; zeroing it between optimizer updates
// is the caller's job. Matrix products go through internal/gemm (weights
// are packed afresh at every product, so an optimizer may change them
// between steps without telling the Net); element-wise work goes through
// internal/vec where it has the function.
//
// Because steps only ever add into the accumulator, a model whose layers
// alias the same weight slices (ALBERT-style sharing) gets the correct
// summed gradient, since NewGrads aliases the accumulator's slices the same
// way.
//
// A Net trains float32 students: dense, low-rank (a Linear's factors U and
// V run as the engine's two thin products, and get their own gradients,
// which the optimizer updates through Params) and with a factorized word
// table and its projection. Students stored in 16, 8 or 4 bits are
// refused; they are recovered by training the float student under fake
// quantization (SetFakeQuant, which rounds low-rank factors too) and then
// quantizing it (QuantizeWeights, then storing it at the wanted bits).
//
// # Masked-LM pretraining
//
// A Config with a pretrain section makes Run pretrain the encoder first:
// text from raw files (ReadText) or TSV files, BERT's corruption (Masker),
// MLMStep with an MLMHead whose decoder is tied to the word embeddings, and
// an AdamW of its own over the encoder and the head. The stage checkpoints
// to run_dir/pretrain (kept at the end: the pretrained encoder and
// mlm_head.safetensors); the classification stage starts from that encoder
// with a fresh pooler and classifier.
//
// # Importance scores
//
// ImportanceStep and Importance compute the head, FFN-neuron and layer
// scores of Michel et al. (2019) that compress prunes by: per example,
// |∂L/∂ξ| of a gate ξ on each unit (see importance.go for the definitions,
// the layer gate included), summed over examples, unnormalized by default
// (NormalizeL2 gives the paper's per-layer normalization). L is the
// cross-entropy against the labels, or against the model's own argmax for
// unlabelled data. These passes compute no parameter gradient.
//
// # Errors
//
// Bad input (a malformed batch, labels or targets out of range, a model
// without the head an objective needs) returns an error wrapping ErrInput;
// accumulators, heads and teachers whose shapes do not fit return errors
// wrapping ErrShape. Nothing panics on bad input, and a step that returns
// an error has added nothing.
//
// # Concurrency
//
// A Net is not safe for concurrent use: it owns its activation buffers.
// Its matrix products and attention run on up to the threads given to
// NewNet; losses and gradients are bit-identical whatever that count.
// Several Nets may share one read-only model (a teacher, for example) on
// different goroutines; no Net writes the model it wraps.
package train
