package transformer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/edgenas/edgenas/internal/qgemm"
)

// Linear is an affine map y = x·Wᵀ + b with W stored as PyTorch does, Out
// rows of In columns, in one of several forms:
//
//   - dense (Rank 0): W, Out×In;
//   - low-rank (Rank r > 0): W = U·V with U Out×r and V r×In, computed as
//     two thin products y = (x·Vᵀ)·Uᵀ + b;
//
// each held at Bits 32 (float32; 0 means 32), 16 (float32 values rounded to
// half precision, saved as F16), 8 (int8 per output channel) or 4 (int4 in
// groups along In). The float forms live in W or U and V; the quantized
// forms in QW or QU and QV (internal/qgemm weights), the float slices then
// being nil. B is always float32. Store converts between the forms.
type Linear struct {
	In, Out int
	W       []float32 // Out×In, row-major (dense float forms)
	B       []float32 // Out
	// Rank is the rank of a low-rank Linear, 0 for a dense one.
	Rank int
	U, V []float32 // Out×Rank and Rank×In (low-rank float forms)
	// Bits is the weight's storage precision: 0 or 32, 16, 8 or 4.
	Bits       int
	QW, QU, QV qgemm.Weights // the quantized weight or factors (Bits 8, 4)
}

// LayerNorm normalizes each row over its last dimension and applies the
// affine Gamma and Beta.
type LayerNorm struct {
	Gamma, Beta []float32
	Eps         float32
}

// Embeddings holds the word, position and token-type tables and their
// LayerNorm. A factorized model (ALBERT-style, Config.EmbeddingRank E > 0)
// stores a vocab_size×E word table and a Projection from E to hidden; the
// word table may be stored in 16, 8 or 4 bits (WordBits).
type Embeddings struct {
	Word      []float32 // vocab_size×E (E = hidden unless factorized); nil when quantized
	Position  []float32 // max_position_embeddings×hidden
	TokenType []float32 // type_vocab_size×hidden
	Norm      LayerNorm
	// WordBits is the word table's precision: 0 or 32, 16 (half-precision
	// values in Word), 8 or 4 (WordQ).
	WordBits int
	// WordQ is the quantized word table (WordBits 8 or 4).
	WordQ *QuantTable
	// Projection maps a factorized word embedding (E wide) to hidden;
	// nil unless factorized. It is float32, with a bias.
	Projection *Linear
}

// Layer is one encoder layer. Heads×HeadSize is the attention's inner width,
// which equals the hidden size for an unpruned layer.
type Layer struct {
	Heads, HeadSize, FFN int
	Query, Key, Value    Linear // hidden → Heads·HeadSize
	AttnOut              Linear // Heads·HeadSize → hidden
	AttnNorm             LayerNorm
	Inter                Linear // hidden → FFN
	Out                  Linear // FFN → hidden
	OutNorm              LayerNorm
}

// Model is a BERT encoder with an optional pooler and sequence-classification
// head. A Model is read-only during a forward pass and may be shared by
// goroutines; after changing its weights call Prepare.
type Model struct {
	Config     Config
	Embeddings Embeddings
	Layers     []Layer
	Pooler     *Linear // hidden → hidden, tanh; nil when absent
	Classifier *Linear // hidden → num_labels; nil when absent

	mu   sync.Mutex // guards prep
	prep *prepared  // packed weights; nil until first use or Prepare
}

// newLinear returns a zero Linear of the given shape, rank and bits. With
// alloc it holds float32 storage (Bits 0, to be converted by
// finishStorage); without, its slices stay nil and Bits is set (a
// shape-only skeleton).
func newLinear(in, out, rank, bits int, alloc bool) Linear {
	l := Linear{In: in, Out: out, Rank: rank, Bits: bits}
	if alloc {
		l.Bits = 0
		l.B = make([]float32, out)
		if rank > 0 {
			l.U, l.V = make([]float32, out*rank), make([]float32, rank*in)
		} else {
			l.W = make([]float32, in*out)
		}
	}
	return l
}

