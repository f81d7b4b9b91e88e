package vec

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// inputSets are the dense sweeps the element-wise kernels are checked on.
func inputSets() []struct {
	name string
	xs   []float32
} {
	r := rand.New(rand.NewPCG(1, 2))
	return []struct {
		name string
		xs   []float32
	}{
		{"sweep[-20,20]/1e-3", sweep(-20, 20, 1e-3)},
		{"sweep[-100,100]/1e-2", sweep(-100, 100, 1e-2)},
		{"around0", around(0, 5000)},
		{"around1", around(1, 5000)},
		{"aroundExpLo", around(expLo, 2000)},
		{"aroundExpHi", around(expHi, 2000)},
		{"aroundErfSplit", append(around(erfSplit*math.Sqrt2, 2000), around(-erfSplit*math.Sqrt2, 2000)...)},
		{"aroundErfMax", append(around(erfMax*math.Sqrt2, 2000), around(-erfMax*math.Sqrt2, 2000)...)},
		{"aroundTanhSplit", append(around(tanhSplit, 2000), around(-tanhSplit, 2000)...)},
		{"randomBits", randomBits(r, 1<<18)},
		{"specials", specials()},
	}
}

func TestExpAccuracy(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		for _, c := range inputSets() {
			t.Run(c.name, func(t *testing.T) {
				got := make([]float32, len(c.xs))
				Exp(got, c.xs)
				st := checkAll(t, c.xs, got, checkExp)
				t.Logf("ulp error: %v", st)
			})
		}
	})
}

func TestActivationAccuracy(t *testing.T) {
	acts := []struct {
		name  string
		f     func([]float32)
		check func(x, got float32, st *errStat) string
	}{
		{"GELU", GELU, checkGELU},
		{"GELUTanh", GELUTanh, checkGELUTanh},
		{"Tanh", Tanh, checkTanh},
	}
	eachPath(t, func(t *testing.T) {
		for _, a := range acts {
			t.Run(a.name, func(t *testing.T) {
				for _, c := range inputSets() {
					t.Run(c.name, func(t *testing.T) {
						st := checkAll(t, c.xs, apply(a.f, c.xs), a.check)
						t.Logf("abs error: %v", st)
					})
				}
			})
		}
	})
}

// TestErfAccuracy checks the erf inside GELU on its own (portable code:
// the assembly evaluates the same polynomials, and GELU's tests cover it).
func TestErfAccuracy(t *testing.T) {
	for _, c := range inputSets() {
		t.Run(c.name, func(t *testing.T) {
			var st errStat
			for _, z := range c.xs {
				got := float64(onePlusErf32(z)) - 1
				want := math.Erf(float64(z))
				if !sameNaN(float32(got), want) {
					t.Fatalf("erf(%v): got %v, want %v", z, got, want)
				}
				if math.IsNaN(want) {
					continue
				}
				e := math.Abs(got - want)
				st.add(z, e)
				if e > erfTol {
					t.Errorf("erf(%.9g): got %.9g, want %.9g (error %.3g)", z, got, want, e)
				}
			}
			t.Logf("abs error: %v", st)
		})
	}
}

// TestExhaustive checks every float32 in the ranges where the kernels do
// not saturate; it runs only with -vec.exhaustive.
func TestExhaustive(t *testing.T) {
	if !*exhaustive {
		t.Skip("run with -vec.exhaustive")
	}
	ranges := []struct {
		name   string
		lo, hi float32
		f      func(dst, x []float32)
		check  func(x, got float32, st *errStat) string
	}{
		{"Exp", -88, 89, Exp, checkExp},
		{"GELU", -10, 10, func(d, x []float32) { copy(d, x); GELU(d) }, checkGELU},
		{"GELUTanh", -10, 10, func(d, x []float32) { copy(d, x); GELUTanh(d) }, checkGELUTanh},
		{"Tanh", -10, 10, func(d, x []float32) { copy(d, x); Tanh(d) }, checkTanh},
		{"erf (portable)", -6, 6, func(d, x []float32) {
			for i, z := range x {
				d[i] = onePlusErf32(z) - 1
			}
		}, func(x, got float32, st *errStat) string {
			return checkAct(x, got, math.Erf(float64(x)), erfTol, st)
		}},
	}
	eachPath(t, func(t *testing.T) {
		for _, rg := range ranges {
			t.Run(rg.name, func(t *testing.T) {
				var st errStat
				const chunk = 1 << 16
				xs, got := make([]float32, 0, chunk), make([]float32, chunk)
				flush := func() {
					rg.f(got[:len(xs)], xs)
					for i, x := range xs {
						if msg := rg.check(x, got[i], &st); msg != "" {
							t.Fatalf("x=%.9g: got %.9g: %s", x, got[i], msg)
						}
					}
					xs = xs[:0]
				}
				for x := rg.lo; x <= rg.hi; x = math.Nextafter32(x, rg.hi+1) {
					if xs = append(xs, x); len(xs) == chunk {
						flush()
					}
				}
				flush()
				t.Logf("%v", st)
			})
		}
	})
}

