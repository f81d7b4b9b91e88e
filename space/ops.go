package space

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

func pick(r *rand.Rand, vals []int) int { return vals[r.IntN(len(vals))] }

// layerCounts are the allowed layer counts the sources and sharing groups
// can realize.
func (s *Space) layerCounts() []int {
	var out []int
	for _, n := range s.spec.Layers {
		if n <= len(s.spec.LayerSources) && s.tiles[n] {
			out = append(out, n)
		}
	}
	return out
}

// sampleShape draws the genes one sharing group shares.
func (s *Space) sampleShape(r *rand.Rand) LayerGene {
	sp := &s.spec
	l := LayerGene{Heads: pick(r, sp.Heads), FFN: pick(r, sp.FFN), Bits: pick(r, sp.Bits)}
	l.AttentionRank = s.pickRank(r, sp.AttentionRank, l.Heads*s.teacher.HeadSize)
	l.FFNRank = s.pickRank(r, sp.FFNRank, l.FFN)
	return l
}

// pickRank draws a rank that fits a matrix of the given inner width; New
// guarantees one exists.
func (s *Space) pickRank(r *rand.Rand, ranks []int, inner int) int {
	var ok []int
	for _, k := range ranks {
		if s.rankOK(k, inner) {
			ok = append(ok, k)
		}
	}
	return pick(r, ok)
}

// groupSizes draws a split of n layers into allowed sharing-group sizes.
func (s *Space) groupSizes(r *rand.Rand, n int) []int {
	var sizes []int
	for n > 0 {
		var ok []int
		for _, g := range s.spec.ShareGroups {
			if g <= n && s.tiles[n-g] {
				ok = append(ok, g)
			}
		}
		g := pick(r, ok)
		sizes = append(sizes, g)
		n -= g
	}
	return sizes
}

// Sample draws a valid Arch: a layer count, its teacher sources (in order),
// a split into sharing groups and each group's genes, uniformly per choice.
func (s *Space) Sample(r *rand.Rand) Arch {
	sp := &s.spec
	n := pick(r, s.layerCounts())
	src := slices.Clone(sp.LayerSources)
	r.Shuffle(len(src), func(i, j int) { src[i], src[j] = src[j], src[i] })
	src = src[:n]
	slices.Sort(src)
	a := Arch{EmbeddingRank: pick(r, sp.EmbeddingRank), EmbeddingBits: pick(r, sp.EmbeddingBits), SeqLen: pick(r, sp.SeqLen)}
	for _, size := range s.groupSizes(r, n) {
		shape := s.sampleShape(r)
		for k := 0; k < size; k++ {
			l := shape
			l.Source = src[len(a.Layers)]
			l.SharePrev = k > 0
			a.Layers = append(a.Layers, l)
		}
	}
	return a
}

// Mutate returns a mutated copy of a (which must be valid): each gene
// changes with probability p. Structural genes are the layer count (a layer
// added or removed), each layer's source (moved between its neighbours') and
// each layer's sharing flag (joining or splitting groups when the sizes stay
// allowed); shape genes (heads, FFN, ranks, bits) change per sharing group
// so its layers stay alike; the embedding genes and sequence length change
// on their own. The result is validated; an error means a broken invariant
// and names it.
func (s *Space) Mutate(a Arch, r *rand.Rand, p float64) (Arch, error) {
	if err := s.Validate(a); err != nil {
		return Arch{}, fmt.Errorf("mutate: parent: %w", err)
	}
	sp := &s.spec
	c := a.Clone()
	hit := func() bool { return r.Float64() < p }
	if hit() {
		s.mutateDepth(&c, r)
	}
	for i := range c.Layers {
		if hit() {
			lo, hi := -1, s.teacher.Layers
			if i > 0 {
				lo = c.Layers[i-1].Source
			}
			if i+1 < len(c.Layers) {
				hi = c.Layers[i+1].Source
			}
			var free []int
			for _, v := range sp.LayerSources {
				if v > lo && v < hi {
					free = append(free, v)
				}
			}
			c.Layers[i].Source = pick(r, free) // free holds at least the current source
		}
	}
	for i := 1; i < len(c.Layers); i++ {
		if hit() {
			s.toggleShare(&c, i)
		}
	}
	for _, g := range c.Groups() {
		shape := c.Layers[g[0]]
		if hit() {
			shape.Heads = pick(r, sp.Heads)
			if !s.rankOK(shape.AttentionRank, shape.Heads*s.teacher.HeadSize) {
				shape.AttentionRank = s.pickRank(r, sp.AttentionRank, shape.Heads*s.teacher.HeadSize)
			}
		}
		if hit() {
			shape.FFN = pick(r, sp.FFN)
			if !s.rankOK(shape.FFNRank, shape.FFN) {
				shape.FFNRank = s.pickRank(r, sp.FFNRank, shape.FFN)
			}
		}
		if hit() {
			shape.AttentionRank = s.pickRank(r, sp.AttentionRank, shape.Heads*s.teacher.HeadSize)
		}
		if hit() {
			shape.FFNRank = s.pickRank(r, sp.FFNRank, shape.FFN)
		}
		if hit() {
			shape.Bits = pick(r, sp.Bits)
		}
		setShape(c.Layers[g[0]:g[1]], shape)
	}
	if hit() {
		c.EmbeddingRank = pick(r, sp.EmbeddingRank)
	}
	if hit() {
		c.EmbeddingBits = pick(r, sp.EmbeddingBits)
	}
	if hit() {
		c.SeqLen = pick(r, sp.SeqLen)
	}
	if err := s.Validate(c); err != nil {
		return Arch{}, fmt.Errorf("mutate %s: %w", a.Key(), err)
	}
	return c, nil
}

