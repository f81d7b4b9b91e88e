package compress

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// ShareMode says how the one weight set of a sharing group is built from
// the group's layers.
type ShareMode string

// Share modes.
const (
	// ShareBest takes the weights of the group's most important layer.
	ShareBest ShareMode = "best"
	// ShareMean averages the group's (pruned) layers element by element.
	ShareMean ShareMode = "mean"
)

// Options tune Apply; the zero value takes the defaults.
type Options struct {
	// Share builds shared weights (default ShareBest; see the README's
	// baselines for the measurement behind the default).
	Share ShareMode
	// Int4Group is the number of input features sharing one scale in 4-bit
	// weights and embedding rows: 32, 64 or 128 (0 means
	// transformer.DefaultInt4Group).
	Int4Group int
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.Share == "" {
		o.Share = ShareBest
	}
	if o.Int4Group == 0 {
		o.Int4Group = transformer.DefaultInt4Group
	}
	return o
}

// Key is the canonical key of o (after defaults), part of every cache key
// of students built with it: every field of Options, by name, in
// declaration order, so a field added later changes the key of every
// options value instead of silently colliding.
func (o Options) Key() string {
	o = o.WithDefaults()
	v := reflect.ValueOf(o)
	var b strings.Builder
	b.WriteString("compress")
	for i := 0; i < v.NumField(); i++ {
		fmt.Fprintf(&b, " %s=%v", v.Type().Field(i).Name, v.Field(i).Interface())
	}
	return b.String()
}

// TeacherDims returns the dimensions of teacher config c as the search
// space needs them.
func TeacherDims(c *transformer.Config) space.Teacher {
	return space.Teacher{Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads, Hidden: c.HiddenSize,
		FFN: c.IntermediateSize, Vocab: c.VocabSize, MaxSeq: c.MaxPositionEmbeddings}
}

// Validate checks that a is a student the teacher config c can yield: every
// rule of the search space with every value the teacher allows (heads up to
// the teacher's, ranks up to min(dims), bits 32/16/8/4, any sharing group).
// The error names each violation.
func Validate(c *transformer.Config, a space.Arch) error {
	sp, err := space.New(permissive(c), TeacherDims(c))
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	return sp.Validate(a)
}

// permissive lists every value a teacher of config c allows for each gene.
func permissive(c *transformer.Config) space.Spec {
	span := func(lo, hi int) []int {
		var s []int
		for v := lo; v <= hi; v++ {
			s = append(s, v)
		}
		return s
	}
	h := c.HiddenSize
	return space.Spec{
		Layers:        span(1, c.NumHiddenLayers),
		Heads:         span(1, c.NumAttentionHeads),
		FFN:           span(1, c.IntermediateSize),
		AttentionRank: span(0, h),
		FFNRank:       span(0, h),
		Bits:          slices.Clone(space.BitWidths),
		ShareGroups:   span(1, c.NumHiddenLayers),
		EmbeddingRank: span(0, min(h, c.VocabSize)),
		EmbeddingBits: slices.Clone(space.BitWidths),
		SeqLen:        span(1, c.MaxPositionEmbeddings),
	}
}

// Apply builds the student a describes from teacher t: the kept layers in
// order, each keeping its source layer's most important heads and FFN
// neurons (by imp; imp may be nil only when a keeps every head and neuron),
// sharing groups built by opts.Share. The student owns its memory; its
// config carries the per-layer shapes and its provenance.
func Apply(t *transformer.Model, a space.Arch, imp *Importance, opts Options) (*transformer.Model, error) {
	return apply(nil, t, a, imp, opts)
}

// Apply builds the student a describes from teacher t as the package's
// Apply does, taking the SVDs of low-rank factorizations from c (and
// keeping those it computes there): the same student, bit for bit, built
// faster when students share pruned matrices.
func (c *FactorCache) Apply(t *transformer.Model, a space.Arch, imp *Importance, opts Options) (*transformer.Model, error) {
	return apply(c, t, a, imp, opts)
}

