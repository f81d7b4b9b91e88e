package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/yamlconf"
	"github.com/edgenas/edgenas/train/demotask"
	"github.com/edgenas/edgenas/transformer"
)

// Config describes one training run; it is what a training YAML file
// holds. The zero value of every field means its default (see the field
// comments), so the zero Config trains a BERT-tiny-shaped model on the
// default demo task. Pointer fields distinguish "unset" (nil, the default)
// from an explicit 0.
type Config struct {
	// Model is the shape of the model trained from scratch.
	Model ModelConfig `yaml:"model" json:"model"`
	// Data says where the examples come from.
	Data DataConfig `yaml:"data" json:"data"`
	// MaxSeqLen truncates every example to this many tokens ([CLS] and
	// [SEP] included); 0 means 128.
	MaxSeqLen int `yaml:"max_seq_len" json:"max_seq_len"`
	// BatchSize is the number of examples per optimizer step; 0 means 32.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Epochs is the number of passes over the training data; 0 means 3
	// unless MaxSteps is set.
	Epochs int `yaml:"epochs" json:"epochs"`
	// MaxSteps caps the number of optimizer steps; 0 means Epochs passes.
	MaxSteps int `yaml:"max_steps" json:"max_steps"`
	// LR is the peak learning rate; 0 means 1e-4.
	LR float64 `yaml:"lr" json:"lr"`
	// Warmup is the fraction of the steps over which the learning rate rises
	// linearly to LR before it decays linearly to 0; nil means 0.1.
	Warmup *float64 `yaml:"warmup" json:"warmup"`
	// WeightDecay is AdamW's decoupled weight decay on weight matrices and
	// embeddings; nil means 0.01.
	WeightDecay *float64 `yaml:"weight_decay" json:"weight_decay"`
	// Clip is the largest global gradient norm; nil means 1, 0 means no
	// clipping.
	Clip *float64 `yaml:"clip" json:"clip"`
	// EvalEvery is the number of steps between dev evaluations (the best one
	// is kept as the best checkpoint); 0 means a tenth of the run. The last
	// step is always evaluated.
	EvalEvery int `yaml:"eval_every" json:"eval_every"`
	// CheckpointEvery is the number of steps between writes of the last
	// checkpoint, from which --resume continues; 0 means EvalEvery.
	CheckpointEvery int `yaml:"checkpoint_every" json:"checkpoint_every"`
	// LogEvery is the number of steps between progress log lines when the
	// output is not a terminal; 0 means 50.
	LogEvery int `yaml:"log_every" json:"log_every"`
	// MaxLoss is the training loss above which the run counts as diverged
	// and stops; 0 means 50.
	MaxLoss float64 `yaml:"max_loss" json:"max_loss"`
	// Seed seeds the weight initialization and the batch order; 0 means 1.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Threads is the number of threads of the forward and backward passes;
	// 0 means every CPU.
	Threads int `yaml:"threads" json:"threads"`
	// RunDir is the directory of the run's checkpoints; "" means
	// runs/train. It may use ${VAR} environment variables.
	RunDir string `yaml:"run_dir" json:"run_dir"`
	// Pretrain, when set, runs a masked-LM pretraining stage on unlabelled
	// text before the classification training; nil means none.
	Pretrain *PretrainConfig `yaml:"pretrain" json:"pretrain,omitempty"`

	// source and lines locate the fields in the YAML file they came from.
	source string
	lines  yamlconf.Lines
}