func TestExpAliasing(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		for _, n := range []int{1, 7, 8, 9, 64, 67} {
			xs := sweep(-10, 10, 20/float64(n))[:n]
			want := make([]float32, n)
			Exp(want, xs)
			Exp(xs, xs)
			if !slices.Equal(xs, want) {
				t.Errorf("n=%d: Exp(x, x) = %v, want %v", n, xs, want)
			}
		}
	})
}

// guarded returns a slice of n elements inside a larger buffer whose
// surrounding guard elements hold a pattern; check reports a kernel that
// wrote outside the slice.
func guarded(n int, fill func(i int) float32) (s []float32, check func(t *testing.T)) {
	const g = 9
	buf := make([]float32, n+2*g)
	for i := range buf {
		buf[i] = -12345.5
	}
	s = buf[g : g+n : g+n]
	for i := range s {
		s[i] = fill(i)
	}
	return s, func(t *testing.T) {
		t.Helper()
		for i := range g {
			if buf[i] != -12345.5 || buf[g+n+i] != -12345.5 {
				t.Fatalf("n=%d: write outside the slice", n)
			}
		}
	}
}

// TestTails runs every kernel on lengths 0..67 (all tail sizes, with and
// without whole 8- and 32-lane blocks) on both paths, checking results
// against the float64 references and that nothing outside the slices is
// written.
func TestTails(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(int) float32 { return float32(r.NormFloat64() * 4) }
	unary := []struct {
		name  string
		f     func([]float32)
		check func(x, got float32, st *errStat) string
	}{
		{"Exp", func(x []float32) { Exp(x, x) }, checkExp},
		{"GELU", GELU, checkGELU},
		{"GELUTanh", GELUTanh, checkGELUTanh},
		{"Tanh", Tanh, checkTanh},
		{"ReLU", ReLU, func(x, got float32, _ *errStat) string {
			if got != max(x, 0) {
				return "want max(x, 0)"
			}
			return ""
		}},
	}
	eachPath(t, func(t *testing.T) {
		for _, u := range unary {
			t.Run(u.name, func(t *testing.T) {
				for n := range 68 {
					x, guard := guarded(n, rnd)
					in := slices.Clone(x)
					u.f(x)
					guard(t)
					checkAll(t, in, x, u.check)
				}
			})
		}
		t.Run("AddBiasActivations", func(t *testing.T) {
			fused := []struct {
				name  string
				f     func(x, b []float32)
				plain func([]float32)
			}{
				{"AddBiasGELU", AddBiasGELU, GELU},
				{"AddBiasGELUTanh", AddBiasGELUTanh, GELUTanh},
				{"AddBiasReLU", AddBiasReLU, ReLU},
				{"AddBias", AddBias, func([]float32) {}},
			}
			for _, fu := range fused {
				for n := 1; n < 68; n++ {
					const rows = 3
					x, guard := guarded(rows*n, rnd)
					b, bguard := guarded(n, rnd)
					want := slices.Clone(x)
					for i := range want {
						want[i] += b[i%n]
					}
					fu.plain(want)
					fu.f(x, b)
					guard(t)
					bguard(t)
					if !slices.Equal(x, want) {
						t.Fatalf("%s n=%d: fused result differs from AddBias then the activation:\n got %v\nwant %v", fu.name, n, x, want)
					}
				}
			}
		})
		t.Run("Dot", func(t *testing.T) {
			for n := range 68 {
				a, ga := guarded(n, rnd)
				b, gb := guarded(n, rnd)
				got := Dot(a, b)
				ga(t)
				gb(t)
				var want, mag float64
				for i := range a {
					want += float64(a[i]) * float64(b[i])
					mag += math.Abs(float64(a[i]) * float64(b[i]))
				}
				if e := math.Abs(float64(got) - want); e > 1e-6*mag {
					t.Errorf("n=%d: Dot = %v, want %v (error %.3g)", n, got, want, e)
				}
			}
		})
		t.Run("AxpyScale", func(t *testing.T) {
			for n := range 68 {
				x, gx := guarded(n, rnd)
				y, gy := guarded(n, rnd)
				y0 := slices.Clone(y)
				const alpha = -0.37
				Axpy(alpha, x, y)
				gx(t)
				gy(t)
				for i := range y {
					want := float64(y0[i]) + alpha*float64(x[i])
					tol := (math.Abs(float64(y0[i])) + math.Abs(alpha*float64(x[i]))) * 0x1p-23
					if e := math.Abs(float64(y[i]) - want); e > tol {
						t.Fatalf("n=%d: Axpy y[%d] = %v, want %v", n, i, y[i], want)
					}
				}
				x2, g2 := guarded(n, rnd)
				want := slices.Clone(x2)
				for i := range want {
					want[i] *= alpha
				}
				Scale(alpha, x2)
				g2(t)
				if !slices.Equal(x2, want) {
					t.Fatalf("n=%d: Scale = %v, want %v", n, x2, want)
				}
			}
		})
		t.Run("SoftmaxMasked", func(t *testing.T) {
			for n := 1; n < 68; n++ {
				for _, masked := range []bool{false, true} {
					row, guard := guarded(n, rnd)
					var mask []int32
					if masked {
						mask = make([]int32, n)
						for i := range mask {
							mask[i] = int32(r.IntN(2))
						}
						mask[r.IntN(n)] = 1
					}
					in := slices.Clone(row)
					SoftmaxMasked(row, mask, 0.7)
					guard(t)
					checkSoftmax(t, in, mask, 0.7, row)
				}
			}
		})
		t.Run("LayerNorm", func(t *testing.T) {
			for n := 1; n < 68; n++ {
				x, guard := guarded(2*n, rnd)
				gamma, _ := guarded(n, rnd)
				beta, _ := guarded(n, rnd)
				in := slices.Clone(x)
				LayerNorm(x, gamma, beta, 1e-5)
				guard(t)
				checkLayerNorm(t, in, gamma, beta, 1e-5, x, 1e-5)
			}
		})
		t.Run("AddLayerNorm", func(t *testing.T) {
			for n := 1; n < 68; n++ {
				for _, withBias := range []bool{false, true} {
					x, guard := guarded(2*n, rnd)
					delta, dguard := guarded(2*n, rnd)
					var bias []float32
					bguard := func(*testing.T) {}
					if withBias {
						bias, bguard = guarded(n, rnd)
					}
					gamma, _ := guarded(n, rnd)
					beta, _ := guarded(n, rnd)
					sum := slices.Clone(x)
					for i := range sum {
						sum[i] += delta[i]
						if withBias {
							sum[i] += bias[i%n]
						}
					}
					AddLayerNorm(x, delta, bias, gamma, beta, 1e-5)
					guard(t)
					dguard(t)
					bguard(t)
					checkLayerNorm(t, sum, gamma, beta, 1e-5, x, 1e-5)
				}
			}
		})
	})
}

