package qgemm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/internal/par"
)

func randSlice(rng *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * scale)
	}
	return s
}

// withKernel runs f with kernel k selected.
func withKernel(k int, f func()) {
	old := kern
	kern = k
	defer func() { kern = old }()
	f()
}

// quantX is the documented activation quantization, written independently.
func quantX(x []float32) (q []int32, scale float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	q = make([]int32, len(x))
	if amax < 0x1p-121 { // a row below MinAmax counts as zero
		return q, 0
	}
	inv := 127 / amax
	for i, v := range x {
		q[i] = int32(math.RoundToEven(float64(float32(v * inv))))
	}
	return q, amax / 127
}

// refExact computes the documented float32 operations of Mul in plain Go
// from the raw quantized values: results must match bit for bit.
// ref64 is the same math in float64 (exact integer sums, float64 scaling).
func refExact(m int, x []float32, ldx int, w Weights, bias []float32) (exact []float32, r64 []float64) {
	out, in := w.Out(), w.In()
	var wq []int8
	var sw []float32
	group := in
	switch w := w.(type) {
	case *Int8:
		wq, _, sw, _ = w.Raw()
	case *Int4:
		packed, _, scales, _ := w.Raw()
		group = w.Group()
		sw = scales
		wq = make([]int8, out*in)
		for n := 0; n < out; n++ {
			for k := 0; k < in; k++ {
				b := packed[n*((in+1)/2)+k/2] >> (4 * (k % 2))
				wq[n*in+k] = int8(b<<4) >> 4
			}
		}
	}
	groups := (in + group - 1) / group
	exact = make([]float32, m*out)
	r64 = make([]float64, m*out)
	for i := 0; i < m; i++ {
		xq, sx := quantX(x[i*ldx : i*ldx+in])
		for n := 0; n < out; n++ {
			var t float32
			var t64 float64
			for g := 0; g < groups; g++ {
				var acc int32
				for k := g * group; k < min(in, (g+1)*group); k++ {
					acc += xq[k] * int32(wq[n*in+k])
				}
				s := sw[n*groups+g]
				u := float32(float32(acc) * s)
				if g == 0 {
					t = u
				} else {
					t += u
				}
				t64 += float64(acc) * float64(s)
			}
			var b float32
			if bias != nil {
				b = bias[n]
			}
			exact[i*out+n] = float32(t*sx) + b
			r64[i*out+n] = t64*float64(sx) + float64(b)
		}
	}
	return exact, r64
}

type mkWeights func(w []float32, out, in int) (Weights, error)

func formats() map[string]mkWeights {
	fs := map[string]mkWeights{
		"int8": func(w []float32, out, in int) (Weights, error) { return QuantizeInt8(w, out, in) },
	}
	for _, g := range []int{32, 64, 128} {
		fs[fmt.Sprintf("int4g%d", g)] = func(w []float32, out, in int) (Weights, error) { return QuantizeInt4(w, out, in, g) }
	}
	return fs
}

