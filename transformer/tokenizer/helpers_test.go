package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdataEnv names the directory holding the shared test data; CI sets it to
// /work/shared/testdata.
const testdataEnv = "EDGENAS_TESTDATA"

// realVocabDir returns $EDGENAS_TESTDATA/bert-base-uncased-vocab, or skips
// the test when the variable is unset or the files are absent.
func realVocabDir(tb testing.TB) string {
	tb.Helper()
	root := os.Getenv(testdataEnv)
	if root == "" {
		tb.Skipf("%s is not set: set it to the shared testdata directory (e.g. /work/shared/testdata) to test against the real bert-base-uncased vocabulary", testdataEnv)
	}
	dir := filepath.Join(root, "bert-base-uncased-vocab")
	for _, name := range []string{VocabFile, TokenizerJSONFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			tb.Skipf("%s=%s but %s is missing (%v): skipping tests on the real vocabulary", testdataEnv, root, name, err)
		}
	}
	return dir
}

// realTokenizers loads the real bert-base-uncased tokenizer twice: from
// vocab.txt with DefaultOptions and from tokenizer.json.
func realTokenizers(tb testing.TB) map[string]*Tokenizer {
	tb.Helper()
	dir := realVocabDir(tb)
	fromVocab, err := LoadVocab(filepath.Join(dir, VocabFile), DefaultOptions())
	if err != nil {
		tb.Fatalf("LoadVocab: %v", err)
	}
	fromJSON, err := LoadTokenizerJSON(filepath.Join(dir, TokenizerJSONFile))
	if err != nil {
		tb.Fatalf("LoadTokenizerJSON: %v", err)
	}
	return map[string]*Tokenizer{VocabFile: fromVocab, TokenizerJSONFile: fromJSON}
}

// smallVocab is a tiny BERT-style vocabulary for tests that must run without
// the real one. Ids are indexes: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4.
var smallVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", // 0-4
	"the", "movie", "was", "great", "!", // 5-9
	".", ",", "?", "play", "##ing", // 10-14
	"##ed", "un", "##aff", "##able", "cafe", // 15-19
	"naive", "中", "文", "a", "b", // 20-24
	"c", "##a", "##b", "##c", "hello", // 25-29
	"world", "i", "love", "it", "[", // 30-34
	"]", "mask", "aa", "##aa", "é", // 35-39
}

// newSmall builds a Tokenizer on smallVocab.
func newSmall(tb testing.TB, opts Options) *Tokenizer {
	tb.Helper()
	tk, err := New(smallVocab, opts)
	if err != nil {
		tb.Fatalf("New(smallVocab): %v", err)
	}
	return tk
}

// writeFile writes content to name in dir and returns the path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// repeatIDs returns n copies of id.
func repeatIDs(id int32, n int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = id
	}
	return ids
}

// concat joins id slices.
func concat(parts ...[]int32) []int32 {
	var out []int32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// words returns n space-separated copies of w.
func words(w string, n int) string {
	return strings.TrimSpace(strings.Repeat(w+" ", n))
}
