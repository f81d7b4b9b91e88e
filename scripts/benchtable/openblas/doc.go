// Package openblas binds the few OpenBLAS functions that the engine's GEMM
// comparison benchmark needs (internal/gemm/openblas_bench_test.go): a
// row-major cblas_sgemm and the threading and identification calls.
//
// It exists only because cgo cannot be used in _test.go files. The binding is
// compiled only with the build tag openblas (and cgo), so the module still
// builds as pure Go; without the tag the package is empty. It needs the
// OpenBLAS headers and library (Debian: apt-get install libopenblas-dev);
// scripts/bench.sh installs them.
//
// Concurrency: Sgemm may be called from several goroutines; SetNumThreads
// changes process-wide state.
package openblas
