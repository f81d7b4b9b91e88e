//go:build !amd64 && !arm64

package gemm

// kernels names the micro-kernels this machine can run.
func kernels() map[string]int { return map[string]int{"go": kernGo} }
