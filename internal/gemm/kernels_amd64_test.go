package gemm

import "golang.org/x/sys/cpu"

// kernels names the micro-kernels this machine can run.
func kernels() map[string]int {
	ks := map[string]int{"go": kernGo}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks["avx2"] = kernAVX2
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks["avx512"] = kernAVX512
	}
	return ks
}
