package space

import (
	"fmt"
	"math/big"
	"slices"
)

// Space is a Spec bound to a teacher, with every default filled in and every
// list sorted. It is immutable and safe for concurrent use.
type Space struct {
	teacher Teacher
	spec    Spec // lists filled and sorted
	// tiles[n] reports whether n layers split into allowed group sizes.
	tiles []bool
}

// DefaultSpec returns the choices an empty Spec takes for teacher t: 1 to
// all layers from any teacher layer, 1 to all heads, FFN widths in quarters
// of the teacher's, full rank only, every bit width, no sharing, no
// embedding factorization, 32-bit embeddings and a sequence length of
// min(128, max_seq).
func DefaultSpec(t Teacher) Spec {
	var ffn []int
	for q := 1; q <= 4; q++ {
		if w := t.FFN * q / 4; w > 0 && !slices.Contains(ffn, w) {
			ffn = append(ffn, w)
		}
	}
	return Spec{
		Layers:        seq(1, t.Layers),
		LayerSources:  seq(0, t.Layers-1),
		Heads:         seq(1, t.Heads),
		FFN:           ffn,
		AttentionRank: []int{0},
		FFNRank:       []int{0},
		Bits:          slices.Clone(BitWidths),
		ShareGroups:   []int{1},
		EmbeddingRank: []int{0},
		EmbeddingBits: []int{32},
		SeqLen:        []int{min(128, t.MaxSeq)},
	}
}

