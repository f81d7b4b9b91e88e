package space

// Enumerate calls yield with every valid architecture of the space exactly
// once, in a fixed order (by layer count, then teacher layers kept, then
// sharing groups, then genes, then the embedding and sequence genes),
// until yield returns false. It visits Size() architectures: enumerate
// only spaces small enough to walk. yield owns each Arch it is given.
func (s *Space) Enumerate(yield func(Arch) bool) {
	sp := &s.spec
	var shapes []LayerGene // every gene combination of one sharing group
	for _, h := range sp.Heads {
		for _, f := range sp.FFN {
			for _, ar := range sp.AttentionRank {
				if !s.rankOK(ar, h*s.teacher.HeadSize) {
					continue
				}
				for _, fr := range sp.FFNRank {
					if !s.rankOK(fr, f) {
						continue
					}
					for _, b := range sp.Bits {
						shapes = append(shapes, LayerGene{Heads: h, FFN: f, AttentionRank: ar, FFNRank: fr, Bits: b})
					}
				}
			}
		}
	}
	e := enumerator{s: s, shapes: shapes, yield: yield}
	for _, n := range sp.Layers {
		if n > len(sp.LayerSources) || !s.tiles[n] {
			continue
		}
		e.layers = make([]LayerGene, n)
		if !e.sources(0, 0) {
			return
		}
	}
}

// enumerator walks the space for Enumerate; layers is the architecture
// being filled in.
type enumerator struct {
	s      *Space
	shapes []LayerGene
	yield  func(Arch) bool
	layers []LayerGene
}

// sources chooses the teacher layer of layer i onwards, from the sources
// at index from onwards; it returns false when yield asked to stop.
func (e *enumerator) sources(i, from int) bool {
	src := e.s.spec.LayerSources
	if i == len(e.layers) {
		return e.groups(0)
	}
	for k := from; k <= len(src)-(len(e.layers)-i); k++ {
		e.layers[i].Source = src[k]
		if !e.sources(i+1, k+1) {
			return false
		}
	}
	return true
}

// groups splits the layers from i onwards into sharing groups of allowed
// sizes, giving each group one gene combination.
func (e *enumerator) groups(i int) bool {
	n := len(e.layers)
	if i == n {
		return e.tail()
	}
	for _, size := range e.s.spec.ShareGroups {
		if i+size > n || !e.s.tiles[n-i-size] {
			continue
		}
		for _, sh := range e.shapes {
			for j := i; j < i+size; j++ {
				src := e.layers[j].Source
				e.layers[j] = sh
				e.layers[j].Source, e.layers[j].SharePrev = src, j > i
			}
			if !e.groups(i + size) {
				return false
			}
		}
	}
	return true
}

// tail yields the filled layers with every embedding and sequence choice.
func (e *enumerator) tail() bool {
	sp := &e.s.spec
	for _, er := range sp.EmbeddingRank {
		for _, eb := range sp.EmbeddingBits {
			for _, sl := range sp.SeqLen {
				a := Arch{Layers: append([]LayerGene(nil), e.layers...), EmbeddingRank: er, EmbeddingBits: eb, SeqLen: sl}
				if !e.yield(a) {
					return false
				}
			}
		}
	}
	return true
}