// ModelConfig is the shape of the model to train.
type ModelConfig struct {
	// Shape is a standard shape: tiny (L2 H128 A2), mini (L4 H256 A4), small
	// or base (see transformer.Shapes); "" or "custom" with Layers, Hidden,
	// Heads (and optionally FFN) for another one. All empty means tiny.
	Shape string `yaml:"shape" json:"shape,omitempty"`
	// Layers, Hidden, Heads and FFN give a custom shape; FFN 0 means
	// 4·Hidden.
	Layers int `yaml:"layers" json:"layers,omitempty"`
	Hidden int `yaml:"hidden" json:"hidden,omitempty"`
	Heads  int `yaml:"heads" json:"heads,omitempty"`
	FFN    int `yaml:"ffn" json:"ffn,omitempty"`
	// MaxPosition is the size of the position table; 0 means 512.
	MaxPosition int `yaml:"max_position" json:"max_position,omitempty"`
	// Vocab is a vocab.txt (uncased BERT WordPiece); required for TSV data,
	// and for the demo task "" means the demo lexicon plus the special
	// tokens. It may use ${VAR} environment variables.
	Vocab string `yaml:"vocab" json:"vocab,omitempty"`
	// InitStd is the standard deviation of the normal initialization of
	// weight matrices and embeddings (biases start at 0, LayerNorm at the
	// identity); 0 means 0.02, BERT's initializer range.
	InitStd float64 `yaml:"init_std" json:"init_std,omitempty"`
}

// DataConfig says where training and dev examples come from: GLUE-style
// TSV files, or the demo task generated in-process. All empty means the
// default demo task.
type DataConfig struct {
	// Train and Dev are TSV files (see ReadTSV); both or neither. They may
	// use ${VAR} environment variables, e.g. ${EDGENAS_TESTDATA}.
	Train string `yaml:"train" json:"train,omitempty"`
	Dev   string `yaml:"dev" json:"dev,omitempty"`
	// Demo generates the demo task instead (package demotask).
	Demo *DemoData `yaml:"demo" json:"demo,omitempty"`
	// NumLabels is the number of classes; 0 means 2. The demo task has 2.
	NumLabels int `yaml:"num_labels" json:"num_labels,omitempty"`
}

// DemoData sizes the generated demo task; zero fields mean the demotask
// defaults (seed 1, 20000 train, 2000 dev, 24 words).
type DemoData struct {
	// Seed selects the data set (demotask.Config.Seed).
	Seed uint64 `yaml:"seed" json:"seed,omitempty"`
	// Train and Dev are the sizes of the splits.
	Train int `yaml:"train" json:"train,omitempty"`
	Dev   int `yaml:"dev" json:"dev,omitempty"`
	// MaxWords caps the length of a sentence in words.
	MaxWords int `yaml:"max_words" json:"max_words,omitempty"`
}

// PretrainConfig is the optional masked-LM pretraining stage: BERT's
// masked-LM objective (a fraction of the tokens masked, predicted by an MLM
// head whose decoder is tied to the word embeddings) on unlabelled text,
// trained with its own AdamW schedule before the classification stage,
// which then starts from the pretrained encoder with a fresh pooler and
// classifier. Zero fields mean their defaults; Text is required.
type PretrainConfig struct {
	// Text lists the files of unlabelled text: a file ending in .tsv is read
	// as ReadTSV reads it (its text column, labels ignored), any other as
	// raw text, one paragraph a line (the WikiText layout: blank lines and
	// " = Heading = " lines are skipped, long paragraphs are cut into
	// max_seq_len windows). Paths may use ${VAR} environment variables.
	Text []string `yaml:"text" json:"text"`
	// Steps is the number of pretraining optimizer steps; 0 means 1000.
	Steps int `yaml:"steps" json:"steps"`
	// BatchSize is the number of sequences per step; 0 means the config's
	// batch_size.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// MaxSeqLen is the length of a sequence in tokens ([CLS] and [SEP]
	// included); 0 means 128.
	MaxSeqLen int `yaml:"max_seq_len" json:"max_seq_len"`
	// LR is the peak learning rate; 0 means 1e-4.
	LR float64 `yaml:"lr" json:"lr"`
	// Warmup is the fraction of the steps of linear warm-up before the
	// linear decay to 0; nil means 0.1.
	Warmup *float64 `yaml:"warmup" json:"warmup"`
	// WeightDecay is AdamW's decoupled weight decay; nil means 0.01. The
	// config's clip applies to pretraining too.
	WeightDecay *float64 `yaml:"weight_decay" json:"weight_decay"`
	// MaskProb is the fraction of the non-special tokens predicted (of
	// which 80 % are replaced by [MASK], 10 % by a random token and 10 %
	// kept); 0 means 0.15.
	MaskProb float64 `yaml:"mask_prob" json:"mask_prob"`
	// Seed seeds the MLM head's initialization, the batch order and the
	// masking; 0 means the config's seed.
	Seed uint64 `yaml:"seed" json:"seed"`
	// CheckpointEvery is the number of steps between checkpoints of the
	// stage (in run_dir/pretrain); 0 means a tenth of the steps.
	CheckpointEvery int `yaml:"checkpoint_every" json:"checkpoint_every"`
}

