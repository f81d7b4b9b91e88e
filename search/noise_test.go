package search

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// noisy is cand with a latency spread (median absolute deviation).
func noisy(key string, acc float64, lat, mad time.Duration, size int64) Candidate {
	c := cand(key, acc, lat, size, true)
	c.Result.Latency.MAD = mad
	return c
}

func TestLatencyTied(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ma, sa, mb, sb float64
		eps            float64
		want           bool
	}{
		{"within the larger spread", 10, 0.5, 10.4, 0.1, 0, true},
		{"within the other's spread", 10, 0.1, 10.4, 0.5, 0, true},
		{"beyond both spreads", 10, 0.3, 10.4, 0.3, 0, false},
		{"exactly the spread apart is not tied", 10, 0.4, 10.4, 0.4, 0, false},
		{"no spread, no epsilon: only equal medians", 10, 0, 10, 0, 0, false},
		{"within epsilon of the larger median", 10, 0, 10.2, 0, 0.02, true},
		{"beyond epsilon", 10, 0, 10.3, 0, 0.02, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LatencyTied(tc.ma, tc.sa, tc.mb, tc.sb, tc.eps); got != tc.want {
				t.Errorf("LatencyTied(%v±%v, %v±%v, ε=%v) = %v, want %v", tc.ma, tc.sa, tc.mb, tc.sb, tc.eps, got, tc.want)
			}
			if got := LatencyTied(tc.mb, tc.sb, tc.ma, tc.sa, tc.eps); got != tc.want {
				t.Errorf("not symmetric")
			}
		})
	}
}

