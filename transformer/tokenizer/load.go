package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
)

// File names Load looks for in a model directory.
const (
	TokenizerJSONFile   = "tokenizer.json"
	VocabFile           = "vocab.txt"
	TokenizerConfigFile = "tokenizer_config.json"
)

// LoadVocab reads a vocab.txt (one token per line, id = 0-based line index,
// "\n", "\r\n" or "\r" line ends, an optional UTF-8 byte order mark) and
// builds a Tokenizer with opts, as New does. Errors name the file and the
// 1-based line, e.g. `vocab.txt: line 12: duplicate token "foo" (first at
// line 3)`.
func LoadVocab(path string, opts Options) (*Tokenizer, error) {
	data, err := limitio.ReadFile(path, limitio.VocabLimit, "a vocabulary")
	if err != nil {
		return nil, fmt.Errorf("load vocab: %w", err)
	}
	vocab, err := parseVocab(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := New(vocab, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// MaxTokenBytes bounds one token of a vocabulary.
const MaxTokenBytes = 1024

// parseVocab splits vocab.txt bytes into tokens as Hugging Face's load_vocab
// does: one per line, where Python's text mode ends a line at "\n", "\r\n"
// or a lone "\r", and a final line end does not start another token. A
// leading byte order mark is dropped. Lines must be valid UTF-8.
func parseVocab(data []byte) ([]string, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	vocab := make([]string, 0, bytes.Count(data, []byte("\n"))+1)
	for i := 0; len(data) > 0; i++ {
		var line []byte
		line, data = cutLine(data)
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("line %d: token %q is not valid UTF-8: %w", i+1, line, ErrInvalidVocab)
		}
		if len(line) > MaxTokenBytes {
			return nil, fmt.Errorf("line %d: a token of %d bytes, longer than %d (WordPiece never matches words over 100 characters): %w", i+1, len(line), MaxTokenBytes, ErrInvalidVocab)
		}
		vocab = append(vocab, string(line))
	}
	return vocab, nil
}

// cutLine returns data's first line without its end ("\n", "\r\n" or "\r")
// and what follows that end.
func cutLine(data []byte) (line, rest []byte) {
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		return data, nil
	}
	if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
		return data[:i], data[i+2:]
	}
	return data[:i], data[i+1:]
}

// WriteVocab writes the vocabulary to path as vocab.txt (one token per line,
// "\n" line ends), atomically: a failed write leaves an earlier file whole. A
// token holding a line break ("\n" or "\r", possible in a tokenizer.json)
// cannot be written that way, since reading the file back would split it and
// shift every later id; the error wraps ErrInvalidVocab and names the token's
// id.
func (t *Tokenizer) WriteVocab(path string) error {
	text, err := t.vocabText()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, text)
}

// vocabText is the vocab.txt WriteVocab writes.
func (t *Tokenizer) vocabText() ([]byte, error) {
	var b bytes.Buffer
	for id, tok := range t.vocab {
		if strings.ContainsAny(tok, "\r\n") {
			return nil, fmt.Errorf("token %d (%q) holds a line break, which vocab.txt cannot store: %w", id, tok, ErrInvalidVocab)
		}
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// tokenizerConfig is the part of tokenizer_config.json Load honors for a
// vocab.txt.
type tokenizerConfig struct {
	DoLowerCase          *bool `json:"do_lower_case"`
	StripAccents         *bool `json:"strip_accents"`
	TokenizeChineseChars *bool `json:"tokenize_chinese_chars"`
}

// Load loads the tokenizer of a model directory: tokenizer.json when it exists
// (LoadTokenizerJSON), else vocab.txt (LoadVocab) with DefaultOptions adjusted
// by tokenizer_config.json's do_lower_case, strip_accents and
// tokenize_chinese_chars when that file exists. With neither file the error
// wraps ErrNoVocab.
func Load(dir string) (*Tokenizer, error) {
	jsonPath := filepath.Join(dir, TokenizerJSONFile)
	if _, err := os.Stat(jsonPath); err == nil {
		return LoadTokenizerJSON(jsonPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	vocabPath := filepath.Join(dir, VocabFile)
	if _, err := os.Stat(vocabPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load tokenizer from %s: %w", dir, ErrNoVocab)
	}
	opts, err := readTokenizerConfig(filepath.Join(dir, TokenizerConfigFile))
	if err != nil {
		return nil, err
	}
	return LoadVocab(vocabPath, opts)
}

// readTokenizerConfig returns DefaultOptions adjusted by the tokenizer_config.json
// at path, or DefaultOptions alone when there is no such file.
func readTokenizerConfig(path string) (Options, error) {
	opts := DefaultOptions()
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a tokenizer config")
	if errors.Is(err, fs.ErrNotExist) {
		return opts, nil
	}
	if err != nil {
		return opts, fmt.Errorf("load tokenizer config: %w", err)
	}
	var cfg tokenizerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return opts, fmt.Errorf("%s: %w", path, jsonErrorAt(data, 0, TokenizerConfigFile, err))
	}
	if cfg.DoLowerCase != nil {
		opts.Lowercase = *cfg.DoLowerCase
	}
	opts.StripAccents = cfg.StripAccents
	if cfg.TokenizeChineseChars != nil {
		opts.TokenizeChineseChars = *cfg.TokenizeChineseChars
	}
	return opts, nil
}

// lineCol returns the 1-based line and column (in bytes) of offset in data.
func lineCol(data []byte, offset int) (line, col int) {
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