// Defaults of the PretrainConfig fields.
const (
	DefaultPretrainSteps     = 1000
	DefaultPretrainMaxSeqLen = 128
	DefaultPretrainLR        = 1e-4
	DefaultMaskProb          = 0.15
)

// Generator returns the generator config of d (nil means defaults).
func (d *DemoData) Generator() demotask.Config {
	if d == nil {
		return demotask.Config{}
	}
	return demotask.Config{Seed: d.Seed, Train: d.Train, Dev: d.Dev, MaxWords: d.MaxWords}
}

// Defaults of the Config fields, used where a field is zero (nil for the
// pointer fields).
const (
	DefaultMaxSeqLen   = 128
	DefaultBatchSize   = 32
	DefaultEpochs      = 3
	DefaultLR          = 1e-4
	DefaultWarmup      = 0.1
	DefaultWeightDecay = 0.01
	DefaultClip        = 1.0
	DefaultLogEvery    = 50
	DefaultMaxLoss     = 50.0
	DefaultRunDir      = "runs/train"
	DefaultInitStd     = 0.02
	DefaultMaxPosition = 512
)

// ConfigError is one problem of a Config: the field (its YAML path, e.g.
// "model.hidden"), the line of the file it is on when known, and what was
// expected.
type ConfigError = yamlconf.FieldError

