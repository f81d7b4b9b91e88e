// Package gemm is the engine's single-precision matrix product: C = A·B with
// B packed once (weights are packed at load time) into panels that the
// micro-kernel streams, and cache blocking over K.
//
// On amd64 with AVX2 and FMA a Go-assembly 6×16 micro-kernel runs; every
// other architecture (and amd64 without AVX2) runs the same blocking with a
// pure-Go micro-kernel, so CGO_ENABLED=0 cross builds work unchanged.
//
// Results do not depend on the thread count: every element of C is computed
// by the same sequence of operations whichever thread computes it.
//
// Concurrency: a *Packed is read-only after Pack and may be shared. A
// *Workspace holds scratch memory and must not be used by two goroutines at
// once; give each goroutine its own.
package gemm
