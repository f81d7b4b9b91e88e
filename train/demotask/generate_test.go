package demotask

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// defaultSplits generates the Default() splits once per test binary.
var defaultSplits = func() func(t testing.TB) (train, dev []Example) {
	var train, dev []Example
	var err error
	done := false
	return func(t testing.TB) ([]Example, []Example) {
		t.Helper()
		if !done {
			train, dev, err = Generate(Default())
			done = true
		}
		if err != nil {
			t.Fatalf("Generate(Default()): %v", err)
		}
		return train, dev
	}
}()

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func small(seed uint64) Config { return Config{Seed: seed, Train: 2000, Dev: 500} }

func TestGenerateDeterministic(t *testing.T) {
	train1, dev1, err := Generate(small(7))
	if err != nil {
		t.Fatal(err)
	}
	train2, dev2, err := Generate(small(7))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(train1, train2) || !reflect.DeepEqual(dev1, dev2) {
		t.Error("the same Config gave different splits")
	}
	train3, dev3, err := Generate(small(8))
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(train1, train3) || reflect.DeepEqual(dev1, dev3) {
		t.Error("seeds 7 and 8 gave the same splits")
	}
	same := 0
	for i := range dev1 {
		if dev1[i].Text == dev3[i].Text {
			same++
		}
	}
	if same > len(dev1)/20 {
		t.Errorf("seeds 7 and 8: %d of %d dev texts equal at the same index", same, len(dev1))
	}

	t.Run("dev does not depend on Train", func(t *testing.T) {
		cfg := small(7)
		cfg.Train = 300
		_, dev4, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(dev1, dev4) {
			t.Error("changing Train changed the dev split")
		}
	})
	t.Run("zero config is Default", func(t *testing.T) {
		train, dev := defaultSplits(t)
		train0, dev0, err := Generate(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(train, train0) || !reflect.DeepEqual(dev, dev0) {
			t.Error("Generate(Config{}) differs from Generate(Default())")
		}
	})
}

func TestGenerateSizesAndBalance(t *testing.T) {
	train, dev := defaultSplits(t)
	d := Default()
	for _, tc := range []struct {
		name string
		ex   []Example
		n    int
	}{{"train", train, d.Train}, {"dev", dev, d.Dev}} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.ex) != tc.n {
				t.Fatalf("%d examples, want %d", len(tc.ex), tc.n)
			}
			pos := 0
			perKind := make(map[Kind][2]int)
			for _, e := range tc.ex {
				if e.Label != 0 && e.Label != 1 {
					t.Fatalf("label %d in %q", e.Label, e.Text)
				}
				pos += e.Label
				c := perKind[e.Kind]
				c[e.Label]++
				perKind[e.Kind] = c
			}
			if pos != tc.n/2 { // ⌈n/2⌉ negative
				t.Errorf("%d positive of %d, want %d", pos, tc.n, tc.n/2)
			}
			// The first half of the examples (in generation order) are not
			// all of one label: the split is shuffled.
			firstHalf := 0
			for _, e := range tc.ex[:tc.n/2] {
				firstHalf += e.Label
			}
			if math.Abs(float64(firstHalf)/float64(tc.n/2)-0.5) > 0.05 {
				t.Errorf("first half has %d positive of %d: not shuffled?", firstHalf, tc.n/2)
			}
			mix := DefaultMix()
			for _, k := range Kinds() {
				c := perKind[k]
				share := float64(c[0]+c[1]) / float64(tc.n)
				if math.Abs(share-mix[k]) > 0.025 {
					t.Errorf("%s: share %.3f, want %.2f", k, share, mix[k])
				}
				if c[0]-c[1] > 1 || c[1]-c[0] > 1 {
					t.Errorf("%s: %d negative and %d positive", k, c[0], c[1])
				}
				t.Logf("%-12s %5d examples, %5d negative, %5d positive", k, c[0]+c[1], c[0], c[1])
			}
		})
	}
}

func TestGenerateDistinct(t *testing.T) {
	train, dev := defaultSplits(t)
	seen := make(map[string]string)
	for _, s := range []struct {
		name string
		ex   []Example
	}{{"train", train}, {"dev", dev}} {
		for i, e := range s.ex {
			where := s.name + "[" + strconv.Itoa(i) + "]"
			if prev, ok := seen[e.Text]; ok {
				t.Fatalf("%s and %s are both %q", prev, where, e.Text)
			}
			seen[e.Text] = where
		}
	}
}