func newLayerNorm(n int, eps float64, alloc bool) LayerNorm {
	ln := LayerNorm{Eps: float32(eps)}
	if alloc {
		ln.Gamma, ln.Beta = make([]float32, n), make([]float32, n)
		for i := range ln.Gamma {
			ln.Gamma[i] = 1
		}
	}
	return ln
}

// NewModel allocates a model of cfg's shape with zero weights, unit
// LayerNorm gains and, when withHead, a pooler and classifier.
func NewModel(cfg Config, withHead bool) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := build(cfg, withHead, withHead, true)
	if err := m.finishStorage(); err != nil {
		return nil, err
	}
	return m, nil
}

// build lays out a model of a valid cfg. Without alloc no weight memory is
// taken, so a checkpoint's shapes can be checked against a hostile config
// before anything proportional to the config is allocated; the skeleton's
// Linears and word table carry the config's ranks and bits. With alloc
// every weight is float32 (finishStorage converts them to the config's
// bits).
func build(cfg Config, pooler, classifier, alloc bool) *Model {
	h := cfg.HiddenSize
	table := func(rows, cols int) []float32 {
		if !alloc {
			return nil
		}
		return make([]float32, rows*cols)
	}
	m := &Model{Config: cfg.Clone()}
	e, wcols := cfg.EmbeddingRank(), h
	if e > 0 {
		wcols = e
	}
	m.Embeddings = Embeddings{
		Word:      table(cfg.VocabSize, wcols),
		Position:  table(cfg.MaxPositionEmbeddings, h),
		TokenType: table(cfg.TypeVocabSize, h),
		Norm:      newLayerNorm(h, cfg.LayerNormEps, alloc),
	}
	if !alloc {
		m.Embeddings.WordBits = cfg.EmbeddingBits() % 32
	}
	if e > 0 {
		p := newLinear(e, h, 0, 0, alloc)
		m.Embeddings.Projection = &p
	}
	hs := cfg.HeadSize()
	m.Layers = make([]Layer, cfg.NumHiddenLayers)
	for i := range m.Layers {
		lc := cfg.Layer(i)
		if lc.SharesPrevious && i > 0 {
			m.Layers[i] = m.Layers[i-1] // the same slices: shared weights
			continue
		}
		inner := lc.NumAttentionHeads * hs
		ar, fr, bits := lc.AttentionRank, lc.FFNRank, lc.WeightBits()%32
		m.Layers[i] = Layer{
			Heads: lc.NumAttentionHeads, HeadSize: hs, FFN: lc.IntermediateSize,
			Query:    newLinear(h, inner, ar, bits, alloc),
			Key:      newLinear(h, inner, ar, bits, alloc),
			Value:    newLinear(h, inner, ar, bits, alloc),
			AttnOut:  newLinear(inner, h, ar, bits, alloc),
			AttnNorm: newLayerNorm(h, cfg.LayerNormEps, alloc),
			Inter:    newLinear(h, lc.IntermediateSize, fr, bits, alloc),
			Out:      newLinear(lc.IntermediateSize, h, fr, bits, alloc),
			OutNorm:  newLayerNorm(h, cfg.LayerNormEps, alloc),
		}
	}
	if pooler {
		p := newLinear(h, h, 0, 0, alloc)
		m.Pooler = &p
		if classifier {
			c := newLinear(h, cfg.NumLabels, 0, 0, alloc)
			m.Classifier = &c
		}
	}
	return m
}

