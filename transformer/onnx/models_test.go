package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// ortTolerance is the largest absolute difference allowed between ONNX
// Runtime and the engine on any output value.
const ortTolerance = 1e-4

// studentCase is a compressed student the exporter is checked on, with
// the largest differences allowed between ONNX Runtime and the engine
// (engineTol) and the engine's dense equivalent (denseTol, Model.ToDense:
// the stored values multiplied out and dequantized).
//
// Float students (float32, fp16, low-rank, quantized embeddings, whose
// table the graph dequantizes as the engine does) match both within
// ortTolerance. The graph of an int8 or int4 Linear computes as the engine
// does
// (activations quantized per row, exact integer products, the scales in
// the engine's order), so ORT's outputs equal the engine's to within
// float32 rounding on almost every row; but ORT's LayerNorm, GELU and
// exponential round differently from the engine's in the last bit, and
// where such a difference moves an activation x·127/max|x| across a half,
// that value quantizes one step away (more often than chance: a float32
// x·127/max|x| lands exactly on a half, rounded to even, about once in 1e5
// values, and a last-bit difference upstream rounds it the other way),
// which moves the rows it reaches by up to a few 1e-2 in these random
// models (weights of std 0.1): quantTol allows for such a few, and
// checkExactShare requires most values to match within ortTolerance.
// The dense equivalent differs from both by the activation quantization
// itself, up to 0.15.
type studentCase struct {
	name      string
	cfg       transformer.Config
	engineTol float64
	denseTol  float64
}

// quantized says whether the student has int8 or int4 layers, whose
// activations the engine quantizes as the exported graph does.
func (c studentCase) quantized() bool {
	return slices.ContainsFunc(c.cfg.Edgenas.Layers, func(l transformer.LayerConfig) bool { return l.Bits == 8 || l.Bits == 4 })
}

// quantTol bounds the difference between the engine and the exported graph
// of an int8 or int4 student: a few activation values quantized one step
// apart (see studentCase; measured at most 0.029 in ONNX Runtime at every
// optimization level, and 0.046 in the interpreter, whose float32 results
// are rounded from float64 ones, on studentCases).
const quantTol = 0.08

// activationQuantTol bounds the difference that quantizing the
// activations makes between the engine's int8 and int4 students and their
// dense equivalents.
const activationQuantTol = 0.15

// studentCases has one student per storage technique.
func studentCases() []studentCase {
	base := func(edit func(e *transformer.EdgenasConfig)) transformer.Config {
		c := bertConfig(3, 128, 4, 512, transformer.ActGELU)
		c.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: 32,
			Layers: []transformer.LayerConfig{
				{NumAttentionHeads: 4, IntermediateSize: 512},
				{NumAttentionHeads: 2, IntermediateSize: 300},
				{NumAttentionHeads: 3, IntermediateSize: 100},
			}}
		edit(c.Edgenas)
		return c
	}
	all := func(f func(l *transformer.LayerConfig)) func(e *transformer.EdgenasConfig) {
		return func(e *transformer.EdgenasConfig) {
			for i := range e.Layers {
				f(&e.Layers[i])
			}
		}
	}
	return []studentCase{
		{"low-rank", base(all(func(l *transformer.LayerConfig) { l.AttentionRank, l.FFNRank = 24, 40 })), ortTolerance, ortTolerance},
		{"fp16", base(all(func(l *transformer.LayerConfig) { l.Bits = 16 })), ortTolerance, ortTolerance},
		{"int8", base(all(func(l *transformer.LayerConfig) { l.Bits = 8 })), quantTol, activationQuantTol},
		{"int8 low-rank", base(all(func(l *transformer.LayerConfig) { l.Bits, l.AttentionRank, l.FFNRank = 8, 24, 40 })), quantTol, activationQuantTol},
		{"int4", base(all(func(l *transformer.LayerConfig) { l.Bits = 4 })), quantTol, activationQuantTol},
		{"int4 group 32 low-rank", base(func(e *transformer.EdgenasConfig) {
			e.Int4Group = 32
			for i := range e.Layers {
				e.Layers[i].Bits, e.Layers[i].AttentionRank, e.Layers[i].FFNRank = 4, 20, 50
			}
		}), quantTol, activationQuantTol},
		{"factorized embeddings", base(func(e *transformer.EdgenasConfig) { e.EmbeddingRank = 48 }), ortTolerance, ortTolerance},
		{"factorized int8 embeddings", base(func(e *transformer.EdgenasConfig) { e.EmbeddingRank, e.EmbeddingBits = 48, 8 }), ortTolerance, ortTolerance},
		{"int4 embeddings", base(func(e *transformer.EdgenasConfig) { e.EmbeddingBits = 4 }), ortTolerance, ortTolerance},
		{"shared int8 low-rank", base(func(e *transformer.EdgenasConfig) {
			e.Layers[1].AttentionRank, e.Layers[1].Bits = 16, 8
			e.Layers[2] = e.Layers[1]
			e.Layers[2].SharesPrevious = true
			e.Layers[0].FFNRank = 64
		}), quantTol, activationQuantTol},
	}
}

// minExactShare is the least share of a quantized student's last_hidden_state
// values that its exported graph must compute within ortTolerance of the
// engine: all but those reached by an activation value quantized one step
// apart (see studentCase; a key or value of an early layer reaches every
// row of its sequence). The float products of the dequantized weights the
// graph held before int8 products were exported as the engine computes
// them missed it on almost every value.
const minExactShare = 0.5

// checkExactShare checks that at least minExactShare of the hidden states
// got are within ortTolerance of the engine's want, and logs the share.
func checkExactShare[T float32 | float64](t *testing.T, want []float32, got []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d hidden values, the engine has %d", len(got), len(want))
	}
	exact := 0
	for i, w := range want {
		if math.Abs(float64(w)-float64(got[i])) <= ortTolerance {
			exact++
		}
	}
	share := float64(exact) / float64(max(1, len(want)))
	t.Logf("%d of %d hidden values (%.1f%%) within %g of the engine's", exact, len(want), 100*share, ortTolerance)
	if share < minExactShare {
		t.Errorf("only %.1f%% of the hidden values within %g of the engine's, want at least %.0f%%", 100*share, ortTolerance, 100*minExactShare)
	}
}

// formatDiffs lists the differences of the outputs in d, in output order.
func formatDiffs(d map[string]float64) string {
	var s string
	for _, name := range []string{LastHiddenState, PoolerOutput, Logits} {
		if v, ok := d[name]; ok {
			s += fmt.Sprintf(" %s %.3g", name, v)
		}
	}
	return s
}
