package tokenizer

import (
	"errors"
	"fmt"
)

// ErrInvalidBatch is wrapped by every error Batch.Validate returns.
var ErrInvalidBatch = errors.New("invalid batch")

// Batch is a set of encodings padded on the right to one length, laid out as
// the model reads them: row-major [Size][SeqLen] in flat slices. Padding
// positions hold the [PAD] id, type id 0 and mask 0.
type Batch struct {
	// Size is the number of rows (sequences).
	Size int
	// SeqLen is the padded length of every row (for NewBatch, the longest row's).
	SeqLen int
	// IDs are the token ids, Size*SeqLen of them.
	IDs []int32
	// TypeIDs are the token type ids, Size*SeqLen of them.
	TypeIDs []int32
	// Mask is the attention mask, 1 for real tokens and 0 for padding.
	Mask []int32
	// Lengths are the real (unpadded) lengths of the rows.
	Lengths []int
}

// EncodeBatch encodes texts[i], paired with pairs[i] when pairs is not nil,
// each as Encode does with maxLen, and pads the rows to the longest one (not to
// maxLen). pairs must be nil or as long as texts; pairs[i] == "" encodes
// texts[i] alone. It panics if pairs has another length, a programming error.
func (t *Tokenizer) EncodeBatch(texts []string, pairs []string, maxLen int) Batch {
	if pairs != nil && len(pairs) != len(texts) {
		panic(fmt.Sprintf("tokenizer: EncodeBatch: %d pairs for %d texts", len(pairs), len(texts)))
	}
	encs := make([]Encoding, len(texts))
	for i, text := range texts {
		pair := ""
		if pairs != nil {
			pair = pairs[i]
		}
		encs[i] = t.Encode(text, pair, maxLen)
	}
	return NewBatch(encs, t.pad)
}

// NewBatch pads encs on the right to the longest of them: padding positions
// get padID, type id 0 and mask 0; real positions get the encoding's id and
// type id (0 where TypeIDs is short) and mask 1.
func NewBatch(encs []Encoding, padID int32) Batch {
	b := Batch{Size: len(encs), Lengths: make([]int, len(encs))}
	for i, e := range encs {
		b.Lengths[i] = len(e.IDs)
		b.SeqLen = max(b.SeqLen, len(e.IDs))
	}
	n := b.Size * b.SeqLen
	b.IDs = make([]int32, n)
	b.TypeIDs = make([]int32, n)
	b.Mask = make([]int32, n)
	for i, e := range encs {
		row := i * b.SeqLen
		for j := range b.SeqLen {
			if j >= len(e.IDs) {
				b.IDs[row+j] = padID
				continue
			}
			b.IDs[row+j] = e.IDs[j]
			if j < len(e.TypeIDs) {
				b.TypeIDs[row+j] = e.TypeIDs[j]
			}
			b.Mask[row+j] = 1
		}
	}
	return b
}

// Row returns the ids, type ids and mask of row i, padding included, as
// sub-slices of the batch. It panics if i is out of range.
func (b Batch) Row(i int) (ids, typeIDs, mask []int32) {
	lo, hi := i*b.SeqLen, (i+1)*b.SeqLen
	return b.IDs[lo:hi], b.TypeIDs[lo:hi], b.Mask[lo:hi]
}

// maxBatchProblems caps the problems one Validate error lists.
const maxBatchProblems = 10

// Validate checks that the batch is well formed, so a model can index it
// without further checks: at least one row, a positive SeqLen, slices of
// Size*SeqLen (Lengths of Size), every length in 1..SeqLen, mask 1 exactly on
// the real positions and 0 on the padding, ids and type ids not negative, type
// id 0 on the padding. Rows may all be shorter than SeqLen (a batch padded to
// a fixed length is valid). It does not know the vocabulary size: the model checks
// ids against its embedding table. The error lists up to 10 problems and wraps
// ErrInvalidBatch.
func (b Batch) Validate() error {
	var errs []error
	// add records a problem and reports whether there is room for more.
	add := func(format string, args ...any) bool {
		errs = append(errs, fmt.Errorf(format, args...))
		if len(errs) < maxBatchProblems {
			return true
		}
		errs = append(errs, errors.New("further problems not listed"))
		return false
	}
	done := func() error {
		if len(errs) == 0 {
			return nil
		}
		return fmt.Errorf("%w: %w", ErrInvalidBatch, errors.Join(errs...))
	}

	if b.Size <= 0 {
		add("size %d: a batch needs at least one row", b.Size)
	}
	if b.SeqLen <= 0 {
		add("sequence length %d: must be positive", b.SeqLen)
	}
	if len(errs) > 0 {
		return done()
	}
	if b.SeqLen > int(^uint(0)>>1)/b.Size {
		add("size %d x sequence length %d overflows", b.Size, b.SeqLen)
		return done()
	}
	n := b.Size * b.SeqLen
	for _, s := range []struct {
		name string
		len  int
	}{{"IDs", len(b.IDs)}, {"TypeIDs", len(b.TypeIDs)}, {"Mask", len(b.Mask)}} {
		if s.len != n {
			add("%s has %d values, want size %d x sequence length %d = %d", s.name, s.len, b.Size, b.SeqLen, n)
		}
	}
	if len(b.Lengths) != b.Size {
		add("Lengths has %d values, want size %d", len(b.Lengths), b.Size)
	}
	if len(errs) > 0 {
		return done()
	}

	for i, l := range b.Lengths {
		if l < 1 || l > b.SeqLen {
			if !add("row %d: length %d not in 1..%d", i, l, b.SeqLen) {
				return done()
			}
			continue
		}
		ids, typeIDs, mask := b.Row(i)
		for j := range b.SeqLen {
			real := j < l
			var want int32
			if real {
				want = 1
			}
			if mask[j] != want {
				if !add("row %d position %d: mask %d, want %d (length %d)", i, j, mask[j], want, l) {
					return done()
				}
			}
			if ids[j] < 0 {
				if !add("row %d position %d: negative id %d", i, j, ids[j]) {
					return done()
				}
			}
			if typeIDs[j] < 0 || (!real && typeIDs[j] != 0) {
				if !add("row %d position %d: type id %d (padding must be 0)", i, j, typeIDs[j]) {
					return done()
				}
			}
		}
	}
	return done()
}
