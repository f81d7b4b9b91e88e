package tokenizer

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Ids below come from $EDGENAS_TESTDATA/bert-base-uncased-vocab/vocab.txt:
// id = line number - 1, each checked with `grep -nxF TOKEN vocab.txt`. "absent"
// means `grep -xF` (or the `grep -xE` pattern given) finds no such line.
const (
	idPAD  = 0   // [PAD], line 1
	idUNK  = 100 // [UNK], line 101
	idCLS  = 101 // [CLS], line 102
	idSEP  = 102 // [SEP], line 103
	idMASK = 103 // [MASK], line 104
)

// realCase is one encoding with the real vocabulary and how it is derived.
type realCase struct {
	name   string
	text   string
	pair   string
	maxLen int
	want   []int32 // ids including [CLS]/[SEP]
	types  []int32 // nil: all 0
}

// aHundred is the WordPiece split of a word of 100 'a's: the longest
// all-'a' token is "aaa" (13360; `grep -cxE 'a{4,}'` = 0), the longest
// continuation "##aa" (11057; `grep -cxE '##a{3,}'` = 0), so greedy
// longest-match-first takes "aaa", then 48 "##aa" (96 more letters), then
// "##a" (2050) for the last letter: 3 + 96 + 1 = 100.
var aHundred = concat([]int32{13360}, repeatIDs(11057, 48), []int32{2050})