// checkSoftmax compares row (the result) with a float64 softmax of in.
func checkSoftmax(t *testing.T, in []float32, mask []int32, scale float32, row []float32) {
	t.Helper()
	counts := func(j int) bool { return mask == nil || mask[j] != 0 }
	m := math.Inf(-1)
	for j, v := range in {
		if counts(j) {
			m = max(m, float64(scale*v))
		}
	}
	var sum, gotSum float64
	for j, v := range in {
		if counts(j) {
			sum += math.Exp(float64(scale)*float64(v) - m)
		}
	}
	for j, v := range in {
		if !counts(j) {
			if row[j] != 0 || math.Signbit(float64(row[j])) {
				t.Fatalf("len %d: masked entry %d = %v, want exactly 0", len(in), j, row[j])
			}
			continue
		}
		want := math.Exp(float64(scale)*float64(v)-m) / sum
		if e := math.Abs(float64(row[j]) - want); !(e <= 1e-6) {
			t.Fatalf("len %d: p[%d] = %v, want %v (error %.3g)", len(in), j, row[j], want, e)
		}
		gotSum += float64(row[j])
	}
	if math.IsInf(m, -1) {
		if gotSum != 0 {
			t.Fatalf("len %d: nothing counts but the row sums to %v", len(in), gotSum)
		}
		return
	}
	if e := math.Abs(gotSum - 1); !(e <= 1e-6) {
		t.Fatalf("len %d: probabilities sum to %v", len(in), gotSum)
	}
}