func TestNoiseFront(t *testing.T) {
	ms := time.Millisecond
	us := time.Microsecond
	for _, tc := range []struct {
		name  string
		cands []Candidate
		fc    FrontConfig
		exact []string // the exact front, by accuracy
		want  []string // the reported front, by accuracy
	}{
		{
			name: "near-duplicates within the spread collapse to the most accurate",
			cands: []Candidate{
				noisy("a", 0.85, 1000*us, 30*us, 100),
				noisy("b", 0.84, 990*us, 30*us, 100),
				noisy("c", 0.83, 980*us, 30*us, 100),
			},
			exact: []string{"a", "b", "c"},
			want:  []string{"a"},
		},
		{
			name: "clearly different latencies stay",
			cands: []Candidate{
				noisy("a", 0.85, 2*ms, 30*us, 100),
				noisy("b", 0.84, 1*ms, 30*us, 100),
				noisy("c", 0.83, ms/2, 30*us, 100),
			},
			exact: []string{"a", "b", "c"},
			want:  []string{"a", "b", "c"},
		},
		{
			name: "a smaller candidate within the noise stays: size is exact",
			cands: []Candidate{
				noisy("a", 0.85, 1000*us, 30*us, 100),
				noisy("b", 0.84, 990*us, 30*us, 50),
			},
			exact: []string{"a", "b"},
			want:  []string{"a", "b"},
		},
		{
			name: "ties do not chain: the left-out member's dominator is kept",
			cands: []Candidate{
				noisy("a", 0.90, 1040*us, 50*us, 100),
				noisy("b", 0.89, 1000*us, 50*us, 100),
				noisy("c", 0.88, 960*us, 50*us, 100),
			},
			exact: []string{"a", "b", "c"},
			want:  []string{"a", "c"},
		},
		{
			name: "equal accuracy and size: the faster within the noise wins",
			cands: []Candidate{
				noisy("a", 0.85, 1010*us, 30*us, 100),
				noisy("b", 0.85, 1000*us, 30*us, 100),
			},
			exact: []string{"b"},
			want:  []string{"b"},
		},
		{
			name: "the default epsilon (2%) ties 1% apart without spread",
			cands: []Candidate{
				noisy("a", 0.85, 1010*us, 0, 100),
				noisy("b", 0.84, 1000*us, 0, 100),
			},
			exact: []string{"a", "b"},
			want:  []string{"a"},
		},
		{
			name: "the default epsilon does not tie 3% apart",
			cands: []Candidate{
				noisy("a", 0.85, 1030*us, 0, 100),
				noisy("b", 0.84, 1000*us, 0, 100),
			},
			exact: []string{"a", "b"},
			want:  []string{"a", "b"},
		},
		{
			name: "a smaller epsilon does not tie 1% apart",
			cands: []Candidate{
				noisy("a", 0.85, 1010*us, 0, 100),
				noisy("b", 0.84, 1000*us, 0, 100),
			},
			fc:    FrontConfig{LatencyEpsilon: 0.005},
			exact: []string{"a", "b"},
			want:  []string{"a", "b"},
		},
		{
			name: "epsilon ties when the spread is zero",
			cands: []Candidate{
				noisy("a", 0.85, 1010*us, 0, 100),
				noisy("b", 0.84, 1000*us, 0, 100),
			},
			fc:    FrontConfig{LatencyEpsilon: 0.02},
			exact: []string{"a", "b"},
			want:  []string{"a"},
		},
		{
			name: "exact front on request",
			cands: []Candidate{
				noisy("a", 0.85, 1000*us, 30*us, 100),
				noisy("b", 0.84, 990*us, 30*us, 100),
			},
			fc:    FrontConfig{Exact: true, LatencyEpsilon: 0.5},
			exact: []string{"a", "b"},
			want:  []string{"a", "b"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewArchive()
			for _, c := range tc.cands {
				a.Insert(c)
			}
			if got := keys(a.Front()); !slices.Equal(got, tc.exact) {
				t.Errorf("exact front %v, want %v", got, tc.exact)
			}
			if got := keys(a.NoiseFront(tc.fc)); !slices.Equal(got, tc.want) {
				t.Errorf("noise-aware front %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNoiseFrontProperties checks on random archives what NoiseFront
// promises: a subset of the exact front, no kept member noise-dominates
// another, every exact-front member left out is noise-dominated by a kept
// one, independent of the insertion order; and its hypervolume is at most
// the exact one.
func TestNoiseFrontProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ref := Reference{Latency: 10 * time.Millisecond, SizeBytes: 10}
	for trial := range 300 {
		var cs []Candidate
		for i := range 2 + r.IntN(30) {
			cs = append(cs, noisy(string(rune('A'+i%26))+string(rune('a'+i/26)), float64(r.IntN(20))/20,
				time.Duration(1+r.IntN(60))*100*time.Microsecond, time.Duration(r.IntN(4))*100*time.Microsecond, int64(1+r.IntN(4))))
		}
		fc := FrontConfig{LatencyEpsilon: float64(r.IntN(3)) / 20} // 0: the default
		a := NewArchive()
		for _, c := range cs {
			a.Insert(c)
		}
		exact, got := a.Front(), a.NoiseFront(fc)
		for i := range got {
			if !slices.ContainsFunc(exact, func(e Candidate) bool { return e.Key == got[i].Key }) {
				t.Fatalf("trial %d: %s is not on the exact front", trial, got[i].Key)
			}
			for j := range got {
				if NoiseDominates(&got[i], &got[j], fc.Epsilon()) {
					t.Fatalf("trial %d: kept %s noise-dominates kept %s", trial, got[i].Key, got[j].Key)
				}
			}
		}
		for i := range exact {
			if slices.ContainsFunc(got, func(k Candidate) bool { return k.Key == exact[i].Key }) {
				continue
			}
			if !slices.ContainsFunc(got, func(k Candidate) bool { return NoiseDominates(&k, &exact[i], fc.Epsilon()) }) {
				t.Fatalf("trial %d: %s left out but no kept member dominates it", trial, exact[i].Key)
			}
		}
		b := NewArchive()
		for _, i := range r.Perm(len(cs)) {
			b.Insert(cs[i])
		}
		if again := b.NoiseFront(fc); !slices.Equal(keys(again), keys(got)) {
			t.Fatalf("trial %d: another insertion order gives %v, want %v", trial, keys(again), keys(got))
		}
		if hv, exactHV := FrontHypervolume(got, ref), a.Hypervolume(ref); hv > exactHV+1e-12 {
			t.Fatalf("trial %d: noise-aware hypervolume %v > exact %v", trial, hv, exactHV)
		}
	}
}

// TestRunReportsNoiseAwareFront: a run's Outcome.Front, History and
// events carry the noise-aware front beside the exact one, and the front
// rule is not part of the run's identity: a resume may change it.
func TestRunReportsNoiseAwareFront(t *testing.T) {
	sp := testSpace(t)
	store := openStore(t, filepath.Join(t.TempDir(), "run.db"))
	cfg := Config{Seed: 3, Budget: Budget{MaxEvaluations: 60, Patience: -1}, Front: FrontConfig{LatencyEpsilon: 0.2}}
	var last Event
	out, err := Run(context.Background(), cfg, sp, &fakeEval{}, WithStore(store), WithTeacher(teacherResult(sp)), WithProgress(func(e Event) { last = e }))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Front) == 0 || len(out.Front) >= out.ExactFrontSize {
		t.Fatalf("noise-aware front of %d, exact %d: want a smaller, non-empty front", len(out.Front), out.ExactFrontSize)
	}
	for _, h := range out.History {
		if h.NoiseFrontSize == 0 || h.NoiseFrontSize > h.FrontSize || h.NoiseHypervolume <= 0 || h.NoiseHypervolume > h.Hypervolume {
			t.Errorf("generation %d: fronts of %d (noise-aware) and %d (exact), hypervolumes %v and %v", h.Generation, h.NoiseFrontSize, h.FrontSize, h.NoiseHypervolume, h.Hypervolume)
		}
	}
	// The last event follows the last evaluation: it has the final fronts.
	if want := FrontHypervolume(out.Front, out.Config.Reference); last.NoiseFrontSize != len(out.Front) || last.FrontSize != out.ExactFrontSize ||
		last.NoiseHypervolume != want || want >= last.Hypervolume {
		t.Errorf("last event: fronts of %d and %d, hypervolumes %v and %v; want %d and %d, %v below the exact",
			last.NoiseFrontSize, last.FrontSize, last.NoiseHypervolume, last.Hypervolume, len(out.Front), out.ExactFrontSize, want)
	}
	exact := cfg
	exact.Front = FrontConfig{Exact: true}
	again, err := Run(context.Background(), exact, sp, &fakeEval{}, WithStore(store))
	if err != nil {
		t.Fatalf("resume with the exact front: %v", err)
	}
	if len(again.Front) != out.ExactFrontSize || again.ExactFrontSize != out.ExactFrontSize {
		t.Errorf("exact resume: front %d, exact %d, want %d", len(again.Front), again.ExactFrontSize, out.ExactFrontSize)
	}
}
