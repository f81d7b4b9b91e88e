package transformer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkStudentThreads times whole forward passes at batch 1 of the
// BERT-tiny and BERT-mini shapes (vocabulary 30522) with fp32, int8 and
// int4 weights at full rank, at sequence lengths 1 to 512, on one and on
// two threads of one Session: the speed-up of a second thread per shape
// and length, and int4 against int8 (scripts/bench.sh compress prints both).
func BenchmarkStudentThreads(b *testing.B) {
	for _, shape := range []string{"tiny", "mini"} {
		for _, bits := range []int{32, 8, 4} {
			m := shapeStudent(b, shape, 0, bits, false)
			for _, seq := range []int{1, 32, 64, 128, 512} {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/bits%d/seq%d/threads%d", shape, bits, seq, threads), func(b *testing.B) { benchPasses(b, m, seq, threads) })
				}
			}
		}
	}
}

// benchPasses times forward passes of m at batch 1 and seq tokens (every
// one unmasked) through one Session of the given threads.
func benchPasses(b *testing.B, m *Model, seq, threads int) {
	batch := fullBatch(1, seq, m.Config.VocabSize)
	s := m.NewSession(threads)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Run(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// shapeStudent is a model of the named shape (vocabulary 30522) whose
// every layer has the given attention and FFN rank and bits; shared, every
// layer after the first shares the first's weights (ALBERT-style).
func shapeStudent(b *testing.B, shape string, rank, bits int, shared bool) *Model {
	cfg, err := ShapeConfig(shape, 30522)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: cfg.HeadSize()}
	for i := range cfg.NumHiddenLayers {
		cfg.Edgenas.Layers = append(cfg.Edgenas.Layers, LayerConfig{NumAttentionHeads: cfg.NumAttentionHeads,
			IntermediateSize: cfg.IntermediateSize, AttentionRank: rank, FFNRank: rank, Bits: bits, SharesPrevious: shared && i > 0})
	}
	m, err := NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
