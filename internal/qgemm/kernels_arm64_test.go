package qgemm

import "golang.org/x/sys/cpu"

// kernels names the kernels this machine can run.
func kernels() map[string]int {
	ks := map[string]int{"go": kernGo}
	if cpu.ARM64.HasASIMD {
		ks["neon"] = kernNEON
		if cpu.ARM64.HasASIMDDP {
			ks["sdot"] = kernDot
		}
	}
	return ks
}