// apply is Apply through factor cache fc (nil: none).
func apply(fc *FactorCache, t *transformer.Model, a space.Arch, imp *Importance, opts Options) (*transformer.Model, error) {
	c := &t.Config
	if err := Validate(c, a); err != nil {
		return nil, err
	}
	if imp != nil {
		if err := imp.check(t); err != nil {
			return nil, err
		}
	}
	opts = opts.WithDefaults()
	share, group := opts.Share, opts.Int4Group
	if share != ShareBest && share != ShareMean {
		return nil, fmt.Errorf("compress: share mode %q, want %q or %q", share, ShareBest, ShareMean)
	}
	switch group {
	case 32, 64, 128:
	default:
		return nil, fmt.Errorf("compress: int4 group %d, want 32, 64 or 128", group)
	}

	layers := make([]transformer.Layer, len(a.Layers))
	for i, g := range a.Layers {
		src := &t.Layers[g.Source]
		heads, neurons := seq(src.Heads), seq(src.FFN)
		if g.Heads < src.Heads || g.FFN < src.FFN {
			if imp == nil {
				return nil, fmt.Errorf("compress: layers[%d] prunes heads or neurons: importance scores are needed", i)
			}
			heads = topK(imp.Heads[g.Source], g.Heads)
			neurons = topK(imp.Neurons[g.Source], g.FFN)
		}
		l, err := pruneLayer(src, heads, neurons)
		if err != nil {
			return nil, fmt.Errorf("compress: layers[%d]: %w", i, err)
		}
		layers[i] = l
	}
	cfg := c.Clone()
	cfg.NumHiddenLayers = len(a.Layers)
	cfg.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: c.HeadSize(),
		Provenance:    fmt.Sprintf("edgenas student %s of a teacher (%s)", a.Key(), provenance(c)),
		EmbeddingRank: a.EmbeddingRank, EmbeddingBits: a.EmbeddingBits % 32}
	if usesInt4(a) {
		cfg.Edgenas.Int4Group = group
	}
	for _, grp := range a.Groups() {
		leader := layers[grp[0]]
		if n := grp[1] - grp[0]; n > 1 {
			members := layers[grp[0]:grp[1]]
			if share == ShareMean {
				leader = meanLayer(members)
			} else {
				best := grp[0]
				for k := grp[0]; k < grp[1]; k++ {
					if imp != nil && imp.Layers[a.Layers[k].Source] > imp.Layers[a.Layers[best].Source] {
						best = k
					}
				}
				leader = layers[best]
			}
		}
		g := a.Layers[grp[0]]
		leader, err := storeLayer(fc, leader, g, group)
		if err != nil {
			return nil, fmt.Errorf("compress: layers[%d]: %w", grp[0], err)
		}
		for k := grp[0]; k < grp[1]; k++ {
			layers[k] = leader
			cfg.Edgenas.Layers = append(cfg.Edgenas.Layers, transformer.LayerConfig{
				NumAttentionHeads: leader.Heads, IntermediateSize: leader.FFN, SharesPrevious: k > grp[0],
				AttentionRank: g.AttentionRank, FFNRank: g.FFNRank, Bits: g.Bits % 32})
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("compress: student config: %w", err)
	}
	s := &transformer.Model{Config: cfg, Layers: layers}
	e := &t.Embeddings
	emb, err := embeddings(fc, e, c, a.EmbeddingRank, a.EmbeddingBits, group)
	if err != nil {
		return nil, fmt.Errorf("compress: embeddings: %w", err)
	}
	s.Embeddings = emb
	if t.Pooler != nil {
		p := cloneLinear(*t.Pooler)
		s.Pooler = &p
	}
	if t.Classifier != nil {
		k := cloneLinear(*t.Classifier)
		s.Classifier = &k
	}
	return s, nil
}

