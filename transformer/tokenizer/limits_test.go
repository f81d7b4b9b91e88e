package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/limitio/limitiotest"
)

// TestLoadLimits checks that a huge or endless vocabulary, tokenizer or
// tokenizer config fails at once with an error naming the file and the
// limit, without being read into memory.
func TestLoadLimits(t *testing.T) {
	sparse := func(t *testing.T, dir, name string) string {
		p := filepath.Join(dir, name)
		limitiotest.Sparse(t, p)
		return p
	}
	devZero := func(t *testing.T) string {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		return "/dev/zero"
	}
	for _, tc := range []struct {
		name string
		load func(t *testing.T, dir string) error
		want string
	}{
		{"sparse vocab.txt", func(t *testing.T, dir string) error {
			_, err := LoadVocab(sparse(t, dir, VocabFile), DefaultOptions())
			return err
		}, "vocab.txt: file is larger than the 64 MiB limit for a vocabulary"},
		{"dev zero vocab", func(t *testing.T, dir string) error {
			_, err := LoadVocab(devZero(t), DefaultOptions())
			return err
		}, "/dev/zero: file is larger than the 64 MiB limit for a vocabulary"},
		{"sparse tokenizer.json", func(t *testing.T, dir string) error {
			_, err := LoadTokenizerJSON(sparse(t, dir, TokenizerJSONFile))
			return err
		}, "tokenizer.json: file is larger than the 64 MiB limit for a tokenizer"},
		{"sparse tokenizer_config.json in a model dir", func(t *testing.T, dir string) error {
			if err := os.WriteFile(filepath.Join(dir, VocabFile), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			sparse(t, dir, TokenizerConfigFile)
			_, err := Load(dir)
			return err
		}, "tokenizer_config.json: file is larger than the 16 MiB limit for a tokenizer config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load(t, t.TempDir())
			if !errors.Is(err, limitio.ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error wrapping ErrTooLarge containing %q", err, tc.want)
			}
		})
	}
}