var realCases = []realCase{
	{
		name: "accents",
		// Lowercase, then NFD and drop the combining marks:
		// "café" -> "cafe" (7668), "naïve" -> "naive" (15743),
		// "résumé" -> "resume" (13746). The accented forms are absent.
		text: "Café naïve résumé",
		want: []int32{idCLS, 7668, 15743, 13746, idSEP},
	},
	{
		name: "punctuation run",
		// Every punctuation character is a word of its own:
		// "wait" (3524) "." (1012) x3 "!" (999) x2 "?" (1029).
		text: "wait...!!?",
		want: []int32{idCLS, 3524, 1012, 1012, 1012, 999, 999, 1029, idSEP},
	},
	{
		name: "CJK",
		// Spaces are put around each CJK ideograph, so each is a word:
		// "中" (1746), "文" (1861); "字" is absent -> [UNK].
		text: "中文字",
		want: []int32{idCLS, 1746, 1861, idUNK, idSEP},
	},
	{
		name: "numbers",
		// "3" (1017) "." (1012); "14159" and "1415" are absent, "141"
		// (15471) is the longest prefix, then "##59" (28154);
		// "1" (1015) "," (1010) "000" (2199) "," (1010) "000" (2199).
		text: "3.14159 1,000,000",
		want: []int32{idCLS, 1017, 1012, 15471, 28154, 1015, 1010, 2199, 1010, 2199, idSEP},
	},
	{
		name: "word of 101 chars",
		// More than MaxInputCharsPerWord (100) code points -> [UNK].
		text: strings.Repeat("a", 101),
		want: []int32{idCLS, idUNK, idSEP},
	},
	{
		name: "word of 100 chars",
		// Exactly the limit: split into pieces (see aHundred).
		text: strings.Repeat("a", 100),
		want: concat([]int32{idCLS}, aHundred, []int32{idSEP}),
	},
	{
		name: "unknown symbols",
		// "i" (1045) "love" (2293); "🤗" and "☃" are in no token
		// (`grep -c` = 0) -> [UNK] each; "ok" (7929). Neither is
		// punctuation, so each is a word of its own only because of the spaces.
		text: "I love 🤗 ☃ ok",
		want: []int32{idCLS, 1045, 2293, idUNK, idUNK, 7929, idSEP},
	},
	{
		name: "unknown char inside a word",
		// "ab☃cd" is one word; "ab" (11113) matches but no token continues
		// with "☃", so the whole word becomes one [UNK], not "ab" + [UNK].
		text: "ab☃cd",
		want: []int32{idCLS, idUNK, idSEP},
	},
	{
		name: "roman numeral",
		// "Ⅻ" lower-cases to "ⅻ" (no canonical decomposition), absent -> [UNK].
		text: "Ⅻ",
		want: []int32{idCLS, idUNK, idSEP},
	},
	{
		name: "control chars",
		// NUL, BEL and U+FFFD are removed: "abcd" is absent, "abc" (5925)
		// is the longest prefix, then "##d" (2094).
		text: "a\x00b\x07c\ufffdd",
		want: []int32{idCLS, 5925, 2094, idSEP},
	},
	{
		name: "zero-width chars",
		// U+200B (zero width space), U+200D (joiner), U+FEFF (BOM) and
		// U+00AD (soft hyphen) are format characters (Cf) and are removed,
		// so "foot\u200bball" is "football" (2374) and "\ufeffhello" is
		// "hello" (7592); "wor\u00adld" is "world" (2088), "o\u200dk" is "ok" (7929).
		text: "foot\u200bball \ufeffhello wor\u00adld o\u200dk",
		want: []int32{idCLS, 2374, 7592, 2088, 7929, idSEP},
	},
	{
		name: "mixed whitespace",
		// \t, \n, \r\n, NBSP (U+00A0), ideographic space (U+3000), line
		// separator (U+2028) and a run of spaces all split words:
		// "a".."h" are 1037..1044 (lines 1038..1045).
		text: "a\tb\nc\r\nd\u00a0e\u3000f\u2028g   h",
		want: []int32{idCLS, 1037, 1038, 1039, 1040, 1041, 1042, 1043, 1044, idSEP},
	},
	{
		name: "dotted capital I",
		// "İ" (U+0130) decomposes to "I" + U+0307; the mark is dropped and
		// "istanbul" (9960) remains.
		text: "İstanbul",
		want: []int32{idCLS, 9960, idSEP},
	},
	{
		name: "special token in text",
		// "[MASK]" is kept whole (103) as Hugging Face does; "the" (1996)
		// "movie" (3185) "was" (2001) "." (1012).
		text: "The movie was [MASK].",
		want: []int32{idCLS, 1996, 3185, 2001, idMASK, 1012, idSEP},
	},
	{
		name: "special token is case-sensitive",
		// "[mask]" is not the special token: "[" (1031) "mask" (7308)
		// "]" (1033); "[MASK" without "]" is not either.
		text: "[mask] [MASK",
		want: []int32{idCLS, 1031, 7308, 1033, 1031, 7308, idSEP},
	},
	{
		name: "empty",
		text: "",
		want: []int32{idCLS, idSEP},
	},
	{
		name: "only whitespace and controls",
		text: " \t\x00\u200b\n ",
		want: []int32{idCLS, idSEP},
	},
	{
		name: "pair",
		// "hello" (7592) "world" (2088) | "the" (1996) "cat" (4937)
		// "sat" (2938) "on" (2006) "the" "mat" (13523); type ids 0 for
		// [CLS] A [SEP], 1 for B [SEP].
		text:  "Hello world",
		pair:  "The cat sat on the mat",
		want:  []int32{idCLS, 7592, 2088, idSEP, 1996, 4937, 2938, 2006, 1996, 13523, idSEP},
		types: []int32{0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1},
	},
	{
		name: "pair whose second part has no tokens",
		// A pair that tokenizes to nothing still gets its [SEP] (type 1).
		text:  "ok",
		pair:  " ",
		want:  []int32{idCLS, 7929, idSEP, idSEP},
		types: []int32{0, 0, 0, 1},
	},
	{
		name: "truncate single",
		// maxLen 5 leaves 3 pieces for "a".."h" (1037..1044).
		text:   "a b c d e f g h",
		maxLen: 5,
		want:   []int32{idCLS, 1037, 1038, 1039, idSEP},
	},
	{
		name: "truncate inside a word",
		// Truncation counts word pieces: the first 3 of aHundred.
		text:   strings.Repeat("a", 100),
		maxLen: 5,
		want:   []int32{idCLS, 13360, 11057, 11057, idSEP},
	},
	{
		name: "truncate pair both",
		// longest_first, budget 10-3 = 7 for A (8 pieces) and B (6): the
		// shorter B cannot stay whole (8 > 7-6), so budget/2 = 3 go to the
		// shorter and 4 to the longer: A "a b c d", B "the cat sat".
		text:   "a b c d e f g h",
		pair:   "the cat sat on the mat",
		maxLen: 10,
		want:   []int32{idCLS, 1037, 1038, 1039, 1040, idSEP, 1996, 4937, 2938, idSEP},
		types:  []int32{0, 0, 0, 0, 0, 0, 1, 1, 1, 1},
	},
	{
		name: "truncate pair both, odd budget",
		// Budget 14-3 = 11: 5 to the shorter B, 6 to the longer A.
		text:   "a b c d e f g h",
		pair:   "the cat sat on the mat",
		maxLen: 14,
		want:   []int32{idCLS, 1037, 1038, 1039, 1040, 1041, 1042, idSEP, 1996, 4937, 2938, 2006, 1996, idSEP},
		types:  []int32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1},
	},
	{
		name: "truncate pair longer only",
		// Budget 12-3 = 9: B "hello world" (2) stays whole, A keeps 9-2 = 7.
		text:   "a b c d e f g h",
		pair:   "hello world",
		maxLen: 12,
		want:   []int32{idCLS, 1037, 1038, 1039, 1040, 1041, 1042, 1043, idSEP, 7592, 2088, idSEP},
		types:  []int32{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1},
	},
	{
		name: "truncate pair, B longer",
		// Budget 7 with A 2 pieces and B 8: A stays, B keeps 5.
		text:   "hello world",
		pair:   "a b c d e f g h",
		maxLen: 10,
		want:   []int32{idCLS, 7592, 2088, idSEP, 1037, 1038, 1039, 1040, 1041, idSEP},
		types:  []int32{0, 0, 0, 0, 1, 1, 1, 1, 1, 1},
	},
	{
		name: "maxLen below the special tokens",
		// No room for pieces: only the special tokens remain.
		text:   "hello world",
		pair:   "ok",
		maxLen: 2,
		want:   []int32{idCLS, idSEP, idSEP},
		types:  []int32{0, 0, 1},
	},
	{
		name:   "no truncation when it fits",
		text:   "hello world",
		maxLen: 4,
		want:   []int32{idCLS, 7592, 2088, idSEP},
	},
}