func TestSoftmaxMasked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	row := func(n int, f func(int) float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = f(i)
		}
		return s
	}
	ones := func(n int) []int32 {
		m := make([]int32, n)
		for i := range m {
			m[i] = 1
		}
		return m
	}
	padded := func(n, valid int) []int32 {
		m := make([]int32, n)
		for i := range valid {
			m[i] = 1
		}
		return m
	}
	normal := func(s float64) func(int) float32 { return func(int) float32 { return float32(r.NormFloat64() * s) } }
	cases := []struct {
		name  string
		row   []float32
		mask  []int32
		scale float32
	}{
		{"nil mask", row(128, normal(3)), nil, 0.125},
		{"all ones", row(128, normal(3)), ones(128), 0.125},
		{"padded 100/128", row(128, normal(3)), padded(128, 100), 0.125},
		{"padded 1/37", row(37, normal(3)), padded(37, 1), 1},
		{"mask values other than 1", row(19, normal(1)), []int32{2, 0, -1, 0, 7, 1, 1, 0, 0, 0, 3, 1, 1, 1, 1, 0, 1, 1, 5}, 1},
		{"negative scale", row(67, normal(2)), nil, -0.5},
		{"large spread underflows", row(64, normal(100)), nil, 1},
		{"masked entries huge and NaN", []float32{1, float32(math.NaN()), 2, float32(math.Inf(1)), 3e38, 0.5, -1, 1e30, 2},
			[]int32{1, 0, 1, 0, 0, 1, 1, 0, 1}, 1},
		{"equal scores", row(512, func(int) float32 { return 4 }), nil, 1},
		{"long row", row(4096, normal(5)), padded(4096, 3000), 0.05},
		{"single", []float32{42}, nil, 1},
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := slices.Clone(c.row)
				SoftmaxMasked(got, c.mask, c.scale)
				checkSoftmax(t, c.row, c.mask, c.scale, got)
			})
		}
		zeroCases := []struct {
			name string
			row  []float32
			mask []int32
		}{
			{"nothing counts", row(45, normal(1)), make([]int32, 45)},
			{"every counted score -Inf", []float32{float32(math.Inf(-1)), 3, float32(math.Inf(-1))}, []int32{1, 0, 1}},
		}
		for _, c := range zeroCases {
			t.Run(c.name, func(t *testing.T) {
				got := slices.Clone(c.row)
				SoftmaxMasked(got, c.mask, 1)
				for j, v := range got {
					if v != 0 {
						t.Fatalf("entry %d = %v, want 0", j, v)
					}
				}
			})
		}
		t.Run("empty", func(t *testing.T) { SoftmaxMasked(nil, nil, 1) })
	})
}

// checkLayerNorm compares got with a float64 LayerNorm of in (rows of
// len(gamma)).
func checkLayerNorm(t *testing.T, in, gamma, beta []float32, eps float32, got []float32, tol float64) float64 {
	t.Helper()
	n := len(gamma)
	var worst float64
	for r := 0; r < len(in); r += n {
		row := in[r : r+n]
		var mean, v float64
		for _, x := range row {
			mean += float64(x)
		}
		mean /= float64(n)
		for _, x := range row {
			v += (float64(x) - mean) * (float64(x) - mean)
		}
		rstd := 1 / math.Sqrt(v/float64(n)+float64(eps))
		for j, x := range row {
			want := (float64(x)-mean)*rstd*float64(gamma[j]) + float64(beta[j])
			e := math.Abs(float64(got[r+j]) - want)
			worst = max(worst, e)
			if !(e <= tol) {
				t.Fatalf("n=%d row %d col %d: got %v, want %v (error %.3g)", n, r/n, j, got[r+j], want, e)
			}
		}
	}
	return worst
}

