package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are the tricky strings of the table tests, plus a few more.
var fuzzSeeds = []string{
	"Café naïve résumé",
	"wait...!!?",
	"中文字",
	"3.14159 1,000,000",
	strings.Repeat("a", 101),
	strings.Repeat("a", 100),
	"I love 🤗 ☃ ok",
	"ab☃cd",
	"Ⅻ",
	"a\x00b\x07c\ufffdd",
	"foot\u200bball \ufeffhello wor\u00adld o\u200dk",
	"a\tb\nc\r\nd\u00a0e\u3000f\u2028g   h",
	"İstanbul ΟΔΟΣ Straße ﬁne Ångström",
	"The movie was [MASK].",
	"[mask] [MASK [CLS][SEP][PAD][UNK]",
	"한국어 텍스트",
	"e\u0301 a\u0300\u0301b",
	"\xff\xfe invalid \xc3",
	"",
	" ",
	"\U000e0001\ue000 private \u0378 unassigned",
}

// fuzzTokenizer returns the real tokenizer when the test data is there, else
// one on smallVocab, so the fuzz tests always run.
func fuzzTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	if root := os.Getenv(testdataEnv); root != "" {
		path := filepath.Join(root, "bert-base-uncased-vocab", VocabFile)
		if _, err := os.Stat(path); err == nil {
			tk, err := LoadVocab(path, DefaultOptions())
			if err != nil {
				tb.Fatal(err)
			}
			return tk
		}
	}
	return newSmall(tb, DefaultOptions())
}

func FuzzTokenizer(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, "", 0)
		f.Add(s, fuzzSeeds[(i+1)%len(fuzzSeeds)], 3+i%8)
	}
	tk := fuzzTokenizer(f)
	f.Fuzz(func(t *testing.T, text, pair string, maxLen int) {
		maxLen %= 40 // also negative values: no truncation

		pieces := tk.Tokenize(text)
		for _, p := range pieces {
			if _, ok := tk.TokenID(p); !ok {
				t.Fatalf("piece %q of %q is not in the vocabulary", p, text)
			}
		}
		if again := tk.Tokenize(text); !slices.Equal(again, pieces) {
			t.Fatalf("Tokenize(%q) not deterministic", text)
		}
		// Whitespace separates words: tokenizing two texts joined by a
		// space gives the two results one after the other.
		if joined := tk.Tokenize(text + " " + pair); !slices.Equal(joined, append(slices.Clone(pieces), tk.Tokenize(pair)...)) {
			t.Fatalf("Tokenize(%q + %q) = %q, not the concatenation", text, pair, joined)
		}

		e := tk.Encode(text, pair, maxLen)
		checkEncoding(t, tk, e, maxLen, pair != "")
		// The pieces kept are a prefix of each part's pieces.
		aLen := -2 // [CLS] A [SEP] have type id 0
		for _, typ := range e.TypeIDs {
			if typ == 0 {
				aLen++
			}
		}
		if maxLen <= 0 && aLen != len(pieces) {
			t.Fatalf("no truncation but A kept %d of %d pieces", aLen, len(pieces))
		}
		if !slices.Equal(e.Tokens[1:1+aLen], pieces[:min(aLen, len(pieces))]) {
			t.Fatalf("A part %q is not a prefix of %q", e.Tokens[1:1+aLen], pieces)
		}
		if pair != "" {
			bPieces := tk.Tokenize(pair)
			b := e.Tokens[aLen+2 : len(e.Tokens)-1]
			if len(b) > len(bPieces) || !slices.Equal(b, bPieces[:len(b)]) {
				t.Fatalf("B part %q is not a prefix of %q", b, bPieces)
			}
			if maxLen <= 0 && len(b) != len(bPieces) {
				t.Fatalf("no truncation but B kept %d of %d pieces", len(b), len(bPieces))
			}
		}

		batch := tk.EncodeBatch([]string{text, pair}, []string{pair, ""}, maxLen)
		if err := batch.Validate(); err != nil {
			t.Fatalf("EncodeBatch gave an invalid batch: %v", err)
		}
	})
}

func FuzzVocab(f *testing.F) {
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##lo\n"))
	f.Add([]byte("\ufeff[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n"))
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nfoo\nfoo\n"))
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n\n\n"))
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n\xff\n"))
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n\r\r\n"))
	f.Add([]byte("[PAD]\r[UNK]\r[CLS]\r[SEP]\r\r"))
	f.Add([]byte(strings.Join(smallVocab, "\n")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), VocabFile)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tk, err := LoadVocab(path, DefaultOptions())
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("error %q does not name the file", err)
			}
			if !errors.Is(err, ErrDuplicateToken) && !errors.Is(err, ErrMissingToken) && !errors.Is(err, ErrInvalidVocab) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		vocab := tk.Vocab()
		if tk.VocabSize() != len(vocab) {
			t.Fatalf("VocabSize %d, Vocab has %d", tk.VocabSize(), len(vocab))
		}
		for i, tok := range vocab {
			if id, ok := tk.TokenID(tok); !ok || int(id) != i {
				t.Fatalf("TokenID(%q) = %d, %v; want %d", tok, id, ok, i)
			}
			if !utf8.ValidString(tok) {
				t.Fatalf("token %q is not valid UTF-8", tok)
			}
		}
		// Writing the vocabulary back and reading it again gives the same.
		text, err := tk.vocabText()
		if err != nil {
			t.Fatalf("vocabText of a loaded vocabulary: %v", err)
		}
		back, err := parseVocab(text)
		if err != nil || !slices.Equal(back, vocab) {
			t.Fatalf("round trip: %q, %v; want %q", back, err, vocab)
		}
		for _, s := range fuzzSeeds[:6] {
			for _, id := range tk.Encode(s, "x", 8).IDs {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Fatalf("id %d out of range", id)
				}
			}
		}
	})
}

func FuzzParseTokenizerJSON(f *testing.F) {
	f.Add([]byte(smallTokenizerJSON))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {}}}`))
	f.Add([]byte(`{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[UNK]": 1}}}`))
	f.Add([]byte(`{"model": {"type": "WordPiece", "vocab": {"a": 5}}}`))
	f.Add([]byte(`[1, 2`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := parseTokenizerJSON(data)
		if err != nil {
			return
		}
		vocab := tk.Vocab()
		for i, tok := range vocab {
			if id, ok := tk.TokenID(tok); !ok || int(id) != i {
				t.Fatalf("TokenID(%q) = %d, %v; want %d", tok, id, ok, i)
			}
		}
		for _, s := range fuzzSeeds {
			e := tk.Encode(s, s, 16)
			for _, id := range e.IDs {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Fatalf("id %d out of range", id)
				}
			}
			if len(e.IDs) > 16 {
				t.Fatalf("%d ids exceed maxLen 16", len(e.IDs))
			}
		}
	})
}