func TestEncodeRealVocab(t *testing.T) {
	for src, tk := range realTokenizers(t) {
		t.Run(src, func(t *testing.T) {
			if got := tk.VocabSize(); got != 30522 {
				t.Errorf("VocabSize = %d, want 30522", got)
			}
			specials := map[string][2]int32{
				"PadID": {tk.PadID(), idPAD}, "UNKID": {tk.UNKID(), idUNK}, "CLSID": {tk.CLSID(), idCLS},
				"SEPID": {tk.SEPID(), idSEP}, "MaskID": {tk.MaskID(), idMASK},
			}
			for name, v := range specials {
				if v[0] != v[1] {
					t.Errorf("%s = %d, want %d", name, v[0], v[1])
				}
			}
			for _, c := range realCases {
				t.Run(c.name, func(t *testing.T) {
					e := tk.Encode(c.text, c.pair, c.maxLen)
					if !slices.Equal(e.IDs, c.want) {
						t.Errorf("Encode(%q, %q, %d).IDs\n got %v %q\nwant %v", c.text, c.pair, c.maxLen, e.IDs, e.Tokens, c.want)
					}
					types := c.types
					if types == nil {
						types = make([]int32, len(c.want))
					}
					if !slices.Equal(e.TypeIDs, types) {
						t.Errorf("TypeIDs = %v, want %v", e.TypeIDs, types)
					}
					checkEncoding(t, tk, e, c.maxLen, c.pair != "")
				})
			}
		})
	}
}

// checkEncoding checks the invariants every Encoding has.
func checkEncoding(t *testing.T, tk *Tokenizer, e Encoding, maxLen int, pair bool) {
	t.Helper()
	n := len(e.IDs)
	if len(e.TypeIDs) != n || len(e.Mask) != n || len(e.Tokens) != n || e.Len() != n {
		t.Fatalf("lengths differ: ids %d types %d mask %d tokens %d", n, len(e.TypeIDs), len(e.Mask), len(e.Tokens))
	}
	specials := 2
	if pair {
		specials = 3
	}
	if n < specials {
		t.Fatalf("%d tokens, want at least %d", n, specials)
	}
	if maxLen > 0 && n > max(maxLen, specials) {
		t.Errorf("%d tokens exceed maxLen %d", n, maxLen)
	}
	if e.IDs[0] != tk.CLSID() || e.IDs[n-1] != tk.SEPID() {
		t.Errorf("ids %v do not start with [CLS] and end with [SEP]", e.IDs)
	}
	vocab := tk.Vocab()
	for i, id := range e.IDs {
		if id < 0 || int(id) >= tk.VocabSize() {
			t.Fatalf("id %d out of range", id)
		}
		if e.Tokens[i] != vocab[id] {
			t.Errorf("token %d = %q, vocab[%d] = %q", i, e.Tokens[i], id, vocab[id])
		}
		if e.Mask[i] != 1 {
			t.Errorf("mask[%d] = %d, want 1", i, e.Mask[i])
		}
		if i > 0 && e.TypeIDs[i] < e.TypeIDs[i-1] {
			t.Errorf("type ids %v not 0...0 1...1", e.TypeIDs)
		}
	}
	if !pair && e.TypeIDs[n-1] != 0 {
		t.Errorf("single sentence has type ids %v", e.TypeIDs)
	}
	if pair && e.TypeIDs[n-1] != 1 {
		t.Errorf("pair ends with type id %d, want 1", e.TypeIDs[n-1])
	}
}

