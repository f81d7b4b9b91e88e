package qgemm

// kernels names the kernels this machine can run.
func kernels() map[string]int {
	ks := map[string]int{"go": kernGo}
	if b := bestKernel(); b >= kernAVX2 {
		ks["avx2"] = kernAVX2
		if b >= kernVNNI {
			ks["vnni"] = kernVNNI
		}
		if b >= kernVNNIGFNI {
			ks["vnni-gfni"] = kernVNNIGFNI
		}
	}
	return ks
}