// ParseConfig decodes a training YAML document strictly (an unknown key, a
// value of the wrong type or a second document is an error carrying its
// line) and validates it, returning every problem at once. name is the
// file name errors carry. An empty document is the zero (default) Config.
func ParseConfig(data []byte, name string) (Config, error) {
	var c Config
	lines, err := yamlconf.Decode(data, name, &c)
	if err != nil {
		return Config{}, err
	}
	c.source = name
	c.lines = lines
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadConfig reads and parses a training YAML file (see ParseConfig).
func LoadConfig(path string) (Config, error) {
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a training config")
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(data, path)
}

// Validate checks every field (zero values stand for their defaults) and
// returns all problems joined, each a *ConfigError naming the field and,
// for a Config read by ParseConfig, its line. Paths are checked for
// undefined environment variables, not for existence.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, c.lines.At(c.source, field, format, a...))
	}
	intIn := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(field, "want an integer in [%d, %d], got %d", lo, hi, v)
		}
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

	m := c.Model
	custom := m.Layers != 0 || m.Hidden != 0 || m.Heads != 0 || m.FFN != 0
	switch m.Shape {
	case "", "custom":
		if m.Shape == "custom" && !custom {
			bad("model.shape", "custom needs layers, hidden and heads")
		}
		if custom {
			intIn("model.layers", m.Layers, 1, 64)
			intIn("model.hidden", m.Hidden, 1, 8192)
			intIn("model.heads", m.Heads, 1, 256)
			intIn("model.ffn", m.FFN, 0, 65536)
			if m.Hidden > 0 && m.Heads > 0 && m.Hidden%m.Heads != 0 {
				bad("model.heads", "hidden %d is not a multiple of heads %d", m.Hidden, m.Heads)
			}
		}
	default:
		if _, ok := transformer.Shapes[m.Shape]; !ok {
			bad("model.shape", "want tiny, mini, small, base or custom, got %q", m.Shape)
		} else if custom {
			bad("model.shape", "%q fixes the shape: leave layers, hidden, heads and ffn out or use shape: custom", m.Shape)
		}
	}
	intIn("model.max_position", m.MaxPosition, 0, 1<<16)
	if !(finite(m.InitStd) && m.InitStd >= 0 && m.InitStd <= 1) {
		bad("model.init_std", "want a number in [0, 1], got %v", m.InitStd)
	}
	if _, err := yamlconf.ExpandEnv(m.Vocab); err != nil {
		bad("model.vocab", "%v", err)
	}

	d := c.Data
	tsv := d.Train != "" || d.Dev != ""
	if tsv && d.Demo != nil {
		bad("data.demo", "give either train and dev files or demo, not both")
	}
	if tsv && d.Train == "" {
		bad("data.train", "missing: a dev file needs a train file")
	}
	if tsv && d.Dev == "" {
		bad("data.dev", "missing: a train file needs a dev file")
	}
	if tsv && m.Vocab == "" {
		bad("model.vocab", "required with TSV data: a vocab.txt (e.g. ${EDGENAS_TESTDATA}/bert-base-uncased-vocab/vocab.txt)")
	}
	for field, p := range map[string]string{"data.train": d.Train, "data.dev": d.Dev, "run_dir": c.RunDir} {
		if _, err := yamlconf.ExpandEnv(p); err != nil {
			bad(field, "%v", err)
		}
	}
	if d.Demo != nil {
		if err := d.Demo.Generator().Validate(); err != nil {
			var fe *demotask.FieldError
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) {
					bad("data.demo."+demoField(fe.Field), "%s", fe.Msg)
				} else {
					bad("data.demo", "%v", e)
				}
			}
		}
	}
	intIn("data.num_labels", d.NumLabels, 0, 1000)
	if d.Demo != nil || !tsv {
		if d.NumLabels != 0 && d.NumLabels != 2 {
			bad("data.num_labels", "the demo task has 2 labels, got %d", d.NumLabels)
		}
	}

	maxPos := cmpOr(m.MaxPosition, DefaultMaxPosition)
	if c.MaxSeqLen != 0 {
		intIn("max_seq_len", c.MaxSeqLen, 3, maxPos)
	}
	intIn("batch_size", c.BatchSize, 0, 1<<16)
	intIn("epochs", c.Epochs, 0, 1<<20)
	intIn("max_steps", c.MaxSteps, 0, 1<<30)
	if !(finite(c.LR) && c.LR >= 0 && c.LR <= 1) {
		bad("lr", "want a number in (0, 1], got %v", c.LR)
	}
	if w := c.Warmup; w != nil && !(finite(*w) && *w >= 0 && *w < 1) {
		bad("warmup", "want a fraction in [0, 1), got %v", *w)
	}
	if w := c.WeightDecay; w != nil && !(finite(*w) && *w >= 0 && *w <= 1) {
		bad("weight_decay", "want a number in [0, 1], got %v", *w)
	}
	if w := c.Clip; w != nil && !(finite(*w) && *w >= 0) {
		bad("clip", "want a number ≥ 0 (0: no clipping), got %v", *w)
	}
	intIn("eval_every", c.EvalEvery, 0, 1<<30)
	intIn("checkpoint_every", c.CheckpointEvery, 0, 1<<30)
	intIn("log_every", c.LogEvery, 0, 1<<30)
	if !(finite(c.MaxLoss) && c.MaxLoss >= 0) {
		bad("max_loss", "want a number ≥ 0, got %v", c.MaxLoss)
	}
	intIn("threads", c.Threads, 0, 1024)
	if p := c.Pretrain; p != nil {
		if len(p.Text) == 0 {
			bad("pretrain.text", "missing: list at least one text or TSV file (e.g. ${EDGENAS_TESTDATA}/wikitext2/valid.txt)")
		}
		for i, path := range p.Text {
			if strings.TrimSpace(path) == "" {
				bad("pretrain.text", "entry %d: empty path", i+1)
			} else if _, err := yamlconf.ExpandEnv(path); err != nil {
				bad("pretrain.text", "entry %d: %v", i+1, err)
			}
		}
		intIn("pretrain.steps", p.Steps, 0, 1<<30)
		intIn("pretrain.batch_size", p.BatchSize, 0, 1<<16)
		if p.MaxSeqLen != 0 {
			intIn("pretrain.max_seq_len", p.MaxSeqLen, 3, maxPos)
		}
		if !(finite(p.LR) && p.LR >= 0 && p.LR <= 1) {
			bad("pretrain.lr", "want a number in (0, 1], got %v", p.LR)
		}
		if w := p.Warmup; w != nil && !(finite(*w) && *w >= 0 && *w < 1) {
			bad("pretrain.warmup", "want a fraction in [0, 1), got %v", *w)
		}
		if w := p.WeightDecay; w != nil && !(finite(*w) && *w >= 0 && *w <= 1) {
			bad("pretrain.weight_decay", "want a number in [0, 1], got %v", *w)
		}
		if !(finite(p.MaskProb) && p.MaskProb >= 0 && p.MaskProb < 1) {
			bad("pretrain.mask_prob", "want a fraction in (0, 1), got %v", p.MaskProb)
		}
		intIn("pretrain.checkpoint_every", p.CheckpointEvery, 0, 1<<30)
	}
	return errors.Join(errs...)
}