func TestTokenizeRealVocab(t *testing.T) {
	for src, tk := range realTokenizers(t) {
		t.Run(src, func(t *testing.T) {
			for _, c := range []struct {
				name, text string
				want       []string
			}{
				// "unaffable": "unaf".."unaffable" absent, "una" (14477);
				// "##ffable".."##ffa"+1 absent, "##ffa" (20961); "##ble" (3468).
				{"wordpiece", "unaffable", []string{"una", "##ffa", "##ble"}},
				{"special", "[CLS] hi [SEP]", []string{"[CLS]", "hi", "[SEP]"}},
				{"no specials added", "ok", []string{"ok"}},
				{"empty", "", []string{}},
			} {
				t.Run(c.name, func(t *testing.T) {
					if got := tk.Tokenize(c.text); !slices.Equal(got, c.want) {
						t.Errorf("Tokenize(%q) = %q, want %q", c.text, got, c.want)
					}
				})
			}
			for tok, want := range map[string]int32{"[PAD]": 0, "hello": 7592, "##59": 28154} {
				if id, ok := tk.TokenID(tok); !ok || id != want {
					t.Errorf("TokenID(%q) = %d, %v; want %d, true", tok, id, ok, want)
				}
			}
			if id, ok := tk.TokenID("Hello"); ok {
				t.Errorf("TokenID(Hello) = %d, true; the uncased vocabulary has no capitals", id)
			}
		})
	}
}

// TestVocabAndJSONAgree encodes every test case, and every SST-2 dev sentence
// when the data is there, with the vocab.txt and tokenizer.json tokenizers.
func TestVocabAndJSONAgree(t *testing.T) {
	tks := realTokenizers(t)
	fromVocab, fromJSON := tks[VocabFile], tks[TokenizerJSONFile]
	if !slices.Equal(fromVocab.Vocab(), fromJSON.Vocab()) {
		t.Fatal("vocabularies differ")
	}
	type input struct{ text, pair string }
	inputs := []input{}
	for _, c := range realCases {
		inputs = append(inputs, input{c.text, c.pair})
	}
	for _, s := range fuzzSeeds {
		inputs = append(inputs, input{s, ""}, input{s, s})
	}
	dev := filepath.Join(os.Getenv(testdataEnv), "sst2-glue", "dev.tsv")
	if f, err := os.Open(dev); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			text, _, _ := strings.Cut(sc.Text(), "\t")
			inputs = append(inputs, input{text, ""})
		}
		f.Close()
	}
	for i, in := range inputs {
		a, b := fromVocab.Encode(in.text, in.pair, 0), fromJSON.Encode(in.text, in.pair, 0)
		if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.TypeIDs, b.TypeIDs) {
			t.Errorf("input %d %q/%q: vocab.txt %v, tokenizer.json %v", i, in.text, in.pair, a.IDs, b.IDs)
		}
	}
	if fromJSON.Options().Lowercase != true || fromJSON.Options().MaxInputCharsPerWord != 100 {
		t.Errorf("tokenizer.json options = %+v", fromJSON.Options())
	}
}

