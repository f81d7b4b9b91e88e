package qgemm

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestConcatInt8 checks that a Mul by ConcatInt8's weight equals the
// separate Muls by its parts bit for bit, on every kernel and with one and
// two threads, for parts that start on a panel boundary (copied whole) and
// parts that do not (copied value by value), and that its raw values and
// scales are the parts' in order.
func TestConcatInt8(t *testing.T) {
	for _, tc := range []struct {
		name string
		outs []int
		in   int
	}{
		{"aligned-qkv", []int{64, 64, 64}, 96},
		{"aligned-then-ragged", []int{32, 5, 40}, 70},
		{"ragged", []int{5, 33, 7}, 13},
		{"single", []int{45}, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(tc.outs)), uint64(tc.in)))
			var parts []*Int8
			var wantQ []int8
			var wantS []float32
			total := 0
			for _, out := range tc.outs {
				w, err := QuantizeInt8(randSlice(rng, out*tc.in, 0.1), out, tc.in)
				if err != nil {
					t.Fatal(err)
				}
				q, _, s, _ := w.Raw()
				wantQ, wantS = append(wantQ, q...), append(wantS, s...)
				parts = append(parts, w)
				total += out
			}
			c, err := ConcatInt8(parts...)
			if err != nil {
				t.Fatal(err)
			}
			if q, _, s, _ := c.Raw(); !slices.Equal(q, wantQ) || !slices.Equal(s, wantS) {
				t.Fatal("raw values or scales differ from the parts'")
			}
			const m = 17
			x := randSlice(rng, m*tc.in, 1)
			bias := randSlice(rng, total, 1)
			for kname, k := range kernels() {
				for _, threads := range []int{1, 2} {
					withKernel(k, func() {
						ws := Workspace{Threads: threads}
						got := make([]float32, m*total)
						ws.Mul(m, x, tc.in, c, bias, got, total)
						want := make([]float32, m*total)
						n0 := 0
						for _, p := range parts {
							ws.Mul(m, x, tc.in, p, bias[n0:n0+p.Out()], want[n0:], total)
							n0 += p.Out()
						}
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s, %d threads: c[%d] = %v, separate products give %v", kname, threads, i, got[i], want[i])
							}
						}
					})
				}
			}
		})
	}
}

func TestConcatInt8Errors(t *testing.T) {
	a, err := QuantizeInt8(make([]float32, 4*8), 4, 8)
	if err != nil {
		t.Fatal(err)
	}
	b, err := QuantizeInt8(make([]float32, 4*6), 4, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ws   []*Int8
	}{
		{"none", nil},
		{"different-in", []*Int8{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ConcatInt8(tc.ws...); !errors.Is(err, ErrShape) {
				t.Fatalf("err = %v, want ErrShape", err)
			}
		})
	}
}
