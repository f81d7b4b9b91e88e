package demotask

import (
	"testing"
)

func byKind(ex []Example, keep func(Kind) bool) []Example {
	var out []Example
	for _, e := range ex {
		if keep(e.Kind) {
			out = append(out, e)
		}
	}
	return out
}

// TestBoWBaseline measures the order-blind baseline on the Default() splits:
// it must learn the word-level signal (above chance) but not the composition.
func TestBoWBaseline(t *testing.T) {
	train, dev := defaultSplits(t)
	b := TrainBoW(train, 0, 1)
	acc := b.Accuracy(dev)
	t.Logf("bag-of-words: train accuracy %.4f, dev accuracy %.4f", b.Accuracy(train), acc)
	if acc < 0.5 || acc > 0.75 {
		t.Errorf("bag-of-words dev accuracy %.4f, want within [0.50, 0.75]", acc)
	}
	for _, k := range Kinds() {
		sub := byKind(dev, func(x Kind) bool { return x == k })
		a := b.Accuracy(sub)
		t.Logf("  %-12s %4d dev examples: %.3f", k, len(sub), a)
		if _, twinned := twinKinds[k]; twinned && a > 0.6 {
			t.Errorf("%s: bag-of-words accuracy %.3f; twins should hold it near 0.5", k, a)
		}
	}
}

// TestBoWWorks proves the baseline itself is sound: on sentences whose label
// is one polar word (no negation, no contrast) it is nearly perfect.
func TestBoWWorks(t *testing.T) {
	train, dev := defaultSplits(t)
	simple := func(k Kind) bool { return k == KindSimple }
	b := TrainBoW(byKind(train, simple), 0, 1)
	acc := b.Accuracy(byKind(dev, simple))
	t.Logf("bag-of-words trained and tested on simple sentences: %.4f", acc)
	if acc < 0.95 {
		t.Errorf("accuracy %.4f on simple sentences, want >= 0.95", acc)
	}
}

func TestBoWDeterministic(t *testing.T) {
	train, _, err := Generate(small(2))
	if err != nil {
		t.Fatal(err)
	}
	a, b := TrainBoW(train, 3, 9), TrainBoW(train, 3, 9)
	if a.bias != b.bias || len(a.w) != len(b.w) {
		t.Fatal("two runs with the same seed differ")
	}
	for i := range a.w {
		if a.w[i] != b.w[i] {
			t.Fatal("two runs with the same seed differ")
		}
	}
	c := TrainBoW(train, 3, 10)
	if c.bias == a.bias {
		t.Error("seeds 9 and 10 gave the same model")
	}
}

func TestBoWEdgeCases(t *testing.T) {
	empty := TrainBoW(nil, 0, 1)
	if got := empty.Predict("the plot is good"); got != 0 {
		t.Errorf("untrained Predict = %d, want 0", got)
	}
	if got := empty.Accuracy(nil); got != 0 {
		t.Errorf("Accuracy(nil) = %v, want 0", got)
	}
	one := []Example{{Text: "the plot is good", Label: 1}, {Text: "the plot is bad", Label: 0}}
	b := TrainBoW(one, 50, 1)
	if b.Accuracy(one) != 1 {
		t.Error("cannot fit two examples")
	}
	if got := b.Predict("THE PLOT IS GOOD unknown words"); got != 1 {
		t.Errorf("Predict ignores case and unknown words badly: %d", got)
	}
}

func BenchmarkTrainBoW(b *testing.B) {
	train, _, err := Generate(Config{Seed: 1, Train: 5000, Dev: 1})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		TrainBoW(train, 1, 1)
	}
}
