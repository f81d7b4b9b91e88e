package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// fullBatch is a batch of size rows of seq random tokens, no padding.
func fullBatch(size, seq, vocab int, rng *rand.Rand) *tokenizer.Batch {
	lengths := make([]int, size)
	for i := range lengths {
		lengths[i] = seq
	}
	return testBatch(rng, vocab, lengths...)
}

// BenchmarkClassifyStep times one forward+backward step of the BERT-mini
// shape (vocabulary 30522) at batch 32, sequence 64 (the target shape) and
// 16 (about SST-2's mean length after bucketing), and reports tokens/s.
func BenchmarkClassifyStep(b *testing.B) {
	cfg, err := transformer.ShapeConfig("mini", 30522)
	if err != nil {
		b.Fatal(err)
	}
	m := randomModel(b, cfg, 1, 0.02)
	const batch = 32
	rng := rand.New(rand.NewPCG(1, 1))
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i % 2
	}
	g := NewGrads(m)
	for _, c := range []struct{ seq, threads int }{{64, 1}, {64, 2}, {16, 2}} {
		seq, threads := c.seq, c.threads
		bt := fullBatch(batch, seq, cfg.VocabSize, rng)
		b.Run(fmt.Sprintf("mini/seq%d/batch%d/threads%d", seq, batch, threads), func(b *testing.B) {
			n := NewNet(m, threads)
			if _, _, err := n.ClassifyStep(bt, labels, g); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, _, err := n.ClassifyStep(bt, labels, g); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch*seq)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
