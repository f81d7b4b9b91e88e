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
	for _, tc := range []struct {
		name string
		bits int
	}{
		{"fp32", 32},
		{"int8", 8}, // int8 attention remakes each head's weights in place
		{"int4", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ShapeConfig("tiny", 500)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: cfg.HeadSize()}
			for range cfg.NumHiddenLayers {
				cfg.Edgenas.Layers = append(cfg.Edgenas.Layers, LayerConfig{NumAttentionHeads: cfg.NumAttentionHeads,
					IntermediateSize: cfg.IntermediateSize, Bits: tc.bits})
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
		})
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

// TestLongSequenceMatchesReference runs sequences long enough for
// attention to split its queries into blocks (queryBlock), the last one
// partial, on one and on two threads, against the float64 reference.
func TestLongSequenceMatchesReference(t *testing.T) {
	cfg := tinyConfig()
	cfg.MaxPositionEmbeddings = 320
	T := 300
	if R := queryBlock(T); R >= T || T%R == 0 {
		t.Fatalf("queryBlock(%d) = %d: no partial block to test", T, R)
	}
	rng := rand.New(rand.NewPCG(15, 16))
	m, err := NewRandom(cfg, rng, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(rng, cfg.VocabSize, T, 211)
	b := testBatch(rows)
	for _, threads := range []int{1, 2} {
		out, err := m.NewSession(threads).Run(b)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i, r := range rows {
			types := b.TypeIDs[i*b.SeqLen : i*b.SeqLen+len(r)]
			hid, _, logits := refForward(m, r, types)
			for p := range r {
				got := out.LastHidden[(i*b.SeqLen+p)*out.Hidden : (i*b.SeqLen+p+1)*out.Hidden]
				worst = math.Max(worst, maxAbsDiff(got, hid[p]))
			}
			worst = math.Max(worst, maxAbsDiff(out.Logits[i*out.Labels:(i+1)*out.Labels], logits))
		}
		if worst > 1e-4 {
			t.Fatalf("threads=%d: engine differs from reference by %g > 1e-4", threads, worst)
		}
	}
}