func TestMulMatchesReference(t *testing.T) {
	shapes := [][3]int{ // m, out, in
		{1, 1, 1}, {1, 32, 4}, {12, 32, 64}, {13, 33, 65}, {7, 5, 3}, {5, 70, 130},
		{25, 64, 256}, {11, 31, 100}, {3, 96, 257}, {24, 40, 129}, {12, 32, 1}, {1, 200, 33},
		{30, 65, 300}, {6, 8, 8},
		// AMX-sized In (multiples of 64 up to amxMaxIn): partial row
		// blocks and panels, and In just above the limit.
		{13, 33, 64}, {40, 70, 128}, {33, 45, 192}, {64, 64, 768}, {5, 40, 832},
		{130, 64, 160}, {37, 70, 515}, // enough activations and multiply-adds to use several threads
		// AMX products split by row blocks (splitRows) on 2 and 3 threads,
		// the last block partial, and by panels on 3.
		{100, 40, 256}, {130, 96, 128},
		{16, 40, 100}, {14, 64, 70}, // a full tile, then the last rows in a 4-row tile
		// Int4 on AMX (amx4Rows rows or more): runs of amx4Groups groups
		// with a short last group or run, odd row and column tails, and
		// one row fewer than amx4Rows (VNNI).
		{24, 33, 576}, {23, 31, 64}, {70, 97, 1088}, {97, 65, 320},
	}
	pool := par.New(2) // shared, as a Session shares it
	workspaces := []struct {
		name string
		ws   func() *Workspace
	}{
		{"threads1", func() *Workspace { return &Workspace{Threads: 1} }},
		{"threads2", func() *Workspace { return &Workspace{Threads: 2} }},
		{"threads3", func() *Workspace { return &Workspace{Threads: 3} }},
		{"pool2", func() *Workspace { return &Workspace{Pool: pool} }},
	}
	for kname, k := range kernels() {
		for fname, mk := range formats() {
			for _, sh := range shapes {
				m, out, in := sh[0], sh[1], sh[2]
				t.Run(fmt.Sprintf("%s/%s/%dx%dx%d", kname, fname, m, out, in), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(m*1000+out), uint64(in)))
					ldx, ldc := in+3, out+5
					x := randSlice(rng, m*ldx, 1)
					wf := randSlice(rng, out*in, 0.1)
					bias := randSlice(rng, out, 1)
					if m == 3 {
						bias = nil
					}
					w, err := mk(wf, out, in)
					if err != nil {
						t.Fatal(err)
					}
					exact, r64 := refExact(m, x, ldx, w, bias)
					for _, wsc := range workspaces {
						threads := wsc.name
						c := make([]float32, m*ldc)
						for i := range c {
							c[i] = 42
						}
						withKernel(k, func() { wsc.ws().Mul(m, x, ldx, w, bias, c, ldc) })
						for i := 0; i < m; i++ {
							for n := 0; n < ldc; n++ {
								got := c[i*ldc+n]
								if n >= out {
									if got != 42 {
										t.Fatalf("%s: c[%d][%d] = %v written outside C", threads, i, n, got)
									}
									continue
								}
								if want := exact[i*out+n]; math.Float32bits(got) != math.Float32bits(want) {
									t.Fatalf("%s: c[%d][%d] = %v, want exactly %v", threads, i, n, got, want)
								}
								if d := math.Abs(float64(got) - r64[i*out+n]); d > 1e-5*(1+math.Abs(r64[i*out+n])) {
									t.Fatalf("c[%d][%d] = %v, float64 %v", i, n, got, r64[i*out+n])
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestSplitRows(t *testing.T) {
	cases := []struct {
		name                    string
		blocks, panels, threads int
		want                    bool
	}{
		{"even blocks", 4, 8, 2, true},
		{"one block each", 2, 8, 2, true},
		{"fewer blocks than threads", 1, 8, 2, false},
		{"odd blocks, even panels", 3, 8, 2, false},
		{"odd blocks, odd panels", 5, 3, 2, true},
		{"odd blocks, odd panels, many", 17, 9, 2, true},
		{"odd blocks, even panels, many", 17, 8, 2, false},
		{"three threads, panels even out", 5, 3, 3, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := splitRows(c.blocks, c.panels, c.threads); got != c.want {
				t.Errorf("splitRows(%d, %d, %d) = %v, want %v", c.blocks, c.panels, c.threads, got, c.want)
			}
		})
	}
}

// TestMulNearFloat checks the quantized product against the fp32 one: the
// error is bounded by the quantization steps.
func TestMulNearFloat(t *testing.T) {
	const m, out, in = 9, 70, 300
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, m*in, 1)
	wf := randSlice(rng, out*in, 0.05)
	for fname, mk := range formats() {
		t.Run(fname, func(t *testing.T) {
			w, err := mk(wf, out, in)
			if err != nil {
				t.Fatal(err)
			}
			wd := w.Dequantize()
			c := make([]float32, m*out)
			var ws Workspace
			ws.Mul(m, x, in, w, nil, c, out)
			var worst float64
			for i := 0; i < m; i++ {
				row := x[i*in : (i+1)*in]
				_, sx := quantX(row)
				for n := 0; n < out; n++ {
					var exact, bound float64
					for k := 0; k < in; k++ {
						xv, wv := float64(row[k]), float64(wf[n*in+k])
						exact += xv * wv
						// |x·w − x̂·ŵ| ≤ |x−x̂||ŵ| + |x||w−ŵ|
						bound += float64(sx)/2*math.Abs(float64(wd[n*in+k])) + math.Abs(xv)*math.Abs(wv-float64(wd[n*in+k]))
					}
					d := math.Abs(float64(c[i*out+n]) - exact)
					if d > bound*1.001+1e-5 {
						t.Fatalf("c[%d][%d] = %v, fp %v: error %g > bound %g", i, n, c[i*out+n], exact, d, bound)
					}
					worst = max(worst, d/math.Max(bound, 1e-9))
				}
			}
			t.Logf("worst error / bound = %.3f", worst)
		})
	}
}

// TestSaturation runs the extremes: every activation ±max (xq = ±127, 255
// or 1 when stored unsigned) against weights ±127 (and -128 from raw), for
// long K where an int16 pair sum would saturate.
func TestSaturation(t *testing.T) {
	const m, out, in = 13, 40, 4100
	for _, tc := range []struct {
		name string
		xs   func(i, k int) float32
		ws   func(n, k int) int8
	}{
		{"pos-pos", func(i, k int) float32 { return 3 }, func(n, k int) int8 { return 127 }},
		{"neg-pos", func(i, k int) float32 { return -3 }, func(n, k int) int8 { return 127 }},
		{"pos-neg", func(i, k int) float32 { return 3 }, func(n, k int) int8 { return -127 }},
		{"neg-min", func(i, k int) float32 { return -3 }, func(n, k int) int8 { return -128 }},
		{"alt", func(i, k int) float32 { return float32(1 - 2*((i+k)%2)) }, func(n, k int) int8 { return int8(127 - 255*((n+k)%2)) }},
	} {
		for kname, k := range kernels() {
			t.Run(tc.name+"/"+kname, func(t *testing.T) {
				x := make([]float32, m*in)
				for i := 0; i < m; i++ {
					for kk := 0; kk < in; kk++ {
						x[i*in+kk] = tc.xs(i, kk)
					}
				}
				q := make([]int8, out*in)
				scales := make([]float32, out)
				for n := 0; n < out; n++ {
					scales[n] = 1
					for kk := 0; kk < in; kk++ {
						q[n*in+kk] = tc.ws(n, kk)
					}
				}
				w, err := Int8FromRaw(q, []int{out, in}, scales, []int{out})
				if err != nil {
					t.Fatal(err)
				}
				exact, _ := refExact(m, x, in, w, nil)
				c := make([]float32, m*out)
				withKernel(k, func() {
					var ws Workspace
					ws.Mul(m, x, in, w, nil, c, out)
				})
				for i := range c {
					if c[i] != exact[i] {
						t.Fatalf("c[%d] = %v, want %v", i, c[i], exact[i])
					}
				}
			})
		}
	}
}

func TestInt4Extremes(t *testing.T) {
	const m, out, in = 12, 33, 200
	packed := make([]uint8, out*in/2)
	for i := range packed {
		packed[i] = uint8(0x87 ^ (i%3)*0x11) // -8, 7 and neighbours
	}
	scales := make([]float32, out*4)
	for i := range scales {
		scales[i] = float32(i%5) * 0.25
	}
	w, err := Int4FromRaw(in, 64, packed, []int{out, in / 2}, scales, []int{out, 4})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, m*in)
	for i := range x {
		x[i] = float32(1 - 2*(i%2))
	}
	exact, _ := refExact(m, x, in, w, nil)
	for kname, k := range kernels() {
		c := make([]float32, m*out)
		withKernel(k, func() {
			var ws Workspace
			ws.Mul(m, x, in, w, nil, c, out)
		})
		for i := range c {
			if c[i] != exact[i] {
				t.Fatalf("%s: c[%d] = %v, want %v", kname, i, c[i], exact[i])
			}
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][2]int{{1, 1}, {33, 65}, {70, 129}, {5, 300}} {
		out, in := sh[0], sh[1]
		wf := randSlice(rng, out*in, 1)
		wf[0] = 0
		if out > 1 {
			clear(wf[in : 2*in]) // an all-zero row
		}
		t.Run(fmt.Sprintf("int8/%dx%d", out, in), func(t *testing.T) {
			w, err := QuantizeInt8(wf, out, in)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := w.Bytes(), out*in+4*out; got != want {
				t.Errorf("Bytes = %d, want %d", got, want)
			}
			q, qs, s, ss := w.Raw()
			for n := 0; n < out; n++ {
				var amax float64
				for k := 0; k < in; k++ {
					amax = max(amax, math.Abs(float64(wf[n*in+k])))
				}
				if s[n] != float32(amax/127) {
					t.Fatalf("scale %d = %v, want %v", n, s[n], amax/127)
				}
				for k := 0; k < in; k++ {
					if v := q[n*in+k]; v < -127 || v > 127 || math.Abs(float64(v)*float64(s[n])-float64(wf[n*in+k])) > float64(s[n])*0.5001 {
						t.Fatalf("q[%d][%d] = %d for %v (scale %v)", n, k, v, wf[n*in+k], s[n])
					}
				}
			}
			w2, err := Int8FromRaw(q, qs, s, ss)
			if err != nil {
				t.Fatal(err)
			}
			same(t, w.Dequantize(), w2.Dequantize())
		})
		for _, g := range []int{32, 64, 128} {
			t.Run(fmt.Sprintf("int4g%d/%dx%d", g, out, in), func(t *testing.T) {
				w, err := QuantizeInt4(wf, out, in, g)
				if err != nil {
					t.Fatal(err)
				}
				groups := (in + g - 1) / g
				if got, want := w.Bytes(), out*((in+1)/2)+4*out*groups; got != want {
					t.Errorf("Bytes = %d, want %d", got, want)
				}
				d := w.Dequantize()
				_, _, s, _ := w.Raw()
				for n := 0; n < out; n++ {
					for k := 0; k < in; k++ {
						sc := float64(s[n*groups+k/g])
						if math.Abs(float64(d[n*in+k])-float64(wf[n*in+k])) > sc*0.5001 {
							t.Fatalf("w[%d][%d]: %v → %v (scale %v)", n, k, wf[n*in+k], d[n*in+k], sc)
						}
					}
				}
				p, ps, s2, ss := w.Raw()
				w2, err := Int4FromRaw(in, g, p, ps, s2, ss)
				if err != nil {
					t.Fatal(err)
				}
				same(t, d, w2.Dequantize())
			})
		}
	}
}

func same(t *testing.T, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d, %d", len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("[%d]: %v != %v", i, a[i], b[i])
		}
	}
}

func TestErrors(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name string
		err  error
		f    func() error
	}{
		{"int8 zero out", ErrShape, func() error { _, err := QuantizeInt8(nil, 0, 4); return err }},
		{"int8 length", ErrShape, func() error { _, err := QuantizeInt8(make([]float32, 5), 2, 3); return err }},
		{"int8 too long", ErrShape, func() error { _, err := QuantizeInt8(make([]float32, MaxIn+1), 1, MaxIn+1); return err }},
		{"int8 nan", ErrValue, func() error { _, err := QuantizeInt8([]float32{1, nan}, 1, 2); return err }},
		{"int4 group", ErrGroup, func() error { _, err := QuantizeInt4(make([]float32, 64), 1, 64, 48); return err }},
		{"int4 inf", ErrValue, func() error {
			_, err := QuantizeInt4([]float32{float32(math.Inf(1))}, 1, 1, 32)
			return err
		}},
		{"raw8 1-D", ErrShape, func() error { _, err := Int8FromRaw(make([]int8, 4), []int{4}, []float32{1}, []int{1}); return err }},
		{"raw8 scales", ErrShape, func() error {
			_, err := Int8FromRaw(make([]int8, 4), []int{2, 2}, []float32{1}, []int{1})
			return err
		}},
		{"raw8 negative scale", ErrValue, func() error {
			_, err := Int8FromRaw(make([]int8, 4), []int{2, 2}, []float32{1, -1}, []int{2})
			return err
		}},
		{"raw4 odd", ErrShape, func() error {
			_, err := Int4FromRaw(5, 32, make([]uint8, 4), []int{2, 2}, []float32{1, 1}, []int{2, 1})
			return err
		}},
		{"raw4 scales", ErrShape, func() error {
			_, err := Int4FromRaw(66, 32, make([]uint8, 33), []int{1, 33}, []float32{1, 1}, []int{1, 2})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f(); !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
		})
	}
}

func TestMulAllocs(t *testing.T) {
	// Enough activations to quantize on two threads; In 256 runs Int4 on
	// AMX where the machine has it.
	for _, sh := range [][3]int{{100, 100, 200}, {64, 70, 256}} {
		m, out, in := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewPCG(5, 6))
		x := randSlice(rng, m*in, 1)
		wf := randSlice(rng, out*in, 1)
		c := make([]float32, m*out)
		for fname, mk := range formats() {
			w, err := mk(wf, out, in)
			if err != nil {
				t.Fatal(err)
			}
			for kname, k := range kernels() {
				for _, threads := range []int{1, 2} {
					withKernel(k, func() {
						ws := Workspace{Threads: threads}
						ws.Mul(m, x, in, w, nil, c, out)
						if a := testing.AllocsPerRun(10, func() { ws.Mul(m, x, in, w, nil, c, out) }); a != 0 {
							t.Errorf("%dx%dx%d/%s/%s/threads=%d: %v allocs per Mul", m, out, in, fname, kname, threads, a)
						}
					})
				}
			}
		}
	}
}

func FuzzFromRaw(f *testing.F) {
	f.Add(2, 3, 32, []byte{1, 2, 3, 4, 5, 6}, 2, 3, []byte{0, 0, 128, 63, 0, 0, 0, 64}, 2, 1, false)
	f.Add(2, 4, 64, []byte{0xff, 0x88, 0x77, 0x01}, 2, 2, []byte{0, 0, 128, 63, 0, 0, 0, 64}, 2, 1, true)
	f.Add(-1, 1<<30, 128, []byte{}, 0, 0, []byte{}, 0, 0, true)
	f.Fuzz(func(t *testing.T, d0, d1, group int, data []byte, s0, s1 int, sdata []byte, sh0, sh1 int, int4 bool) {
		scales := make([]float32, len(sdata)/4)
		for i := range scales {
			scales[i] = math.Float32frombits(uint32(sdata[4*i]) | uint32(sdata[4*i+1])<<8 | uint32(sdata[4*i+2])<<16 | uint32(sdata[4*i+3])<<24)
		}
		shape := []int{s0, s1}
		sshape := []int{sh0, sh1}
		if sh1 == 0 {
			sshape = []int{sh0}
		}
		var w Weights
		if int4 {
			w4, err := Int4FromRaw(d1, group, data, shape, scales, sshape)
			if err != nil {
				return
			}
			w = w4
		} else {
			q := make([]int8, len(data))
			for i, b := range data {
				q[i] = int8(b)
			}
			w8, err := Int8FromRaw(q, shape, scales, sshape)
			if err != nil {
				return
			}
			w = w8
		}
		// A weight that loads must run and dequantize.
		_ = d0
		x := make([]float32, 3*w.In())
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		c := make([]float32, 3*w.Out())
		var ws Workspace
		ws.Mul(3, x, w.In(), w, nil, c, w.Out())
		if len(w.Dequantize()) != w.Out()*w.In() {
			t.Fatal("dequantize length")
		}
	})
}
