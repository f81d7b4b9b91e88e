package transformer

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSessionThreadsIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m, err := NewRandom(heteroConfig(), rng, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	b := testBatch(randomRows(rng, m.Config.VocabSize, 13, 5, 1, 9))
	ref, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{2, 3, 7} {
		out, err := m.NewSession(threads).Run(b)
		if err != nil {
			t.Fatal(err)
		}
		for name, pair := range map[string][2][]float32{
			"last_hidden": {ref.LastHidden, out.LastHidden},
			"pooled":      {ref.Pooled, out.Pooled},
			"logits":      {ref.Logits, out.Logits},
		} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("threads=%d: %s[%d] = %v, single thread %v", threads, name, i, pair[1][i], pair[0][i])
				}
			}
		}
	}
}

func TestSessionAllocatesNothingInSteadyState(t *testing.T) {
	cfg, err := ShapeConfig("tiny", 500)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession(1)
	b := fullBatch(2, 24, cfg.VocabSize)
	if _, err := s.Run(b); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(5, func() {
		if _, err := s.Run(b); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("%v allocations per forward pass", allocs)
	}
}

func TestPrepareAfterWeightChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	m, err := NewRandom(tinyConfig(), rng, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	b := testBatch(randomRows(rng, m.Config.VocabSize, 6))
	before, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Layers[0].Inter.W {
		m.Layers[0].Inter.W[i] *= -1
	}
	m.Prepare()
	after, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	_, _, logits := refForward(m, b.IDs[:6], b.TypeIDs[:6])
	if d := maxAbsDiff(after.Logits, logits); d > 1e-4 {
		t.Fatalf("after Prepare the model differs from the reference by %g", d)
	}
	if before.Logits[0] == after.Logits[0] {
		t.Fatal("changed weights left the logits unchanged")
	}
}
