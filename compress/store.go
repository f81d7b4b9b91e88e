package compress

import (
	"fmt"

	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// FloatArch returns a with every bit width (layers and word embeddings)
// 32: the student Apply builds from it is the float32 student a's weights
// are rounded from, which training can update (train refuses stored
// weights) before Store rounds it.
func FloatArch(a space.Arch) space.Arch {
	f := a.Clone()
	for i := range f.Layers {
		f.Layers[i].Bits = 32
	}
	f.EmbeddingBits = 32
	return f
}

// Store returns the float32 student s, built by Apply from FloatArch(a)
// (and possibly trained since), with its encoder layers and word table
// stored at a's bit widths exactly as Apply stores them: Store(Apply(t,
// FloatArch(a), imp, opts), a, opts) holds the weights of Apply(t, a, imp,
// opts). Sharing groups stay shared. s is not changed; the result shares
// its float32 slices that need no rounding. A student whose shape is not
// a's, or whose weights are not float32, is an error.
func Store(s *transformer.Model, a space.Arch, opts Options) (*transformer.Model, error) {
	opts = opts.WithDefaults()
	group := opts.Int4Group
	e := s.Config.Edgenas
	if len(s.Layers) != len(a.Layers) || e == nil || len(e.Layers) != len(a.Layers) {
		return nil, fmt.Errorf("compress: store: the student has %d layers, the architecture %d", len(s.Layers), len(a.Layers))
	}
	if b := s.Embeddings.WordBits; b != 0 && b != 32 {
		return nil, fmt.Errorf("compress: store: the student's word table is stored in %d bits, want float32", b)
	}
	cfg := s.Config.Clone()
	out := &transformer.Model{Config: cfg, Embeddings: s.Embeddings, Layers: make([]transformer.Layer, len(s.Layers)),
		Pooler: s.Pooler, Classifier: s.Classifier}
	for _, grp := range a.Groups() {
		g := a.Layers[grp[0]]
		l := s.Layers[grp[0]]
		for _, lin := range []*transformer.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.Inter, &l.Out} {
			if b := lin.WeightBits(); b != 32 {
				return nil, fmt.Errorf("compress: store: layers[%d] holds %d-bit weights, want float32", grp[0], b)
			}
		}
		if l.Heads != g.Heads || l.FFN != g.FFN || l.Query.Rank != g.AttentionRank || l.Inter.Rank != g.FFNRank {
			return nil, fmt.Errorf("compress: store: layers[%d] has %d heads, %d neurons, ranks %d/%d; the architecture %d, %d, %d/%d",
				grp[0], l.Heads, l.FFN, l.Query.Rank, l.Inter.Rank, g.Heads, g.FFN, g.AttentionRank, g.FFNRank)
		}
		// The ranks are already s's: storeLayer only rounds.
		stored, err := storeLayer(nil, l, space.LayerGene{Bits: g.Bits}, group)
		if err != nil {
			return nil, fmt.Errorf("compress: store: layers[%d]: %w", grp[0], err)
		}
		for k := grp[0]; k < grp[1]; k++ {
			out.Layers[k] = stored
			out.Config.Edgenas.Layers[k].Bits = g.Bits % 32
		}
	}
	c := &out.Config
	cols := c.HiddenSize
	if a.EmbeddingRank > 0 {
		cols = a.EmbeddingRank
	}
	if len(out.Embeddings.Word) != c.VocabSize*cols {
		return nil, fmt.Errorf("compress: store: the word table holds %d values, want %d×%d", len(out.Embeddings.Word), c.VocabSize, cols)
	}
	if err := storeWord(&out.Embeddings, c.VocabSize, cols, a.EmbeddingBits, group); err != nil {
		return nil, fmt.Errorf("compress: store: embeddings: %w", err)
	}
	c.Edgenas.EmbeddingBits = a.EmbeddingBits % 32
	if usesInt4(a) {
		c.Edgenas.Int4Group = group
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("compress: store: student config: %w", err)
	}
	return out, nil
}
