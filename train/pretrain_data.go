package train

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// wikiTextMarks undoes WikiText's tokenization: its separators inside
// numbers and hyphenated words, and its unknown-word token.
var wikiTextMarks = strings.NewReplacer(" @-@ ", "-", " @,@ ", ",", " @.@ ", ".", "<unk>", tokenizer.UNKToken)

// ReadText reads a raw text file as pretraining paragraphs (see ParseText).
func ReadText(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseText(f, path)
}

// ParseText reads raw text as paragraphs, one a line, in the layout of
// WikiText: surrounding white space is removed, blank lines and headings
// (lines such as " = Title = " or " = = Section = = ") are skipped, and
// WikiText's marks are undone (" @-@ " becomes "-", " @,@ " ",", " @.@ "
// ".", "<unk>" the [UNK] token). name is the file name errors carry; a line
// longer than 1 MiB is an error naming its line and wrapping [ErrData].
func ParseText(r io.Reader, name string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), limitio.LineLimit)
	var out []string
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || (strings.HasPrefix(s, "=") && strings.HasSuffix(s, "=")) {
			continue
		}
		out = append(out, wikiTextMarks.Replace(s))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line is longer than the %s limit: %w", name, line+1, limitio.Size(limitio.LineLimit), ErrData)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// textSequences cuts each paragraph's word pieces into windows of maxLen-2
// pieces, each encoded as "[CLS] window [SEP]".
func textSequences(tok *tokenizer.Tokenizer, paragraphs []string, maxLen int) []tokenizer.Encoding {
	width := max(1, maxLen-2)
	var out []tokenizer.Encoding
	for _, p := range paragraphs {
		ids := tok.Encode(p, "", 0).IDs
		pieces := ids[1 : len(ids)-1] // without [CLS] and [SEP]
		for lo := 0; lo < len(pieces); lo += width {
			w := pieces[lo:min(lo+width, len(pieces))]
			e := tokenizer.Encoding{IDs: make([]int32, 0, len(w)+2), TypeIDs: make([]int32, len(w)+2), Mask: make([]int32, len(w)+2)}
			e.IDs = append(append(append(e.IDs, tok.CLSID()), w...), tok.SEPID())
			for i := range e.Mask {
				e.Mask[i] = 1
			}
			out = append(out, e)
		}
	}
	return out
}

// loadPretrainText reads the pretraining files of a resolved p as
// sequences of at most p.MaxSeqLen tokens: TSV files (name ending in .tsv)
// give one sequence per text (or pair), truncated; raw text files are cut
// into windows (see ParseText).
func loadPretrainText(tok *tokenizer.Tokenizer, p *PretrainConfig) (*Dataset, error) {
	d := &Dataset{pad: tok.PadID()}
	for _, path := range p.Text {
		var encs []tokenizer.Encoding
		if strings.HasSuffix(strings.ToLower(path), ".tsv") {
			ex, err := ReadTSV(path, 0)
			if err != nil {
				return nil, fmt.Errorf("pretrain.text: %w", err)
			}
			for _, e := range ex {
				encs = append(encs, tok.Encode(e.Text, e.Pair, p.MaxSeqLen))
			}
		} else {
			paras, err := ReadText(path)
			if err != nil {
				return nil, fmt.Errorf("pretrain.text: %w", err)
			}
			encs = textSequences(tok, paras, p.MaxSeqLen)
		}
		if len(encs) == 0 {
			return nil, fmt.Errorf("pretrain.text: %s: no text: %w", path, ErrData)
		}
		d.encs = append(d.encs, encs...)
	}
	d.labels = make([]int, len(d.encs))
	for i := range d.labels {
		d.labels[i] = Unlabelled
	}
	return d, nil
}

// MaskFraction, RandomFraction: of the tokens chosen for prediction, BERT
// replaces 80 % by [MASK], 10 % by a random token and keeps 10 %.
const (
	MaskFraction   = 0.8
	RandomFraction = 0.1
)

// Masker applies BERT's masked-LM corruption to batches. It is read-only
// after NewMasker and safe for concurrent use.
type Masker struct {
	prob    float64
	mask    int32
	special []bool  // by token id: never predicted
	random  []int32 // the ids a random replacement is drawn from
}

// NewMasker returns a masker for tok's vocabulary that predicts a fraction
// prob of the tokens, in (0, 1). The special tokens [PAD], [CLS], [SEP],
// [UNK] and [MASK] are never predicted nor drawn as random replacements.
// The vocabulary must have a [MASK] token.
func NewMasker(tok *tokenizer.Tokenizer, prob float64) (*Masker, error) {
	if !(prob > 0 && prob < 1) {
		return nil, fmt.Errorf("mask probability %v: want a fraction in (0, 1)", prob)
	}
	if tok.MaskID() < 0 {
		return nil, fmt.Errorf("the vocabulary has no %s token, which masked-LM pretraining needs", tokenizer.MASKToken)
	}
	k := &Masker{prob: prob, mask: tok.MaskID(), special: make([]bool, tok.VocabSize())}
	for _, id := range []int32{tok.PadID(), tok.CLSID(), tok.SEPID(), tok.UNKID(), tok.MaskID()} {
		if id >= 0 && int(id) < len(k.special) {
			k.special[id] = true
		}
	}
	for id, s := range k.special {
		if !s {
			k.random = append(k.random, int32(id))
		}
	}
	if len(k.random) == 0 {
		return nil, errors.New("the vocabulary has only special tokens")
	}
	return k, nil
}

// Mask corrupts b's token ids in place and returns the targets MLMStep
// takes, reusing targets' storage: every real (unpadded), non-special token
// is chosen with the masker's probability; a chosen token's target is its
// id, and it is replaced by [MASK] with probability 0.8, by a random
// non-special token with probability 0.1 and kept otherwise. Every other
// target is -1. All draws come from rng, so the same rng state gives the
// same corruption. Ids outside the vocabulary are left alone (MLMStep
// rejects them).
func (k *Masker) Mask(rng *rand.Rand, b *tokenizer.Batch, targets []int) []int {
	targets = targets[:0]
	for i, id := range b.IDs {
		if b.Mask[i] == 0 || id < 0 || int(id) >= len(k.special) || k.special[id] || rng.Float64() >= k.prob {
			targets = append(targets, -1)
			continue
		}
		targets = append(targets, int(id))
		switch r := rng.Float64(); {
		case r < MaskFraction:
			b.IDs[i] = k.mask
		case r < MaskFraction+RandomFraction:
			b.IDs[i] = k.random[rng.IntN(len(k.random))]
		}
	}
	return targets
}
