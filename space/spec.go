package space

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/internal/limitio"
)

// ErrInvalid marks a Spec or an Arch that breaks a rule of the space; the
// error's text names every violation.
var ErrInvalid = errors.New("invalid")

// Teacher holds the dimensions of the teacher model that bound the space.
// The caller fills it from the teacher's config.json; a YAML spec may state
// it too, and New checks that both agree.
type Teacher struct {
	Layers   int `yaml:"layers" json:"layers"`
	Heads    int `yaml:"heads" json:"heads"`
	Hidden   int `yaml:"hidden" json:"hidden"`
	FFN      int `yaml:"ffn" json:"ffn"`
	Vocab    int `yaml:"vocab" json:"vocab"`
	MaxSeq   int `yaml:"max_seq" json:"max_seq"`
	HeadSize int `yaml:"-" json:"-"` // Hidden/Heads, set by New
}

// Spec lists the choices of the search space. Each list holds the allowed
// values of one gene; an empty list takes the default that DefaultSpec
// describes for the teacher, so the zero Spec is the full space of pruning
// and quantization choices without low-rank factorization or sharing.
type Spec struct {
	// Layers are the allowed numbers of kept encoder layers.
	Layers []int `yaml:"layers"`
	// LayerSources are the teacher layers (0-based) a kept layer may come
	// from; kept layers keep the teacher's order. Default: all.
	LayerSources []int `yaml:"layer_sources"`
	// Heads are the allowed attention head counts per layer.
	Heads []int `yaml:"heads"`
	// FFN are the allowed FFN widths (neurons kept) per layer.
	FFN []int `yaml:"ffn"`
	// AttentionRank are the allowed ranks of the attention matrices, 0 for
	// full rank; a rank must not exceed min(hidden, heads·head size).
	AttentionRank []int `yaml:"attention_rank"`
	// FFNRank are the allowed ranks of the FFN matrices, 0 for full rank; a
	// rank must not exceed min(hidden, FFN width).
	FFNRank []int `yaml:"ffn_rank"`
	// Bits are the allowed weight bit widths per layer: 32, 16, 8 or 4.
	Bits []int `yaml:"bits"`
	// ShareGroups are the allowed sizes of ALBERT-style sharing groups of
	// consecutive layers; 1 means a layer with its own weights.
	ShareGroups []int `yaml:"share_groups"`
	// EmbeddingRank are the allowed ranks of the factorized word embeddings
	// (vocab×E then E×hidden), 0 for none.
	EmbeddingRank []int `yaml:"embedding_rank"`
	// EmbeddingBits are the allowed bit widths of the embedding tables.
	EmbeddingBits []int `yaml:"embedding_bits"`
	// SeqLen are the allowed sequence lengths the student is measured at.
	SeqLen []int `yaml:"seq_len"`
	// Teacher optionally states the teacher's dimensions; New checks them
	// against the real teacher.
	Teacher *Teacher `yaml:"teacher"`
}

// BitWidths are the weight bit widths edgenas can run.
var BitWidths = []int{32, 16, 8, 4}

// ParseSpec decodes a YAML spec strictly: an unknown or misspelled key is an
// error carrying its line.
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return Spec{}, nil // an empty document is the default spec
		}
		return Spec{}, fmt.Errorf("space spec: %w", err)
	}
	return s, nil
}

// LoadSpec reads and parses a YAML spec file; errors name the file.
func LoadSpec(path string) (Spec, error) {
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a search space spec")
	if err != nil {
		return Spec{}, err
	}
	s, err := ParseSpec(data)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// FieldError is one violation of a Spec or an Arch: the field and what
// was expected; it wraps ErrInvalid. It is the one validation error type
// of edgenas (package fielderr).
type FieldError = fielderr.FieldError

// problems collects validation failures, each naming its field.
type problems []error

func (p *problems) addf(field, format string, args ...any) {
	*p = append(*p, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid})
}

// err returns every problem joined (each a *FieldError wrapping
// ErrInvalid), or nil.
func (p problems) err() error { return errors.Join(p...) }

// list validates one list: values in [lo, hi] (or 0 when zeroOK), no
// duplicates; an empty list is replaced by def. Each kind of problem is
// reported once per field, however many values have it.
func (p *problems) list(field string, vals []int, lo, hi int, zeroOK bool, def []int) []int {
	if len(vals) == 0 {
		return def
	}
	seen := make(map[int]bool, min(len(vals), 1024))
	var twice, outside []int
	for _, v := range vals {
		switch {
		case seen[v]:
			twice = append(twice, v)
		case v == 0 && zeroOK:
		case v < lo || v > hi:
			outside = append(outside, v)
		}
		seen[v] = true
	}
	if len(twice) > 0 {
		p.addf(field, "%s listed more than once; want each value once", some(twice))
	}
	if len(outside) > 0 {
		if zeroOK {
			p.addf(field, "%s outside 0 (none) or [%d, %d]", some(outside), lo, hi)
		} else {
			p.addf(field, "%s outside [%d, %d]", some(outside), lo, hi)
		}
	}
	out := slices.Clone(vals)
	slices.Sort(out)
	return out
}

// some names the first few of vals and how many there are in all.
func some(vals []int) string {
	const show = 5
	if len(vals) == 1 {
		return fmt.Sprintf("value %d", vals[0])
	}
	if len(vals) <= show {
		return fmt.Sprintf("values %v", vals)
	}
	return fmt.Sprintf("values %v… (%d in all)", vals[:show], len(vals))
}

func (t Teacher) validate() problems {
	var p problems
	for _, f := range []struct {
		name string
		v    int
	}{{"teacher.layers", t.Layers}, {"teacher.heads", t.Heads}, {"teacher.hidden", t.Hidden},
		{"teacher.ffn", t.FFN}, {"teacher.vocab", t.Vocab}, {"teacher.max_seq", t.MaxSeq}} {
		if f.v <= 0 {
			p.addf(f.name, "must be positive, got %d", f.v)
		}
	}
	if t.Heads > 0 && t.Hidden%t.Heads != 0 {
		p.addf("teacher.hidden", "%d is not a multiple of teacher.heads %d", t.Hidden, t.Heads)
	}
	return p
}

func seq(lo, hi int) []int {
	var s []int
	for v := lo; v <= hi; v++ {
		s = append(s, v)
	}
	return s
}
