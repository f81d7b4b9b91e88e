package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// rowsRef quantizes the out×in matrix whose (n, k) value is at(n, k) per
// row by the documented activation rule (quantX) and returns it as an
// Int8 built from its raw tensors.
func rowsRef(t *testing.T, out, in int, at func(n, k int) float32) *Int8 {
	t.Helper()
	q := make([]int8, out*in)
	scales := make([]float32, out)
	row := make([]float32, in)
	for n := 0; n < out; n++ {
		for k := range row {
			row[k] = at(n, k)
		}
		xq, s := quantX(row)
		for k, v := range xq {
			q[n*in+k] = int8(v)
		}
		scales[n] = s
	}
	w, err := Int8FromRaw(q, []int{out, in}, scales, []int{out})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestSetRowsCols checks SetRows and SetCols against weights built from
// the documented quantization of the same matrix: the same raw values and
// scales, and Mul results equal bit for bit on every kernel, including
// after the weight was remade from a larger shape (stale memory cleared),
// with all-zero rows and rows whose largest value is just below and at
// MinAmax, at shapes that are not multiples of the panel and
// K-step sizes, and on every column path (widths not multiples of 16).
func TestSetRowsCols(t *testing.T) {
	shapes := [][2]int{{128, 64}, {64, 128}, {33, 17}, {5, 3}, {1, 1}, {40, 100}, {48, 130}, {16, 4}, {33, 32}, {5, 16}}
	var rows, cols Int8 // reused across shapes
	for _, sh := range shapes {
		out, in := sh[0], sh[1]
		t.Run(fmt.Sprintf("%dx%d", out, in), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(out), uint64(in)))
			ld := max(out, in) + 3
			x := randSlice(rng, ld*ld, 1)
			for k := 0; k < in; k++ {
				x[2*ld+k] = 0 // an all-zero row of the row-wise matrix
				if out > 4 {
					// Row 3's largest value just below MinAmax (it counts
					// as zero), row 4's exactly MinAmax (it quantizes).
					f := float32(k+1) / float32(in)
					x[3*ld+k] = math.Nextafter32(MinAmax, 0) * f
					x[4*ld+k] = -MinAmax * f
				}
			}
			for k := 0; k < in && out > 1; k++ {
				x[k*ld+1] = 0 // an all-zero column of the column-wise one
			}
			refRows := rowsRef(t, out, in, func(n, k int) float32 { return x[n*ld+k] })
			refCols := rowsRef(t, out, in, func(n, k int) float32 { return x[k*ld+n] })
			const m = 13
			a := randSlice(rng, m*in, 1)
			for kname, k := range kernels() {
				withKernel(k, func() {
					rows.SetRows(out, in, x, ld)
					cols.SetCols(out, in, x, ld)
					for _, tc := range []struct {
						name      string
						got, want *Int8
					}{{"rows", &rows, refRows}, {"cols", &cols, refCols}} {
						gq, _, gs, _ := tc.got.Raw()
						wq, _, ws, _ := tc.want.Raw()
						if !slices.Equal(gq, wq) || !slices.Equal(gs, ws) {
							t.Fatalf("%s, %s kernel: raw values or scales differ from the reference quantization", tc.name, kname)
						}
						var wsp Workspace
						got, want := make([]float32, m*out), make([]float32, m*out)
						wsp.Mul(m, a, in, tc.got, nil, got, out)
						wsp.Mul(m, a, in, tc.want, nil, want, out)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s, %s kernel: c[%d] = %v, reference weight gives %v", tc.name, kname, i, got[i], want[i])
							}
						}
					}
				})
			}
		})
	}
}

// TestSetRowsColsAllocs checks that remaking a weight at a shape no larger
// than before allocates nothing.
func TestSetRowsColsAllocs(t *testing.T) {
	x := randSlice(rand.New(rand.NewPCG(1, 2)), 128*200, 1)
	var w Int8
	w.SetRows(128, 64, x, 200)
	w.SetCols(64, 128, x, 200)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"rows", func() { w.SetRows(128, 64, x, 200) }},
		{"cols", func() { w.SetCols(64, 128, x, 200) }},
		{"smaller", func() { w.SetCols(33, 20, x, 200) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := testing.AllocsPerRun(5, tc.f); a != 0 {
				t.Fatalf("%v allocations", a)
			}
		})
	}
}

func TestSetRowsPanics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out, in int
	}{
		{"zero-out", 0, 4},
		{"zero-in", 4, 0},
		{"in-too-large", 1, MaxIn + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			var w Int8
			w.SetRows(tc.out, tc.in, make([]float32, 16), 4)
		})
	}
}

func TestSumBytes(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 2047, 2048, 2049, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := make([]byte, n)
			var want int32
			for i := range b {
				b[i] = byte(255 - i%7)
				want += int32(b[i])
			}
			if got := sumBytes(b); got != want {
				t.Fatalf("sumBytes = %d, want %d", got, want)
			}
		})
	}
}
