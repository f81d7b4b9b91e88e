package transformer

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/qgemm"
)

// Activation names accepted in config.json's hidden_act.
const (
	ActGELU     = "gelu"     // exact GELU, 0.5·x·(1+erf(x/√2))
	ActGELUNew  = "gelu_new" // tanh approximation (GPT-2, Google BERT)
	ActGELUTanh = "gelu_pytorch_tanh"
	ActReLU     = "relu"
)

// ConfigVersion is the version of the edgenas section this package writes.
const ConfigVersion = 1

// Config is a Hugging Face BertConfig (config.json) plus the optional edgenas
// section that carries per-layer shapes of compressed students. Fields absent
// from a file take the BertConfig defaults (see DefaultConfig).
type Config struct {
	ModelType             string            `json:"model_type,omitempty"`
	Architectures         []string          `json:"architectures,omitempty"`
	VocabSize             int               `json:"vocab_size"`
	HiddenSize            int               `json:"hidden_size"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	IntermediateSize      int               `json:"intermediate_size"`
	HiddenAct             string            `json:"hidden_act"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	TypeVocabSize         int               `json:"type_vocab_size"`
	LayerNormEps          float64           `json:"layer_norm_eps"`
	PadTokenID            int               `json:"pad_token_id"`
	PositionEmbeddingType string            `json:"position_embedding_type,omitempty"`
	NumLabels             int               `json:"num_labels,omitempty"`
	ID2Label              map[string]string `json:"id2label,omitempty"`
	Label2ID              map[string]int    `json:"label2id,omitempty"`
	// Edgenas holds per-layer shapes; nil for a plain (uniform) HF model.
	Edgenas *EdgenasConfig `json:"edgenas,omitempty"`
}

// EdgenasConfig is the edgenas section of config.json. Plain Hugging Face
// configs lack it; students whose layers differ in shape carry it.
type EdgenasConfig struct {
	Version int `json:"version"`
	// AttentionHeadSize is the width of one head (hidden_size/num_attention_heads
	// of the teacher); pruning heads keeps it and lowers the head count.
	AttentionHeadSize int `json:"attention_head_size"`
	// Layers has one entry per encoder layer, len == num_hidden_layers.
	Layers []LayerConfig `json:"layers"`
	// Provenance says where the weights come from, e.g. "random initialization"
	// or "trained from scratch by edgenas".
	Provenance string `json:"provenance,omitempty"`
	// EmbeddingRank factorizes the word embeddings (ALBERT): a
	// vocab_size×EmbeddingRank table followed by a projection to
	// hidden_size. 0 keeps the vocab_size×hidden_size table.
	EmbeddingRank int `json:"embedding_rank,omitempty"`
	// EmbeddingBits is the storage precision of the word table: 32 (or 0),
	// 16, 8 or 4. The position and token-type tables, the projection and
	// every LayerNorm stay float32.
	EmbeddingBits int `json:"embedding_bits,omitempty"`
	// Int4Group is the number of consecutive input features that share one
	// scale in every 4-bit weight: 32, 64 or 128 (0 means DefaultInt4Group).
	Int4Group int `json:"int4_group,omitempty"`
}

// DefaultInt4Group is the int4 group size used when the edgenas section
// does not set int4_group.
const DefaultInt4Group = 64

// Int4GroupSize returns the int4 group size of the model: int4_group, or
// DefaultInt4Group when unset.
func (c *Config) Int4GroupSize() int {
	if c.Edgenas != nil && c.Edgenas.Int4Group != 0 {
		return c.Edgenas.Int4Group
	}
	return DefaultInt4Group
}

// EmbeddingRank returns the rank of the factorized word embeddings, 0 when
// the word table is vocab_size×hidden_size.
func (c *Config) EmbeddingRank() int {
	if c.Edgenas != nil {
		return c.Edgenas.EmbeddingRank
	}
	return 0
}

// EmbeddingBits returns the storage bits of the word table: 32, 16, 8 or 4.
func (c *Config) EmbeddingBits() int {
	if c.Edgenas != nil {
		return bitsOrDefault(c.Edgenas.EmbeddingBits)
	}
	return 32
}

// bitsOrDefault maps the omitted bit width 0 to 32.
func bitsOrDefault(b int) int {
	if b == 0 {
		return 32
	}
	return b
}

