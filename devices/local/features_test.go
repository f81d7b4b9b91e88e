package local

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestFeaturesNameTheKernelChoice checks that the fingerprint's feature
// list names every extension the kernels choose between on this machine,
// so that measurements taken with different kernels never share a
// fingerprint.
func TestFeaturesNameTheKernelChoice(t *testing.T) {
	got := strings.Split(Features(), "+")
	cases := []struct {
		name    string
		arch    string
		has     bool
		feature string
	}{
		{"amd64 AVX2", "amd64", cpu.X86.HasAVX2, "avx2"},
		{"amd64 AVX-512", "amd64", cpu.X86.HasAVX512F, "avx512f"},
		{"arm64 ASIMD", "arm64", cpu.ARM64.HasASIMD, "asimd"},
		{"arm64 dot product", "arm64", cpu.ARM64.HasASIMDDP, "asimddp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if runtime.GOARCH != c.arch {
				t.Skipf("not %s", c.arch)
			}
			if in := slices.Contains(got, c.feature); in != c.has {
				t.Fatalf("Features() = %q: %q listed = %v, CPU has it = %v", Features(), c.feature, in, c.has)
			}
		})
	}
}
