package predictor

import (
	"cmp"

	"github.com/edgenas/edgenas/space"
)

// Kernel kinds of a product: float weights (fp32, and fp16 held as fp32),
// int8 and int4.
const (
	kindFloat = iota
	kindInt8
	kindInt4
	numKinds
)

// Analytic feature indices; the per-kind groups hold numKinds entries.
const (
	fIntercept   = 0
	fDenseMACs   = 1
	fLowRankMACs = fDenseMACs + numKinds
	fProducts    = fLowRankMACs + numKinds
	fActQuant    = fProducts + numKinds
	fWeightBytes = fActQuant + numKinds
	fAttnMACs    = fWeightBytes + numKinds
	fSoftmax     = fAttnMACs + 1
	fHeads       = fSoftmax + 1
	fGELU        = fHeads + 1
	fNorms       = fGELU + 1
	fLayers      = fNorms + 1
	fSharedBytes = fLayers + 1
	fEmbedProj   = fSharedBytes + 1
	fEmbedRows   = fEmbedProj + 1
	numAnalytic  = fEmbedRows + 1
)

// FeatureNames names the analytic features, in the order of
// Predictor.Coefficients.
var FeatureNames = func() []string {
	n := make([]string, numAnalytic)
	kinds := [numKinds]string{"float", "int8", "int4"}
	n[fIntercept] = "intercept"
	for k, kn := range kinds {
		n[fDenseMACs+k] = "dense_macs_" + kn
		n[fLowRankMACs+k] = "lowrank_macs_" + kn
		n[fProducts+k] = "products_" + kn
		n[fActQuant+k] = "activations_quantized_" + kn
		n[fWeightBytes+k] = "weight_bytes_" + kn
	}
	n[fAttnMACs] = "attention_macs"
	n[fSoftmax] = "softmax_elements"
	n[fHeads] = "heads"
	n[fGELU] = "gelu_elements"
	n[fNorms] = "norm_elements"
	n[fLayers] = "layers"
	n[fSharedBytes] = "shared_weight_bytes"
	n[fEmbedProj] = "embedding_projection_macs"
	n[fEmbedRows] = "embedding_row_bytes"
	return n
}()

// Operation kinds of a lookup entry.
const (
	opAttention = iota
	opFFN
	opEmbedding
)

// OpKey identifies one lookup entry: an attention block, an FFN block or
// an embedding form with its shape, rank, bit width and sequence length.
type OpKey struct {
	// Op is 0 for attention, 1 for FFN, 2 for the embedding.
	Op uint8 `json:"op"`
	// Width is the heads kept (attention), the FFN neurons kept, or 0.
	Width int32 `json:"width"`
	// Rank is the block's rank (the embedding's factorization rank), 0
	// for full rank.
	Rank int32 `json:"rank"`
	// Bits is the weight bit width.
	Bits int32 `json:"bits"`
	// SeqLen is the sequence length.
	SeqLen int32 `json:"seq_len"`
}

func compareOps(a, b OpKey) int {
	return cmp.Or(cmp.Compare(a.Op, b.Op), cmp.Compare(a.Width, b.Width), cmp.Compare(a.Rank, b.Rank),
		cmp.Compare(a.Bits, b.Bits), cmp.Compare(a.SeqLen, b.SeqLen))
}

// dims are what the features need of the teacher and the workload.
type dims struct {
	hidden, headSize, batch int
}

// kindOf returns the kernel kind and the bytes per weight of a bit width.
func kindOf(bits int) (kind int, bytesPerWeight float64) {
	switch bits {
	case 8:
		return kindInt8, 1
	case 4:
		return kindInt4, 0.5
	default: // 32, and 16 held as float32
		return kindFloat, 4
	}
}

// analytic fills x with a's analytic features.
func (d dims) analytic(a space.Arch, x *[numAnalytic]float64) {
	*x = [numAnalytic]float64{}
	x[fIntercept] = 1
	S := float64(a.SeqLen)
	T := float64(d.batch) * S
	H := float64(d.hidden)
	for _, g := range a.Layers {
		k, bpw := kindOf(g.Bits)
		inner := float64(g.Heads * d.headSize)
		F := float64(g.FFN)
		linear := func(in, out float64, rank int) {
			var w float64
			if rank > 0 {
				w = float64(rank) * (in + out)
				x[fLowRankMACs+k] += T * w
				x[fProducts+k] += 2
				x[fActQuant+k] += T * (in + float64(rank))
			} else {
				w = in * out
				x[fDenseMACs+k] += T * w
				x[fProducts+k]++
				x[fActQuant+k] += T * in
			}
			x[fWeightBytes+k] += w * bpw
			if g.SharePrev {
				x[fSharedBytes] += w * bpw
			}
		}
		for range 3 { // query, key, value
			linear(H, inner, g.AttentionRank)
		}
		linear(inner, H, g.AttentionRank)
		linear(H, F, g.FFNRank)
		linear(F, H, g.FFNRank)
		x[fAttnMACs] += 2 * float64(d.batch) * S * S * inner
		x[fSoftmax] += float64(d.batch*g.Heads) * S * S
		x[fHeads] += float64(g.Heads)
		x[fGELU] += T * F
		x[fNorms] += T * H
		x[fLayers]++
	}
	_, bpw := kindOf(a.EmbeddingBits)
	width := H
	if a.EmbeddingRank > 0 {
		width = float64(a.EmbeddingRank)
		x[fEmbedProj] += T * width * H
	}
	x[fEmbedRows] += T * width * bpw
}

// ops calls yield with each lookup entry of a, once per occurrence.
func ops(a space.Arch, yield func(OpKey)) {
	s := int32(a.SeqLen)
	for _, g := range a.Layers {
		yield(OpKey{Op: opAttention, Width: int32(g.Heads), Rank: int32(g.AttentionRank), Bits: int32(g.Bits), SeqLen: s})
		yield(OpKey{Op: opFFN, Width: int32(g.FFN), Rank: int32(g.FFNRank), Bits: int32(g.Bits), SeqLen: s})
	}
	yield(OpKey{Op: opEmbedding, Rank: int32(a.EmbeddingRank), Bits: int32(a.EmbeddingBits), SeqLen: s})
}
