package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tokenizerJSON writes a BERT tokenizer.json for vocab (which must hold the
// five special tokens), one vocab entry per line, like Hugging Face's.
func tokenizerJSON(vocab []string) string {
	var b strings.Builder
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n")
	first := true
	for i, tok := range vocab {
		switch tok {
		case PADToken, UNKToken, CLSToken, SEPToken, MASKToken:
			if !first {
				b.WriteString(",\n")
			}
			first = false
			fmt.Fprintf(&b, `    {"id": %d, "content": %q, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}`, i, tok)
		}
	}
	b.WriteString(`
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}
  },
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {
    "type": "WordPiece",
    "unk_token": "[UNK]",
    "continuing_subword_prefix": "##",
    "max_input_chars_per_word": 100,
    "vocab": {
`)
	for i, tok := range vocab {
		sep := ","
		if i == len(vocab)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "      %q: %d%s\n", tok, i, sep)
	}
	b.WriteString("    }\n  }\n}\n")
	return b.String()
}

// smallTokenizerJSON is the tokenizer.json of smallVocab.
var smallTokenizerJSON = tokenizerJSON(smallVocab)

// lineOf returns the 1-based line of the first occurrence of sub in s.
func lineOf(tb testing.TB, s, sub string) int {
	tb.Helper()
	i := strings.Index(s, sub)
	if i < 0 {
		tb.Fatalf("%q not in the fixture", sub)
	}
	return strings.Count(s[:i], "\n") + 1
}