// LayerConfig is the shape of one encoder layer.
type LayerConfig struct {
	NumAttentionHeads int `json:"num_attention_heads"`
	IntermediateSize  int `json:"intermediate_size"`
	// SharesPrevious says the layer reuses the previous layer's weights
	// (ALBERT-style sharing): a run of such layers and the layer before it
	// form one group whose weights are stored once.
	SharesPrevious bool `json:"shares_previous,omitempty"`
	// AttentionRank is the rank of the query, key, value and attention
	// output matrices, each stored as two factors; 0 keeps them full.
	AttentionRank int `json:"attention_rank,omitempty"`
	// FFNRank is the rank of the two FFN matrices; 0 keeps them full.
	FFNRank int `json:"ffn_rank,omitempty"`
	// Bits is the storage precision of the layer's six weight matrices
	// (low-rank factors included): 32 (or 0), 16 (half precision values),
	// 8 (int8 per output channel) or 4 (int4 in groups of int4_group).
	// Biases and LayerNorms stay float32.
	Bits int `json:"bits,omitempty"`
}

// WeightBits returns l.Bits with the omitted value 0 read as 32.
func (l LayerConfig) WeightBits() int { return bitsOrDefault(l.Bits) }

// DefaultConfig returns the BertConfig defaults of Hugging Face transformers
// (bert-base-uncased's shape); they fill the fields a config.json omits.
func DefaultConfig() Config {
	return Config{
		ModelType:             "bert",
		VocabSize:             30522,
		HiddenSize:            768,
		NumHiddenLayers:       12,
		NumAttentionHeads:     12,
		IntermediateSize:      3072,
		HiddenAct:             ActGELU,
		MaxPositionEmbeddings: 512,
		TypeVocabSize:         2,
		LayerNormEps:          1e-12,
	}
}

// FieldError is one validation problem of a config: the JSON field and what
// was expected of it. It is the one validation error type of edgenas
// (package fielderr), so errors.As matches it whichever package made it.
type FieldError = fielderr.FieldError

