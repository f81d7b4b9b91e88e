package predictor

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/space"
)

// testSpace is the demo space over a small teacher, with sequence lengths
// varied too.
func testSpace(t testing.TB) *space.Space {
	t.Helper()
	sp, err := space.New(space.Spec{
		Layers: []int{1, 2}, Heads: []int{1, 2}, FFN: []int{64, 128, 256, 512},
		AttentionRank: []int{0, 32}, FFNRank: []int{0, 32, 64}, Bits: []int{32, 16, 8, 4},
		ShareGroups: []int{1, 2}, EmbeddingRank: []int{0, 32}, EmbeddingBits: []int{32, 8, 4},
		SeqLen: []int{16, 32, 64},
	}, space.Teacher{Layers: 2, Heads: 2, Hidden: 128, FFN: 512, Vocab: 100, MaxSeq: 64})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// synthetic returns n sampled architectures with latencies from a known
// linear model of the analytic features (coef, ns per unit), times a
// relative noise factor drawn from [1−noise, 1+noise].
func synthetic(t testing.TB, sp *space.Space, n int, coef map[int]float64, noise float64, seed uint64) []Sample {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	d := dims{hidden: sp.Teacher().Hidden, headSize: sp.Teacher().HeadSize, batch: 1}
	out := make([]Sample, n)
	for i := range out {
		a := sp.Sample(r)
		var x [numAnalytic]float64
		d.analytic(a, &x)
		var y float64
		for j, c := range coef {
			y += c * x[j]
		}
		y *= 1 + noise*(2*r.Float64()-1)
		out[i] = Sample{Arch: a, Latency: time.Duration(y)}
	}
	return out
}

var trueCoef = map[int]float64{
	fIntercept:              20_000,
	fDenseMACs + kindFloat:  0.01,
	fDenseMACs + kindInt8:   0.004,
	fDenseMACs + kindInt4:   0.006,
	fLowRankMACs + kindInt8: 0.02,
	fProducts + kindFloat:   300,
	fAttnMACs:               0.03,
	fLayers:                 4_000,
	fEmbedProj:              0.02,
}

func TestFitRecoversLinearModel(t *testing.T) {
	sp := testSpace(t)
	for _, tc := range []struct {
		name     string
		opts     Options
		noise    float64
		wantWith float64 // max |relative error| on fresh architectures
	}{
		{"exact analytic", Options{NoTables: true}, 0, 1e-3},
		{"exact with lookup", Options{}, 0, 1e-2},
		{"2% noise", Options{NoTables: true}, 0.02, 0.03},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Fit(sp.Teacher(), devices.Workload{}, synthetic(t, sp, 300, trueCoef, tc.noise, 1), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range synthetic(t, sp, 100, trueCoef, 0, 2) {
				if e := p.relErr(s); math.Abs(e) > tc.wantWith {
					t.Fatalf("%s: predicted %v, true %v (error %.4f > %v)", s.Arch.Key(), p.Predict(s.Arch), s.Latency, e, tc.wantWith)
				}
			}
		})
	}
}

