package train

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

func TestParseTSV(t *testing.T) {
	cases := []struct {
		name, in string
		want     []Example
		err      string // substring of the error; "" for none
	}{
		{"glue", "sentence\tlabel\nit 's good . \t1\nbad\t0\n", []Example{{Text: "it 's good .", Label: 1}, {Text: "bad", Label: 0}}, ""},
		{"text header, crlf, no final newline", "text\tlabel\r\na\t0\r\nb\t1", []Example{{Text: "a", Label: 0}, {Text: "b", Label: 1}}, ""},
		{"label first", "label\tsentence\n1\tfine\n", []Example{{Text: "fine", Label: 1}}, ""},
		{"extra columns", "id\tsentence\tlabel\n7\tx\t1\n", []Example{{Text: "x", Label: 1}}, ""},
		{"header only", "sentence\tlabel\n", nil, ""},
		{"empty", "", nil, "f.tsv:1: empty file"},
		{"no label column", "sentence\tscore\nx\t1\n", nil, "f.tsv:1: header"},
		{"too many columns", "sentence\tlabel\na\t1\nb\t0\textra\n", nil, "f.tsv:3: 3 tab-separated columns, want 2"},
		{"too few columns", "sentence\tlabel\na\t1\n\n", nil, "f.tsv:3: 1 tab-separated columns"},
		{"unknown label", "sentence\tlabel\na\t1\nb\t2\n", nil, `f.tsv:3: label "2": want an integer in [0, 2)`},
		{"word label", "sentence\tlabel\na\tpositive\n", nil, `f.tsv:2: label "positive"`},
		{"negative label", "sentence\tlabel\na\t-1\n", nil, `label "-1"`},
		{"empty text", "sentence\tlabel\n  \t1\n", nil, "f.tsv:2: empty text"},
		{"pairs", "sentence1\tsentence2\tlabel\na\tb\t1\n", []Example{{Text: "a", Pair: "b", Label: 1}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTSV(strings.NewReader(tc.in), "f.tsv", 2)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrData) {
					t.Fatalf("error %v, want %q wrapping ErrData", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseUnlabelled(t *testing.T) {
	got, err := ParseTSV(strings.NewReader("sentence\nfine\n"), "f.tsv", 0)
	if err != nil || !slices.Equal(got, []Example{{Text: "fine", Label: Unlabelled}}) {
		t.Fatalf("TSV without labels: %v, %v", got, err)
	}
	got, err = ParseJSONL(strings.NewReader("{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\"}\n"), "f.jsonl", 0)
	if err != nil || !slices.Equal(got, []Example{{Text: "a", Label: Unlabelled}, {Text: "b", Label: Unlabelled}}) {
		t.Fatalf("JSONL without labels: %v, %v", got, err)
	}
}

func TestParseJSONL(t *testing.T) {
	got, err := ParseJSONL(strings.NewReader("{\"text\": \" a \", \"text_pair\": \"b\", \"label\": 1}\n{\"text\": \"c\", \"label\": 0}\n"), "f.jsonl", 2)
	if err != nil || !slices.Equal(got, []Example{{Text: "a", Pair: "b", Label: 1}, {Text: "c", Label: 0}}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, tc := range []struct{ in, err string }{
		{"{\"text\": \"a\"}\n", "f.jsonl:1: label none"},
		{"{\"text\": \"a\", \"label\": 2}\n", "f.jsonl:1: label 2"},
		{"\n{\"txt\": \"a\", \"label\": 0}\n", "f.jsonl:2: json: unknown field"},
		{"{\"text\": \"\", \"label\": 0}\n", "non-empty"},
		{"{\"text\": \"a\", \"label\": 0} {}\n", "more than one"},
		{"[1]\n", "f.jsonl:1"},
	} {
		if _, err := ParseJSONL(strings.NewReader(tc.in), "f.jsonl", 2); err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrData) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
	if _, err := ReadExamples("x.csv", 2); err == nil || !strings.Contains(err.Error(), "want a .tsv or .jsonl") {
		t.Errorf("csv: %v", err)
	}
}

func FuzzParseJSONL(f *testing.F) {
	f.Add([]byte("{\"text\": \"a\", \"text_pair\": \"b\", \"label\": 1}\n"))
	f.Add([]byte("{\"text\": \"a\"}\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := ParseJSONL(bytes.NewReader(data), "f.jsonl", 3)
		if err != nil {
			return
		}
		for _, e := range ex {
			if e.Label < 0 || e.Label >= 3 || e.Text == "" {
				t.Fatalf("accepted %+v", e)
			}
		}
		// What WriteJSONL writes of the examples reads back as them.
		var b bytes.Buffer
		if err := WriteJSONL(&b, ex); err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSONL(&b, "back.jsonl", 3)
		if err != nil || !slices.Equal(back, ex) {
			t.Fatalf("written %+v, read back %+v (%v)", ex, back, err)
		}
	})
}

func TestWriteJSONL(t *testing.T) {
	for _, c := range []struct {
		name      string
		numLabels int
		ex        []Example
		want      string
	}{
		{"labelled", 2, []Example{{Text: "a <b> & c", Label: 1}, {Text: "d\te\"f\"", Label: 0}},
			"{\"text\":\"a <b> & c\",\"label\":1}\n{\"text\":\"d\\te\\\"f\\\"\",\"label\":0}\n"},
		{"pair", 3, []Example{{Text: "x", Pair: "y", Label: 2}}, "{\"text\":\"x\",\"text_pair\":\"y\",\"label\":2}\n"},
		{"unlabelled", 0, []Example{{Text: "z", Label: Unlabelled}}, "{\"text\":\"z\"}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSONL(&b, c.ex); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Errorf("wrote %q, want %q", b.String(), c.want)
			}
			back, err := ParseJSONL(&b, "w.jsonl", c.numLabels)
			if err != nil || !slices.Equal(back, c.ex) {
				t.Errorf("read back %+v (%v), want %+v", back, err, c.ex)
			}
		})
	}
}

func TestReadTSVFileErrors(t *testing.T) {
	if _, err := ReadTSV(filepath.Join(t.TempDir(), "missing.tsv"), 2); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestReadSST2 reads the GLUE SST-2 splits from $EDGENAS_TESTDATA.
func TestReadSST2(t *testing.T) {
	dir := os.Getenv("EDGENAS_TESTDATA")
	if dir == "" {
		t.Skip("EDGENAS_TESTDATA not set: skipping the SST-2 test (needs sst2-glue/)")
	}
	dev, err := ReadTSV(filepath.Join(dir, "sst2-glue", "dev.tsv"), 2)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, e := range dev {
		pos += e.Label
	}
	if len(dev) != 872 || pos != 444 || dev[0].Text != "it 's a charming and often affecting journey ." {
		t.Fatalf("dev: %d examples, %d positive, first %q", len(dev), pos, dev[0].Text)
	}
	train, err := ReadTSV(filepath.Join(dir, "sst2-glue", "train.tsv"), 2)
	if err != nil || len(train) != 67349 {
		t.Fatalf("train: %d examples, %v", len(train), err)
	}
	// test.tsv has no labels (its columns are index and sentence).
	if _, err := ReadTSV(filepath.Join(dir, "sst2-glue", "test.tsv"), 2); err == nil || !strings.Contains(err.Error(), "test.tsv:2: label") {
		t.Fatalf("test.tsv: %v", err)
	}
}

func FuzzReadTSV(f *testing.F) {
	f.Add("sentence\tlabel\na b\t1\n", 2)
	f.Add("text\tlabel\r\nx\t0\r\n", 2)
	f.Add("label\tsentence\n3\ty\n", 4)
	f.Add("sentence\tlabel\na\t1\tb\n", 2)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, in string, labels int) {
		ex, err := ParseTSV(strings.NewReader(in), "fuzz.tsv", labels)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.tsv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, e := range ex {
			labelOK := e.Label >= 0 && e.Label < labels || labels == 0 && e.Label == Unlabelled
			if !labelOK || e.Text == "" || e.Text != strings.TrimSpace(e.Text) || strings.ContainsAny(e.Text+e.Pair, "\t\n") {
				t.Fatalf("bad example %+v", e)
			}
		}
	})
}

func demoTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.New(DemoVocab(), tokenizer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestDemoVocabKeepsWordsWhole(t *testing.T) {
	tok := demoTokenizer(t)
	train, dev, err := DemoExamples((&DemoData{Seed: 2, Train: 300, Dev: 50}).Generator())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(train, dev...) {
		words := strings.Fields(e.Text)
		if toks := tok.Tokenize(e.Text); !slices.Equal(toks, words) {
			t.Fatalf("%q tokenizes to %v", e.Text, toks)
		}
	}
}

func TestPlan(t *testing.T) {
	tok := demoTokenizer(t)
	train, _, err := DemoExamples((&DemoData{Seed: 2, Train: 1000, Dev: 10}).Generator())
	if err != nil {
		t.Fatal(err)
	}
	d := NewDataset(tok, train, 64)
	plan := func(seed uint64) [][]int { return d.Plan(rand.New(rand.NewPCG(seed, 1)), 16) }
	a, b, c := plan(1), plan(1), plan(2)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Fatal("same seed, different plans")
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Fatal("different seeds, same plan")
	}
	// Every example exactly once; batches of 16 but one; lengths bucketed.
	seen := make([]int, d.Len())
	short := 0
	padding, unsorted := 0, 0
	for _, batch := range a {
		if len(batch) != 16 {
			short++
		}
		lmax := 0
		for _, i := range batch {
			seen[i]++
			lmax = max(lmax, d.Tokens(i))
		}
		for _, i := range batch {
			padding += lmax - d.Tokens(i)
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("example %d in %d batches", i, n)
		}
	}
	if short != 1 || len(a) != 63 {
		t.Errorf("%d batches, %d short; want 63 and 1", len(a), short)
	}
	// Unbucketed batches of a random permutation pad far more.
	perm := rand.New(rand.NewPCG(1, 1)).Perm(d.Len())
	for lo := 0; lo < len(perm); lo += 16 {
		batch := perm[lo:min(lo+16, len(perm))]
		lmax := 0
		for _, i := range batch {
			lmax = max(lmax, d.Tokens(i))
		}
		for _, i := range batch {
			unsorted += lmax - d.Tokens(i)
		}
	}
	if padding*3 > unsorted {
		t.Errorf("bucketed padding %d tokens, unbucketed %d: want at most a third", padding, unsorted)
	}
	// A batch pads to its longest row and keeps labels aligned.
	bt := d.Batch(a[0])
	if err := bt.Tokens.Validate(); err != nil || len(bt.Labels) != bt.Tokens.Size {
		t.Fatal(err)
	}
	for k, i := range a[0] {
		if bt.Labels[k] != train[i].Label || bt.Tokens.Lengths[k] != d.Tokens(i) {
			t.Fatalf("row %d misaligned", k)
		}
	}
}

func TestTruncation(t *testing.T) {
	tok := demoTokenizer(t)
	d := NewDataset(tok, []Example{{Text: strings.Repeat("good ", 50), Label: 1}}, 10)
	if d.Tokens(0) != 10 {
		t.Fatalf("%d tokens, want 10", d.Tokens(0))
	}
}

// TestHeaderOnlyDataNamesTheFile: a data file with a header and no
// examples is an error naming the file and the field.
func TestHeaderOnlyDataNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "header-only.tsv")
	good := filepath.Join(dir, "dev.tsv")
	os.WriteFile(empty, []byte("sentence\tlabel\n"), 0o644)
	os.WriteFile(good, []byte("sentence\tlabel\na fine film\t1\n"), 0o644)
	c := Config{}
	c.Data.Train, c.Data.Dev, c.Data.NumLabels = empty, good, 2
	_, _, _, err := loadData(c)
	if !errors.Is(err, ErrData) || !strings.Contains(err.Error(), "data.train: "+empty) {
		t.Fatalf("got %v, want ErrData naming data.train and %s", err, empty)
	}
}