// finishStorage converts the float32 weights of a freshly built model to
// the bits its config asks for: every layer's six matrices and the word
// table. Layers that share the previous one's weights get the converted
// weights of their group's first layer.
func (m *Model) finishStorage() error {
	c := &m.Config
	group := c.Int4GroupSize()
	for i := range m.Layers {
		lc := c.Layer(i)
		if lc.SharesPrevious && i > 0 {
			m.Layers[i] = m.Layers[i-1]
			continue
		}
		bits := lc.WeightBits()
		if bits == 32 {
			continue
		}
		l := &m.Layers[i]
		for _, lin := range []*Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.Inter, &l.Out} {
			s, err := lin.Store(bits, group)
			if err != nil {
				return fmt.Errorf("layer %d: %w", i, err)
			}
			*lin = s
		}
	}
	e := &m.Embeddings
	switch bits := c.EmbeddingBits(); bits {
	case 16:
		w, err := roundHalf(e.Word)
		if err != nil {
			return fmt.Errorf("word embeddings: %w", err)
		}
		e.Word, e.WordBits = w, 16
	case 8, 4:
		cols := len(e.Word) / c.VocabSize
		t, err := NewQuantTable(e.Word, c.VocabSize, cols, bits, group)
		if err != nil {
			return fmt.Errorf("word embeddings: %w", err)
		}
		e.Word, e.WordQ, e.WordBits = nil, t, bits
	}
	return nil
}

// NewRandom returns a model of cfg's shape, with a pooler and classifier,
// whose every parameter is drawn from rng: weights, biases and embeddings
// from N(0, std²), LayerNorm gains from 1+N(0, std²) and shifts from
// N(0, std²). Such a model is for testing the engine only; its outputs mean
// nothing, and its config says so in the edgenas provenance.
func NewRandom(cfg Config, rng *rand.Rand, std float64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := build(cfg, true, true, true)
	if m.Config.Edgenas == nil {
		m.Config.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: cfg.HeadSize()}
		for i := 0; i < cfg.NumHiddenLayers; i++ {
			m.Config.Edgenas.Layers = append(m.Config.Edgenas.Layers, cfg.Layer(i))
		}
	}
	m.Config.Edgenas.Provenance = "random initialization (engine test model, not trained)"
	m.Params(func(_ string, _ []int, p []float32, kind ParamKind) {
		for i := range p {
			v := float32(rng.NormFloat64() * std)
			if kind == ParamNormGain {
				v++
			}
			p[i] = v
		}
	})
	if err := m.finishStorage(); err != nil {
		return nil, err
	}
	return m, nil
}

// ParamKind says what role a parameter tensor plays.
type ParamKind int

// Parameter roles visited by Params.
const (
	ParamWeight   ParamKind = iota // matrices and embedding tables
	ParamBias                      // additive biases
	ParamNormGain                  // LayerNorm γ
	ParamNormBias                  // LayerNorm β
)

// Params visits every parameter tensor of m in a fixed order with its
// Hugging Face name (BertForSequenceClassification layout, "bert." prefix on
// the encoder) and its logical shape. The slices alias the model's float32
// weights; a weight held as int8 or int4 (Linear.Bits 8 or 4, a quantized
// word table) has no float32 slice and is visited with p nil. A low-rank
// Linear's weight is visited as its two factors, NAME.weight_u (Out×Rank)
// and NAME.weight_v (Rank×In); a factorized model's projection as
// bert.embeddings.word_projection.weight (hidden×E) and .bias. A layer that
// shares the previous layer's weights (Config.Layer(i).SharesPrevious) is
// not visited: its tensors are those of the group's first layer, visited
// once.
func (m *Model) Params(visit func(name string, shape []int, p []float32, kind ParamKind)) {
	m.slots(func(s *slot) {
		var p []float32
		if s.f != nil {
			p = *s.f
		}
		visit(s.name, s.shape, p, s.kind)
	})
}

// slot is one stored weight tensor of a model: float32 values (Bits 32 or
// 16) or a quantized matrix or table.
type slot struct {
	name  string
	shape []int // logical shape
	kind  ParamKind
	bits  int // 32, 16, 8 or 4
	group int // int4 group size
	f     *[]float32
	q     *qgemm.Weights // a quantized Linear weight or factor
	t     **QuantTable   // the quantized word table
}