func TestOptionsRealVocab(t *testing.T) {
	dir := realVocabDir(t)
	no := false
	for _, c := range []struct {
		name string
		opts Options
		text string
		want []int32
	}{
		// Defaults: "é" -> "e" (1041).
		{"default strips accents", DefaultOptions(), "é", []int32{idCLS, 1041, idSEP}},
		// Lower-case but keep accents: "é" is absent -> [UNK].
		{"keep accents", Options{Lowercase: true, StripAccents: &no, TokenizeChineseChars: true}, "é", []int32{idCLS, idUNK, idSEP}},
		// Cased: no token starts with "H" (`grep -c '^H'` = 0; the
		// vocabulary has no capitals), so "Hello" -> [UNK]; "hello" (7592).
		{"cased", Options{TokenizeChineseChars: true}, "Hello hello", []int32{idCLS, idUNK, 7592, idSEP}},
		// Without CJK handling "中文字" is one word: "中文字" and "中文" are
		// absent, "中" (1746) matches, "##文字" is absent, "##文" (30387)
		// matches, but "##字" is absent, so no piece covers "字" and the
		// whole word is [UNK].
		{"no CJK handling", Options{Lowercase: true}, "中文字", []int32{idCLS, idUNK, idSEP}},
		// A 6-char limit: "hello" (5 chars, 7592) passes, "football" (8) -> [UNK].
		{"max chars", Options{Lowercase: true, MaxInputCharsPerWord: 6}, "hello football", []int32{idCLS, 7592, idUNK, idSEP}},
		// split_special_tokens: "[MASK]" -> "[" (1031) "mask" (7308) "]" (1033).
		{"split special tokens", Options{Lowercase: true, SplitSpecialTokens: true}, "[MASK]", []int32{idCLS, 1031, 7308, 1033, idSEP}},
		// No clean_text: the tab still separates words (BertPreTokenizer
		// splits on all whitespace) but NUL stays inside the word -> [UNK].
		{"no clean text", Options{Lowercase: true, NoCleanText: true}, "a\tb\x00c", []int32{idCLS, 1037, idUNK, idSEP}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk, err := LoadVocab(filepath.Join(dir, VocabFile), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := tk.Encode(c.text, "", 0).IDs; !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestEncodeBatchRealVocab(t *testing.T) {
	for src, tk := range realTokenizers(t) {
		t.Run(src, func(t *testing.T) {
			for _, c := range []struct {
				name    string
				texts   []string
				pairs   []string
				maxLen  int
				seqLen  int
				lengths []int
				ids     []int32
				types   []int32
			}{
				{
					name:  "single sentences",
					texts: []string{"hello world", "the cat sat on the mat", "ok"},
					// Rows of 4, 8 and 3 tokens padded to 8 with [PAD] (0).
					seqLen:  8,
					lengths: []int{4, 8, 3},
					ids: []int32{
						idCLS, 7592, 2088, idSEP, idPAD, idPAD, idPAD, idPAD,
						idCLS, 1996, 4937, 2938, 2006, 1996, 13523, idSEP,
						idCLS, 7929, idSEP, idPAD, idPAD, idPAD, idPAD, idPAD,
					},
					types: make([]int32, 24),
				},
				{
					name:  "pairs and truncation",
					texts: []string{"hello world", "a b c d e f g h"},
					pairs: []string{"ok", ""},
					// Row 0: 6 tokens, types 0 0 0 0 1 1. Row 1 is cut to
					// maxLen 6 ("a".."d"), so the batch is 6 wide, no padding in row 1.
					maxLen:  6,
					seqLen:  6,
					lengths: []int{6, 6},
					ids: []int32{
						idCLS, 7592, 2088, idSEP, 7929, idSEP,
						idCLS, 1037, 1038, 1039, 1040, idSEP,
					},
					types: []int32{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0},
				},
				{
					name:    "pads to the longest row, not maxLen",
					texts:   []string{"ok"},
					maxLen:  128,
					seqLen:  3,
					lengths: []int{3},
					ids:     []int32{idCLS, 7929, idSEP},
					types:   []int32{0, 0, 0},
				},
			} {
				t.Run(c.name, func(t *testing.T) {
					b := tk.EncodeBatch(c.texts, c.pairs, c.maxLen)
					if err := b.Validate(); err != nil {
						t.Fatalf("Validate: %v", err)
					}
					if b.Size != len(c.texts) || b.SeqLen != c.seqLen || !slices.Equal(b.Lengths, c.lengths) {
						t.Errorf("size %d seqLen %d lengths %v, want %d %d %v", b.Size, b.SeqLen, b.Lengths, len(c.texts), c.seqLen, c.lengths)
					}
					if !slices.Equal(b.IDs, c.ids) {
						t.Errorf("IDs = %v, want %v", b.IDs, c.ids)
					}
					if !slices.Equal(b.TypeIDs, c.types) {
						t.Errorf("TypeIDs = %v, want %v", b.TypeIDs, c.types)
					}
					for i := range b.Size {
						_, _, mask := b.Row(i)
						for j, m := range mask {
							want := int32(0)
							if j < b.Lengths[i] {
								want = 1
							}
							if m != want {
								t.Errorf("row %d mask %v, length %d", i, mask, b.Lengths[i])
								break
							}
						}
					}
				})
			}
		})
	}
}