func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	gen := func(n int, f func() float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(f())
		}
		return s
	}
	type tc struct {
		name    string
		n, rows int
		x       func() float64
	}
	var cases []tc
	for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 256, 768, 1000, 4096} {
		cases = append(cases,
			tc{"N(0,1)", n, 3, r.NormFloat64},
			tc{"1000+N(0,1)", n, 3, func() float64 { return 1000 + r.NormFloat64() }},
			tc{"10·N(0,1)", n, 3, func() float64 { return 10 * r.NormFloat64() }},
			tc{"-5000+N(0,0.1)", n, 2, func() float64 { return -5000 + 0.1*r.NormFloat64() }},
		)
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name+"/n="+strconv.Itoa(c.n), func(t *testing.T) {
				x := gen(c.n*c.rows, c.x)
				gamma := gen(c.n, func() float64 { return 1 + 0.5*r.NormFloat64() })
				beta := gen(c.n, r.NormFloat64)
				in := slices.Clone(x)
				LayerNorm(x, gamma, beta, 1e-12)
				worst := checkLayerNorm(t, in, gamma, beta, 1e-12, x, 1e-4)
				t.Logf("max abs error %.3g", worst)

				// AddLayerNorm: x + delta + bias (in float32, as documented) then LayerNorm.
				x = slices.Clone(in)
				delta := gen(c.n*c.rows, r.NormFloat64)
				for _, bias := range [][]float32{nil, gen(c.n, r.NormFloat64)} {
					sum := slices.Clone(in)
					for i := range sum {
						sum[i] += delta[i]
						if bias != nil {
							sum[i] += bias[i%c.n]
						}
					}
					x = slices.Clone(in)
					AddLayerNorm(x, delta, bias, gamma, beta, 1e-12)
					worst := checkLayerNorm(t, sum, gamma, beta, 1e-12, x, 1e-4)
					t.Logf("AddLayerNorm (bias %t): max abs error %.3g", bias != nil, worst)
				}
			})
		}
		t.Run("constant row gives beta", func(t *testing.T) {
			x := gen(40, func() float64 { return 3.25 })
			gamma, beta := gen(20, r.NormFloat64), gen(20, r.NormFloat64)
			LayerNorm(x, gamma, beta, 1e-5)
			if !slices.Equal(x[:20], beta) || !slices.Equal(x[20:], beta) {
				t.Fatalf("got %v, want beta %v twice", x, beta)
			}
		})
	})
}

func TestReLU(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		xs := append(specials(), sweep(-3, 3, 0.25)...)
		got := apply(ReLU, xs)
		for i, x := range xs {
			want := x
			if x < 0 {
				want = 0
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) && !(math.IsNaN(float64(x)) && math.IsNaN(float64(got[i]))) {
				t.Errorf("ReLU(%v) = %v, want %v", x, got[i], want)
			}
		}
	})
}

// TestAVX2MatchesGo runs both paths on the same random data and checks
// they agree to within a few ulps (they evaluate the same polynomials, so
// any larger gap means the constants in vec_amd64.s and consts.go have
// drifted apart; AVX-512's GELU reads Φ from geluTable instead, and a
// gap there means the table, its constants in vec_amd64.s or the kernel
// went wrong).
func TestAVX2MatchesGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2+FMA on this machine")
	}
	defer func(old2, old512 bool) { useAVX2, useAVX512 = old2, old512 }(useAVX2, useAVX512)
	r := rand.New(rand.NewPCG(9, 10))
	xs := sweep(-12, 12, 1e-3)
	for range 4096 {
		xs = append(xs, float32(r.NormFloat64()*30))
	}
	fs := []struct {
		name string
		f    func([]float32)
		ulps float64
	}{
		{"Exp", func(x []float32) { Exp(x, x) }, 2},
		{"GELU", GELU, 4},
		{"GELUTanh", GELUTanh, 4},
		{"Tanh", Tanh, 4},
	}
	for _, f := range fs {
		for _, avx512 := range []bool{false, true} {
			if avx512 && !hasAVX512 {
				continue
			}
			name := f.name
			if avx512 {
				name += "/avx512"
			}
			t.Run(name, func(t *testing.T) {
				useAVX2, useAVX512 = true, avx512
				a := apply(f.f, xs)
				useAVX2 = false
				g := apply(f.f, xs)
				for i := range xs {
					if a[i] == g[i] {
						continue
					}
					d := math.Abs(float64(a[i]) - float64(g[i]))
					if d > f.ulps*ulp(float64(g[i])) && d > 1e-7 {
						t.Fatalf("x=%v: assembly %v, go %v", xs[i], a[i], g[i])
					}
				}
			})
		}
	}
}