// slots visits the storage of every parameter tensor in Params order.
func (m *Model) slots(visit func(s *slot)) {
	c := &m.Config
	group := c.Int4GroupSize()
	float := func(name string, shape []int, p *[]float32, kind ParamKind) {
		visit(&slot{name: name, shape: shape, kind: kind, bits: 32, f: p})
	}
	mat := func(name string, rows, cols, bits int, p *[]float32, q *qgemm.Weights) {
		s := &slot{name: name, shape: []int{rows, cols}, kind: ParamWeight, bits: bits, group: group}
		if bits == 8 || bits == 4 {
			s.q = q
		} else {
			s.f = p
		}
		visit(s)
	}
	lin := func(prefix string, l *Linear) {
		bits := l.WeightBits()
		if l.Rank > 0 {
			mat(prefix+".weight_u", l.Out, l.Rank, bits, &l.U, &l.QU)
			mat(prefix+".weight_v", l.Rank, l.In, bits, &l.V, &l.QV)
		} else {
			mat(prefix+".weight", l.Out, l.In, bits, &l.W, &l.QW)
		}
		float(prefix+".bias", []int{l.Out}, &l.B, ParamBias)
	}
	norm := func(prefix string, n *LayerNorm) {
		float(prefix+".weight", []int{c.HiddenSize}, &n.Gamma, ParamNormGain)
		float(prefix+".bias", []int{c.HiddenSize}, &n.Beta, ParamNormBias)
	}
	e := &m.Embeddings
	wcols := c.HiddenSize
	if e.Projection != nil {
		wcols = e.Projection.In
	}
	word := &slot{name: "bert.embeddings.word_embeddings.weight", shape: []int{c.VocabSize, wcols}, kind: ParamWeight,
		bits: bitsOrDefault(e.WordBits), group: group}
	if word.bits == 8 || word.bits == 4 {
		word.t = &e.WordQ
	} else {
		word.f = &e.Word
	}
	visit(word)
	if e.Projection != nil {
		lin("bert.embeddings.word_projection", e.Projection)
	}
	float("bert.embeddings.position_embeddings.weight", []int{c.MaxPositionEmbeddings, c.HiddenSize}, &e.Position, ParamWeight)
	float("bert.embeddings.token_type_embeddings.weight", []int{c.TypeVocabSize, c.HiddenSize}, &e.TokenType, ParamWeight)
	norm("bert.embeddings.LayerNorm", &e.Norm)
	for i := range m.Layers {
		if c.Layer(i).SharesPrevious {
			continue
		}
		l := &m.Layers[i]
		p := fmt.Sprintf("bert.encoder.layer.%d.", i)
		lin(p+"attention.self.query", &l.Query)
		lin(p+"attention.self.key", &l.Key)
		lin(p+"attention.self.value", &l.Value)
		lin(p+"attention.output.dense", &l.AttnOut)
		norm(p+"attention.output.LayerNorm", &l.AttnNorm)
		lin(p+"intermediate.dense", &l.Inter)
		lin(p+"output.dense", &l.Out)
		norm(p+"output.LayerNorm", &l.OutNorm)
	}
	if m.Pooler != nil {
		lin("bert.pooler.dense", m.Pooler)
	}
	if m.Classifier != nil {
		lin("classifier", m.Classifier)
	}
}

// NumParams is the number of scalar parameters of m, whatever their
// storage: a low-rank weight counts its two factors, a quantized one its
// values (not its scales).
func (m *Model) NumParams() int {
	n := 0
	m.slots(func(s *slot) {
		k := 1
		for _, d := range s.shape {
			k *= d
		}
		n += k
	})
	return n
}

// IsDense reports whether every weight of m is a full-rank float32 matrix
// and the word table is not factorized: the form training works on.
func (m *Model) IsDense() bool {
	dense := true
	m.slots(func(s *slot) { dense = dense && s.f != nil && s.bits == 32 })
	if m.Embeddings.Projection != nil {
		return false
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		for _, lin := range []*Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.Inter, &l.Out} {
			if lin.Rank != 0 || lin.WeightBits() != 32 {
				return false
			}
		}
	}
	return dense
}