// setShape gives every layer of one sharing group the shape genes of g.
func setShape(layers []LayerGene, g LayerGene) {
	for i := range layers {
		src, share := layers[i].Source, layers[i].SharePrev
		layers[i] = g
		layers[i].Source, layers[i].SharePrev = src, share
	}
}

// mutateDepth adds or removes one layer when the resulting count is
// allowed. A removed layer leaves its group smaller; an added layer takes a
// free source and joins the group it lands in, or forms its own. A change
// that would leave a sharing group of a size the space does not allow is
// not made.
func (s *Space) mutateDepth(a *Arch, r *rand.Rand) {
	n := len(a.Layers)
	var opts []int
	for _, m := range s.layerCounts() {
		if m == n-1 || m == n+1 {
			opts = append(opts, m)
		}
	}
	if len(opts) == 0 {
		return
	}
	old := a.Clone()
	if pick(r, opts) < n {
		i := r.IntN(n)
		removed := a.Layers[i]
		a.Layers = slices.Delete(a.Layers, i, i+1)
		if i < len(a.Layers) && !removed.SharePrev {
			a.Layers[i].SharePrev = false // the removed layer started its group
		}
	} else {
		used := map[int]bool{}
		for _, l := range a.Layers {
			used[l.Source] = true
		}
		var free []int
		for _, v := range s.spec.LayerSources {
			if !used[v] {
				free = append(free, v)
			}
		}
		src := pick(r, free)
		i, _ := slices.BinarySearchFunc(a.Layers, src, func(l LayerGene, v int) int { return l.Source - v })
		l := s.sampleShape(r)
		if i > 0 && i < n && a.Layers[i].SharePrev {
			l = a.Layers[i-1] // inside a group: join it
			l.SharePrev = true
		}
		l.Source = src
		a.Layers = slices.Insert(a.Layers, i, l)
	}
	if !s.groupsAllowed(*a) {
		*a = old
	}
}

// groupLen is the length of the sharing group starting at layers[0].
func groupLen(layers []LayerGene) int {
	n := 1
	for n < len(layers) && layers[n].SharePrev {
		n++
	}
	return n
}

// groupsAllowed reports whether every sharing group of a has an allowed size.
func (s *Space) groupsAllowed(a Arch) bool {
	for _, g := range a.Groups() {
		if !slices.Contains(s.spec.ShareGroups, g[1]-g[0]) {
			return false
		}
	}
	return true
}

// toggleShare flips layer i's sharing flag when the groups it joins or
// splits keep allowed sizes; a joining group takes the shape of the group
// it joins.
func (s *Space) toggleShare(a *Arch, i int) {
	old := a.Clone()
	a.Layers[i].SharePrev = !a.Layers[i].SharePrev
	if a.Layers[i].SharePrev {
		setShape(a.Layers[i:i+groupLen(a.Layers[i:])], a.Layers[i-1])
	}
	if !s.groupsAllowed(*a) {
		*a = old
	}
}

// Crossover returns two children of the valid parents a and b. Child one
// takes a's structure (layer count, sources, sharing groups), child two b's;
// then, uniformly per sharing group, each child takes the group's shape
// genes from a or b (the layer at the group's start in the other parent,
// when it has one), and each of the embedding genes and sequence length
// from a or b. Both children are validated.
func (s *Space) Crossover(a, b Arch, r *rand.Rand) (Arch, Arch, error) {
	for _, p := range []Arch{a, b} {
		if err := s.Validate(p); err != nil {
			return Arch{}, Arch{}, fmt.Errorf("crossover: parent: %w", err)
		}
	}
	child := func(structure, other Arch) (Arch, error) {
		c := structure.Clone()
		for _, g := range c.Groups() {
			if g[0] < len(other.Layers) && r.IntN(2) == 0 {
				setShape(c.Layers[g[0]:g[1]], other.Layers[g[0]])
			}
		}
		if r.IntN(2) == 0 {
			c.EmbeddingRank = other.EmbeddingRank
		}
		if r.IntN(2) == 0 {
			c.EmbeddingBits = other.EmbeddingBits
		}
		if r.IntN(2) == 0 {
			c.SeqLen = other.SeqLen
		}
		if err := s.Validate(c); err != nil {
			return Arch{}, fmt.Errorf("crossover %s × %s: %w", a.Key(), b.Key(), err)
		}
		return c, nil
	}
	c1, err := child(a, b)
	if err != nil {
		return Arch{}, Arch{}, err
	}
	c2, err := child(b, a)
	if err != nil {
		return Arch{}, Arch{}, err
	}
	return c1, c2, nil
}
