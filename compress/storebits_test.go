package compress

import (
	"testing"

	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// TestStoreOfFloatStudentIsApply holds Store to its contract: rounding the
// float student of FloatArch(a) at a's bit widths gives exactly the
// weights Apply builds for a (low-rank, shared, pruned and factorized
// embeddings included), so a student trained in float32 is stored the way
// the search evaluated it.
func TestStoreOfFloatStudentIsApply(t *testing.T) {
	tm := teacher(t)
	imp := scores(tm, func(l, h int) float64 { return float64((h*7 + l) % 5) }, func(l, n int) float64 { return float64((n*13 + l) % 11) })
	gene := func(src, heads, ffn, ar, fr, bits int, share bool) space.LayerGene {
		return space.LayerGene{Source: src, Heads: heads, FFN: ffn, AttentionRank: ar, FFNRank: fr, Bits: bits, SharePrev: share}
	}
	for _, tc := range []struct {
		name string
		arch space.Arch
	}{
		{"int8 pruned", space.Arch{Layers: []space.LayerGene{gene(0, 2, 16, 0, 0, 8, false), gene(2, 4, 32, 0, 0, 16, false)}, EmbeddingBits: 8, SeqLen: 16}},
		{"int4 low-rank", space.Arch{Layers: []space.LayerGene{gene(1, 4, 32, 8, 8, 4, false)}, EmbeddingBits: 4, SeqLen: 16}},
		{"shared int8", space.Arch{Layers: []space.LayerGene{gene(0, 2, 16, 0, 0, 8, false), gene(1, 2, 16, 0, 0, 8, true)}, EmbeddingBits: 16, SeqLen: 16}},
		{"factorized embeddings", space.Arch{Layers: []space.LayerGene{gene(0, 4, 32, 0, 0, 32, false)}, EmbeddingRank: 8, EmbeddingBits: 8, SeqLen: 16}},
		{"float", space.Arch{Layers: []space.LayerGene{gene(0, 4, 32, 0, 0, 32, false)}, EmbeddingBits: 32, SeqLen: 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := Apply(tm, tc.arch, imp, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Apply(tm, FloatArch(tc.arch), imp, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Store(fs, tc.arch, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got.Config.Edgenas.Provenance = want.Config.Edgenas.Provenance
			dg, err := got.Digest()
			if err != nil {
				t.Fatal(err)
			}
			dw, err := want.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if dg != dw {
				t.Fatalf("Store(float student) digest %s, Apply %s", dg, dw)
			}
		})
	}
}

func TestStoreRejectsMismatch(t *testing.T) {
	tm := teacher(t)
	a := full(tm)
	stored, err := Apply(tm, a, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := a.Clone()
	for i := range q.Layers {
		q.Layers[i].Bits = 8
	}
	int8, err := Apply(tm, q, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	short := a.Clone()
	short.Layers = short.Layers[:1]
	pruned := a.Clone()
	pruned.Layers[0].Heads = 2
	for _, tc := range []struct {
		name    string
		student *transformer.Model
		arch    space.Arch
	}{
		{"fewer layers", stored, short},
		{"other heads", stored, pruned},
		{"stored weights", int8, q},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Store(tc.student, tc.arch, Options{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
