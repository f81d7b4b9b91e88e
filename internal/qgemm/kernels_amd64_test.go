package qgemm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

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

func TestKernelFor(t *testing.T) {
	vnni := vnniKernel()
	cases := []struct {
		name      string
		int4      bool
		group, in int
		m, want   int
	}{
		{"int8 in 64", false, 0, 64, 1, kernAMX},
		{"int8 in 100", false, 0, 100, 128, vnni},
		{"int4 g64 amx4Rows rows", true, 64, 256, amx4Rows, kernAMX},
		{"int4 g128 many rows", true, 128, 1024, 128, kernAMX},
		{"int4 one row fewer", true, 64, 256, amx4Rows - 1, vnni},
		{"int4 one row", true, 64, 256, 1, vnni},
		{"int4 g32", true, 32, 256, 128, vnni},
		{"int4 in 96", true, 64, 96, 128, vnni},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &packing{int4: tc.int4, group: tc.group, in: tc.in}
			withKernel(kernAMX, func() {
				if got := kernelFor(p, tc.m); got != tc.want {
					t.Errorf("kernelFor = %d, want %d", got, tc.want)
				}
			})
		})
	}
}

func TestUnpack4(t *testing.T) {
	if bestKernel() < kernVNNI {
		t.Skip("no AVX512-VNNI")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, steps := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("steps%d", steps), func(t *testing.T) {
			src := make([]byte, steps*chunk/2)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			want, got := make([]byte, steps*chunk), make([]byte, steps*chunk)
			unpack4Go(want, src)
			withKernel(kernVNNI, func() { unpack4(got, src) })
			if !bytes.Equal(got, want) {
				t.Fatalf("unpack4 = %v, want %v", got, want)
			}
		})
	}
}