// New validates spec against teacher t and returns the Space; the error
// lists every problem at once.
func New(spec Spec, t Teacher) (*Space, error) {
	p := t.validate()
	if err := p.err(); err != nil {
		return nil, err
	}
	t.HeadSize = t.Hidden / t.Heads
	if s := spec.Teacher; s != nil {
		if s.Layers != t.Layers || s.Heads != t.Heads || s.Hidden != t.Hidden || s.FFN != t.FFN ||
			(s.Vocab != 0 && s.Vocab != t.Vocab) || (s.MaxSeq != 0 && s.MaxSeq != t.MaxSeq) {
			p.addf("teacher", "the spec states layers=%d heads=%d hidden=%d ffn=%d vocab=%d max_seq=%d but the teacher has layers=%d heads=%d hidden=%d ffn=%d vocab=%d max_seq=%d",
				s.Layers, s.Heads, s.Hidden, s.FFN, s.Vocab, s.MaxSeq, t.Layers, t.Heads, t.Hidden, t.FFN, t.Vocab, t.MaxSeq)
		}
	}
	def := DefaultSpec(t)
	var s Spec
	s.Layers = p.list("layers", spec.Layers, 1, t.Layers, false, def.Layers)
	s.LayerSources = p.list("layer_sources", spec.LayerSources, 0, t.Layers-1, false, def.LayerSources)
	s.Heads = p.list("heads", spec.Heads, 1, t.Heads, false, def.Heads)
	s.FFN = p.list("ffn", spec.FFN, 1, t.FFN, false, def.FFN)
	s.AttentionRank = p.list("attention_rank", spec.AttentionRank, 1, t.Hidden, true, def.AttentionRank)
	s.FFNRank = p.list("ffn_rank", spec.FFNRank, 1, t.Hidden, true, def.FFNRank)
	s.Bits = p.list("bits", spec.Bits, 4, 32, false, def.Bits)
	s.ShareGroups = p.list("share_groups", spec.ShareGroups, 1, t.Layers, false, def.ShareGroups)
	s.EmbeddingRank = p.list("embedding_rank", spec.EmbeddingRank, 1, min(t.Hidden, t.Vocab), true, def.EmbeddingRank)
	s.EmbeddingBits = p.list("embedding_bits", spec.EmbeddingBits, 4, 32, false, def.EmbeddingBits)
	s.SeqLen = p.list("seq_len", spec.SeqLen, 1, t.MaxSeq, false, def.SeqLen)
	for _, f := range []struct {
		name string
		v    []int
	}{{"bits", s.Bits}, {"embedding_bits", s.EmbeddingBits}} {
		for _, b := range f.v {
			if !slices.Contains(BitWidths, b) {
				p.addf(f.name, "%d bits is not supported (want one of %v)", b, BitWidths)
			}
		}
	}
	if len(p) > 0 {
		// The checks across lists below need every value in range.
		return nil, p.err()
	}
	if len(s.LayerSources) < s.Layers[0] {
		p.addf("layer_sources", "%d sources cannot serve the smallest layer count %d", len(s.LayerSources), s.Layers[0])
	}
	sp := &Space{teacher: t, spec: s}
	sp.tiles = make([]bool, t.Layers+1)
	sp.tiles[0] = true
	for n := 1; n <= t.Layers; n++ {
		for _, g := range s.ShareGroups {
			if g <= n && sp.tiles[n-g] {
				sp.tiles[n] = true
			}
		}
	}
	feasible := false
	for _, n := range s.Layers {
		if n <= len(s.LayerSources) && sp.tiles[n] {
			feasible = true
		}
	}
	if !feasible && len(p) == 0 {
		p.addf("layers", "no allowed layer count %v can be split into sharing groups of sizes %v with %d layer sources", s.Layers, s.ShareGroups, len(s.LayerSources))
	}
	for _, h := range s.Heads {
		if !slices.ContainsFunc(s.AttentionRank, func(r int) bool { return sp.rankOK(r, h*t.HeadSize) }) {
			p.addf("attention_rank", "no allowed rank fits %d heads (at most min(hidden, heads·head size) = %d)", h, min(t.Hidden, h*t.HeadSize))
		}
	}
	for _, f := range s.FFN {
		if !slices.ContainsFunc(s.FFNRank, func(r int) bool { return sp.rankOK(r, f) }) {
			p.addf("ffn_rank", "no allowed rank fits FFN width %d (at most min(hidden, width) = %d)", f, min(t.Hidden, f))
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return sp, nil
}

// Teacher returns the teacher dimensions the space is bound to.
func (s *Space) Teacher() Teacher { return s.teacher }

// Spec returns the filled, sorted spec of the space.
func (s *Space) Spec() Spec {
	c := s.spec
	for _, l := range []*[]int{&c.Layers, &c.LayerSources, &c.Heads, &c.FFN, &c.AttentionRank, &c.FFNRank,
		&c.Bits, &c.ShareGroups, &c.EmbeddingRank, &c.EmbeddingBits, &c.SeqLen} {
		*l = slices.Clone(*l)
	}
	t := s.teacher
	c.Teacher = &t
	return c
}

// rankOK reports whether rank r (0 = full) fits a matrix between the hidden
// size and an inner width.
func (s *Space) rankOK(r, inner int) bool {
	return r == 0 || r <= min(s.teacher.Hidden, inner)
}

// Validate checks every rule of the space on a and returns an error naming
// each violation (wrapping ErrInvalid), or nil.
func (s *Space) Validate(a Arch) error {
	var p problems
	sp := &s.spec
	n := len(a.Layers)
	if !slices.Contains(sp.Layers, n) {
		p.addf("layers", "%d layers kept, want one of %v", n, sp.Layers)
	}
	for i, l := range a.Layers {
		f := fmt.Sprintf("layers[%d]", i)
		if !slices.Contains(sp.LayerSources, l.Source) {
			p.addf(f+".source", "teacher layer %d may not serve (allowed %v)", l.Source, sp.LayerSources)
		} else if i > 0 && l.Source <= a.Layers[i-1].Source {
			p.addf(f+".source", "teacher layer %d does not follow layer %d's source %d (kept layers keep the teacher's order, each once)", l.Source, i-1, a.Layers[i-1].Source)
		}
		if !slices.Contains(sp.Heads, l.Heads) {
			p.addf(f+".heads", "%d, want one of %v", l.Heads, sp.Heads)
		}
		if !slices.Contains(sp.FFN, l.FFN) {
			p.addf(f+".ffn", "%d, want one of %v", l.FFN, sp.FFN)
		}
		if !slices.Contains(sp.AttentionRank, l.AttentionRank) {
			p.addf(f+".attention_rank", "%d, want one of %v", l.AttentionRank, sp.AttentionRank)
		} else if !s.rankOK(l.AttentionRank, l.Heads*s.teacher.HeadSize) {
			p.addf(f+".attention_rank", "%d exceeds min(hidden %d, heads·head size %d)", l.AttentionRank, s.teacher.Hidden, l.Heads*s.teacher.HeadSize)
		}
		if !slices.Contains(sp.FFNRank, l.FFNRank) {
			p.addf(f+".ffn_rank", "%d, want one of %v", l.FFNRank, sp.FFNRank)
		} else if !s.rankOK(l.FFNRank, l.FFN) {
			p.addf(f+".ffn_rank", "%d exceeds min(hidden %d, FFN width %d)", l.FFNRank, s.teacher.Hidden, l.FFN)
		}
		if !slices.Contains(sp.Bits, l.Bits) {
			p.addf(f+".bits", "%d, want one of %v", l.Bits, sp.Bits)
		}
		if l.SharePrev {
			if i == 0 {
				p.addf(f+".share_prev", "the first layer has no previous layer to share")
			} else if !sameShape(l, a.Layers[i-1]) {
				p.addf(f+".share_prev", "shares layer %d's weights but their heads, ffn, ranks or bits differ", i-1)
			}
		}
	}
	for _, g := range a.Groups() {
		if size := g[1] - g[0]; !slices.Contains(sp.ShareGroups, size) {
			p.addf(fmt.Sprintf("layers[%d:%d]", g[0], g[1]), "sharing group of %d layers, allowed sizes %v", size, sp.ShareGroups)
		}
	}
	if !slices.Contains(sp.EmbeddingRank, a.EmbeddingRank) {
		p.addf("embedding_rank", "%d, want one of %v", a.EmbeddingRank, sp.EmbeddingRank)
	}
	if !slices.Contains(sp.EmbeddingBits, a.EmbeddingBits) {
		p.addf("embedding_bits", "%d, want one of %v", a.EmbeddingBits, sp.EmbeddingBits)
	}
	if !slices.Contains(sp.SeqLen, a.SeqLen) {
		p.addf("seq_len", "%d, want one of %v", a.SeqLen, sp.SeqLen)
	}
	return p.err()
}

// sameShape reports whether two layers agree on every gene but Source, as
// the layers of one sharing group must.
func sameShape(a, b LayerGene) bool {
	a.Source, b.Source, a.SharePrev, b.SharePrev = 0, 0, false, false
	return a == b
}

// TeacherArch returns the Arch that keeps the teacher whole: every layer at full
// width, full rank and 32 bits, at the space's largest sequence length. It
// may lie outside the space (Validate says so).
func (s *Space) TeacherArch() Arch {
	t := s.teacher
	a := Arch{EmbeddingBits: 32, SeqLen: s.spec.SeqLen[len(s.spec.SeqLen)-1]}
	for i := 0; i < t.Layers; i++ {
		a.Layers = append(a.Layers, LayerGene{Source: i, Heads: t.Heads, FFN: t.FFN, Bits: 32})
	}
	return a
}

// groupChoices is the number of gene combinations (heads, FFN, ranks, bits)
// one sharing group can take.
func (s *Space) groupChoices() *big.Int {
	sp := &s.spec
	n := new(big.Int)
	for _, h := range sp.Heads {
		ar := count(sp.AttentionRank, func(r int) bool { return s.rankOK(r, h*s.teacher.HeadSize) })
		for _, f := range sp.FFN {
			fr := count(sp.FFNRank, func(r int) bool { return s.rankOK(r, f) })
			n.Add(n, big.NewInt(int64(ar*fr*len(sp.Bits))))
		}
	}
	return n
}

func count(vals []int, ok func(int) bool) int {
	c := 0
	for _, v := range vals {
		if ok(v) {
			c++
		}
	}
	return c
}

// Size returns the exact number of valid architectures in the space.
func (s *Space) Size() *big.Int {
	sp := &s.spec
	g := s.groupChoices()
	// ways[n]: assignments of n consecutive layers to sharing groups with
	// gene choices per group.
	ways := make([]*big.Int, s.teacher.Layers+1)
	ways[0] = big.NewInt(1)
	for n := 1; n < len(ways); n++ {
		ways[n] = new(big.Int)
		for _, size := range sp.ShareGroups {
			if size <= n {
				ways[n].Add(ways[n], new(big.Int).Mul(ways[n-size], g))
			}
		}
	}
	total := new(big.Int)
	for _, n := range sp.Layers {
		if n > len(sp.LayerSources) {
			continue
		}
		sources := new(big.Int).Binomial(int64(len(sp.LayerSources)), int64(n))
		total.Add(total, sources.Mul(sources, ways[n]))
	}
	return total.Mul(total, big.NewInt(int64(len(sp.EmbeddingRank)*len(sp.EmbeddingBits)*len(sp.SeqLen))))
}
