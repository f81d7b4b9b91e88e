package compress

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/edgenas/edgenas/space"
)

func TestFactorize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const out, in = 24, 40
	// A matrix of rank 5 exactly: a rank-5 factorization reproduces it.
	a := make([]float32, out*5)
	b := make([]float32, 5*in)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	w := make([]float32, out*in)
	for i := 0; i < out; i++ {
		for j := 0; j < in; j++ {
			var s float32
			for k := 0; k < 5; k++ {
				s += a[i*5+k] * b[k*in+j]
			}
			w[i*in+j] = s
		}
	}
	product := func(u, v []float32, rank int) []float32 {
		p := make([]float32, out*in)
		for i := 0; i < out; i++ {
			for j := 0; j < in; j++ {
				var s float64
				for k := 0; k < rank; k++ {
					s += float64(u[i*rank+k]) * float64(v[k*in+j])
				}
				p[i*in+j] = float32(s)
			}
		}
		return p
	}
	for _, tc := range []struct {
		rank    int
		maxDiff float64
	}{{5, 1e-4}, {24, 1e-4}} {
		u, v, kept, err := factorize(nil, w, out, in, tc.rank)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(w, product(u, v, tc.rank)); d > tc.maxDiff || math.Abs(kept-1) > 1e-9 {
			t.Errorf("rank %d: max diff %g, kept %v", tc.rank, d, kept)
		}
	}
	u, v, kept, err := factorize(nil, w, out, in, 2)
	if err != nil {
		t.Fatal(err)
	}
	if kept >= 1 || kept <= 0 {
		t.Errorf("rank 2 of a rank-5 matrix keeps %v of the energy", kept)
	}
	if d := maxDiff(w, product(u, v, 2)); d < 1e-3 {
		t.Errorf("rank 2 reproduces a rank-5 matrix (diff %g): the test is vacuous", d)
	}
	for _, bad := range []int{0, 25, -1} {
		if _, _, _, err := factorize(nil, w, out, in, bad); err == nil {
			t.Errorf("rank %d accepted", bad)
		}
	}
}

// TestFactorCache builds students through a FactorCache and checks that
// they equal Apply's bit for bit, that students sharing pruned matrices
// reuse the SVDs, and that a cache too small for them stays within its
// bound and still builds the same students.
func TestFactorCache(t *testing.T) {
	m := teacher(t)
	imp := scores(m, func(l, h int) float64 { return float64((h + l) % 4) }, func(l, n int) float64 { return float64((n * (l + 3)) % 11) })
	var archs []space.Arch
	for _, ranks := range [][2]int{{8, 8}, {4, 16}, {8, 0}, {0, 4}} {
		for _, bits := range []int{32, 8} {
			a := full(m)
			for i := range a.Layers {
				a.Layers[i].Heads, a.Layers[i].FFN = 2, 16
				a.Layers[i].AttentionRank, a.Layers[i].FFNRank, a.Layers[i].Bits = ranks[0], ranks[1], bits
			}
			archs = append(archs, a)
		}
	}
	emb := full(m)
	emb.EmbeddingRank = 8
	archs = append(archs, emb, emb)
	for _, tc := range []struct {
		name     string
		maxBytes int64
		hits     bool
	}{{"default bound", 0, true}, {"smaller than one SVD", 64, false}} {
		t.Run(tc.name, func(t *testing.T) {
			fc := NewFactorCache(tc.maxBytes)
			for i, a := range archs {
				want, err := Apply(m, a, imp, Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := fc.Apply(m, a, imp, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("arch %d (%s): the student built through the cache differs from Apply's", i, a.Key())
				}
			}
			hits, misses := fc.Stats()
			if tc.hits && (hits == 0 || misses == 0) {
				t.Errorf("%d hits, %d misses: want both (students share pruned matrices)", hits, misses)
			}
			if !tc.hits && hits != 0 {
				t.Errorf("%d hits from a cache that can hold no SVD", hits)
			}
			if max := tc.maxBytes; max > 0 && fc.bytes > max {
				t.Errorf("cache holds %d bytes, bound %d", fc.bytes, max)
			}
		})
	}
	// Eviction: a bound of two SVDs keeps at most two, least recently used out.
	w := func(seed uint64) []float32 {
		r := rand.New(rand.NewPCG(seed, 1))
		x := make([]float32, 12*10)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	one, err := thinSVD(w(1), 12, 10)
	if err != nil {
		t.Fatal(err)
	}
	fc := NewFactorCache(2 * one.bytes())
	for _, seed := range []uint64{1, 2, 1, 3, 1, 2} {
		if _, _, _, err := factorize(fc, w(seed), 12, 10, 3); err != nil {
			t.Fatal(err)
		}
	}
	// 1 miss, 2 miss, 1 hit, 3 miss (evicts 2), 1 hit, 2 miss (evicts 3).
	if hits, misses := fc.Stats(); hits != 2 || misses != 4 || len(fc.entries) != 2 || fc.bytes != 2*one.bytes() {
		t.Errorf("hits %d misses %d entries %d bytes %d; want 2, 4, 2, %d", hits, misses, len(fc.entries), fc.bytes, 2*one.bytes())
	}
}

func BenchmarkFactorCacheApply(b *testing.B) {
	m := teacher(b)
	imp := scores(m, func(_, h int) float64 { return float64(h) }, func(_, n int) float64 { return float64(n % 7) })
	a := full(m)
	for i := range a.Layers {
		a.Layers[i].Heads, a.Layers[i].FFN, a.Layers[i].AttentionRank, a.Layers[i].FFNRank = 2, 16, 8, 8
	}
	fc := NewFactorCache(0)
	for b.Loop() {
		if _, err := fc.Apply(m, a, imp, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
