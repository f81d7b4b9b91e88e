package space

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// mini is BERT-mini's shape.
var mini = Teacher{Layers: 4, Heads: 4, Hidden: 256, FFN: 1024, Vocab: 30522, MaxSeq: 512}

// richSpec uses every kind of gene.
func richSpec() Spec {
	return Spec{
		Layers:        []int{1, 2, 3, 4},
		Heads:         []int{1, 2, 4},
		FFN:           []int{256, 512, 1024},
		AttentionRank: []int{0, 32, 128},
		FFNRank:       []int{0, 64, 256},
		Bits:          []int{32, 16, 8, 4},
		ShareGroups:   []int{1, 2},
		EmbeddingRank: []int{0, 64},
		EmbeddingBits: []int{32, 8},
		SeqLen:        []int{64, 128},
	}
}

func newSpace(t testing.TB, s Spec, tc Teacher) *Space {
	t.Helper()
	sp, err := New(s, tc)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestNewRejectsBadSpecs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  Spec
		teach Teacher
		want  []string // every fragment must appear in the one error
	}{
		{"heads above teacher", Spec{Heads: []int{1, 8}}, mini, []string{"heads: value 8 outside [1, 4]"}},
		{"unsupported bits", Spec{Bits: []int{32, 6}}, mini, []string{"bits: 6 bits is not supported"}},
		{"rank above hidden", Spec{FFNRank: []int{0, 300}}, mini, []string{"ffn_rank: value 300 outside 0 (none) or [1, 256]"}},
		{"duplicate", Spec{FFN: []int{256, 256}}, mini, []string{"ffn: value 256 listed more than once"}},
		{"two million duplicates", Spec{Heads: slices.Repeat([]int{1}, 2_000_000)}, mini, []string{"heads: values [1 1 1 1 1]… (1999999 in all) listed more than once"}},
		{"all at once", Spec{Layers: []int{0, 5}, LayerSources: []int{4}, SeqLen: []int{1024}}, mini,
			[]string{"layers: values [0 5] outside [1, 4]", "layer_sources: value 4 outside [0, 3]", "seq_len: value 1024 outside [1, 512]"}},
		{"no tiling", Spec{Layers: []int{3}, ShareGroups: []int{2}}, mini, []string{"can be split into sharing groups"}},
		{"rank never fits", Spec{Heads: []int{1}, AttentionRank: []int{128}}, mini, []string{"attention_rank: no allowed rank fits 1 heads"}},
		{"teacher mismatch", Spec{Teacher: &Teacher{Layers: 12, Heads: 12, Hidden: 768, FFN: 3072}}, mini, []string{"teacher: the spec states layers=12"}},
		{"bad teacher", Spec{}, Teacher{Layers: 2, Heads: 3, Hidden: 128, FFN: 0, Vocab: 10, MaxSeq: 8}, []string{"teacher.ffn: must be positive", "teacher.hidden: 128 is not a multiple"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.spec, tc.teach)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error of %d bytes: a summary should be short", len(err.Error()))
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte("layers: [2, 4]\nheads: [2, 4]\nbits: [8, 32]\nteacher:\n  layers: 4\n  heads: 4\n  hidden: 256\n  ffn: 1024\n"))
	if err != nil {
		t.Fatal(err)
	}
	sp := newSpace(t, s, mini)
	if got := sp.Spec().Bits; len(got) != 2 || got[0] != 8 {
		t.Errorf("bits %v, want sorted [8 32]", got)
	}
	_, err = ParseSpec([]byte("layers: [2]\nhaeds: [2]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "haeds") {
		t.Errorf("misspelled key: error %v, want one naming line 2 and the key", err)
	}
	if s, err := ParseSpec(nil); err != nil || s.Layers != nil {
		t.Errorf("empty document: %+v, %v; want the zero spec", s, err)
	}
}

// enumerate counts the valid architectures of a small space by brute force,
// independently of Size's dynamic programme.
func enumerate(sp *Space) int64 {
	s := sp.Spec()
	var shapes []LayerGene
	for _, h := range s.Heads {
		for _, f := range s.FFN {
			for _, ar := range s.AttentionRank {
				for _, fr := range s.FFNRank {
					for _, b := range s.Bits {
						shapes = append(shapes, LayerGene{Heads: h, FFN: f, AttentionRank: ar, FFNRank: fr, Bits: b})
					}
				}
			}
		}
	}
	var n int64
	var rec func(a Arch, next int)
	rec = func(a Arch, next int) {
		for _, er := range s.EmbeddingRank {
			for _, eb := range s.EmbeddingBits {
				for _, sl := range s.SeqLen {
					c := a.Clone()
					c.EmbeddingRank, c.EmbeddingBits, c.SeqLen = er, eb, sl
					if sp.Validate(c) == nil {
						n++
					}
				}
			}
		}
		for _, src := range s.LayerSources {
			if src < next {
				continue
			}
			for _, sh := range shapes {
				for _, share := range []bool{false, true} {
					l := sh
					l.Source, l.SharePrev = src, share
					rec(Arch{Layers: append(a.Clone().Layers, l)}, src+1)
				}
			}
		}
	}
	rec(Arch{}, 0)
	return n
}

func TestSizeMatchesEnumeration(t *testing.T) {
	small := Teacher{Layers: 3, Heads: 2, Hidden: 8, FFN: 8, Vocab: 20, MaxSeq: 16}
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"default", Spec{}},
		{"sharing", Spec{ShareGroups: []int{1, 2, 3}, Bits: []int{8, 32}, FFN: []int{4, 8}}},
		{"pairs only", Spec{Layers: []int{2}, ShareGroups: []int{2}, Bits: []int{8}}},
		{"ranks", Spec{Layers: []int{1, 2}, LayerSources: []int{0, 2}, Heads: []int{1, 2}, FFN: []int{2, 8}, AttentionRank: []int{0, 3, 8}, FFNRank: []int{0, 4}, Bits: []int{4}, EmbeddingRank: []int{0, 2}, SeqLen: []int{8, 16}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := newSpace(t, tc.spec, small)
			want := enumerate(sp)
			if want == 0 {
				t.Fatal("enumeration found nothing")
			}
			t.Logf("%d architectures", want)
			if got := sp.Size(); got.Cmp(big.NewInt(want)) != 0 {
				t.Fatalf("Size() = %v, enumeration finds %d", got, want)
			}
		})
	}
}