// replaceOnce replaces the only occurrence of old in s.
func replaceOnce(tb testing.TB, s, old, new string) string {
	tb.Helper()
	if n := strings.Count(s, old); n != 1 {
		tb.Fatalf("%q occurs %d times in the fixture, want 1", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

func TestLoadVocabFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		content string
		wantErr error
		wantMsg string // after "PATH: "
	}{
		{"duplicate", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nfoo\nbar\nfoo\n", ErrDuplicateToken, `line 7: duplicate token "foo" (first at line 5)`},
		{"duplicate empty lines", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n\n\n", ErrDuplicateToken, `line 6: duplicate token "" (first at line 5)`},
		{"missing special", "[PAD]\n[UNK]\n[SEP]\nfoo\n", ErrMissingToken, `missing special token: "[CLS]" not in the vocabulary`},
		{"empty file", "", ErrMissingToken, `missing special token: "[UNK]", "[CLS]", "[SEP]", "[PAD]" not in the vocabulary`},
		{"invalid UTF-8", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nok\n\xffbad\n", ErrInvalidVocab, `line 6: token "\xffbad" is not valid UTF-8: invalid vocabulary`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, c.name+".txt", c.content)
			_, err := LoadVocab(path, DefaultOptions())
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("LoadVocab: %v, want %v", err, c.wantErr)
			}
			if want := path + ": " + c.wantMsg; err.Error() != want {
				t.Errorf("error\n got %q\nwant %q", err, want)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := LoadVocab(filepath.Join(dir, "nope.txt"), DefaultOptions())
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.txt") {
			t.Errorf("LoadVocab: %v", err)
		}
	})

	t.Run("CRLF and BOM", func(t *testing.T) {
		content := "\uFEFF" + strings.Join(smallVocab, "\r\n") + "\r\n"
		tk, err := LoadVocab(writeFile(t, dir, "crlf.txt", content), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tk.Vocab(), smallVocab) {
			t.Errorf("Vocab() = %q", tk.Vocab())
		}
	})

	t.Run("no final newline", func(t *testing.T) {
		tk, err := LoadVocab(writeFile(t, dir, "nonl.txt", strings.Join(smallVocab, "\n")), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if tk.VocabSize() != len(smallVocab) {
			t.Errorf("VocabSize = %d, want %d", tk.VocabSize(), len(smallVocab))
		}
	})
}

// TestVocabLineEnds checks vocab.txt's lines are split as Hugging Face's
// load_vocab reads them in Python's text mode: "\n", "\r\n" and a lone "\r"
// each end a line, and a final line end starts no token.
func TestVocabLineEnds(t *testing.T) {
	for _, c := range []struct {
		data string
		want []string
	}{
		{"", nil},
		{"\n", []string{""}},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r", []string{"a"}},
		{"a\r\n", []string{"a"}},
		{"a\rb\r", []string{"a", "b"}},
		{"a\r\r\nb", []string{"a", "", "b"}},
		{"a\n\rb", []string{"a", "", "b"}},
		{"a\n\n", []string{"a", ""}},
		{"\uFEFFa\r\nb\r\n", []string{"a", "b"}},
	} {
		got, err := parseVocab([]byte(c.data))
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseVocab(%q) = %q, %v; want %q", c.data, got, err, c.want)
		}
	}
}

func TestWriteVocab(t *testing.T) {
	dir := t.TempDir()
	tk, err := New(smallVocab, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, VocabFile)
	if err := tk.WriteVocab(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadVocab(path, DefaultOptions())
	if err != nil || !slices.Equal(back.Vocab(), smallVocab) {
		t.Fatalf("LoadVocab after WriteVocab: %v, %v", back, err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A token with a line break, which a tokenizer.json may hold, is refused
	// with its id, and the earlier file stays whole.
	for _, brk := range []string{"\n", "\r"} {
		bad := append(slices.Clone(smallVocab), "two"+brk+"lines")
		tk, err := New(bad, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		err = tk.WriteVocab(path)
		want := fmt.Sprintf("write %s: token %d (%q) holds a line break", path, len(smallVocab), "two"+brk+"lines")
		if !errors.Is(err, ErrInvalidVocab) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("WriteVocab with %q: %v; want %q… wrapping ErrInvalidVocab", brk, err, want)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Errorf("a refused WriteVocab changed %s", path)
		}
	}
}

func TestLoadTokenizerJSONErrors(t *testing.T) {
	base := smallTokenizerJSON
	dir := t.TempDir()
	modelType := "\"model\": {\n    \"type\": \"WordPiece\""
	for _, c := range []struct {
		name    string
		content string
		wantErr error
		wantMsg string
	}{
		{
			name:    "truncated JSON",
			content: base[:len(base)/2],
			wantErr: ErrInvalidVocab,
			wantMsg: "unexpected end of JSON input",
		},
		{
			name:    "syntax error",
			content: replaceOnce(t, base, `"movie": 6,`, `"movie": 6,,`),
			wantErr: ErrInvalidVocab,
			wantMsg: fmt.Sprintf("line %d column", lineOf(t, base, `"movie": 6,`)),
		},
		{
			name:    "BPE model",
			content: replaceOnce(t, base, modelType, strings.Replace(modelType, "WordPiece", "BPE", 1)),
			wantErr: ErrUnsupported,
			wantMsg: fmt.Sprintf(`line %d: model.type "BPE": only WordPiece models are supported`, lineOf(t, base, modelType)+1),
		},
		{
			name:    "leading blank lines",
			content: "\n\n" + replaceOnce(t, base, modelType, strings.Replace(modelType, "WordPiece", "BPE", 1)),
			wantErr: ErrUnsupported,
			wantMsg: fmt.Sprintf(`line %d: model.type "BPE"`, lineOf(t, base, modelType)+3),
		},
		{
			name:    "duplicate token",
			content: replaceOnce(t, base, `"é": 39`, `"é": 39, "movie": 40`),
			wantErr: ErrDuplicateToken,
			wantMsg: fmt.Sprintf(`line %d: model.vocab: duplicate token "movie" (first at line %d)`, lineOf(t, base, `"é": 39`), lineOf(t, base, `"movie": 6`)),
		},
		{
			name:    "sparse ids",
			content: replaceOnce(t, base, `"é": 39`, `"é": 45`),
			wantErr: ErrInvalidVocab,
			wantMsg: fmt.Sprintf(`line %d: model.vocab: token "é" has id 45, want an integer in 0..39 (ids must be dense)`, lineOf(t, base, `"é": 39`)),
		},
		{
			name:    "duplicate id",
			content: replaceOnce(t, base, `"é": 39`, `"é": 5`),
			wantErr: ErrDuplicateToken,
			wantMsg: fmt.Sprintf(`line %d: model.vocab: token "é" has id 5, already used by "the" at line %d`, lineOf(t, base, `"é": 39`), lineOf(t, base, `"the": 5`)),
		},
		{
			name:    "id not a number",
			content: replaceOnce(t, base, `"é": 39`, `"é": "39"`),
			wantErr: ErrInvalidVocab,
			wantMsg: fmt.Sprintf(`line %d: model.vocab: token "é" has id "39"`, lineOf(t, base, `"é": 39`)),
		},
		{
			name:    "vocab not an object",
			content: replaceOnce(t, base, `"vocab": {`, `"vocab": [], "x": {`),
			wantErr: ErrInvalidVocab,
			wantMsg: "model.vocab is not a JSON object",
		},
		{
			name:    "no model",
			content: `{"version": "1.0"}`,
			wantErr: ErrInvalidVocab,
			wantMsg: "no model",
		},
		{
			name:    "not an object",
			content: `[1, 2]`,
			wantErr: ErrInvalidVocab,
			wantMsg: "tokenizer.json is not a JSON object",
		},
		{
			name:    "unsupported normalizer",
			content: replaceOnce(t, base, `"type": "BertNormalizer"`, `"type": "Lowercase"`),
			wantErr: ErrUnsupported,
			wantMsg: `normalizer type "Lowercase": only BertNormalizer (or null) is supported`,
		},
		{
			name:    "normalizer field of the wrong type",
			content: replaceOnce(t, base, `"lowercase": true`, `"lowercase": "yes"`),
			wantErr: ErrInvalidVocab,
			wantMsg: fmt.Sprintf("line %d column", lineOf(t, base, `"lowercase": true`)),
		},
		{
			name:    "unsupported pre-tokenizer",
			content: replaceOnce(t, base, `"BertPreTokenizer"`, `"Whitespace"`),
			wantErr: ErrUnsupported,
			wantMsg: `pre_tokenizer type "Whitespace": only BertPreTokenizer is supported`,
		},
		{
			name:    "RoBERTa post-processor",
			content: replaceOnce(t, base, `"type": "TemplateProcessing"`, `"type": "RobertaProcessing"`),
			wantErr: ErrUnsupported,
			wantMsg: `post_processor type "RobertaProcessing"`,
		},
		{
			name:    "template not BERT's",
			content: replaceOnce(t, base, `"single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, `, `"single": [`),
			wantErr: ErrUnsupported,
			wantMsg: "post_processor template is not BERT's",
		},
		{
			name:    "template ids disagree",
			content: replaceOnce(t, base, `"ids": [2]`, `"ids": [7]`),
			wantErr: ErrInvalidVocab,
			wantMsg: `post_processor gives "[CLS]" id 7 but the vocabulary gives 2`,
		},
		{
			name:    "unknown unk token",
			content: replaceOnce(t, base, `"unk_token": "[UNK]"`, `"unk_token": "<unk>"`),
			wantErr: ErrMissingToken,
			wantMsg: `missing special token: "<unk>" not in the vocabulary`,
		},
		{
			name:    "added token id disagrees",
			content: replaceOnce(t, base, `{"id": 4, "content": "[MASK]"`, `{"id": 7, "content": "[MASK]"`),
			wantErr: ErrInvalidVocab,
			wantMsg: `added token "[MASK]" has id 7 but model.vocab gives it 4`,
		},
		{
			name:    "added token leaves a gap",
			content: replaceOnce(t, base, `{"id": 4, "content": "[MASK]"`, `{"id": 41, "content": "<ent>"}, {"id": 4, "content": "[MASK]"`),
			wantErr: ErrInvalidVocab,
			wantMsg: `added token "<ent>" has id 41, want 40 (ids must be dense)`,
		},
		{
			name:    "max_input_chars_per_word zero",
			content: replaceOnce(t, base, `"max_input_chars_per_word": 100`, `"max_input_chars_per_word": 0`),
			wantErr: ErrInvalidVocab,
			wantMsg: "model.max_input_chars_per_word 0: must be positive",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, "tokenizer.json", c.content)
			_, err := LoadTokenizerJSON(path)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("LoadTokenizerJSON: %v, want %v", err, c.wantErr)
			}
			if !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("error\n got %q\nwant %q after the path", err, c.wantMsg)
			}
		})
	}
}

func TestLoadTokenizerJSONVariants(t *testing.T) {
	base := smallTokenizerJSON
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		content string
		text    string
		want    []string
		size    int
	}{
		{"as written", base, "The movie [MASK]!", []string{"the", "movie", "[MASK]", "!"}, 40},
		{
			// No normalizer: no lower-casing, no cleaning.
			name:    "null normalizer",
			content: replaceOnce(t, base, `{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}`, `null`),
			text:    "The the",
			want:    []string{"[UNK]", "the"},
			size:    40,
		},
		{
			name:    "normalizer defaults",
			content: replaceOnce(t, base, `"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true`, `"type": "BertNormalizer"`),
			text:    "CAFÉ 中文",
			want:    []string{"cafe", "中", "文"},
			size:    40,
		},
		{
			name:    "BertProcessing",
			content: replaceOnce(t, base, `"type": "TemplateProcessing",`, `"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2],`),
			text:    "hello",
			want:    []string{"hello"},
			size:    40,
		},
		{
			name:    "model without type",
			content: replaceOnce(t, base, "\"model\": {\n    \"type\": \"WordPiece\",", "\"model\": {"),
			text:    "hello",
			want:    []string{"hello"},
			size:    40,
		},
		{
			name:    "small max_input_chars_per_word",
			content: replaceOnce(t, base, `"max_input_chars_per_word": 100`, `"max_input_chars_per_word": 4`),
			text:    "play playing",
			want:    []string{"play", "[UNK]"},
			size:    40,
		},
		{
			// Added tokens past the vocabulary extend it. "<ent>" swallows
			// the spaces around it (lstrip, rstrip); "xyz" only matches a
			// whole word, so "axyz" stays one word, which WordPiece cannot
			// split ("##xyz" is absent); "Hello World" is matched after
			// normalization, so "HELLO world" matches it.
			name: "added tokens",
			content: replaceOnce(t, base, `{"id": 4, "content": "[MASK]"`,
				`{"id": 41, "content": "xyz", "single_word": true}, `+
					`{"id": 40, "content": "<ent>", "lstrip": true, "rstrip": true}, `+
					`{"id": 42, "content": "Hello World", "normalized": true}, `+
					`{"id": 4, "content": "[MASK]"`),
			text: "the <ent> movie xyz axyz HELLO world",
			want: []string{"the", "<ent>", "movie", "xyz", "[UNK]", "Hello World"},
			size: 43,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk, err := LoadTokenizerJSON(writeFile(t, dir, "tokenizer.json", c.content))
			if err != nil {
				t.Fatal(err)
			}
			if got := tk.Tokenize(c.text); !slices.Equal(got, c.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", c.text, got, c.want)
			}
			if tk.VocabSize() != c.size {
				t.Errorf("VocabSize = %d, want %d", tk.VocabSize(), c.size)
			}
			if tk.CLSID() != 2 || tk.SEPID() != 3 || tk.PadID() != 0 || tk.UNKID() != 1 || tk.MaskID() != 4 {
				t.Errorf("special ids %d %d %d %d %d", tk.CLSID(), tk.SEPID(), tk.PadID(), tk.UNKID(), tk.MaskID())
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	vocabTxt := strings.Join(smallVocab, "\n") + "\n"
	cased := replaceOnce(t, smallTokenizerJSON, `"lowercase": true`, `"lowercase": false`)
	for _, c := range []struct {
		name      string
		files     map[string]string
		lowercase bool
		strip     bool
		wantErr   error
		wantMsg   string
	}{
		{"tokenizer.json preferred", map[string]string{TokenizerJSONFile: cased, VocabFile: vocabTxt}, false, false, nil, ""},
		{"vocab.txt alone", map[string]string{VocabFile: vocabTxt}, true, true, nil, ""},
		{"do_lower_case false", map[string]string{VocabFile: vocabTxt, TokenizerConfigFile: `{"do_lower_case": false}`}, false, false, nil, ""},
		{"strip_accents false", map[string]string{VocabFile: vocabTxt, TokenizerConfigFile: `{"do_lower_case": true, "strip_accents": false}`}, true, false, nil, ""},
		{"bad tokenizer_config.json", map[string]string{VocabFile: vocabTxt, TokenizerConfigFile: "{\n  \"do_lower_case\": nope\n}"}, false, false, ErrInvalidVocab, "tokenizer_config.json: line 2 column"},
		{"nothing", map[string]string{}, false, false, ErrNoVocab, "no tokenizer.json or vocab.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				writeFile(t, dir, name, content)
			}
			tk, err := Load(dir)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.wantMsg) {
					t.Fatalf("Load: %v, want %v containing %q", err, c.wantErr, c.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := tk.Options()
			if o.Lowercase != c.lowercase || o.stripAccents() != c.strip {
				t.Errorf("Lowercase %v strip %v, want %v %v", o.Lowercase, o.stripAccents(), c.lowercase, c.strip)
			}
		})
	}
}

func TestLoadRealDir(t *testing.T) {
	dir := realVocabDir(t)
	tk, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Encode("Hello world", "", 0).IDs; !slices.Equal(got, []int32{idCLS, 7592, 2088, idSEP}) {
		t.Errorf("Encode = %v", got)
	}
}

func TestParseVocabRefusesHugeTokens(t *testing.T) {
	data := []byte("[PAD]\n[UNK]\n" + strings.Repeat("a", MaxTokenBytes+1) + "\n")
	if _, err := parseVocab(data); !errors.Is(err, ErrInvalidVocab) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("got %v, want ErrInvalidVocab naming line 3", err)
	}
	if v, err := parseVocab([]byte("[PAD]\n" + strings.Repeat("a", MaxTokenBytes) + "\n")); err != nil || len(v) != 2 {
		t.Fatalf("a token of MaxTokenBytes: %v, %v", len(v), err)
	}
}
