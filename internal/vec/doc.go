// Package vec owns the engine's float32 element-wise and row-wise kernels:
// the exponential, masked softmax, the activations (exact GELU, tanh GELU,
// ReLU, tanh), bias addition fused with an activation, LayerNorm and its
// fusion with the residual and bias after a projection, and the small
// BLAS-1 helpers Dot, Axpy and Scale. Matrix products live in
// internal/gemm.
//
// # Implementations
//
// On amd64 with AVX2 and FMA (detected at run time with
// golang.org/x/sys/cpu) Go-assembly kernels run, 8 lanes at a time with a
// masked final step, so any length is handled without scalar tails; GELU
// runs 16 lanes at a time with AVX-512 (F and DQ) where the CPU has it,
// as x·Φ(x) with Φ read from a table of polynomial pieces held in
// registers (below), 1.7× faster than the erf polynomials on 16 lanes. On arm64, ASIMD assembly
// runs Exp, GELU (with or without bias), AddBias, softmax and LayerNorm
// four lanes at a time (GELU and Exp eight, as two independent sets),
// the last n mod 4 elements through the portable code; Exp and GELU are
// bit-identical to the portable code there, whose multiply-adds the
// compiler fuses as the assembly does. Every other kernel on arm64, every
// other architecture, and amd64 without AVX2 and FMA, run portable Go
// that evaluates the same approximations one element at a time; the
// package builds with CGO_ENABLED=0 for any GOARCH.
//
// # Approximations and accuracy
//
// The transcendental functions are polynomial approximations in float32
// (coefficients fitted for this package by a minimax/Remez fit, see
// consts.go), not calls to package math. The errors below were measured
// against float64 math on every float32 of the range given (go test
// -vec.exhaustive), on both the assembly and the portable code; the tests
// assert the bounds in brackets.
//
//   - Exp: x = n·ln2 + r with a Cody–Waite split of ln2, a degree-6
//     polynomial for e^r on [-ln2/2, ln2/2], and 2ⁿ added into the
//     exponent bits. Over [-88, 89]: ≤ 1.06 ulp (assembly, and portable
//     code where the compiler fuses multiply-adds), ≤ 1.33 ulp (portable
//     code without fused multiply-adds) [2 ulp]. Results below the smallest
//     normal float32 (x < -87.3365) are flushed to +0; x > 88.7228 gives
//     +Inf; NaN gives NaN.
//   - GELU: erf(z) = z·S(z²) for |z| < 0.921875, else 1-e^{B(|z|)}
//     (B ≈ ln erfc) up to |z| = 3.925, beyond which erf rounds to ±1: the
//     scheme of ONNX Runtime's MLAS erf kernel, with coefficients of our
//     own. erf's absolute error is ≤ 1.9e-7 over [-6, 6] [1e-6]. 1+erf is
//     formed from erfc where that is exact, so GELU's negative tail does
//     not cancel. GELU over [-10, 10]: absolute error ≤ 4.1e-7
//     [0.5e-6·max(1,|x|) + 2 ulp]. The AVX-512 kernel instead computes
//     x·Φ(x) with Φ from 32 quintic pieces on [-6, 6) (interpolating Φ
//     at Chebyshev points, fitted when the package loads; two-table
//     permutes pick each coefficient from registers), Φ = 0 below and 1
//     above: absolute error ≤ 5.3e-7 over [-10, 10] [the same bound],
//     within 4 ulp or 1e-7 of the portable code.
//   - GELUTanh is evaluated as x/(1+e^{-2u}), which equals
//     0.5·x·(1+tanh u). Over [-10, 10]: absolute error ≤ 5.2e-7 [as GELU].
//   - Tanh: an odd polynomial for |x| < 0.625, copysign(1-2/(e^{2|x|}+1), x)
//     above. Over [-10, 10]: absolute error ≤ 8.2e-8 [1e-6 + 2 ulp].
//   - SoftmaxMasked subtracts the row maximum, sums in float64 and
//     multiplies by the reciprocal: entries within 2.7e-7 relative of the
//     float64 softmax, rows summing to 1 within 6.1e-8 [1e-6 each].
//   - LayerNorm computes the mean and then, in a second pass, the
//     deviations from it together with their sum, which corrects the mean
//     (the "corrected two-pass" algorithm): rows with a large common offset
//     (1000 + N(0,1), -5000 + N(0,0.01), up to 4096 wide) normalize to
//     within 1.3e-6 of a float64 reference [1e-4]. The portable code
//     accumulates in float64.
//
// The assembly and the portable code may differ in the last bits (fused
// versus separate multiply-adds, summation order) but both meet the bounds
// above, which the tests check on dense sweeps, on every tail length and,
// with -vec.exhaustive, on every float32 in the interesting ranges.
//
// # Concurrency and memory
//
// Every function is safe for concurrent use on distinct slices; none
// allocates. Functions that write in place require that their output not
// overlap their other inputs, except that Exp's dst may be x itself.
// Lengths that do not fit are programmer errors and panic with a message
// naming the function.
package vec
