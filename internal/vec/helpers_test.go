package vec

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var exhaustive = flag.Bool("vec.exhaustive", false, "check Exp, GELU, GELUTanh and Tanh on every float32 in their interesting ranges (minutes)")

// hasAVX2, hasAVX512 and hasNEON record which assembly kernels this
// machine runs.
var hasAVX2, hasAVX512, hasNEON = useAVX2, useAVX512, useNEON

// path is one set of kernels a test can run.
type path struct {
	name               string
	avx2, avx512, neon bool
}

// paths lists the kernel sets this machine can run: the AVX-512 and the
// AVX2 assembly (amd64) or the ASIMD assembly (arm64) where available, and
// always the portable Go.
func paths() []path {
	ps := []path{{name: "go"}}
	if hasAVX2 {
		ps = append([]path{{name: "avx2", avx2: true}}, ps...)
	}
	if hasAVX512 {
		ps = append([]path{{name: "avx512", avx2: true, avx512: true}}, ps...)
	}
	if hasNEON {
		ps = append([]path{{name: "neon", neon: true}}, ps...)
	}
	return ps
}

// use selects p's kernels and returns a function restoring the previous
// selection.
func (p path) use() (restore func()) {
	old2, old512, oldNEON := useAVX2, useAVX512, useNEON
	useAVX2, useAVX512, useNEON = p.avx2, p.avx512, p.neon
	return func() { useAVX2, useAVX512, useNEON = old2, old512, oldNEON }
}

// eachPath runs f as one subtest per kernel set, with useAVX2, useAVX512
// and useNEON set to match.
func eachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			defer p.use()()
			f(t)
		})
	}
}

// sweep returns lo, lo+step, ... up to hi, rounded to float32.
func sweep(lo, hi, step float64) []float32 {
	n := int(math.Round((hi-lo)/step)) + 1
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(lo + float64(i)*step)
	}
	return xs
}

// around returns v and the k float32s on either side of it.
func around(v float32, k int) []float32 {
	xs := []float32{v}
	up, down := v, v
	for range k {
		up = math.Nextafter32(up, float32(math.Inf(1)))
		down = math.Nextafter32(down, float32(math.Inf(-1)))
		xs = append(xs, up, down)
	}
	return xs
}

// randomBits returns n float32s with uniformly random bit patterns (every
// exponent equally likely: NaNs, infinities, subnormals included).
func randomBits(r *rand.Rand, n int) []float32 {
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = math.Float32frombits(r.Uint32())
	}
	return xs
}

// specials are the values every element-wise kernel must survive.
func specials() []float32 {
	inf := math.Inf(1)
	return []float32{
		0, float32(math.Copysign(0, -1)), float32(inf), float32(-inf), float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		1e-40, -1e-40, 1.1754944e-38, -1.1754944e-38, 1e-30, -1e-30, 1e-7, -1e-7,
		1, -1, 1e10, -1e10, 1e20, -1e20, 1e30, -1e30,
	}
}

// ulp returns the spacing of float32 values at |v| (v normal).
func ulp(v float64) float64 {
	_, e := math.Frexp(v)
	return math.Ldexp(1, max(e, -125)-24)
}

// errStat tracks the largest error seen and where.
type errStat struct {
	max float64
	at  float32
	n   int
}

func (s *errStat) add(x float32, err float64) {
	s.n++
	if err > s.max || math.IsNaN(err) {
		s.max, s.at = err, x
	}
}

func (s errStat) String() string {
	return fmt.Sprintf("max %.3g at x=%.9g (%d values)", s.max, s.at, s.n)
}

// apply runs an in-place kernel over a copy of xs.
func apply(f func([]float32), xs []float32) []float32 {
	out := append([]float32(nil), xs...)
	f(out)
	return out
}

// sameNaN reports whether got is NaN exactly when want is.
func sameNaN(got float32, want float64) bool {
	return math.IsNaN(float64(got)) == math.IsNaN(want)
}

// Float64 references.

func refGELU(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func refGELUTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// Accuracy checks shared by the sweeps, the tail tests and the fuzzer.
// Each returns a description of the failure, or "" with the error measure
// it recorded in st.

// checkExp: NaN for NaN, exactly 0 below expLo, +Inf above expHi, else
// within 2 ulp of e^x (st records ulps).
func checkExp(x, got float32, st *errStat) string {
	xf := float64(x)
	switch {
	case math.IsNaN(xf):
		if !math.IsNaN(float64(got)) {
			return "want NaN"
		}
	case x < expLo:
		if got != 0 || math.Signbit(float64(got)) {
			return "want +0 (flushed)"
		}
	case x > expHi:
		if !math.IsInf(float64(got), 1) {
			return "want +Inf"
		}
	default:
		ref := math.Exp(xf)
		e := math.Abs(float64(got)-ref) / ulp(ref)
		st.add(x, e)
		if !(e <= 2) {
			return fmt.Sprintf("error %.3g ulp (ref %.9g)", e, ref)
		}
	}
	return ""
}

// checkAct is the check of an activation against its reference value
// want: NaN exactly when want is NaN, the same infinity, else |got-want| ≤
// tol + 2 ulp of want (st records the absolute error).
func checkAct(x, got float32, want, tol float64, st *errStat) string {
	if !sameNaN(got, want) {
		return fmt.Sprintf("NaN mismatch (ref %v)", want)
	}
	if math.IsNaN(want) {
		return ""
	}
	if math.IsInf(want, 0) {
		if float64(got) != want {
			return fmt.Sprintf("want %v", want)
		}
		return ""
	}
	e := math.Abs(float64(got) - want)
	st.add(x, e)
	if tol += 2 * ulp(want); !(e <= tol) {
		return fmt.Sprintf("error %.3g > %.3g (ref %.9g)", e, tol, want)
	}
	return ""
}

// The activation tolerances: erf and tanh within 1e-6 absolute, which the
// GELUs scale by 0.5|x|.
const (
	erfTol  = 1e-6
	tanhTol = 1e-6
)

func geluTol(x float32) float64 { return 0.5 * erfTol * max(1, math.Abs(float64(x))) }

func checkGELU(x, got float32, st *errStat) string {
	return checkAct(x, got, refGELU(float64(x)), geluTol(x), st)
}

func checkGELUTanh(x, got float32, st *errStat) string {
	return checkAct(x, got, refGELUTanh(float64(x)), geluTol(x), st)
}

func checkTanh(x, got float32, st *errStat) string {
	return checkAct(x, got, math.Tanh(float64(x)), tanhTol, st)
}

// checkAll applies check to every element and reports the first few
// failures.
func checkAll(t *testing.T, xs, got []float32, check func(x, got float32, st *errStat) string) errStat {
	t.Helper()
	var st errStat
	bad := 0
	for i, x := range xs {
		if msg := check(x, got[i], &st); msg != "" {
			if bad++; bad <= 5 {
				t.Errorf("x=%.9g (0x%08x): got %.9g: %s", x, math.Float32bits(x), got[i], msg)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d failures in all", bad)
	}
	return st
}
