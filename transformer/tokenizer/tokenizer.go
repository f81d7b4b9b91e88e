package tokenizer

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names of BERT's special tokens, as they appear in vocab.txt.
const (
	UNKToken  = "[UNK]"
	CLSToken  = "[CLS]"
	SEPToken  = "[SEP]"
	PADToken  = "[PAD]"
	MASKToken = "[MASK]"
)

// ContinuingSubwordPrefix is the prefix WordPiece puts on pieces that
// continue a word ("playing" -> "play", "##ing").
const ContinuingSubwordPrefix = "##"

// Tokenizer is a BERT WordPiece tokenizer: a vocabulary (token <-> id), the
// normalization options and the ids of the special tokens. It is immutable
// and safe for concurrent use; build it with New, LoadVocab,
// LoadTokenizerJSON or Load.
type Tokenizer struct {
	opts     Options
	norm     normalizer
	maxChars int

	vocab []string         // id -> token (model vocabulary, then added tokens)
	ids   map[string]int32 // token -> id, every token
	first map[string]int32 // WordPiece pieces that start a word
	cont  map[string]int32 // WordPiece continuation pieces, prefix removed
	// maxPiece is the byte length of the longest key of first or cont: no
	// longer substring can match.
	maxPiece int
	prefix   string

	unk, cls, sep, pad, mask int32

	raw        matcher // added tokens matched in the raw text
	normalized matcher // added tokens matched in the normalized text
}

// addedToken is a token matched whole in the text before WordPiece runs
// (Hugging Face "added tokens"; for BERT, the special tokens).
type addedToken struct {
	content    string
	id         int32
	special    bool
	normalized bool // matched after normalization (content normalized too)
	lstrip     bool // swallows the whitespace on its left
	rstrip     bool // swallows the whitespace on its right
	singleWord bool // only matches as a whole word
}

// spec is everything a Tokenizer is built from.
type spec struct {
	vocab     []string // id order; the first modelSize are the WordPiece vocabulary
	modelSize int
	opts      Options
	prefix    string
	unk       string
	cls       string
	sep       string
	pad       string
	mask      string // optional: absent means MaskID -1
	added     []addedToken
}

// New builds a Tokenizer from the tokens of a vocabulary in id order (id =
// index), like the lines of vocab.txt. The vocabulary must hold [UNK], [CLS],
// [SEP] and [PAD]; [MASK] is optional. Duplicate tokens are an error naming
// both 1-based line numbers. The special tokens are recognized whole when they
// appear in the text, as Hugging Face's BertTokenizer does, unless
// opts.SplitSpecialTokens is set.
func New(vocab []string, opts Options) (*Tokenizer, error) {
	var added []addedToken
	for i, tok := range vocab {
		switch tok {
		case PADToken, UNKToken, CLSToken, SEPToken, MASKToken:
			added = append(added, addedToken{content: tok, id: int32(i), special: true})
		}
	}
	return build(spec{
		vocab:     vocab,
		modelSize: len(vocab),
		opts:      opts,
		prefix:    ContinuingSubwordPrefix,
		unk:       UNKToken,
		cls:       CLSToken,
		sep:       SEPToken,
		pad:       PADToken,
		mask:      MASKToken,
		added:     added,
	})
}

// build checks s and makes the Tokenizer. Errors about a token name its
// 1-based position in s.vocab as a line, as in vocab.txt.
func build(s spec) (*Tokenizer, error) {
	if err := s.opts.Validate(); err != nil {
		return nil, err
	}
	if len(s.vocab) > math.MaxInt32 {
		return nil, fmt.Errorf("%d tokens do not fit int32 ids: %w", len(s.vocab), ErrInvalidVocab)
	}
	t := &Tokenizer{
		opts:     s.opts,
		norm:     newNormalizer(s.opts),
		maxChars: s.opts.maxInputChars(),
		vocab:    append([]string(nil), s.vocab...),
		ids:      make(map[string]int32, len(s.vocab)),
		first:    make(map[string]int32, s.modelSize),
		cont:     make(map[string]int32, s.modelSize/2),
		prefix:   s.prefix,
		mask:     -1,
	}
	if s.opts.StripAccents != nil {
		v := *s.opts.StripAccents
		t.opts.StripAccents = &v
	}
	for i, tok := range t.vocab {
		if !utf8.ValidString(tok) {
			return nil, fmt.Errorf("line %d: token %q is not valid UTF-8: %w", i+1, tok, ErrInvalidVocab)
		}
		if first, dup := t.ids[tok]; dup {
			return nil, fmt.Errorf("line %d: %w %q (first at line %d)", i+1, ErrDuplicateToken, tok, first+1)
		}
		t.ids[tok] = int32(i)
		if i >= s.modelSize {
			continue
		}
		t.first[tok] = int32(i)
		t.maxPiece = max(t.maxPiece, len(tok))
		if rest, ok := strings.CutPrefix(tok, s.prefix); ok {
			t.cont[rest] = int32(i)
			t.maxPiece = max(t.maxPiece, len(rest))
		}
	}

	var missing []string
	lookup := func(name string) int32 {
		id, ok := t.ids[name]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", name))
			return -1
		}
		return id
	}
	t.unk = lookup(s.unk)
	t.cls = lookup(s.cls)
	t.sep = lookup(s.sep)
	t.pad = lookup(s.pad)
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s not in the vocabulary", ErrMissingToken, strings.Join(missing, ", "))
	}
	if id, ok := t.ids[s.mask]; ok && s.mask != "" {
		t.mask = id
	}

	var raw, normed []addedToken
	for _, a := range s.added {
		if a.id < 0 || int(a.id) >= len(t.vocab) || t.vocab[a.id] != a.content {
			return nil, fmt.Errorf("added token %q: id %d does not match the vocabulary: %w", a.content, a.id, ErrInvalidVocab)
		}
		if s.opts.SplitSpecialTokens && a.special {
			continue
		}
		if a.normalized {
			a.content = t.norm.normalize(a.content)
			if a.content != "" {
				normed = append(normed, a)
			}
			continue
		}
		if a.content != "" {
			raw = append(raw, a)
		}
	}
	t.raw = newMatcher(raw)
	t.normalized = newMatcher(normed)
	return t, nil
}