func TestSizeRich(t *testing.T) {
	// Heads 1 (inner width 64) fits attention ranks {0, 32}, heads 2 and 4
	// fit all three; every FFN width fits all three FFN ranks.
	sp := newSpace(t, richSpec(), mini)
	if sp.Size().Sign() <= 0 {
		t.Fatal("empty space")
	}
	g := sp.groupChoices().Int64()
	if want := int64((2+3+3)*3*3*4) * 1; g != want { // (ar per heads)·(FFN widths)·(FFN ranks)·bits
		t.Fatalf("group choices %d, want %d", g, want)
	}
}

func TestSampleIsValidAndDeterministic(t *testing.T) {
	sp := newSpace(t, richSpec(), mini)
	r1, r2 := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		a, b := sp.Sample(r1), sp.Sample(r2)
		if err := sp.Validate(a); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if a.Key() != b.Key() {
			t.Fatalf("sample %d differs under the same seed: %s vs %s", i, a.Key(), b.Key())
		}
		seen[a.Key()] = true
	}
	if len(seen) < 1900 {
		t.Errorf("only %d distinct of 2000 samples", len(seen))
	}
}

func TestSpecOrderDoesNotMatter(t *testing.T) {
	s1 := richSpec()
	s2 := richSpec()
	for _, l := range [][]int{s2.Heads, s2.FFN, s2.Bits, s2.AttentionRank, s2.SeqLen} {
		for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
			l[i], l[j] = l[j], l[i]
		}
	}
	a := newSpace(t, s1, mini).Sample(rand.New(rand.NewPCG(5, 5)))
	b := newSpace(t, s2, mini).Sample(rand.New(rand.NewPCG(5, 5)))
	if a.Key() != b.Key() {
		t.Fatalf("same seed, reordered spec: %s vs %s", a.Key(), b.Key())
	}
}

