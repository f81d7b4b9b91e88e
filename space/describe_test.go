package space

import "testing"

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Arch
		want string
	}{
		{"issue example", Arch{Layers: []LayerGene{{Source: 0, Heads: 2, FFN: 64, AttentionRank: 32, FFNRank: 64, Bits: 8}, {Source: 1, Heads: 1, FFN: 128, Bits: 32}}, EmbeddingBits: 8, SeqLen: 32},
			"2 layers; layer 1: 2 heads, FFN 64, attention rank 32, FFN rank 64, int8; layer 2: 1 head, FFN 128, fp32; embeddings int8"},
		{"shared group, layers picked", Arch{Layers: []LayerGene{{Source: 1, Heads: 4, FFN: 512, Bits: 4}, {Source: 3, Heads: 4, FFN: 512, Bits: 4, SharePrev: true}}, EmbeddingRank: 64, EmbeddingBits: 16, SeqLen: 64},
			"2 layers; layers 1–2 (one shared set of weights): 4 heads, FFN 512, int4, from teacher layer 2, 4; embeddings factorized at rank 64, fp16"},
		{"one layer", Arch{Layers: []LayerGene{{Heads: 1, FFN: 8, Bits: 16}}, EmbeddingBits: 32, SeqLen: 8}, "1 layer; layer 1: 1 head, FFN 8, fp16; embeddings fp32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Describe(); got != tc.want {
				t.Errorf("Describe() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