func TestNoAllocations(t *testing.T) {
	const n = 259
	x, y, d := make([]float32, 3*n), make([]float32, 3*n), make([]float32, 3*n)
	b, g, be := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = 1
	}
	mask := make([]int32, 3*n)
	mask[5] = 1
	eachPath(t, func(t *testing.T) {
		allocs := testing.AllocsPerRun(20, func() {
			Exp(y, x)
			SoftmaxMasked(y, mask, 0.5)
			SoftmaxMasked(y, nil, 0.5)
			GELU(x)
			GELUTanh(x)
			ReLU(x)
			Tanh(x)
			AddBias(x, b)
			AddBiasGELU(x, b)
			AddBiasGELUTanh(x, b)
			AddBiasReLU(x, b)
			LayerNorm(x, g, be, 1e-5)
			AddLayerNorm(x, d, b, g, be, 1e-5)
			AddLayerNorm(x, d, nil, g, be, 1e-5)
			_ = Dot(x, y)
			Axpy(0.5, x, y)
			Scale(0.5, y)
		})
		if allocs != 0 {
			t.Fatalf("%v allocations per run, want 0", allocs)
		}
	})
}

func TestMisusePanics(t *testing.T) {
	s := func(n int) []float32 { return make([]float32, n) }
	cases := []struct {
		name string
		f    func()
	}{
		{"Exp lengths", func() { Exp(s(3), s(4)) }},
		{"SoftmaxMasked mask length", func() { SoftmaxMasked(s(4), make([]int32, 3), 1) }},
		{"SoftmaxMaskedNorm mask length", func() { SoftmaxMaskedNorm(s(4), make([]int32, 3), 1) }},
		{"AddBias partial row", func() { AddBias(s(7), s(3)) }},
		{"AddBias empty bias", func() { AddBias(s(7), nil) }},
		{"AddBiasGELU partial row", func() { AddBiasGELU(s(7), s(2)) }},
		{"AddBiasGELUTanh partial row", func() { AddBiasGELUTanh(s(7), s(2)) }},
		{"AddBiasReLU partial row", func() { AddBiasReLU(s(7), s(2)) }},
		{"LayerNorm beta", func() { LayerNorm(s(8), s(4), s(3), 1) }},
		{"LayerNorm partial row", func() { LayerNorm(s(9), s(4), s(4), 1) }},
		{"AddLayerNorm delta", func() { AddLayerNorm(s(8), s(4), nil, s(4), s(4), 1) }},
		{"AddLayerNorm bias", func() { AddLayerNorm(s(8), s(8), s(8), s(4), s(4), 1) }},
		{"Dot lengths", func() { Dot(s(3), s(2)) }},
		{"Axpy lengths", func() { Axpy(1, s(3), s(2)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "vec.") {
					t.Fatalf("want a vec.* panic, got %q", msg)
				}
			}()
			c.f()
		})
	}
}

func TestEmpty(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		Exp(nil, nil)
		GELU(nil)
		GELUTanh(nil)
		ReLU(nil)
		Tanh(nil)
		AddBias(nil, nil)
		AddBiasGELU(nil, []float32{1})
		LayerNorm(nil, []float32{1}, []float32{1}, 1)
		AddLayerNorm(nil, nil, nil, []float32{1}, []float32{1}, 1)
		Scale(2, nil)
		Axpy(2, nil, nil)
		if d := Dot(nil, nil); d != 0 {
			t.Fatalf("Dot(nil, nil) = %v", d)
		}
	})
}

func FuzzExp(f *testing.F) {
	for _, x := range specials() {
		f.Add(math.Float32bits(x))
	}
	f.Add(math.Float32bits(expLo))
	f.Add(math.Float32bits(expHi))
	f.Fuzz(func(t *testing.T, bits uint32) {
		x := math.Float32frombits(bits)
		// Nine copies: the assembly's 8-lane loop and its tail.
		xs := slices.Repeat([]float32{x}, 9)
		for _, p := range paths() {
			restore := p.use()
			got := make([]float32, len(xs))
			Exp(got, xs)
			restore()
			var st errStat
			for _, g := range got {
				if msg := checkExp(x, g, &st); msg != "" {
					t.Fatalf("%s: Exp(%v) = %v: %s", p.name, x, g, msg)
				}
			}
		}
	})
}