func TestOperatorsAlwaysValid(t *testing.T) {
	specs := map[string]Spec{
		"rich":      richSpec(),
		"default":   {},
		"groups23":  {Layers: []int{2, 3, 4}, ShareGroups: []int{2, 3}},
		"no single": {Layers: []int{2, 4}, ShareGroups: []int{2}, Heads: []int{2, 4}},
		"sources":   {Layers: []int{1, 2}, LayerSources: []int{1, 3}, ShareGroups: []int{1, 2}},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			sp := newSpace(t, spec, mini)
			r := rand.New(rand.NewPCG(7, 8))
			pop := []Arch{sp.Sample(r), sp.Sample(r)}
			changed := 0
			for i := 0; i < 3000; i++ {
				p := pop[r.IntN(len(pop))]
				m, err := sp.Mutate(p, r, 0.3)
				if err != nil {
					t.Fatalf("mutate %s: %v", p.Key(), err)
				}
				if !m.Equal(p) {
					changed++
				}
				c1, c2, err := sp.Crossover(m, pop[r.IntN(len(pop))], r)
				if err != nil {
					t.Fatal(err)
				}
				pop = append(pop, m, c1, c2)
				if len(pop) > 50 {
					pop = pop[len(pop)-50:]
				}
			}
			if changed < 1000 {
				t.Errorf("only %d of 3000 mutations changed anything", changed)
			}
		})
	}
}

func TestMutateReachesEveryLayerCount(t *testing.T) {
	sp := newSpace(t, richSpec(), mini)
	r := rand.New(rand.NewPCG(3, 3))
	a := sp.Sample(r)
	counts := map[int]bool{}
	for i := 0; i < 2000; i++ {
		var err error
		if a, err = sp.Mutate(a, r, 0.2); err != nil {
			t.Fatal(err)
		}
		counts[len(a.Layers)] = true
	}
	if len(counts) != 4 {
		t.Errorf("mutation reached layer counts %v, want 1..4", counts)
	}
}

func TestOperatorsRejectInvalidParents(t *testing.T) {
	sp := newSpace(t, richSpec(), mini)
	bad := Arch{Layers: []LayerGene{{Source: 0, Heads: 3, FFN: 256, Bits: 32}}, EmbeddingBits: 32, SeqLen: 64}
	r := rand.New(rand.NewPCG(1, 1))
	if _, err := sp.Mutate(bad, r, 0.5); err == nil || !strings.Contains(err.Error(), "layers[0].heads") {
		t.Errorf("mutate of an invalid parent: %v", err)
	}
	if _, _, err := sp.Crossover(sp.Sample(r), bad, r); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("crossover with an invalid parent: %v", err)
	}
}

func TestValidateNamesEachViolation(t *testing.T) {
	sp := newSpace(t, richSpec(), mini)
	a := Arch{Layers: []LayerGene{
		{Source: 1, Heads: 1, FFN: 256, AttentionRank: 128, FFNRank: 0, Bits: 32, SharePrev: true},
		{Source: 1, Heads: 2, FFN: 300, Bits: 6},
		{Source: 2, Heads: 4, FFN: 512, Bits: 8, SharePrev: true},
	}, EmbeddingRank: 7, EmbeddingBits: 16, SeqLen: 100}
	err := sp.Validate(a)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"layers[0].attention_rank: 128 exceeds", "layers[0].share_prev: the first layer",
		"layers[1].source: teacher layer 1 does not follow", "layers[1].ffn: 300", "layers[1].bits: 6",
		"layers[2].share_prev: shares layer 1's weights but", "embedding_rank: 7", "embedding_bits: 16", "seq_len: 100",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	tooBig := Arch{Layers: []LayerGene{{Source: 0, Heads: 4, FFN: 1024, Bits: 8}, {Source: 1, Heads: 4, FFN: 1024, Bits: 8, SharePrev: true},
		{Source: 2, Heads: 4, FFN: 1024, Bits: 8, SharePrev: true}}, EmbeddingBits: 32, SeqLen: 64}
	if err := sp.Validate(tooBig); err == nil || !strings.Contains(err.Error(), "layers[0:3]: sharing group of 3 layers") {
		t.Errorf("group of 3: %v", err)
	}
	if err := sp.Validate(sp.TeacherArch()); err != nil {
		t.Errorf("teacher arch: %v", err)
	}
}

