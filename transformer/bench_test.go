package transformer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// fullBatch is a batch of size rows of seq in-vocabulary tokens.
// fullBatch is a batch of distinct, unmasked token ids below vocab.
func fullBatch(size, seq, vocab int) *tokenizer.Batch {
	b := &tokenizer.Batch{Size: size, SeqLen: seq,
		IDs: make([]int32, size*seq), TypeIDs: make([]int32, size*seq), Mask: make([]int32, size*seq)}
	for i := range b.IDs {
		b.IDs[i] = int32((1000 + i) % vocab)
		b.Mask[i] = 1
	}
	for r := 0; r < size; r++ {
		b.Lengths = append(b.Lengths, seq)
	}
	return b
}

// BenchmarkForward reports the forward latency of the BERT-tiny and
// BERT-mini shapes (random weights, vocabulary 30522) at batch 1, through a
// Session (no allocation in steady state), single-threaded unless the name
// says otherwise, with the achieved GFLOP/s of the matrix products.
func BenchmarkForward(b *testing.B) {
	for _, shape := range []string{"tiny", "mini"} {
		cfg, err := ShapeConfig(shape, 30522)
		if err != nil {
			b.Fatal(err)
		}
		m, err := NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
		if err != nil {
			b.Fatal(err)
		}
		for _, seq := range []int{32, 128, 512} {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%s/seq%d", shape, seq)
				if threads > 1 {
					name += fmt.Sprintf("/threads%d", threads)
				}
				b.Run(name, func(b *testing.B) {
					batch := fullBatch(1, seq, cfg.VocabSize)
					s := m.NewSession(threads)
					b.ReportAllocs()
					for b.Loop() {
						if _, err := s.Run(batch); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(m.FLOPs(1, seq))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