// TestSoftmaxMaskedNorm checks that the row times the returned norm is
// SoftmaxMasked's result, bit for bit, on every path.
func TestSoftmaxMaskedNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	eachPath(t, func(t *testing.T) {
		for _, n := range []int{1, 7, 16, 37, 128, 515} {
			row := make([]float32, n)
			mask := make([]int32, n)
			for i := range row {
				row[i] = float32(r.NormFloat64() * 4)
				mask[i] = int32(r.IntN(3)) // about a third masked
			}
			mask[0] = 1
			for _, m := range [][]int32{nil, mask} {
				want := slices.Clone(row)
				SoftmaxMasked(want, m, 0.3)
				got := slices.Clone(row)
				norm := SoftmaxMaskedNorm(got, m, 0.3)
				Scale(norm, got)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d mask=%v: [%d] = %v, SoftmaxMasked %v", n, m != nil, i, got[i], want[i])
					}
				}
			}
		}
		row := []float32{1, 2, 3}
		if norm := SoftmaxMaskedNorm(row, []int32{0, 0, 0}, 1); norm != 0 || row[0] != 0 || row[1] != 0 || row[2] != 0 {
			t.Fatalf("nothing counts: norm %v, row %v", norm, row)
		}
		if norm := SoftmaxMaskedNorm(nil, nil, 1); norm != 0 {
			t.Fatalf("empty row: norm %v", norm)
		}
	})
}

// TestNEONMatchesGo runs the ASIMD and the portable kernels on the same
// data. Both evaluate the same polynomials with the same fused
// multiply-adds (the arm64 compiler fuses the portable code's a·b+c), so
// the element-wise kernels agree bit for bit; softmax and LayerNorm sum
// in another order and agree within a few ulps.
func TestNEONMatchesGo(t *testing.T) {
	if !hasNEON {
		t.Skip("no ASIMD on this machine")
	}
	defer func(old bool) { useNEON = old }(useNEON)
	r := rand.New(rand.NewPCG(11, 12))
	xs := sweep(-12, 12, 1e-3)
	for range 4096 {
		xs = append(xs, float32(r.NormFloat64()*30))
	}
	xs = append(xs, specials()...)
	xs = append(xs, 1, 2, 3) // a length that is not a multiple of 4
	bias := make([]float32, 259)
	for i := range bias {
		bias[i] = float32(r.NormFloat64())
	}
	gamma, beta := randSlice(259, 1), randSlice(259, 1)
	mask := make([]int32, 259)
	for i := range mask {
		mask[i] = int32(r.IntN(3))
	}
	rows := xs[:259*64]
	fs := []struct {
		name string
		f    func([]float32)
		ulps float64 // 0: bit for bit
	}{
		{"Exp", func(x []float32) { Exp(x, x) }, 0},
		{"GELU", GELU, 0},
		{"AddBiasGELU", func(x []float32) { AddBiasGELU(x[:len(rows)], bias) }, 0},
		{"AddBias", func(x []float32) { AddBias(x[:len(rows)], bias) }, 0},
		{"SoftmaxMasked", func(x []float32) {
			for i := 0; i+259 <= len(x); i += 259 {
				SoftmaxMasked(x[i:i+259], mask, 0.125)
			}
		}, 2},
		{"SoftmaxMasked/nil", func(x []float32) {
			for i := 0; i+259 <= len(x); i += 259 {
				SoftmaxMasked(x[i:i+259], nil, 0.125)
			}
		}, 2},
		{"LayerNorm", func(x []float32) { LayerNorm(x[:len(rows)], gamma, beta, 1e-5) }, 2},
		{"AddLayerNorm", func(x []float32) { AddLayerNorm(x[:len(rows)], rows, bias, gamma, beta, 1e-5) }, 2},
	}
	for _, f := range fs {
		t.Run(f.name, func(t *testing.T) {
			useNEON = true
			a := apply(f.f, xs)
			useNEON = false
			g := apply(f.f, xs)
			for i := range xs {
				if math.Float32bits(a[i]) == math.Float32bits(g[i]) || (a[i] != a[i] && g[i] != g[i]) {
					continue
				}
				d := math.Abs(float64(a[i]) - float64(g[i]))
				if f.ulps == 0 || (d > f.ulps*ulp(float64(g[i])) && d > 1e-7) {
					t.Fatalf("x[%d]=%v: assembly %v, go %v", i, xs[i], a[i], g[i])
				}
			}
		})
	}
}

