package transformer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// withBits returns c with every layer's weights stored in bits.
func withBits(c Config, bits int) Config {
	if c.Edgenas == nil {
		c.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: c.HeadSize()}
		for range c.NumHiddenLayers {
			c.Edgenas.Layers = append(c.Edgenas.Layers, LayerConfig{NumAttentionHeads: c.NumAttentionHeads, IntermediateSize: c.IntermediateSize})
		}
	}
	e := *c.Edgenas
	e.Layers = slices.Clone(e.Layers)
	for i := range e.Layers {
		e.Layers[i].Bits = bits
	}
	c.Edgenas = &e
	return c
}

// sessionCase is a model and a batch to run it on.
type sessionCase struct {
	name string
	m    *Model
	b    *tokenizer.Batch
}

// sessionCases are models and batches for the thread-count tests: the
// heterogeneous model at every precision, and BERT-tiny shapes (one with
// factorized, quantized word embeddings) with enough tokens that every
// step (activation quantization included) is split.
func sessionCases(t *testing.T) []sessionCase {
	tiny, err := ShapeConfig("tiny", 500)
	if err != nil {
		t.Fatal(err)
	}
	factorized := withBits(tiny, 32) // ALBERT-style word table, stored in 8 bits
	factorized.Edgenas.EmbeddingRank, factorized.Edgenas.EmbeddingBits = 32, 8
	var cases []sessionCase
	for _, bits := range []int{32, 8, 4} {
		for _, c := range []struct {
			name string
			cfg  Config
			rows func(rng *rand.Rand, vocab int) *tokenizer.Batch
		}{
			{"hetero", heteroConfig(), func(rng *rand.Rand, vocab int) *tokenizer.Batch {
				return testBatch(randomRows(rng, vocab, 13, 5, 1, 9))
			}},
			{"tiny", tiny, func(_ *rand.Rand, vocab int) *tokenizer.Batch { return fullBatch(2, 80, vocab) }},
			{"tiny-factorized", factorized, func(_ *rand.Rand, vocab int) *tokenizer.Batch { return fullBatch(2, 80, vocab) }},
		} {
			rng := rand.New(rand.NewPCG(11, 12))
			m, err := NewRandom(withBits(c.cfg, bits), rng, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, sessionCase{fmt.Sprintf("%s/bits%d", c.name, bits), m, c.rows(rng, m.Config.VocabSize)})
		}
	}
	// Layers whose steps after attention run by row blocks
	// (Session.tail): quantized low-rank, then full
	// rank, each computing the next layer's Q|K|V when that is one
	// quantized product; float full-rank and low-rank layers between them.
	mixed := tiny
	mixed.NumHiddenLayers = 5
	mixed.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: tiny.HeadSize()}
	for _, l := range []LayerConfig{{AttentionRank: 16, FFNRank: 24, Bits: 8}, {Bits: 8}, {Bits: 32}, {AttentionRank: 16, FFNRank: 24, Bits: 32}, {Bits: 4}} {
		l.NumAttentionHeads, l.IntermediateSize = tiny.NumAttentionHeads, tiny.IntermediateSize
		mixed.Edgenas.Layers = append(mixed.Edgenas.Layers, l)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	m, err := NewRandom(mixed, rng, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	// The same layers on one short sequence, fewer rows than one row
	// block per thread: float layers split their products over the
	// threads, quantized ones run whole on the calling thread.
	return append(cases, sessionCase{"mixed", m, fullBatch(2, 80, m.Config.VocabSize)},
		sessionCase{"mixed-short", m, fullBatch(1, 21, m.Config.VocabSize)})
}

func TestSessionThreadsIdentical(t *testing.T) {
	for _, tc := range sessionCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := tc.m.Forward(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{2, 3, 7} {
				s := tc.m.NewSession(threads)
				for run := range 2 { // the second run reuses the session's buffers
					out, err := s.Run(tc.b)
					if err != nil {
						t.Fatal(err)
					}
					sameBits(t, fmt.Sprintf("threads=%d run %d against a single thread", threads, run), ref, out)
				}
			}
		})
	}
}

func TestSessionAllocatesNothingInSteadyState(t *testing.T) {
	for _, tc := range sessionCases(t) {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads%d", tc.name, threads), func(t *testing.T) {
				s := tc.m.NewSession(threads)
				if _, err := s.Run(tc.b); err != nil {
					t.Fatal(err)
				}
				if allocs := testing.AllocsPerRun(5, func() {
					if _, err := s.Run(tc.b); err != nil {
						t.Fatal(err)
					}
				}); allocs != 0 {
					t.Fatalf("%v allocations per forward pass", allocs)
				}
			})
		}
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

func TestAttentionBlock(t *testing.T) {
	for _, tc := range []struct {
		name              string
		T, pairs, threads int
		want              int
	}{
		{"enough pairs", 128, 4, 2, 128},
		{"one thread", 300, 1, 1, 104}, // queryBlock: the scores of 104 rows fit in 128 KiB
		{"fewer pairs than threads", 128, 2, 8, 32},
		{"long sequence, four threads", 300, 1, 4, 75},
		{"short sequence, never below 8 rows", 20, 1, 8, 8},
		{"shorter than 8", 5, 1, 8, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attentionBlock(tc.T, tc.pairs, tc.threads); got != tc.want {
				t.Fatalf("attentionBlock(%d, %d, %d) = %d, want %d", tc.T, tc.pairs, tc.threads, got, tc.want)
			}
		})
	}
}