// VocabSize returns the number of tokens; ids run from 0 to VocabSize()-1.
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// Vocab returns the tokens in id order, as vocab.txt lists them. The slice is
// a copy.
func (t *Tokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }

// Options returns the options the tokenizer normalizes with (for a
// tokenizer.json, the ones its normalizer and model ask for).
func (t *Tokenizer) Options() Options {
	o := t.opts
	if o.StripAccents != nil {
		v := *o.StripAccents
		o.StripAccents = &v
	}
	return o
}

// TokenID returns the id of tok and whether the vocabulary has it.
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	id, ok := t.ids[tok]
	return id, ok
}

// PadID returns the id of the padding token, [PAD].
func (t *Tokenizer) PadID() int32 { return t.pad }

// CLSID returns the id of the classification token, [CLS], that starts every
// encoding.
func (t *Tokenizer) CLSID() int32 { return t.cls }

// SEPID returns the id of the separator token, [SEP], that ends each sentence.
func (t *Tokenizer) SEPID() int32 { return t.sep }

// UNKID returns the id of the unknown token, [UNK].
func (t *Tokenizer) UNKID() int32 { return t.unk }

// MaskID returns the id of the mask token, [MASK], or -1 if the vocabulary has
// none.
func (t *Tokenizer) MaskID() int32 { return t.mask }

// Tokenize returns the word pieces of text, without [CLS] or [SEP]:
// normalization, pre-tokenization and WordPiece, with special tokens written
// in the text kept whole. Every piece is a vocabulary token.
func (t *Tokenizer) Tokenize(text string) []string {
	ids := t.appendIDs(nil, text)
	toks := make([]string, len(ids))
	for i, id := range ids {
		toks[i] = t.vocab[id]
	}
	return toks
}

// appendIDs appends the ids of the word pieces of text to dst.
func (t *Tokenizer) appendIDs(dst []int32, text string) []int32 {
	t.raw.split(text, func(seg string, id int32) {
		if id >= 0 {
			dst = append(dst, id)
			return
		}
		t.normalized.split(t.norm.normalize(seg), func(seg string, id int32) {
			if id >= 0 {
				dst = append(dst, id)
				return
			}
			preTokenize(seg, func(word string) {
				dst = t.wordPiece(dst, word)
			})
		})
	})
	return dst
}

// wordPiece appends the ids of the WordPiece split of word to dst: greedy
// longest match first, continuation pieces with the prefix; a word longer than
// the limit, or with a position no piece matches, becomes [UNK] as a whole.
func (t *Tokenizer) wordPiece(dst []int32, word string) []int32 {
	if utf8.RuneCountInString(word) > t.maxChars {
		return append(dst, t.unk)
	}
	n := len(dst)
	pieces := t.first
	for start := 0; start < len(word); {
		end := len(word)
		if end-start > t.maxPiece {
			end = start + t.maxPiece
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		matched := false
		for end > start {
			if id, ok := pieces[word[start:end]]; ok {
				dst = append(dst, id)
				matched = true
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if !matched {
			return append(dst[:n], t.unk)
		}
		start = end
		pieces = t.cont
	}
	return dst
}

// matcher finds added tokens in a text: leftmost match first, the longest one
// at that position, as Hugging Face's added-vocabulary split does.
type matcher struct {
	tokens []addedToken
	first  [256]bool // first bytes of the tokens
}

func newMatcher(tokens []addedToken) matcher {
	m := matcher{tokens: tokens}
	for _, a := range tokens {
		m.first[a.content[0]] = true
	}
	return m
}

// split calls emit for each part of s in order: text between tokens with id
// -1, and each token matched with its id (and the text it covers).
func (m *matcher) split(s string, emit func(seg string, id int32)) {
	if len(m.tokens) == 0 {
		emit(s, -1)
		return
	}
	start := 0 // start of the text not yet emitted
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		best := -1
		for k := range m.tokens {
			c := m.tokens[k].content
			if strings.HasPrefix(s[i:], c) && (best < 0 || len(c) > len(m.tokens[best].content)) {
				best = k
			}
		}
		if best < 0 {
			i++
			continue
		}
		a := &m.tokens[best]
		from, to := i, i+len(a.content)
		if a.singleWord && (endsWithWordChar(s[:from]) || startsWithWordChar(s[to:])) {
			i = to
			continue
		}
		if a.lstrip {
			for from > start {
				r, size := utf8.DecodeLastRuneInString(s[start:from])
				if !unicode.IsSpace(r) {
					break
				}
				from -= size
			}
		}
		if a.rstrip {
			for to < len(s) {
				r, size := utf8.DecodeRuneInString(s[to:])
				if !unicode.IsSpace(r) {
					break
				}
				to += size
			}
		}
		if start < from {
			emit(s[start:from], -1)
		}
		emit(s[from:to], a.id)
		start, i = to, to
	}
	if start < len(s) {
		emit(s[start:], -1)
	}
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

func endsWithWordChar(s string) bool {
	r, size := utf8.DecodeLastRuneInString(s)
	return size > 0 && isWordChar(r)
}

func startsWithWordChar(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size > 0 && isWordChar(r)
}
