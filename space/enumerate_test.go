package space

import (
	"math/big"
	"testing"
)

func TestEnumerateAgreesWithSize(t *testing.T) {
	small := Teacher{Layers: 3, Heads: 2, Hidden: 8, FFN: 8, Vocab: 20, MaxSeq: 16}
	for _, tc := range []struct {
		name  string
		spec  Spec
		teach Teacher
	}{
		{"default", Spec{}, small},
		{"sharing", Spec{ShareGroups: []int{1, 2, 3}, Bits: []int{8, 32}, FFN: []int{4, 8}}, small},
		{"pairs only", Spec{Layers: []int{2}, ShareGroups: []int{2}, Bits: []int{8}}, small},
		{"ranks", Spec{Layers: []int{1, 2}, LayerSources: []int{0, 2}, Heads: []int{1, 2}, FFN: []int{2, 8}, AttentionRank: []int{0, 3, 8}, FFNRank: []int{0, 4}, Bits: []int{4}, EmbeddingRank: []int{0, 2}, SeqLen: []int{8, 16}}, small},
		{"demo-like", Spec{Layers: []int{1, 2}, Heads: []int{1, 2}, FFN: []int{128, 512}, AttentionRank: []int{0, 32}, FFNRank: []int{0, 64}, Bits: []int{32, 8, 4}, ShareGroups: []int{1, 2}, SeqLen: []int{32}},
			Teacher{Layers: 2, Heads: 2, Hidden: 128, FFN: 512, Vocab: 100, MaxSeq: 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := newSpace(t, tc.spec, tc.teach)
			seen := map[string]bool{}
			sp.Enumerate(func(a Arch) bool {
				if err := sp.Validate(a); err != nil {
					t.Fatalf("Enumerate yielded an invalid arch %s: %v", a.Key(), err)
				}
				if seen[a.Key()] {
					t.Fatalf("Enumerate yielded %s twice", a.Key())
				}
				seen[a.Key()] = true
				return true
			})
			if got := sp.Size(); got.Cmp(big.NewInt(int64(len(seen)))) != 0 {
				t.Fatalf("Enumerate yielded %d archs, Size() = %v", len(seen), got)
			}
			if tc.teach == small {
				if want := enumerate(sp); int64(len(seen)) != want {
					t.Fatalf("Enumerate yielded %d archs, brute force finds %d", len(seen), want)
				}
			}
		})
	}
}

func TestEnumerateStops(t *testing.T) {
	sp := newSpace(t, Spec{}, Teacher{Layers: 3, Heads: 2, Hidden: 8, FFN: 8, Vocab: 20, MaxSeq: 16})
	n := 0
	sp.Enumerate(func(Arch) bool { n++; return n < 5 })
	if n != 5 {
		t.Fatalf("yield called %d times after returning false at the 5th, want 5", n)
	}
}

func TestEnumerateOwnsArchs(t *testing.T) {
	sp := newSpace(t, Spec{Layers: []int{2}}, Teacher{Layers: 2, Heads: 2, Hidden: 8, FFN: 8, Vocab: 20, MaxSeq: 16})
	var all []Arch
	sp.Enumerate(func(a Arch) bool { all = append(all, a); return true })
	keys := map[string]bool{}
	for _, a := range all {
		keys[a.Key()] = true
	}
	if len(keys) != len(all) {
		t.Fatalf("%d distinct keys among %d kept archs: yielded archs share memory", len(keys), len(all))
	}
}
