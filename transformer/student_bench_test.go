package transformer

import (
	"fmt"
	"testing"
)

// miniStudent is a BERT-mini (vocabulary 30522) whose every layer has the
// given attention and FFN rank and bits.
func miniStudent(b *testing.B, rank, bits int) *Model {
	return shapeStudent(b, "mini", rank, bits)
}

// BenchmarkStudent times whole forward passes of BERT-mini students at
// batch 1, sequence 128, one thread: fp32, int8 and int4 weights at full
// rank, and fp32 at rank 64 and 128 (of 256) in every matrix. It reports
// the FLOPs of the matrix products, so latency can be set against the FLOP
// reduction of the low-rank students.
func BenchmarkStudent(b *testing.B) {
	for _, tc := range []struct{ rank, bits int }{{0, 32}, {0, 8}, {0, 4}, {64, 32}, {128, 32}, {64, 8}} {
		m := miniStudent(b, tc.rank, tc.bits)
		b.Run(fmt.Sprintf("mini/seq128/rank%d/bits%d", tc.rank, tc.bits), func(b *testing.B) {
			batch := fullBatch(1, 128, m.Config.VocabSize)
			s := m.NewSession(1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Run(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.FLOPs(1, 128))/1e6, "MFLOP/op")
		})
	}
}
