package qgemm

import "golang.org/x/sys/cpu"

// kernels names the kernels this machine can run.
func kernels() map[string]int {
	ks := map[string]int{"go": kernGo}
	if b := bestKernel(); b >= kernAVX2 {
		ks["avx2"] = kernAVX2
		if b >= kernVNNI {
			ks["vnni"] = kernVNNI
		}
		if b >= kernVNNI && cpu.X86.HasAVX512GFNI {
			ks["vnni-gfni"] = kernVNNIGFNI
		}
		if b >= kernAMX {
			ks["amx"] = kernAMX
		}
	}
	return ks
}