// demoField maps a demotask.FieldError field to its YAML key.
func demoField(f string) string {
	switch f {
	case "Train":
		return "train"
	case "Dev":
		return "dev"
	case "MaxWords":
		return "max_words"
	case "Train+Dev":
		return "train"
	}
	return strings.ToLower(f)
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Resolved returns c with every default filled in and the environment
// variables of its paths expanded: the settings a run actually uses. It
// validates c first. Steps that depend on the data size (max_steps,
// eval_every) are filled in by Run.
func (c Config) Resolved() (Config, error) {
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	r := c
	r.Warmup, r.WeightDecay, r.Clip = ptrOr(c.Warmup, DefaultWarmup), ptrOr(c.WeightDecay, DefaultWeightDecay), ptrOr(c.Clip, DefaultClip)
	if r.Data.Demo != nil {
		d := *r.Data.Demo
		r.Data.Demo = &d
	}
	if r.Model.Shape == "" && r.Model.Layers == 0 {
		r.Model.Shape = "tiny"
	}
	if r.Model.Shape == "" {
		r.Model.Shape = "custom"
	}
	if r.Model.Shape == "custom" && r.Model.FFN == 0 {
		r.Model.FFN = 4 * r.Model.Hidden
	}
	r.Model.MaxPosition = cmpOr(r.Model.MaxPosition, DefaultMaxPosition)
	if r.Model.InitStd == 0 {
		r.Model.InitStd = DefaultInitStd
	}
	if r.Data.Train == "" && r.Data.Demo == nil {
		r.Data.Demo = &DemoData{}
	}
	if d := r.Data.Demo; d != nil {
		dc := d.Generator()
		def := demotask.Default()
		d.Seed = cmp64(dc.Seed, def.Seed)
		d.Train = cmpOr(dc.Train, def.Train)
		d.Dev = cmpOr(dc.Dev, def.Dev)
		d.MaxWords = cmpOr(dc.MaxWords, def.MaxWords)
	}
	r.Data.NumLabels = cmpOr(r.Data.NumLabels, 2)
	r.MaxSeqLen = cmpOr(r.MaxSeqLen, DefaultMaxSeqLen)
	r.BatchSize = cmpOr(r.BatchSize, DefaultBatchSize)
	if r.Epochs == 0 && r.MaxSteps == 0 {
		r.Epochs = DefaultEpochs
	}
	if r.LR == 0 {
		r.LR = DefaultLR
	}
	r.LogEvery = cmpOr(r.LogEvery, DefaultLogEvery)
	if r.MaxLoss == 0 {
		r.MaxLoss = DefaultMaxLoss
	}
	r.Seed = cmp64(r.Seed, 1)
	r.Threads = cmpOr(r.Threads, runtime.NumCPU())
	if r.RunDir == "" {
		r.RunDir = DefaultRunDir
	}
	var err error
	expand := func(p *string) {
		if err == nil {
			*p, err = yamlconf.ExpandEnv(*p)
		}
	}
	expand(&r.Model.Vocab)
	expand(&r.Data.Train)
	expand(&r.Data.Dev)
	expand(&r.RunDir)
	if c.Pretrain != nil {
		p := *c.Pretrain
		p.Text = slices.Clone(p.Text)
		for i := range p.Text {
			expand(&p.Text[i])
		}
		p.Steps = cmpOr(p.Steps, DefaultPretrainSteps)
		p.BatchSize = cmpOr(p.BatchSize, r.BatchSize)
		p.MaxSeqLen = cmpOr(p.MaxSeqLen, DefaultPretrainMaxSeqLen)
		if p.LR == 0 {
			p.LR = DefaultPretrainLR
		}
		p.Warmup, p.WeightDecay = ptrOr(p.Warmup, DefaultWarmup), ptrOr(p.WeightDecay, DefaultWeightDecay)
		if p.MaskProb == 0 {
			p.MaskProb = DefaultMaskProb
		}
		p.Seed = cmp64(p.Seed, r.Seed)
		p.CheckpointEvery = cmpOr(p.CheckpointEvery, max(1, p.Steps/10))
		r.Pretrain = &p
	}
	return r, err
}

func cmp64(v, def uint64) uint64 {
	if v == 0 {
		return def
	}
	return v
}

func ptrOr(p *float64, def float64) *float64 {
	v := def
	if p != nil {
		v = *p
	}
	return &v
}

// ModelConfig returns the transformer config of a resolved c's shape (see
// Resolved) over a vocabulary of vocabSize tokens, with provenance saying
// edgenas trains it.
func (c Config) ModelConfig(vocabSize int) (transformer.Config, error) {
	var tc transformer.Config
	if c.Model.Shape != "custom" {
		var err error
		if tc, err = transformer.ShapeConfig(c.Model.Shape, vocabSize); err != nil {
			return tc, err
		}
	} else {
		tc = transformer.DefaultConfig()
		tc.VocabSize = vocabSize
		tc.NumHiddenLayers, tc.HiddenSize, tc.NumAttentionHeads, tc.IntermediateSize =
			c.Model.Layers, c.Model.Hidden, c.Model.Heads, c.Model.FFN
	}
	tc.MaxPositionEmbeddings = c.Model.MaxPosition
	tc.NumLabels = c.Data.NumLabels
	if c.Data.Demo != nil {
		labels := demotask.Labels()
		tc.ID2Label = map[string]string{}
		tc.Label2ID = map[string]int{}
		for i, l := range labels {
			tc.ID2Label[fmt.Sprint(i)] = l
			tc.Label2ID[l] = i
		}
	}
	tc.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: tc.HeadSize()}
	for i := 0; i < tc.NumHiddenLayers; i++ {
		tc.Edgenas.Layers = append(tc.Edgenas.Layers, tc.Layer(i))
	}
	tc.Edgenas.Provenance = Provenance
	return tc, tc.Validate()
}

// Provenance is the provenance that models trained by this package carry in
// the edgenas section of their config.json.
const Provenance = "trained from scratch by edgenas (package train); see training.json"

// fingerprint is the part of a resolved config that must not change when a
// run resumes: everything that decides the weights.
func (c Config) fingerprint() map[string]any {
	f := c
	f.Threads, f.RunDir, f.EvalEvery, f.CheckpointEvery, f.LogEvery, f.MaxLoss = 0, "", 0, 0, 0, 0
	data, _ := json.Marshal(f)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return m
}
