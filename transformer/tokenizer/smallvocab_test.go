package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// These tests use smallVocab and run without the real vocabulary.

func TestTokenizeSmallVocab(t *testing.T) {
	no, yes := false, true
	for _, c := range []struct {
		name string
		opts Options
		text string
		want []string
	}{
		{"lowercase and punctuation", DefaultOptions(), "The movie was GREAT!", []string{"the", "movie", "was", "great", "!"}},
		{"continuation pieces", DefaultOptions(), "playing played", []string{"play", "##ing", "play", "##ed"}},
		{"greedy longest match", DefaultOptions(), "unaffable", []string{"un", "##aff", "##able"}},
		// "playx": "play" matches but nothing continues with "x": the whole word.
		{"unmatched rest", DefaultOptions(), "playx the", []string{"[UNK]", "the"}},
		{"accents stripped", DefaultOptions(), "CAFÉ Naïve", []string{"cafe", "naive"}},
		{"accents kept", Options{Lowercase: true, StripAccents: &no}, "é", []string{"é"}},
		{"accents stripped, cased", Options{StripAccents: &yes}, "é", []string{"[UNK]"}},
		{"cased", Options{}, "The the", []string{"[UNK]", "the"}},
		{"CJK", DefaultOptions(), "中文", []string{"中", "文"}},
		{"CJK off", Options{Lowercase: true}, "中文", []string{"[UNK]"}},
		{"special token kept", DefaultOptions(), "the [MASK]!", []string{"the", "[MASK]", "!"}},
		{"special token split", Options{Lowercase: true, SplitSpecialTokens: true}, "[MASK]", []string{"[", "mask", "]"}},
		{"special tokens adjacent", DefaultOptions(), "[CLS][SEP]a", []string{"[CLS]", "[SEP]", "a"}},
		{"max chars", Options{Lowercase: true, MaxInputCharsPerWord: 4}, "aaaa aaaaa", []string{"aa", "##aa", "[UNK]"}},
		{"control chars removed", DefaultOptions(), "a\x00b\u200bc", []string{"a", "##b", "##c"}},
		{"no clean text", Options{Lowercase: true, NoCleanText: true}, "a\u200bb", []string{"[UNK]"}},
		{"invalid UTF-8 removed", DefaultOptions(), "a\xffb", []string{"a", "##b"}},
		{"whitespace only", DefaultOptions(), " \t\n\u3000", []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk := newSmall(t, c.opts)
			if got := tk.Tokenize(c.text); !slices.Equal(got, c.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	withDup := append(slices.Clone(smallVocab), "movie")
	for _, c := range []struct {
		name    string
		vocab   []string
		opts    Options
		wantErr error
		wantMsg string
	}{
		{"duplicate", withDup, DefaultOptions(), ErrDuplicateToken, `line 41: duplicate token "movie" (first at line 7)`},
		{"missing specials", []string{"[PAD]", "[UNK]", "a"}, DefaultOptions(), ErrMissingToken, `"[CLS]", "[SEP]" not in the vocabulary`},
		{"invalid UTF-8", append(slices.Clone(smallVocab), "\xff"), DefaultOptions(), ErrInvalidVocab, "line 41"},
		{"negative max chars", smallVocab, Options{MaxInputCharsPerWord: -1}, ErrInvalidOptions, "MaxInputCharsPerWord -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.vocab, c.opts)
			if !errors.Is(err, c.wantErr) || !strings.Contains(fmtErr(err), c.wantMsg) {
				t.Errorf("New: %v; want %v containing %q", err, c.wantErr, c.wantMsg)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSpecialIDs(t *testing.T) {
	tk := newSmall(t, DefaultOptions())
	if tk.PadID() != 0 || tk.UNKID() != 1 || tk.CLSID() != 2 || tk.SEPID() != 3 || tk.MaskID() != 4 {
		t.Errorf("ids pad %d unk %d cls %d sep %d mask %d", tk.PadID(), tk.UNKID(), tk.CLSID(), tk.SEPID(), tk.MaskID())
	}
	noMask, err := New([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if noMask.MaskID() != -1 {
		t.Errorf("MaskID without [MASK] = %d, want -1", noMask.MaskID())
	}
	if got := noMask.Tokenize("[MASK]"); !slices.Equal(got, []string{"[UNK]", "[UNK]", "[UNK]"}) {
		t.Errorf("Tokenize([MASK]) without [MASK] = %q", got)
	}
}

func TestOptionsCopied(t *testing.T) {
	no := false
	opts := Options{Lowercase: true, StripAccents: &no}
	tk := newSmall(t, opts)
	no = true // must not change the tokenizer
	if got := tk.Tokenize("é"); !slices.Equal(got, []string{"é"}) {
		t.Errorf("Tokenize(é) = %q after changing the caller's StripAccents", got)
	}
	o := tk.Options()
	*o.StripAccents = true
	if got := tk.Tokenize("é"); !slices.Equal(got, []string{"é"}) {
		t.Errorf("Tokenize(é) = %q after changing Options()", got)
	}
	if o.MaxInputCharsPerWord != 0 || DefaultOptions().MaxInputCharsPerWord != 100 {
		t.Errorf("MaxInputCharsPerWord: Options() %d, default %d", o.MaxInputCharsPerWord, DefaultOptions().MaxInputCharsPerWord)
	}
}

func TestVocabIsACopy(t *testing.T) {
	tk := newSmall(t, DefaultOptions())
	v := tk.Vocab()
	if !slices.Equal(v, smallVocab) {
		t.Fatalf("Vocab() = %q", v)
	}
	v[5] = "changed"
	if tk.Vocab()[5] != "the" {
		t.Error("Vocab() shares its slice")
	}
}

// TestTruncateLongestFirst is the table of Hugging Face tokenizers' own
// LongestFirst test (max_length 7; empty, short = 2, medium = 4, long = 8).
func TestTruncateLongestFirst(t *testing.T) {
	seq := func(n int) []int32 { return repeatIDs(7, n) }
	for _, c := range []struct {
		a, b, budget, wantA, wantB int
	}{
		{0, 0, 7, 0, 0}, {0, 2, 7, 0, 2}, {0, 4, 7, 0, 4}, {0, 8, 7, 0, 7},
		{2, 0, 7, 2, 0}, {2, 2, 7, 2, 2}, {2, 4, 7, 2, 4}, {2, 8, 7, 2, 5},
		{4, 0, 7, 4, 0}, {4, 2, 7, 4, 2}, {4, 4, 7, 3, 4}, {4, 8, 7, 3, 4},
		{8, 0, 7, 7, 0}, {8, 2, 7, 5, 2}, {8, 4, 7, 4, 3}, {8, 8, 7, 3, 4},
		// max_length 0 keeps nothing.
		{2, 4, 0, 0, 0}, {4, 4, 0, 0, 0}, {8, 8, 0, 0, 0},
	} {
		t.Run("", func(t *testing.T) {
			a, b := truncateLongestFirst(seq(c.a), seq(c.b), c.budget)
			if len(a) != c.wantA || len(b) != c.wantB {
				t.Errorf("(%d, %d) budget %d -> (%d, %d), want (%d, %d)", c.a, c.b, c.budget, len(a), len(b), c.wantA, c.wantB)
			}
		})
	}
	a, b := truncateLongestFirst(seq(9), nil, 4)
	if len(a) != 4 || b != nil {
		t.Errorf("single: %d, %v", len(a), b)
	}
}

func TestEncodeSmallVocab(t *testing.T) {
	tk := newSmall(t, DefaultOptions())
	for _, c := range []struct {
		name        string
		text, pair  string
		maxLen      int
		ids, typeID []int32
	}{
		{"single", "hello world", "", 0, []int32{2, 29, 30, 3}, []int32{0, 0, 0, 0}},
		{"pair", "hello", "world!", 0, []int32{2, 29, 3, 30, 9, 3}, []int32{0, 0, 0, 1, 1, 1}},
		{"maxLen 1 keeps the specials", "hello world", "", 1, []int32{2, 3}, []int32{0, 0}},
		{"negative maxLen", "hello world", "", -5, []int32{2, 29, 30, 3}, []int32{0, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := tk.Encode(c.text, c.pair, c.maxLen)
			if !slices.Equal(e.IDs, c.ids) || !slices.Equal(e.TypeIDs, c.typeID) {
				t.Errorf("Encode = %v %v, want %v %v", e.IDs, e.TypeIDs, c.ids, c.typeID)
			}
			checkEncoding(t, tk, e, c.maxLen, c.pair != "")
		})
	}
}

func TestEncodeBatchPanicsOnMismatchedPairs(t *testing.T) {
	tk := newSmall(t, DefaultOptions())
	defer func() {
		if recover() == nil {
			t.Error("no panic for 2 pairs with 1 text")
		}
	}()
	tk.EncodeBatch([]string{"a"}, []string{"a", "b"}, 0)
}

func TestConcurrentUse(t *testing.T) {
	tk := newSmall(t, DefaultOptions())
	want := tk.Encode("the movie was great!", "i love it", 0)
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				e := tk.Encode("the movie was great!", "i love it", 0)
				ok = ok && slices.Equal(e.IDs, want.IDs)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Encode gave a different result")
		}
	}
}
