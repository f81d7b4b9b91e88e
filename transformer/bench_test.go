package transformer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// BenchmarkForward reports the single-threaded forward latency of the
// BERT-tiny and BERT-mini shapes (random weights, vocabulary 30522) at batch
// 1 and sequence length 128, with the achieved GFLOP/s of the matrix
// products.
func BenchmarkForward(b *testing.B) {
	for _, shape := range []string{"tiny", "mini"} {
		for _, seq := range []int{128} {
			b.Run(fmt.Sprintf("%s/seq%d", shape, seq), func(b *testing.B) {
				cfg, err := ShapeConfig(shape, 30522)
				if err != nil {
					b.Fatal(err)
				}
				m, err := NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
				if err != nil {
					b.Fatal(err)
				}
				batch := &tokenizer.Batch{Size: 1, SeqLen: seq, Lengths: []int{seq},
					IDs: make([]int32, seq), TypeIDs: make([]int32, seq), Mask: make([]int32, seq)}
				for i := range batch.IDs {
					batch.IDs[i] = int32(1000 + i)
					batch.Mask[i] = 1
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := m.Forward(batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(m.FLOPs(1, seq))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMatmul reports GFLOP/s of the one matrix-product function on the
// FFN shape of BERT-mini at 128 tokens.
func BenchmarkMatmul(b *testing.B) {
	m, k, n := 128, 256, 1024
	a := make([]float32, m*k)
	w := make([]float32, n*k)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for i := range w {
		w[i] = float32(i%5) * 0.1
	}
	for b.Loop() {
		matmul(m, n, k, a, k, w, k, true, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
