package onnx

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// modelCase is a model shape the exported graph is checked on, both by the
// pure-Go interpreter and by ONNX Runtime (ort_test.go).
type modelCase struct {
	name string
	cfg  transformer.Config
}

// bertConfig is a uniform BERT config of the given shape with a small
// vocabulary, to keep tests fast.
func bertConfig(layers, hidden, heads, ffn int, act string) transformer.Config {
	c := transformer.DefaultConfig()
	c.VocabSize, c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize = 1000, layers, hidden, heads, ffn
	c.HiddenAct, c.NumLabels = act, 3
	return c
}

// oracleCases are the shapes the exporter is compared with the engine on.
func oracleCases() []modelCase {
	hetero := bertConfig(3, 128, 4, 512, transformer.ActGELU)
	hetero.Edgenas = &transformer.EdgenasConfig{
		Version: transformer.ConfigVersion, AttentionHeadSize: 32,
		Layers: []transformer.LayerConfig{
			{NumAttentionHeads: 4, IntermediateSize: 1024},
			{NumAttentionHeads: 2, IntermediateSize: 300},
			{NumAttentionHeads: 1, IntermediateSize: 64},
		},
	}
	shared := bertConfig(4, 128, 4, 512, transformer.ActGELU)
	shared.Edgenas = &transformer.EdgenasConfig{
		Version: transformer.ConfigVersion, AttentionHeadSize: 32,
		Layers: []transformer.LayerConfig{
			{NumAttentionHeads: 4, IntermediateSize: 512},
			{NumAttentionHeads: 2, IntermediateSize: 256},
			{NumAttentionHeads: 2, IntermediateSize: 256, SharesPrevious: true},
			{NumAttentionHeads: 2, IntermediateSize: 256, SharesPrevious: true},
		},
	}
	return []modelCase{
		{"bert-tiny", bertConfig(2, 128, 2, 512, transformer.ActGELU)},
		{"bert-mini", bertConfig(4, 256, 4, 1024, transformer.ActGELU)},
		{"heterogeneous", hetero},
		{"gelu_new", bertConfig(2, 128, 4, 256, transformer.ActGELUNew)},
		{"relu", bertConfig(2, 128, 4, 256, transformer.ActReLU)},
		{"shared layers", shared},
	}
}

// randomModel returns a random-weight model of cfg; std 0.1 keeps attention
// far from uniform.
func randomModel(t testing.TB, cfg transformer.Config, seed uint64) *transformer.Model {
	t.Helper()
	m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(seed, 99)), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testBatch returns a right-padded batch of random ids with rows of the
// given lengths, padded to the longest; the second half of the first row has
// token type 1.
func testBatch(vocab, typeVocab int, seed uint64, lengths ...int) *tokenizer.Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	T := 0
	for _, n := range lengths {
		T = max(T, n)
	}
	b := &tokenizer.Batch{Size: len(lengths), SeqLen: T, Lengths: lengths}
	b.IDs = make([]int32, b.Size*T)
	b.TypeIDs = make([]int32, b.Size*T)
	b.Mask = make([]int32, b.Size*T)
	for i, n := range lengths {
		for j := 0; j < n; j++ {
			b.IDs[i*T+j] = int32(rng.IntN(vocab))
			b.Mask[i*T+j] = 1
			if i == 0 && j >= n/2 && typeVocab > 1 {
				b.TypeIDs[i*T+j] = 1
			}
		}
	}
	return b
}

// int64s widens a batch slice to the graph's input type.
func int64s(v []int32) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// maxDiff is the largest absolute difference of two equally long slices,
// +Inf when their lengths differ or either holds a NaN.
func maxDiff[T float32 | float64](a []float32, b []T) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		x := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(x) {
			return math.Inf(1)
		}
		d = math.Max(d, x)
	}
	return d
}
