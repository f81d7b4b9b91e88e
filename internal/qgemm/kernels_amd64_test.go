package qgemm

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// TestQuantRowsU8 checks that the one-call row quantizer gives the bits of
// rowScale and quantRowU8 row by row, scales included, for row lengths
// around the 16-value step (masked tails), zero rows, rows of one large
// value, signed zeros and subnormals, that it writes nothing past a row's
// in values (the padding the caller owns), and that a row whose largest
// value is below MinAmax quantizes as a zero row (127/max|x| overflowed
// before, and such a row's tail got other bytes than its body), one just
// below it too, and one whose largest value is MinAmax does not.
func TestQuantRowsU8(t *testing.T) {
	if !avx512() {
		t.Skip("no AVX-512 on this machine")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, in := range []int{1, 7, 15, 16, 17, 31, 33, 64, 100, 128, 256, 1000} {
		t.Run(fmt.Sprint(in), func(t *testing.T) {
			const rows = 11
			ldx, lda := in+5, in+3
			x := randSlice(rng, rows*ldx, 3)
			clear(x[2*ldx : 2*ldx+in]) // a zero row
			x[3*ldx] = -1e30           // one value dwarfing the rest
			x[4*ldx] = float32(math.Copysign(0, -1))
			x[5*ldx+in-1] = 1e-40 // subnormal
			clear(x[6*ldx : 6*ldx+in])
			x[6*ldx+in-1] = float32(math.Copysign(1e-42, -1)) // only a negative subnormal
			for k := range in {
				// Row 9's largest value just below MinAmax (a zero row),
				// row 10's exactly MinAmax (it quantizes).
				f := float32(k+1) / float32(in)
				x[9*ldx+k] = math.Nextafter32(MinAmax, 0) * f
				x[10*ldx+k] = -MinAmax * f
			}
			got, want := make([]byte, rows*lda), make([]byte, rows*lda)
			for i := range got {
				got[i], want[i] = 0x5a, 0x5a
			}
			gotS, wantS := make([]float32, rows), make([]float32, rows)
			if !quantRowsU8(x, ldx, in, rows, got, lda, gotS) {
				t.Fatal("quantRowsU8 declined with AVX-512")
			}
			for i := range rows {
				var inv float32
				wantS[i], inv = rowScale(x[i*ldx : i*ldx+in])
				quantRowU8(x[i*ldx:i*ldx+in], inv, want[i*lda:i*lda+in])
			}
			if !slices.Equal(got, want) {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("byte %d (row %d, column %d): %#x, want %#x", i, i/lda, i%lda, got[i], want[i])
					}
				}
			}
			for i := range rows {
				if math.Float32bits(gotS[i]) != math.Float32bits(wantS[i]) {
					t.Fatalf("row %d: scale %v, want %v", i, gotS[i], wantS[i])
				}
			}
			// Rows 2, 6 and 9 count as zero (max|x| below MinAmax, where
			// 127/max|x| would overflow): scale 0, every value 128.
			for _, i := range []int{2, 6, 9} {
				if gotS[i] != 0 || !bytes.Equal(got[i*lda:i*lda+in], bytes.Repeat([]byte{128}, in)) {
					t.Fatalf("row %d (max %g): scale %v, values %v; want 0 and 128s", i, maxAbs(x[i*ldx:i*ldx+in]), gotS[i], got[i*lda:i*lda+in])
				}
			}
			if gotS[10] != MinAmax/127 {
				t.Fatalf("row 10 (max MinAmax): scale %v, want %v", gotS[10], float32(MinAmax/127))
			}
		})
	}
}
