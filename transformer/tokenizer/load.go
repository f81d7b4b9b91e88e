package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/edgenas/edgenas/internal/limitio"
)

// File names Load looks for in a model directory.
const (
	TokenizerJSONFile   = "tokenizer.json"
	VocabFile           = "vocab.txt"
	TokenizerConfigFile = "tokenizer_config.json"
)

// LoadVocab reads a vocab.txt (one token per line, id = 0-based line index,
// "\n" or "\r\n" line ends, an optional UTF-8 byte order mark) and builds a
// Tokenizer with opts, as New does. Errors name the file and the 1-based line,
// e.g. `vocab.txt: line 12: duplicate token "foo" (first at line 3)`.
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
// does (one per line; a final newline does not start another token), also
// accepting "\r\n" line ends and a leading byte order mark. Lines must be
// valid UTF-8.
func parseVocab(data []byte) ([]string, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if len(data) == 0 {
		return nil, nil
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	vocab := make([]string, 0, bytes.Count(data, []byte("\n"))+1)
	for i := 0; ; i++ {
		line, rest, more := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("line %d: token %q is not valid UTF-8: %w", i+1, line, ErrInvalidVocab)
		}
		if len(line) > MaxTokenBytes {
			return nil, fmt.Errorf("line %d: a token of %d bytes, longer than %d (WordPiece never matches words over 100 characters): %w", i+1, len(line), MaxTokenBytes, ErrInvalidVocab)
		}
		vocab = append(vocab, string(line))
		if !more {
			return vocab, nil
		}
		data = rest
	}
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
