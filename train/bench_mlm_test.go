package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

// BenchmarkMLMStep times one masked-LM forward+backward step (encoder, MLM
// head and the tied 30522-word decoder) of the BERT-mini shape at batch 32,
// sequence 128, with 15 % of the positions predicted, and reports tokens/s
// (every position of the batch counts as a token).
func BenchmarkMLMStep(b *testing.B) {
	cfg, err := transformer.ShapeConfig("mini", 30522)
	if err != nil {
		b.Fatal(err)
	}
	m := randomModel(b, cfg, 1, 0.02)
	m.Pooler, m.Classifier = nil, nil
	const batch, seq = 32, 128
	rng := rand.New(rand.NewPCG(1, 1))
	head := NewMLMHead(cfg, rng, 0.02)
	g, gh := NewGrads(m), NewMLMGrads(head)
	bt := fullBatch(batch, seq, cfg.VocabSize, rng)
	targets := make([]int, len(bt.IDs))
	for i := range targets {
		targets[i] = -1
		if rng.Float64() < 0.15 {
			targets[i] = int(bt.IDs[i])
		}
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("mini/seq%d/batch%d/threads%d", seq, batch, threads), func(b *testing.B) {
			n := NewNet(m, threads)
			if _, _, err := n.MLMStep(bt, targets, head, g, gh); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, _, err := n.MLMStep(bt, targets, head, g, gh); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch*seq)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
