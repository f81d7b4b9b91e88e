package transformer

import (
	"fmt"
	"testing"
)

// miniStudent is a BERT-mini (vocabulary 30522) whose every layer has the
// given attention and FFN rank and bits.
func miniStudent(b *testing.B, rank, bits int) *Model {
	return shapeStudent(b, "mini", rank, bits, false)
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
			benchPasses(b, m, 128, 1)
			b.ReportMetric(float64(m.FLOPs(1, 128))/1e6, "MFLOP/op")
		})
	}
}

// BenchmarkWeightBytes times the int8 and int4 BERT-mini students at batch
// 1, one thread, seq 32, 64 and 128, each layer with its own weights
// ("own") and every layer sharing the first one's (ALBERT-style,
// "shared"): the same products and steps, but on one layer's weights
// (786 KB in int8) that stay in L2, instead of 3.1 MB read from L3 or
// memory on every pass. own − shared is what reading a pass's weights
// costs int8 beyond its arithmetic; int4 halves those bytes, so a kernel
// that reads int4 and costs nothing else over int8's can save at most
// half of it: (own − (own − shared)/2) / own bounds int4's latency against
// int8's (scripts/bench.sh compress prints it as int4_bound_seqN).
func BenchmarkWeightBytes(b *testing.B) {
	for _, bits := range []int{8, 4} {
		for _, shared := range []bool{false, true} {
			m := shapeStudent(b, "mini", 0, bits, shared)
			name := "own"
			if shared {
				name = "shared"
			}
			for _, seq := range []int{32, 64, 128} {
				b.Run(fmt.Sprintf("mini/bits%d/seq%d/%s", bits, seq, name), func(b *testing.B) { benchPasses(b, m, seq, 1) })
			}
		}
	}
}

// BenchmarkWeightBytesThreads is BenchmarkWeightBytes for the int8
// BERT-mini student on two threads of one Session, seq 64 and 128: split
// by row blocks, each thread multiplies half the rows by every weight, so
// it has half the arithmetic per weight byte that one thread has, and
// own − shared is what reading the weights costs each thread's half of
// the pass (scripts/bench.sh compress prints the share).
func BenchmarkWeightBytesThreads(b *testing.B) {
	for _, shared := range []bool{false, true} {
		m := shapeStudent(b, "mini", 0, 8, shared)
		name := "own"
		if shared {
			name = "shared"
		}
		for _, seq := range []int{64, 128} {
			b.Run(fmt.Sprintf("mini/bits8/seq%d/threads2/%s", seq, name), func(b *testing.B) { benchPasses(b, m, seq, 2) })
		}
	}
}