// FLOPs is the number of floating-point operations (2 per multiply-add) of
// the matrix products of one forward pass over batch sequences of seqLen
// tokens; element-wise work is not counted.
func (m *Model) FLOPs(batch, seqLen int) int64 {
	t := int64(batch) * int64(seqLen)
	h := int64(m.Config.HiddenSize)
	var f int64
	if p := m.Embeddings.Projection; p != nil {
		f += 2 * t * p.macs()
	}
	for _, l := range m.Layers {
		inner := int64(l.Heads * l.HeadSize)
		f += 2 * t * (l.Query.macs() + l.Key.macs() + l.Value.macs() + l.AttnOut.macs()) // Q, K, V, output projection
		f += 2 * 2 * int64(batch) * int64(seqLen) * int64(seqLen) * inner                // scores and context
		f += 2 * t * (l.Inter.macs() + l.Out.macs())                                     // FFN in and out
	}
	if m.Pooler != nil {
		f += 2 * int64(batch) * h * h
	}
	if m.Classifier != nil {
		f += 2 * int64(batch) * h * int64(m.Classifier.Out)
	}
	return f
}

// ToDense returns a dense float32 model computing what m computes: every
// low-rank weight multiplied out (U·V), every quantized one dequantized,
// a factorized word table projected to hidden (row·Pᵀ + bias). Its outputs
// equal m's up to float rounding, except that m's int8 and int4 products
// also quantize their activations. The result owns its memory.
func (m *Model) ToDense() (*Model, error) {
	cfg := m.Config.Clone()
	if e := cfg.Edgenas; e != nil {
		e.EmbeddingRank, e.EmbeddingBits, e.Int4Group = 0, 0, 0
		for i := range e.Layers {
			e.Layers[i].AttentionRank, e.Layers[i].FFNRank, e.Layers[i].Bits = 0, 0, 0
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := build(cfg, m.Pooler != nil, m.Classifier != nil, true)
	H := cfg.HiddenSize
	e, de := &m.Embeddings, &d.Embeddings
	word := e.WordTable()
	if p := e.Projection; p != nil {
		pw := p.Dense()
		for r := 0; r < cfg.VocabSize; r++ {
			src, dst := word[r*p.In:(r+1)*p.In], de.Word[r*H:(r+1)*H]
			for j := range dst {
				var s float32
				for k, x := range src {
					s += x * pw[j*p.In+k]
				}
				dst[j] = s + p.B[j]
			}
		}
	} else {
		copy(de.Word, word)
	}
	copy(de.Position, e.Position)
	copy(de.TokenType, e.TokenType)
	de.Norm = LayerNorm{Gamma: slices.Clone(e.Norm.Gamma), Beta: slices.Clone(e.Norm.Beta), Eps: e.Norm.Eps}
	lin := func(dst, src *Linear) {
		copy(dst.W, src.Dense())
		copy(dst.B, src.B)
	}
	norm := func(dst, src *LayerNorm) {
		copy(dst.Gamma, src.Gamma)
		copy(dst.Beta, src.Beta)
		dst.Eps = src.Eps
	}
	for i := range m.Layers {
		if i > 0 && cfg.Layer(i).SharesPrevious {
			continue
		}
		s, t := &m.Layers[i], &d.Layers[i]
		lin(&t.Query, &s.Query)
		lin(&t.Key, &s.Key)
		lin(&t.Value, &s.Value)
		lin(&t.AttnOut, &s.AttnOut)
		lin(&t.Inter, &s.Inter)
		lin(&t.Out, &s.Out)
		norm(&t.AttnNorm, &s.AttnNorm)
		norm(&t.OutNorm, &s.OutNorm)
	}
	if m.Pooler != nil {
		lin(d.Pooler, m.Pooler)
		if m.Classifier != nil {
			lin(d.Classifier, m.Classifier)
		}
	}
	return d, nil
}
