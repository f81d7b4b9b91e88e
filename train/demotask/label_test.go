package demotask

import (
	"errors"
	"strings"
	"testing"
)

// labelCases are hand-written sentences of every construction with the
// label the grammar gives them (doc.go quotes several).
var labelCases = []struct {
	name, text string
	label      int
}{
	// simple
	{"adjective", "the plot is clever", 1},
	{"intensifier keeps polarity", "the acting was extremely dull", 0},
	{"full of", "the script is full of cliches", 0},
	{"subject with work", "the ending of the sequel was superb", 1},
	{"neutral frame", "critics say that the movie is wonderful", 1},
	{"opener", "to be honest , the pacing is tedious", 0},
	// negation
	{"not", "the plot is not clever", 0},
	{"not very", "the acting is not very dull", 1},
	{"no longer", "the cast is no longer charming", 0},
	{"hardly", "the soundtrack was hardly awful", 1},
	{"without", "the film is without charm", 0},
	{"not without", "the film is not without charm", 1},
	{"without flaws", "the script is without flaws", 1},
	{"not without flaws", "the script is never without flaws", 0},
	{"negating frame", "i doubt that the plot is clever", 0},
	{"it is not that", "it is not that the film is bad", 1},
	{"frame and negator", "it is not true that the ending is not moving", 1},
	{"frame and without", "nobody thinks that the movie is without heart", 1},
	// comparative
	{"more", "the plot is more clever than dull", 1},
	{"more swapped", "the plot is more dull than clever", 0},
	{"less", "the plot is less clever than dull", 0},
	{"less swapped", "the plot is less dull than clever", 1},
	// not A but B
	{"not but", "the cast is not brilliant but very predictable", 0},
	{"not but swapped", "the cast is not very predictable but brilliant", 1},
	// contrast: the second clause decides
	{"but", "the plot is clever but the acting is dull", 0},
	{"but swapped", "the acting is dull but the plot is clever", 1},
	{"but negator moved", "the plot is not clever but the acting is clever", 1},
	{"but negator moved back", "the plot is clever but the acting is not clever", 0},
	{"however", "the plot is clever ; however , the acting is dull", 0},
	{"and yet", "frankly , the music is awful , and yet the editing is superb", 1},
	{"frame in second clause", "the plot is dull , but i doubt that the acting is bad", 1},
	// concession: the clause after the comma decides when the concessive
	// opens the sentence, the first clause when it follows the comma
	{"although prefix", "although the plot is clever , the acting is dull", 0},
	{"although infix", "the plot is clever , although the acting is dull", 1},
	{"despite prefix", "despite the fact that the cast is weak , the story is gripping", 1},
	{"despite infix", "the cast is weak , despite the fact that the story is gripping", 0},
	{"even if with frame", "even if it is false that the plot is dull , the acting is poor", 0},
	{"frame on infix main clause", "i doubt that the plot is dull , even though the acting is poor", 1},
	{"moved frame", "though the plot is dull , nobody thinks that the acting is dull", 1},
	// case and spacing are normalized
	{"upper case and spaces", "  The PLOT is   NOT clever ", 0},
}

func TestLabel(t *testing.T) {
	for _, tc := range labelCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Label(tc.text)
			if err != nil {
				t.Fatalf("Label(%q): %v", tc.text, err)
			}
			if got != tc.label {
				t.Errorf("Label(%q) = %d, want %d", tc.text, got, tc.label)
			}
		})
	}
}

func TestLabelErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, msg string
	}{
		{"empty", "", "empty"},
		{"blank", " \t ", "empty"},
		{"unknown word", "the plot is groovy", "an adjective"},
		{"no subject", "plot is good", `"the"`},
		{"whole noun with work", "the film of the sequel is good", "a copula"},
		{"missing copula", "the plot good", "a copula"},
		{"trailing words", "the plot is good indeed", "a connective"},
		{"punctuation glued", "the plot is good, but the cast is bad", "an adjective"},
		{"same polarity contrast", "the plot is good but the cast is great", "same polarity"},
		{"same polarity concession", "although the plot is bad , the cast is dull", "same polarity"},
		{"frame before contrast", "i doubt that the plot is good but the cast is bad", "ambiguous"},
		{"comparative same polarity", "the plot is more good than great", "same polarity"},
		{"not but same polarity", "the plot is not good but great", "same polarity"},
		{"comparative in second clause", "the plot is bad but the cast is more good than bad", "a predicate"},
		{"framed comparative", "i think that the plot is more good than bad", "a predicate"},
		{"not but after never", "the plot is never good but bad", `"the" or a frame`},
		{"concession without comma", "although the plot is good the cast is bad", `","`},
		{"dangling connective", "the plot is good but", `"the" or a frame`},
		{"intensifier on noun", "the plot is full of very charm", "a polar noun"},
		{"two negators", "the plot is not never good", "an adjective"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Label(tc.text)
			if !errors.Is(err, ErrNotInGrammar) {
				t.Fatalf("Label(%q) = %d, %v; want ErrNotInGrammar", tc.text, got, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func FuzzLabel(f *testing.F) {
	for _, tc := range labelCases {
		f.Add(tc.text)
	}
	f.Add("the plot is good but")
	f.Add("although , ,")
	f.Add("it is not that it is not that the plot is good")
	f.Add("the \xff plot is good")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := Label(text)
		if err != nil {
			if !errors.Is(err, ErrNotInGrammar) {
				t.Fatalf("Label(%q): error %v does not wrap ErrNotInGrammar", text, err)
			}
			return
		}
		if got != 0 && got != 1 {
			t.Fatalf("Label(%q) = %d", text, got)
		}
		// A sentence of the grammar is made of lexicon words only.
		lex := set(lexicon)
		for _, w := range strings.Fields(strings.ToLower(text)) {
			if !lex[w] {
				t.Fatalf("Label(%q) accepted %q, which is not in the lexicon", text, w)
			}
		}
	})
}

func BenchmarkLabel(b *testing.B) {
	_, dev, err := Generate(Config{Seed: 1, Train: 1, Dev: 1000})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := Label(dev[i%len(dev)].Text); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
