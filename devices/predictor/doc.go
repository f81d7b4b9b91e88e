// Package predictor predicts a student's latency on one device from its
// architecture, without building it: a linear model fitted on measured
// (architecture, latency) pairs of that device (one fingerprint, one
// workload), on features that explain cost, computed from the space.Arch
// and the teacher's dimensions alone:
//
//   - per kernel kind (float: fp32 and fp16 weights, which run as fp32;
//     int8; int4) the multiply-accumulates of the dense products, those of
//     the low-rank products (two thin products each), the number of
//     products, the input activations quantized and the bytes of weights
//     read;
//   - attention: score and context multiply-accumulates (heads × seq²),
//     softmax elements and head count;
//   - element-wise work (GELU over the FFN, layer norms and residuals per
//     layer), the number of layers, the weights shared between layers;
//   - the embedding form: the factorized projection's multiply-accumulates
//     and the bytes of the word rows looked up, per bit width;
//   - per-operation lookup entries: each distinct attention block (heads,
//     rank, bit width, sequence length), FFN block (neurons, rank, bit
//     width, sequence length) and embedding form, counted, so the fit can
//     learn what the analytic features miss for shapes it has measured.
//
// Fit minimizes the squared relative error (each sample weighted by the
// inverse of its latency) with a ridge penalty on standardized features,
// the lookup entries penalized harder than the analytic features, both
// strengths chosen by k-fold cross-validation on the samples given.
// Holdout fits on a seeded share of the samples and reports the relative
// errors on the rest.
//
// A Predictor is immutable once fitted and safe for concurrent use;
// refitting as measurements accrue means calling Fit again.
package predictor
