package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// kernels names the micro-kernels this machine can run.
func kernels() map[string]int {
	ks := map[string]int{"go": kernGo}
	if cpu.ARM64.HasASIMD {
		ks["neon"] = kernNEON
	}
	return ks
}

// TestNEONMatchesGoBitForBit checks the assembly against kernelGo bit for
// bit: on arm64 the compiler fuses kernelGo's s += a·b into FMADD, the
// operation FMLA performs, in the same order over k.
func TestNEONMatchesGoBitForBit(t *testing.T) {
	if !cpu.ARM64.HasASIMD {
		t.Skip("no ASIMD")
	}
	for _, c := range []struct {
		name       string
		kcb, tiles int
		acc        bool
	}{
		{"one step", 1, 1, false},
		{"one tile", 37, 1, false},
		{"three tiles", 256, 3, false},
		{"accumulate", 100, 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.kcb), uint64(c.tiles)))
			lda, ldc := c.kcb+5, nr+3
			a := randSlice(rng, (6*c.tiles-1)*lda+c.kcb) // the last row ends at its last column
			b := randSlice(rng, c.kcb*nr)
			c0 := randSlice(rng, (6*c.tiles-1)*ldc+nr)
			want, got := slices.Clone(c0), slices.Clone(c0)
			kernelGoTiles(c.kcb, a, lda, b, want, ldc, c.acc, c.tiles)
			kernel6x16NEON(c.kcb, &a[0], lda, &b[0], &got[0], ldc, c.acc, c.tiles)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("element %d (row %d, column %d): assembly %v, Go %v", i, i/ldc, i%ldc, got[i], want[i])
				}
			}
		})
	}
}
