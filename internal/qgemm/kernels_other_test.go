//go:build !amd64 && !arm64

package qgemm

// kernels names the kernels this machine can run: the portable one.
func kernels() map[string]int { return map[string]int{"go": kernGo} }