func provenance(c *transformer.Config) string {
	if c.Edgenas != nil && c.Edgenas.Provenance != "" {
		return c.Edgenas.Provenance
	}
	return "provenance not recorded"
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func cloneLinear(l transformer.Linear) transformer.Linear {
	l.W, l.B = slices.Clone(l.W), slices.Clone(l.B)
	return l
}

// meanLayer averages layers of one shape element by element.
func meanLayer(ls []transformer.Layer) transformer.Layer {
	out := ls[0]
	inv := 1 / float32(len(ls))
	mean := func(get func(l *transformer.Layer) []float32) []float32 {
		m := make([]float32, len(get(&ls[0])))
		for i := range ls {
			for j, v := range get(&ls[i]) {
				m[j] += v
			}
		}
		for j := range m {
			m[j] *= inv
		}
		return m
	}
	lin := func(get func(l *transformer.Layer) *transformer.Linear) transformer.Linear {
		l := *get(&ls[0])
		l.W = mean(func(x *transformer.Layer) []float32 { return get(x).W })
		l.B = mean(func(x *transformer.Layer) []float32 { return get(x).B })
		return l
	}
	norm := func(get func(l *transformer.Layer) *transformer.LayerNorm) transformer.LayerNorm {
		n := *get(&ls[0])
		n.Gamma = mean(func(x *transformer.Layer) []float32 { return get(x).Gamma })
		n.Beta = mean(func(x *transformer.Layer) []float32 { return get(x).Beta })
		return n
	}
	out.Query = lin(func(l *transformer.Layer) *transformer.Linear { return &l.Query })
	out.Key = lin(func(l *transformer.Layer) *transformer.Linear { return &l.Key })
	out.Value = lin(func(l *transformer.Layer) *transformer.Linear { return &l.Value })
	out.AttnOut = lin(func(l *transformer.Layer) *transformer.Linear { return &l.AttnOut })
	out.Inter = lin(func(l *transformer.Layer) *transformer.Linear { return &l.Inter })
	out.Out = lin(func(l *transformer.Layer) *transformer.Linear { return &l.Out })
	out.AttnNorm = norm(func(l *transformer.Layer) *transformer.LayerNorm { return &l.AttnNorm })
	out.OutNorm = norm(func(l *transformer.Layer) *transformer.LayerNorm { return &l.OutNorm })
	return out
}

// usesInt4 reports whether any weight of a is stored in 4 bits.
func usesInt4(a space.Arch) bool {
	return a.EmbeddingBits == 4 || slices.ContainsFunc(a.Layers, func(g space.LayerGene) bool { return g.Bits == 4 })
}

// storeLayer returns l with its attention matrices at rank
// g.AttentionRank and its FFN matrices at rank g.FFNRank (0: full; by
// truncated SVD of each matrix, through factor cache fc, nil for none) and
// all six stored at g.Bits. Biases and LayerNorms are shared with l, which
// the caller owns.
func storeLayer(fc *FactorCache, l transformer.Layer, g space.LayerGene, group int) (transformer.Layer, error) {
	for _, x := range []struct {
		name string
		lin  *transformer.Linear
		rank int
	}{
		{"query", &l.Query, g.AttentionRank}, {"key", &l.Key, g.AttentionRank}, {"value", &l.Value, g.AttentionRank},
		{"attention output", &l.AttnOut, g.AttentionRank}, {"intermediate", &l.Inter, g.FFNRank}, {"output", &l.Out, g.FFNRank},
	} {
		lin := *x.lin
		if x.rank > 0 {
			u, v, _, err := factorize(fc, lin.W, lin.Out, lin.In, x.rank)
			if err != nil {
				return transformer.Layer{}, fmt.Errorf("%s: %w", x.name, err)
			}
			if lin, err = transformer.NewLowRank(u, v, lin.B, lin.Out, x.rank, lin.In); err != nil {
				return transformer.Layer{}, fmt.Errorf("%s: %w", x.name, err)
			}
		}
		if g.Bits != 32 {
			var err error
			if lin, err = lin.Store(g.Bits, group); err != nil {
				return transformer.Layer{}, fmt.Errorf("%s: %d bits: %w", x.name, g.Bits, err)
			}
		}
		*x.lin = lin
	}
	return l, nil
}

// embeddings copies the teacher's embeddings e, the word table factorized
// to rank (0: kept whole) by truncated SVD into a vocab×rank table and a
// rank→hidden projection (through factor cache fc, nil for none), and
// stored at bits.
func embeddings(fc *FactorCache, e *transformer.Embeddings, c *transformer.Config, rank, bits, group int) (transformer.Embeddings, error) {
	out := transformer.Embeddings{Word: slices.Clone(e.Word), Position: slices.Clone(e.Position),
		TokenType: slices.Clone(e.TokenType), Norm: cloneNorm(e.Norm)}
	V, H, cols := c.VocabSize, c.HiddenSize, c.HiddenSize
	if rank > 0 {
		u, v, _, err := factorize(fc, e.Word, V, H, rank)
		if err != nil {
			return out, err
		}
		// word ≈ u·v: rows of u are looked up, then y = row·vᵀᵀ, i.e. a
		// Linear from rank to hidden whose weight (hidden×rank) is vᵀ.
		w := make([]float32, H*rank)
		for k := 0; k < rank; k++ {
			for j := 0; j < H; j++ {
				w[j*rank+k] = v[k*H+j]
			}
		}
		out.Word, cols = u, rank
		out.Projection = &transformer.Linear{In: rank, Out: H, W: w, B: make([]float32, H)}
	}
	return out, storeWord(&out, V, cols, bits, group)
}

// storeWord stores the float32 word table of e (V rows of cols values) at
// bits, replacing e.Word (never writing into it).
func storeWord(e *transformer.Embeddings, V, cols, bits, group int) error {
	switch bits {
	case 32:
	case 16:
		l := transformer.Linear{In: cols, Out: V, W: e.Word, B: make([]float32, V)}
		h, err := l.Store(16, 0)
		if err != nil {
			return err
		}
		e.Word, e.WordBits = h.W, 16
	case 8, 4:
		t, err := transformer.NewQuantTable(e.Word, V, cols, bits, group)
		if err != nil {
			return err
		}
		e.Word, e.WordQ, e.WordBits = nil, t, bits
	default:
		return fmt.Errorf("%d bits, want 32, 16, 8 or 4", bits)
	}
	return nil
}