// ParseConfig decodes config.json bytes over DefaultConfig and validates the
// result, returning every problem at once.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("decode: %w", err)
	}
	// An absent num_labels follows id2label (or BertConfig's default of 2);
	// one given is validated as given.
	var given struct {
		NumLabels *int `json:"num_labels"`
	}
	_ = json.Unmarshal(data, &given) // decoded above already
	if given.NumLabels == nil && c.NumLabels == 0 {
		c.NumLabels = len(c.ID2Label)
	}
	if given.NumLabels == nil && c.NumLabels == 0 {
		c.NumLabels = 2 // the BertConfig default
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// CheckTokenizer checks that a tokenizer of size tokens belongs to a
// model of config c: no token id beyond the embeddings, and unused
// embedding rows only as padding explains them (vocab_size is size
// rounded up to a multiple of 8, 16, 32, 64 or 128, as models pad it for
// faster products).
func (c *Config) CheckTokenizer(size int) error {
	if size > c.VocabSize {
		return fmt.Errorf("the tokenizer has %d tokens, more than config.json's vocab_size %d: token ids past %d have no embedding (is it the model's tokenizer?)", size, c.VocabSize, c.VocabSize-1)
	}
	if size == c.VocabSize {
		return nil
	}
	for _, m := range []int{8, 16, 32, 64, 128} {
		if (size+m-1)/m*m == c.VocabSize {
			return nil
		}
	}
	return fmt.Errorf("the tokenizer has %d tokens, config.json's vocab_size is %d: more unused embedding rows than padding to a multiple of 8..128 explains (is it the model's tokenizer?)", size, c.VocabSize)
}

// LoadConfig reads and validates a config.json; errors name the file.
func LoadConfig(path string) (Config, error) {
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a model config")
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Clone returns a deep copy of c: the edgenas section and label maps are
// not shared with c.
func (c Config) Clone() Config {
	c.Architectures = slices.Clone(c.Architectures)
	c.ID2Label = maps.Clone(c.ID2Label)
	c.Label2ID = maps.Clone(c.Label2ID)
	if c.Edgenas != nil {
		e := *c.Edgenas
		e.Layers = slices.Clone(e.Layers)
		c.Edgenas = &e
	}
	return c
}

// Layer returns the shape of encoder layer i: from the edgenas section when
// present, else the uniform top-level fields.
func (c *Config) Layer(i int) LayerConfig {
	if c.Edgenas != nil && i < len(c.Edgenas.Layers) {
		return c.Edgenas.Layers[i]
	}
	return LayerConfig{NumAttentionHeads: c.NumAttentionHeads, IntermediateSize: c.IntermediateSize}
}

// HeadSize is the width of one attention head.
func (c *Config) HeadSize() int {
	if c.Edgenas != nil && c.Edgenas.AttentionHeadSize > 0 {
		return c.Edgenas.AttentionHeadSize
	}
	if c.NumAttentionHeads <= 0 {
		return 0
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// Uniform reports whether every layer has the top-level shape, so the config
// is a plain Hugging Face BertConfig.
func (c *Config) Uniform() bool {
	if c.HeadSize()*c.NumAttentionHeads != c.HiddenSize {
		return false
	}
	for i := 0; i < c.NumHiddenLayers; i++ {
		l := c.Layer(i)
		if l.SharesPrevious || l.NumAttentionHeads != c.NumAttentionHeads || l.IntermediateSize != c.IntermediateSize ||
			l.AttentionRank != 0 || l.FFNRank != 0 || l.WeightBits() != 32 {
			return false
		}
	}
	return c.EmbeddingRank() == 0 && c.EmbeddingBits() == 32
}

// Labels returns the class names in id order, "LABEL_i" where id2label lacks one.
func (c *Config) Labels() []string {
	out := make([]string, c.NumLabels)
	for i := range out {
		if s, ok := c.ID2Label[strconv.Itoa(i)]; ok {
			out[i] = s
		} else {
			out[i] = "LABEL_" + strconv.Itoa(i)
		}
	}
	return out
}

// maxDim bounds every size in a config so that products of two of them
// cannot overflow and a hostile file cannot ask for absurd allocations.
const maxDim = 1 << 24

// Validate checks every field and returns all problems joined, each a
// *FieldError.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	checkBits := func(field string, b int) {
		switch b {
		case 0, 32, 16, 8, 4:
		default:
			bad(field, "want 32, 16, 8 or 4 (0 means 32), got %d", b)
		}
	}
	positive := func(field string, v int) {
		if v <= 0 || v > maxDim {
			bad(field, "want an integer in [1, %d], got %d", maxDim, v)
		}
	}
	if c.ModelType != "" && c.ModelType != "bert" {
		bad("model_type", "want \"bert\", got %q", c.ModelType)
	}
	positive("vocab_size", c.VocabSize)
	positive("hidden_size", c.HiddenSize)
	if c.NumHiddenLayers < 0 || c.NumHiddenLayers > 1024 {
		bad("num_hidden_layers", "want an integer in [0, 1024], got %d", c.NumHiddenLayers)
	}
	positive("num_attention_heads", c.NumAttentionHeads)
	positive("intermediate_size", c.IntermediateSize)
	positive("max_position_embeddings", c.MaxPositionEmbeddings)
	positive("type_vocab_size", c.TypeVocabSize)
	positive("num_labels", c.NumLabels)
	switch c.HiddenAct {
	case ActGELU, ActGELUNew, ActGELUTanh, ActReLU:
	default:
		bad("hidden_act", "want one of gelu, gelu_new, gelu_pytorch_tanh, relu; got %q", c.HiddenAct)
	}
	if !(c.LayerNormEps > 0 && c.LayerNormEps < 1) {
		bad("layer_norm_eps", "want a number in (0, 1), got %v", c.LayerNormEps)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		bad("position_embedding_type", "only \"absolute\" is supported, got %q", c.PositionEmbeddingType)
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize && c.VocabSize > 0 {
		bad("pad_token_id", "want an id in [0, vocab_size), got %d", c.PadTokenID)
	}
	for k := range c.ID2Label {
		if i, err := strconv.Atoi(k); err != nil || i < 0 || i >= c.NumLabels {
			bad("id2label", "key %q is not a label id in [0, %d)", k, c.NumLabels)
		}
	}
	if e := c.Edgenas; e != nil {
		if e.Version != ConfigVersion {
			bad("edgenas.version", "want %d, got %d", ConfigVersion, e.Version)
		}
		positive("edgenas.attention_head_size", e.AttentionHeadSize)
		if len(e.Layers) != c.NumHiddenLayers {
			bad("edgenas.layers", "want one entry per layer (%d), got %d", c.NumHiddenLayers, len(e.Layers))
		}
		for i, l := range e.Layers {
			positive(fmt.Sprintf("edgenas.layers[%d].num_attention_heads", i), l.NumAttentionHeads)
			positive(fmt.Sprintf("edgenas.layers[%d].intermediate_size", i), l.IntermediateSize)
			if l.SharesPrevious && i == 0 {
				bad("edgenas.layers[0].shares_previous", "the first layer has no previous layer to share")
			} else if p := e.Layers[max(i, 1)-1]; l.SharesPrevious && (l.NumAttentionHeads != p.NumAttentionHeads || l.IntermediateSize != p.IntermediateSize ||
				l.AttentionRank != p.AttentionRank || l.FFNRank != p.FFNRank || l.WeightBits() != p.WeightBits()) {
				bad(fmt.Sprintf("edgenas.layers[%d].shares_previous", i), "a layer sharing the previous one's weights must have its shape and storage (%d heads, FFN %d, ranks %d/%d, %d bits), got %d heads, FFN %d, ranks %d/%d, %d bits",
					p.NumAttentionHeads, p.IntermediateSize, p.AttentionRank, p.FFNRank, p.WeightBits(),
					l.NumAttentionHeads, l.IntermediateSize, l.AttentionRank, l.FFNRank, l.WeightBits())
			}
			f := fmt.Sprintf("edgenas.layers[%d].", i)
			inner := l.NumAttentionHeads * e.AttentionHeadSize
			if l.AttentionRank < 0 || l.AttentionRank > min(c.HiddenSize, inner) {
				bad(f+"attention_rank", "want 0 (full) or a rank in [1, min(hidden_size %d, heads·head size %d)], got %d", c.HiddenSize, inner, l.AttentionRank)
			}
			if l.FFNRank < 0 || l.FFNRank > min(c.HiddenSize, l.IntermediateSize) {
				bad(f+"ffn_rank", "want 0 (full) or a rank in [1, min(hidden_size %d, intermediate_size %d)], got %d", c.HiddenSize, l.IntermediateSize, l.FFNRank)
			}
			checkBits(f+"bits", l.Bits)
			if b := l.WeightBits(); (b == 8 || b == 4) && max(c.HiddenSize, inner, l.IntermediateSize) > qgemm.MaxIn {
				bad(f+"bits", "%d-bit weights need every input width ≤ %d", b, qgemm.MaxIn)
			}
			if l.NumAttentionHeads > 0 && e.AttentionHeadSize > 0 && l.NumAttentionHeads*e.AttentionHeadSize > maxDim {
				bad(fmt.Sprintf("edgenas.layers[%d].num_attention_heads", i), "heads × attention_head_size exceeds %d", maxDim)
			}
		}
		if e.EmbeddingRank < 0 || e.EmbeddingRank > min(c.VocabSize, c.HiddenSize) {
			bad("edgenas.embedding_rank", "want 0 (no factorization) or a rank in [1, min(vocab_size %d, hidden_size %d)], got %d", c.VocabSize, c.HiddenSize, e.EmbeddingRank)
		}
		checkBits("edgenas.embedding_bits", e.EmbeddingBits)
		switch e.Int4Group {
		case 0, 32, 64, 128:
		default:
			bad("edgenas.int4_group", "want 32, 64 or 128 (0 for the default %d), got %d", DefaultInt4Group, e.Int4Group)
		}
	} else if c.NumAttentionHeads > 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		bad("num_attention_heads", "hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	return errors.Join(errs...)
}

// Marshal encodes the config as indented JSON. A uniform model is written
// without the edgenas section unless it carries provenance, so plain HF tools
// read it unchanged.
func (c *Config) Marshal() ([]byte, error) {
	out := *c
	if out.ID2Label == nil {
		labels := c.Labels()
		out.ID2Label = make(map[string]string, len(labels))
		out.Label2ID = make(map[string]int, len(labels))
		for i, s := range labels {
			out.ID2Label[strconv.Itoa(i)] = s
			out.Label2ID[s] = i
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

// Shapes names the standard BERT shapes of Google's miniatures and BERT-base
// (layers, hidden size, heads; FFN width is 4× hidden).
var Shapes = map[string][3]int{
	"tiny":  {2, 128, 2},
	"mini":  {4, 256, 4},
	"small": {4, 512, 8},
	"base":  {12, 768, 12},
}

// ShapeConfig returns the config of a named standard shape (see Shapes) over
// a vocabulary of vocabSize tokens.
func ShapeConfig(name string, vocabSize int) (Config, error) {
	s, ok := Shapes[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown shape %q (want tiny, mini, small or base)", name)
	}
	c := DefaultConfig()
	c.VocabSize = vocabSize
	c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads = s[0], s[1], s[2]
	c.IntermediateSize = 4 * s[1]
	c.NumLabels = 2
	return c, c.Validate()
}
