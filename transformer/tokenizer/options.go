package tokenizer

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by the loading functions; test them with errors.Is.
var (
	// ErrDuplicateToken means a vocabulary lists the same token twice.
	ErrDuplicateToken = errors.New("duplicate token")
	// ErrMissingToken means a required special token ([UNK], [CLS], [SEP],
	// [PAD] or the ones a tokenizer.json names) is not in the vocabulary.
	ErrMissingToken = errors.New("missing special token")
	// ErrInvalidVocab means a vocabulary or tokenizer file is malformed:
	// bad UTF-8, ids that are not dense 0..n-1, bad JSON or field values.
	ErrInvalidVocab = errors.New("invalid vocabulary")
	// ErrUnsupported means a tokenizer.json asks for a model, normalizer,
	// pre-tokenizer or post-processor this package does not implement.
	ErrUnsupported = errors.New("unsupported tokenizer")
	// ErrNoVocab means Load found neither tokenizer.json nor vocab.txt.
	ErrNoVocab = errors.New("no tokenizer.json or vocab.txt")
	// ErrInvalidOptions means an Options value is out of range.
	ErrInvalidOptions = errors.New("invalid options")
)

// DefaultMaxInputCharsPerWord is the WordPiece word length (in Unicode code
// points) above which a word becomes [UNK], as in Hugging Face.
const DefaultMaxInputCharsPerWord = 100

// Options control normalization and WordPiece. The zero value is a cased model
// with clean_text on and CJK handling off; use DefaultOptions for uncased BERT,
// and DefaultOptions with Lowercase false for cased BERT.
type Options struct {
	// Lowercase lower-cases the text (and, unless StripAccents says
	// otherwise, strips accents): uncased models.
	Lowercase bool
	// StripAccents removes accents (NFD, then drop nonspacing marks). nil
	// follows Lowercase, as Hugging Face's strip_accents=None does.
	StripAccents *bool
	// TokenizeChineseChars puts spaces around CJK ideographs so each is a
	// word of its own (Hugging Face tokenize_chinese_chars / handle_chinese_chars).
	TokenizeChineseChars bool
	// MaxInputCharsPerWord is the longest word, in code points, WordPiece
	// splits; longer words become [UNK]. 0 means DefaultMaxInputCharsPerWord.
	MaxInputCharsPerWord int
	// NoCleanText turns off clean_text (removal of control characters and
	// mapping of whitespace to spaces). BERT tokenizers clean by default, so
	// the zero value (false) is the usual setting.
	NoCleanText bool
	// SplitSpecialTokens treats special tokens written in the input text
	// ("[MASK]", "[SEP]", ...) as plain text instead of keeping them whole
	// (Hugging Face split_special_tokens). The zero value keeps them whole.
	SplitSpecialTokens bool
}

// DefaultOptions returns the options of uncased BERT (bert-base-uncased):
// Lowercase true (and so accents stripped), TokenizeChineseChars true,
// MaxInputCharsPerWord 100, clean_text on.
func DefaultOptions() Options {
	return Options{
		Lowercase:            true,
		TokenizeChineseChars: true,
		MaxInputCharsPerWord: DefaultMaxInputCharsPerWord,
	}
}

// Validate reports bad option values.
func (o Options) Validate() error {
	if o.MaxInputCharsPerWord < 0 {
		return fmt.Errorf("options: MaxInputCharsPerWord %d is negative: %w", o.MaxInputCharsPerWord, ErrInvalidOptions)
	}
	return nil
}

// stripAccents reports whether accents are stripped, resolving nil StripAccents.
func (o Options) stripAccents() bool {
	if o.StripAccents != nil {
		return *o.StripAccents
	}
	return o.Lowercase
}

func (o Options) maxInputChars() int {
	if o.MaxInputCharsPerWord <= 0 {
		return DefaultMaxInputCharsPerWord
	}
	return o.MaxInputCharsPerWord
}