func TestPredictGrowsWithWork(t *testing.T) {
	sp := testSpace(t)
	p, err := Fit(sp.Teacher(), devices.Workload{}, synthetic(t, sp, 200, trueCoef, 0.01, 3), Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := space.Arch{Layers: []space.LayerGene{{Source: 0, Heads: 1, FFN: 64, Bits: 32}}, EmbeddingBits: 32, SeqLen: 32}
	for _, tc := range []struct {
		name   string
		bigger func(a *space.Arch)
	}{
		{"wider FFN", func(a *space.Arch) { a.Layers[0].FFN = 512 }},
		{"more heads", func(a *space.Arch) { a.Layers[0].Heads = 2 }},
		{"longer sequence", func(a *space.Arch) { a.SeqLen = 64 }},
		{"another layer", func(a *space.Arch) {
			a.Layers = append(a.Layers, space.LayerGene{Source: 1, Heads: 1, FFN: 64, Bits: 32})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := base.Clone()
			tc.bigger(&b)
			if pa, pb := p.Predict(base), p.Predict(b); pb <= pa {
				t.Fatalf("%s predicted %v, not above %s's %v", b.Key(), pb, base.Key(), pa)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		share    float64
		wantTest int
	}{
		{"80/20", 100, 0.2, 20},
		{"at least one test", 3, 0.01, 1},
		{"at least one train", 3, 0.99, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, te, err := Split(tc.n, tc.share, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(te) != tc.wantTest || len(tr)+len(te) != tc.n {
				t.Fatalf("split %d: %d train, %d test; want %d test", tc.n, len(tr), len(te), tc.wantTest)
			}
			all := slices.Sorted(slices.Values(append(slices.Clone(tr), te...)))
			for i, v := range all {
				if v != i {
					t.Fatalf("train ∪ test = %v, want 0..%d once each", all, tc.n-1)
				}
			}
			tr2, te2, _ := Split(tc.n, tc.share, 7)
			if !slices.Equal(tr, tr2) || !slices.Equal(te, te2) {
				t.Fatal("same seed, different split")
			}
		})
	}
	t.Run("seed matters", func(t *testing.T) {
		_, a, _ := Split(100, 0.2, 1)
		_, b, _ := Split(100, 0.2, 2)
		if slices.Equal(a, b) {
			t.Fatal("seeds 1 and 2 gave the same test set")
		}
	})
	for _, tc := range []struct {
		name  string
		n     int
		share float64
	}{{"one sample", 1, 0.2}, {"share 0", 10, 0}, {"share 1", 10, 1}, {"NaN", 10, math.NaN()}} {
		t.Run("bad "+tc.name, func(t *testing.T) {
			if _, _, err := Split(tc.n, tc.share, 1); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	sp := testSpace(t)
	good := synthetic(t, sp, 20, trueCoef, 0, 4)
	zero := slices.Clone(good)
	zero[3].Latency = 0
	noLayers := slices.Clone(good)
	noLayers[5] = Sample{Arch: space.Arch{SeqLen: 32}, Latency: time.Millisecond}
	for _, tc := range []struct {
		name    string
		teacher space.Teacher
		samples []Sample
		opts    Options
		is      error
	}{
		{"too few", sp.Teacher(), good[:MinSamples-1], Options{}, ErrTooFewSamples},
		{"zero latency", sp.Teacher(), zero, Options{}, nil},
		{"no layers", sp.Teacher(), noLayers, Options{}, nil},
		{"no teacher dims", space.Teacher{}, good, Options{}, nil},
		{"one fold", sp.Teacher(), good, Options{Folds: 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.teacher, devices.Workload{}, tc.samples, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
		})
	}
}

func TestHoldoutAndHistogram(t *testing.T) {
	sp := testSpace(t)
	samples := synthetic(t, sp, 200, trueCoef, 0, 5)
	rep, err := Holdout(sp.Teacher(), devices.Workload{}, samples, 0.2, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Test) != 40 || len(rep.Errors) != 40 || rep.Predictor.Samples() != 160 {
		t.Fatalf("test %d, errors %d, fitted on %d; want 40, 40, 160", len(rep.Test), len(rep.Errors), rep.Predictor.Samples())
	}
	if w := rep.Within(0.1); w != 1 {
		t.Fatalf("exact linear latencies: within ±10 %% = %v, want 1", w)
	}
	bins := Histogram([]float64{-0.5, -0.15, -0.03, 0, 0.019, 0.1, 3})
	want := []int{1, 1, 0, 1, 2, 0, 0, 1, 1}
	for i, b := range bins {
		if b.Count != want[i] {
			t.Fatalf("bin %d [%v, %v): %d, want %d", i, b.Lo, b.Hi, b.Count, want[i])
		}
	}
}

func BenchmarkPredict(b *testing.B) {
	sp := testSpace(b)
	p, err := Fit(sp.Teacher(), devices.Workload{}, synthetic(b, sp, 200, trueCoef, 0.01, 6), Options{})
	if err != nil {
		b.Fatal(err)
	}
	archs := synthetic(b, sp, 64, trueCoef, 0, 7)
	i := 0
	for b.Loop() {
		p.Predict(archs[i%len(archs)].Arch)
		i++
	}
}