func TestPrefetch(t *testing.T) {
	cases := []struct {
		name               string
		n, rows, ld, width int
		panics             bool
	}{
		{"one line", 16, 1, 16, 16, false},
		{"partial line", 40, 1, 40, 3, false},
		{"strided rows", 3 * 64 * 10, 10, 3 * 64, 64, false},
		{"no rows", 0, 0, 8, 8, false},
		{"rows past the end", 100, 4, 32, 16, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := make([]float32, c.n)
			for i := range x {
				x[i] = float32(i)
			}
			defer func() {
				if r := recover(); (r != nil) != c.panics {
					t.Fatalf("panic %v, want a panic: %v", r, c.panics)
				}
			}()
			Prefetch(x, c.rows, c.ld, c.width)
			for i, v := range x {
				if v != float32(i) {
					t.Fatalf("x[%d] = %v after Prefetch, was %d", i, v, i)
				}
			}
		})
	}
}

// TestAddLayerNormRowsIndependent checks that AddLayerNorm over many rows
// gives every row the same bits as AddLayerNorm on that row alone, on
// every path: kernels that normalize several rows at once (two at a time
// on AVX2 when the row length is a multiple of 16) must not change a
// row's arithmetic. Rows of very different scales make any mix-up show.
func TestAddLayerNormRowsIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	rnd := func(scale float64) func(int) float32 {
		return func(int) float32 { return float32(r.NormFloat64() * scale) }
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name    string
			n, rows int
			bias    bool
		}{
			{"n16/rows2", 16, 2, true}, {"n256/rows5", 256, 5, true}, {"n272/rows4", 272, 4, true},
			{"n768/rows3", 768, 3, true}, {"n20/rows3", 20, 3, true}, {"n256/rows4/nobias", 256, 4, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				x := make([]float32, c.rows*c.n)
				for row := range c.rows {
					fill := rnd(math.Pow(10, float64(row%3)-1))
					for i := range c.n {
						x[row*c.n+i] = fill(i) + float32(row)
					}
				}
				delta := make([]float32, len(x))
				for i := range delta {
					delta[i] = rnd(0.1)(i)
				}
				var bias []float32
				if c.bias {
					bias = make([]float32, c.n)
					for i := range bias {
						bias[i] = rnd(0.1)(i)
					}
				}
				gamma, beta := make([]float32, c.n), make([]float32, c.n)
				for i := range gamma {
					gamma[i], beta[i] = 1+rnd(0.1)(i), rnd(0.1)(i)
				}
				all := slices.Clone(x)
				AddLayerNorm(all, delta, bias, gamma, beta, 1e-12)
				for row := range c.rows {
					one := slices.Clone(x[row*c.n : (row+1)*c.n])
					AddLayerNorm(one, delta[row*c.n:(row+1)*c.n], bias, gamma, beta, 1e-12)
					for i, v := range one {
						if w := all[row*c.n+i]; math.Float32bits(v) != math.Float32bits(w) {
							t.Fatalf("row %d [%d]: %v alone, %v among %d rows", row, i, v, w, c.rows)
						}
					}
				}
			})
		}
	})
}

// TestAddLayerNormPairsBitExact checks that the two-row kernels of
// AddLayerNorm (addLayerNorm2AVX2 and addLayerNorm2AVX512) give every row
// the bits one-row layerNorm gives it, on every path this machine runs,
// for rows of 16 to 1040 floats, offset far from zero and not.
func TestAddLayerNormPairsBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	eachPath(t, func(t *testing.T) {
		for _, n := range []int{16, 32, 48, 256, 272, 768, 1040} {
			for _, offset := range []float32{0, 40} {
				const rows = 5
				vals := func(k int, scale, off float32) []float32 {
					v := make([]float32, k)
					for i := range v {
						v[i] = off + scale*float32(rng.NormFloat64())
					}
					return v
				}
				x, delta := vals(rows*n, 2, offset), vals(rows*n, 0.5, 0)
				bias, gamma, beta := vals(n, 0.1, 0), vals(n, 0.3, 1), vals(n, 0.1, 0)
				want := slices.Clone(x)
				for r := 0; r < rows; r++ {
					layerNorm(want[r*n:(r+1)*n], delta[r*n:(r+1)*n], bias, gamma, beta, 1e-12)
				}
				AddLayerNorm(x, delta, bias, gamma, beta, 1e-12)
				for i := range x {
					if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d offset %v: row %d element %d: %v, one-row layerNorm gives %v", n, offset, i/n, i%n, x[i], want[i])
					}
				}
			}
		}
	})
}
