package transformer

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// Linear is a dense affine map y = x·Wᵀ + b with W stored as PyTorch does,
// Out rows of In columns.
type Linear struct {
	In, Out int
	W       []float32 // Out×In, row-major
	B       []float32 // Out
}

// LayerNorm normalizes each row over its last dimension and applies the
// affine Gamma and Beta.
type LayerNorm struct {
	Gamma, Beta []float32
	Eps         float32
}

// Embeddings holds the word, position and token-type tables and their
// LayerNorm.
type Embeddings struct {
	Word      []float32 // vocab_size×hidden
	Position  []float32 // max_position_embeddings×hidden
	TokenType []float32 // type_vocab_size×hidden
	Norm      LayerNorm
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

// newLinear returns a zero Linear of the given shape; without alloc its
// slices stay nil (a shape-only skeleton).
func newLinear(in, out int, alloc bool) Linear {
	l := Linear{In: in, Out: out}
	if alloc {
		l.W, l.B = make([]float32, in*out), make([]float32, out)
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
	return build(cfg, withHead, withHead, true), nil
}

// build lays out a model of a valid cfg. Without alloc no weight memory is
// taken, so a checkpoint's shapes can be checked against a hostile config
// before anything proportional to the config is allocated.
func build(cfg Config, pooler, classifier, alloc bool) *Model {
	h := cfg.HiddenSize
	table := func(rows int) []float32 {
		if !alloc {
			return nil
		}
		return make([]float32, rows*h)
	}
	m := &Model{Config: cfg.Clone()}
	m.Embeddings = Embeddings{
		Word:      table(cfg.VocabSize),
		Position:  table(cfg.MaxPositionEmbeddings),
		TokenType: table(cfg.TypeVocabSize),
		Norm:      newLayerNorm(h, cfg.LayerNormEps, alloc),
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
		m.Layers[i] = Layer{
			Heads: lc.NumAttentionHeads, HeadSize: hs, FFN: lc.IntermediateSize,
			Query: newLinear(h, inner, alloc), Key: newLinear(h, inner, alloc), Value: newLinear(h, inner, alloc),
			AttnOut:  newLinear(inner, h, alloc),
			AttnNorm: newLayerNorm(h, cfg.LayerNormEps, alloc),
			Inter:    newLinear(h, lc.IntermediateSize, alloc),
			Out:      newLinear(lc.IntermediateSize, h, alloc),
			OutNorm:  newLayerNorm(h, cfg.LayerNormEps, alloc),
		}
	}
	if pooler {
		p := newLinear(h, h, alloc)
		m.Pooler = &p
		if classifier {
			c := newLinear(h, cfg.NumLabels, alloc)
			m.Classifier = &c
		}
	}
	return m
}

// NewRandom returns a model of cfg's shape, with a pooler and classifier,
// whose every parameter is drawn from rng: weights, biases and embeddings
// from N(0, std²), LayerNorm gains from 1+N(0, std²) and shifts from
// N(0, std²). Such a model is for testing the engine only; its outputs mean
// nothing, and its config says so in the edgenas provenance.
func NewRandom(cfg Config, rng *rand.Rand, std float64) (*Model, error) {
	m, err := NewModel(cfg, true)
	if err != nil {
		return nil, err
	}
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
// the encoder). The slices alias the model's weights. A layer that shares
// the previous layer's weights (Config.Layer(i).SharesPrevious) is not
// visited: its tensors are those of the group's first layer, visited once.
func (m *Model) Params(visit func(name string, shape []int, p []float32, kind ParamKind)) {
	c := &m.Config
	lin := func(prefix string, l *Linear) {
		visit(prefix+".weight", []int{l.Out, l.In}, l.W, ParamWeight)
		visit(prefix+".bias", []int{l.Out}, l.B, ParamBias)
	}
	norm := func(prefix string, n *LayerNorm) {
		visit(prefix+".weight", []int{c.HiddenSize}, n.Gamma, ParamNormGain)
		visit(prefix+".bias", []int{c.HiddenSize}, n.Beta, ParamNormBias)
	}
	e := &m.Embeddings
	visit("bert.embeddings.word_embeddings.weight", []int{c.VocabSize, c.HiddenSize}, e.Word, ParamWeight)
	visit("bert.embeddings.position_embeddings.weight", []int{c.MaxPositionEmbeddings, c.HiddenSize}, e.Position, ParamWeight)
	visit("bert.embeddings.token_type_embeddings.weight", []int{c.TypeVocabSize, c.HiddenSize}, e.TokenType, ParamWeight)
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

// NumParams is the number of scalar parameters of m.
func (m *Model) NumParams() int {
	n := 0
	m.Params(func(_ string, _ []int, p []float32, _ ParamKind) { n += len(p) })
	return n
}

// FLOPs is the number of floating-point operations (2 per multiply-add) of
// the matrix products of one forward pass over batch sequences of seqLen
// tokens; element-wise work is not counted.
func (m *Model) FLOPs(batch, seqLen int) int64 {
	t := int64(batch) * int64(seqLen)
	h := int64(m.Config.HiddenSize)
	var f int64
	for _, l := range m.Layers {
		inner := int64(l.Heads * l.HeadSize)
		f += 2 * t * h * inner * 4                                        // Q, K, V, output projection
		f += 2 * 2 * int64(batch) * int64(seqLen) * int64(seqLen) * inner // scores and context
		f += 2 * 2 * t * h * int64(l.FFN)                                 // FFN in and out
	}
	if m.Pooler != nil {
		f += 2 * int64(batch) * h * h
	}
	if m.Classifier != nil {
		f += 2 * int64(batch) * h * int64(m.Classifier.Out)
	}
	return f
}