// TestOracle checks that the label of every generated example is the one
// Label computes from its text.
func TestOracle(t *testing.T) {
	train, dev := defaultSplits(t)
	bad := 0
	for _, e := range slices.Concat(train, dev) {
		got, err := Label(e.Text)
		if err != nil || got != e.Label {
			bad++
			if bad <= 10 {
				t.Errorf("Label(%q) = %d, %v; generated with %d (%s)", e.Text, got, err, e.Label, e.Kind)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d examples disagree with the oracle", bad)
	}
}

// TestTwins checks the property that defeats bag-of-words models: for every
// drawn content of a twinned construction, the two variants have the same
// multiset of tokens and opposite labels.
func TestTwins(t *testing.T) {
	for _, k := range Kinds() {
		draw, ok := twinKinds[k]
		if !ok {
			continue
		}
		t.Run(k.String(), func(t *testing.T) {
			r := newRand(uint64(k))
			for range 3000 {
				tw := draw(r)
				a, b := tw[0], tw[1]
				if a.label == b.label {
					t.Fatalf("twins with the same label %d: %q, %q", a.label, join(a), join(b))
				}
				ma, mb := slices.Sorted(slices.Values(a.toks)), slices.Sorted(slices.Values(b.toks))
				if !slices.Equal(ma, mb) {
					t.Fatalf("twins with different words: %q, %q", join(a), join(b))
				}
				for _, s := range tw {
					if got, err := Label(join(s)); err != nil || got != s.label {
						t.Fatalf("Label(%q) = %d, %v; built with %d", join(s), got, err, s.label)
					}
				}
			}
		})
	}
}

func join(s sentence) string { return strings.Join(s.toks, " ") }

func TestLexicon(t *testing.T) {
	lex := Lexicon()
	if !slices.IsSorted(lex) || len(slices.Compact(slices.Clone(lex))) != len(lex) {
		t.Fatal("Lexicon is not sorted and unique")
	}
	in := set(lex)
	for _, w := range lex {
		if w != strings.ToLower(w) || strings.ContainsAny(w, " \t\n") || w == "" {
			t.Errorf("lexicon entry %q is not one lower-case token", w)
		}
	}
	train, dev := defaultSplits(t)
	used := make(map[string]bool)
	for _, e := range slices.Concat(train, dev) {
		if e.Text != strings.Join(strings.Fields(e.Text), " ") {
			t.Fatalf("%q is not tokens joined by single spaces", e.Text)
		}
		for _, w := range strings.Fields(e.Text) {
			if !in[w] {
				t.Fatalf("%q in %q is not in Lexicon()", w, e.Text)
			}
			used[w] = true
		}
	}
	for _, w := range lex {
		if !used[w] {
			t.Errorf("lexicon word %q never occurs in the Default() splits", w)
		}
	}
	lex[0] = "changed"
	if Lexicon()[0] == "changed" {
		t.Error("Lexicon returns its internal slice")
	}
}

// TestWordClassesDisjoint guards the parser: a word of one class must never
// be readable as a word of another at the same place.
func TestWordClassesDisjoint(t *testing.T) {
	classes := map[string][]string{
		"subject":   slices.Concat(wholeNouns, partNouns),
		"copula":    copulas,
		"intensity": intensifiers,
		"adjective": slices.Concat(posAdjectives, negAdjectives),
		"polarNoun": slices.Concat(posNouns, negNouns),
		"negator":   {"not", "never", "hardly", "no"},
		"fixed":     {"the", "of", "full", "without", "more", "less", "than", "but", ","},
	}
	owner := make(map[string]string)
	for _, name := range slices.Sorted(maps.Keys(classes)) {
		for _, w := range classes[name] {
			if prev, ok := owner[w]; ok {
				t.Errorf("%q is both %s and %s", w, prev, name)
			}
			owner[w] = name
		}
	}
}

func TestMaxWords(t *testing.T) {
	cfg := Config{Seed: 3, Train: 3000, Dev: 300, MaxWords: MinMaxWords}
	train, dev, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kinds := make(map[Kind]int)
	for _, e := range slices.Concat(train, dev) {
		if n := len(strings.Fields(e.Text)); n > cfg.MaxWords {
			t.Fatalf("%q has %d tokens, more than %d", e.Text, n, cfg.MaxWords)
		}
		kinds[e.Kind]++
	}
	for _, k := range Kinds() {
		if kinds[k] == 0 {
			t.Errorf("no %s example fits %d tokens", k, cfg.MaxWords)
		}
	}
}

func TestMix(t *testing.T) {
	cfg := small(5)
	cfg.Mix = map[Kind]float64{KindContrast: 1, KindNotBut: 3}
	train, _, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := make(map[Kind]int)
	for _, e := range train {
		n[e.Kind]++
	}
	if n[KindContrast]+n[KindNotBut] != len(train) {
		t.Fatalf("kinds %v, want only contrast and not-but", n)
	}
	if share := float64(n[KindNotBut]) / float64(len(train)); math.Abs(share-0.75) > 0.04 {
		t.Errorf("not-but share %.3f, want 0.75", share)
	}
}

func TestGenerateExhausted(t *testing.T) {
	// Below MinMaxWords on purpose: only "the N is|was ADJ" fits, about 600
	// sentences per label.
	g := newGenerator(Config{MaxWords: 4, Mix: map[Kind]float64{KindSimple: 1}})
	_, err := g.split(newRand(1), 2000, make(map[string]struct{}))
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrExhausted", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		fields []string // the fields with problems; none means valid
	}{
		{"zero", Config{}, nil},
		{"default", Default(), nil},
		{"negative sizes", Config{Train: -1, Dev: -2}, []string{"Train", "Dev"}},
		{"too many", Config{Train: MaxExamples, Dev: 1}, []string{"Train+Dev"}},
		{"max words low", Config{MaxWords: MinMaxWords - 1}, []string{"MaxWords"}},
		{"max words high", Config{MaxWords: MaxMaxWords + 1}, []string{"MaxWords"}},
		{"mix negative", Config{Mix: map[Kind]float64{KindSimple: -1, KindNegation: 1}}, []string{"Mix[simple]"}},
		{"mix NaN", Config{Mix: map[Kind]float64{KindSimple: math.NaN(), KindNegation: 1}}, []string{"Mix[simple]"}},
		{"mix unknown kind", Config{Mix: map[Kind]float64{Kind(42): 1, KindSimple: 1}}, []string{"Mix[Kind(42)]"}},
		{"mix empty", Config{Mix: map[Kind]float64{}}, []string{"Mix"}},
		{"mix overflow", Config{Mix: map[Kind]float64{KindSimple: math.MaxFloat64, KindNegation: math.MaxFloat64}}, []string{"Mix"}},
		{"everything at once", Config{Train: -1, MaxWords: 3, Mix: map[Kind]float64{KindSimple: -1}},
			[]string{"Train", "MaxWords", "Mix[simple]", "Mix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, err)
			}
			if _, _, gerr := Generate(tc.cfg); !errors.Is(gerr, ErrInvalidConfig) {
				t.Errorf("Generate accepted an invalid Config: %v", gerr)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.String())
	}
	want := []string{"simple", "negation", "comparative", "not-but", "contrast", "concession"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if s := Kind(-1).String(); s != "Kind(-1)" {
		t.Errorf("Kind(-1).String() = %q", s)
	}
	if l := Labels(); !slices.Equal(l, []string{"negative", "positive"}) {
		t.Errorf("Labels() = %v", l)
	}
}

// TestGolden pins the first dev examples of Default(): a change in the
// generator shows up here (and means demo teachers must be retrained).
// Update with: go test -run TestGolden -update
func TestGolden(t *testing.T) {
	_, dev := defaultSplits(t)
	var buf bytes.Buffer
	if err := WriteTSV(&buf, dev[:60]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "default_dev_head.tsv")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("the Default() dev split changed; diff against %s (run with -update if intended)\ngot:\n%s", path, buf.String())
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, Train: 10000, Dev: 1000}
	for b.Loop() {
		if _, _, err := Generate(cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(cfg.Train+cfg.Dev), "ns/example")
}
