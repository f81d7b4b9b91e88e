package demotask

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/edgenas/edgenas/internal/fielderr"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers can test with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every [FieldError] that [Config.Validate]
	// reports.
	ErrInvalidConfig = errors.New("demotask: invalid config")
	// ErrExhausted means [Generate] could not draw enough distinct sentences
	// that fit Config.MaxWords (the sizes ask for more than the grammar holds).
	ErrExhausted = errors.New("demotask: not enough distinct sentences")
	// ErrNotInGrammar means [Label] was given a text the grammar does not
	// generate.
	ErrNotInGrammar = errors.New("demotask: sentence not in the grammar")
	// ErrInvalidExample means [WriteTSV] was given an example it cannot write:
	// a text with a tab or a line break, or a label other than 0 and 1.
	ErrInvalidExample = errors.New("demotask: invalid example")
)

// Limits that [Config.Validate] enforces.
const (
	// MinMaxWords is the smallest accepted Config.MaxWords: every
	// construction has sentences of this length.
	MinMaxWords = 12
	// MaxMaxWords is the largest accepted Config.MaxWords.
	MaxMaxWords = 64
	// MaxExamples bounds Train+Dev.
	MaxExamples = 1_000_000
)

// Kind is the construction an example was generated from.
type Kind int

// The constructions of the grammar (doc.go shows examples of each). For
// KindComparative, KindNotBut, KindContrast and KindConcession every sentence
// has a twin with the same multiset of words and the opposite label, drawn
// with the same probability, so no bag-of-words model can beat chance on
// them.
const (
	// KindSimple is one clause without negation: "the plot is very clever".
	KindSimple Kind = iota
	// KindNegation is one clause with one or two negating elements
	// (negator, "without", a negating frame): "i doubt that the plot is not
	// clever".
	KindNegation
	// KindComparative is "more A than B" (A decides) or "less A than B" (B
	// decides).
	KindComparative
	// KindNotBut is "not A but B": B decides.
	KindNotBut
	// KindContrast is two clauses joined by "but", "yet", "however": the
	// second decides.
	KindContrast
	// KindConcession is "although X , Y" (Y decides) or "X , although Y" (X
	// decides), also with "though", "even though", "even if" and "despite the
	// fact that".
	KindConcession

	numKinds
)

var kindNames = [numKinds]string{"simple", "negation", "comparative",
	"not-but", "contrast", "concession"}

// String returns the name of k ("simple", "negation", "comparative",
// "not-but", "contrast", "concession").
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Kinds returns every Kind in order.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// DefaultMix returns the default share of each construction: 22% simple, 16%
// negation, 8% comparative, 8% not-but, 23% contrast, 23% concession. The
// caller owns the returned map.
func DefaultMix() map[Kind]float64 {
	return map[Kind]float64{
		KindSimple:      0.22,
		KindNegation:    0.16,
		KindComparative: 0.08,
		KindNotBut:      0.08,
		KindContrast:    0.23,
		KindConcession:  0.23,
	}
}

// Config says what [Generate] makes. Its zero value, and the zero value of
// each field, means the default (see [Default]).
type Config struct {
	// Seed selects the data set; 0 means 1. The same Config always gives the
	// same splits.
	Seed uint64
	// Train is the number of training examples; 0 means 20000.
	Train int
	// Dev is the number of dev examples; 0 means 2000. The dev split depends
	// only on Seed, Dev, MaxWords and Mix, not on Train.
	Dev int
	// MaxWords caps the length of a sentence in tokens (words and the
	// punctuation tokens "," and ";"); 0 means 24. Allowed range
	// [MinMaxWords, MaxMaxWords].
	MaxWords int
	// Mix is the relative weight of each construction; nil means
	// [DefaultMix]. Missing kinds get weight 0. Weights need not sum to 1.
	Mix map[Kind]float64
}

// Default returns the default Config: seed 1, 20000 train and 2000 dev
// examples, at most 24 words per sentence, [DefaultMix].
func Default() Config {
	return Config{Seed: 1, Train: 20000, Dev: 2000, MaxWords: 24, Mix: DefaultMix()}
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	d := Default()
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Train == 0 {
		c.Train = d.Train
	}
	if c.Dev == 0 {
		c.Dev = d.Dev
	}
	if c.MaxWords == 0 {
		c.MaxWords = d.MaxWords
	}
	if c.Mix == nil {
		c.Mix = d.Mix
	}
	return c
}

// FieldError is one problem with one field of a [Config] ("Train",
// "Mix[contrast]", ...); it wraps [ErrInvalidConfig]. It is the one
// validation error type of edgenas (package fielderr).
type FieldError = fielderr.FieldError

// Validate reports every problem with c at once, as [FieldError] values
// joined with errors.Join; nil means [Generate] accepts c. Zero fields are
// valid (they mean the default).
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Err: ErrInvalidConfig})
	}
	if c.Train < 0 {
		bad("Train", "%d is negative", c.Train)
	}
	if c.Dev < 0 {
		bad("Dev", "%d is negative", c.Dev)
	}
	if c.Train > MaxExamples || c.Dev > MaxExamples || c.Train+c.Dev > MaxExamples {
		bad("Train+Dev", "more than %d examples", MaxExamples)
	}
	if c.MaxWords != 0 && (c.MaxWords < MinMaxWords || c.MaxWords > MaxMaxWords) {
		bad("MaxWords", "%d is outside [%d, %d]", c.MaxWords, MinMaxWords, MaxMaxWords)
	}
	if c.Mix != nil {
		kinds := make([]Kind, 0, len(c.Mix))
		for k := range c.Mix {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		sum := 0.0
		for _, k := range kinds {
			w := c.Mix[k]
			field := "Mix[" + k.String() + "]"
			switch {
			case k < 0 || k >= numKinds:
				bad(field, "unknown kind")
			case math.IsNaN(w) || math.IsInf(w, 0) || w < 0:
				bad(field, "weight %v is not a finite non-negative number", w)
			default:
				sum += w
			}
		}
		switch {
		case sum == 0:
			bad("Mix", "no construction has a positive weight")
		case math.IsInf(sum, 0):
			bad("Mix", "the weights overflow")
		}
	}
	return errors.Join(errs...)
}