func TestKey(t *testing.T) {
	a := Arch{Layers: []LayerGene{
		{Source: 0, Heads: 4, FFN: 1024, Bits: 32},
		{Source: 2, Heads: 2, FFN: 512, AttentionRank: 64, Bits: 8},
		{Source: 3, Heads: 2, FFN: 512, AttentionRank: 64, Bits: 8, SharePrev: true},
	}, EmbeddingRank: 64, EmbeddingBits: 8, SeqLen: 128}
	const want = "a1|L0:4:1024:0:0:32|L2:2:512:64:0:8|L3:2:512:64:0:8s|E64:8|S128"
	if got := a.Key(); got != want {
		t.Fatalf("Key() = %s, want %s", got, want)
	}
	b, err := ParseKey(want)
	if err != nil || !b.Equal(a) {
		t.Fatalf("ParseKey: %+v, %v", b, err)
	}
	for _, bad := range []string{"", "a2|E0:32|S1", "a1|L0:1:1:0:0|E0:32|S1", "a1|X|E0:32|S1", "a1|L0:+1:1:0:0:8|E0:32|S1", "a1|L0:1:1:0:0:8|E0:32"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if got := a.Groups(); len(got) != 2 || got[1] != [2]int{1, 3} {
		t.Errorf("Groups() = %v", got)
	}
}

func TestDecodeArch(t *testing.T) {
	sp := newSpace(t, richSpec(), mini)
	a := sp.Sample(rand.New(rand.NewPCG(9, 9)))
	data, err := jsonMarshal(a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeArch(data)
	if err != nil || !b.Equal(a) {
		t.Fatalf("round trip: %+v, %v", b, err)
	}
	for _, bad := range []string{`{"layers":[],"bogus":1}`, `{"layers":[]} {}`, `{"layers":"x"}`, `[`} {
		if _, err := DecodeArch([]byte(bad)); err == nil {
			t.Errorf("DecodeArch(%s) accepted", bad)
		}
	}
}

func BenchmarkMutate(b *testing.B) {
	sp := newSpace(b, richSpec(), mini)
	r := rand.New(rand.NewPCG(1, 1))
	a := sp.Sample(r)
	for b.Loop() {
		m, err := sp.Mutate(a, r, 0.1)
		if err != nil {
			b.Fatal(err)
		}
		a = m
	}
}

func BenchmarkKey(b *testing.B) {
	sp := newSpace(b, richSpec(), mini)
	a := sp.Sample(rand.New(rand.NewPCG(1, 1)))
	for b.Loop() {
		_ = a.Key()
	}
}

// TestNewNeverPanics: out-of-range values in any list are reported, never
// used to index (a negative layer count or group size panicked before).
func TestNewNeverPanics(t *testing.T) {
	tc := Teacher{Layers: 2, Heads: 2, Hidden: 128, FFN: 512, Vocab: 100, MaxSeq: 64}
	for _, s := range []Spec{{Layers: []int{-1}}, {ShareGroups: []int{-1}}, {LayerSources: []int{-1}}, {Heads: []int{-1}},
		{SeqLen: []int{-1}}, {Layers: []int{1 << 40}}, {ShareGroups: []int{1 << 40}}, {EmbeddingRank: []int{-5}}} {
		if _, err := New(s, tc); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", s, err)
		}
	}
}
