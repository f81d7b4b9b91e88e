package compress

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// TestApplyFullRankReproducesTeacher factorizes every matrix and the word
// table at full rank: the SVD is exact, so the student computes the
// teacher's function up to float rounding.
func TestApplyFullRankReproducesTeacher(t *testing.T) {
	m := teacher(t)
	a := full(m)
	for i := range a.Layers {
		a.Layers[i].AttentionRank, a.Layers[i].FFNRank = 32, 32
	}
	a.EmbeddingRank = 32
	s, err := Apply(m, a, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Layers[0].Query.Rank != 32 || s.Embeddings.Projection == nil {
		t.Fatal("student is not factorized")
	}
	if d := maxDiff(logits(t, m), logits(t, s)); d > 1e-4 {
		t.Fatalf("full-rank student differs from the teacher by %g", d)
	}
}

// TestApplyTechniques builds a student with each storage technique alone:
// it runs, stays near the teacher, shrinks the file and survives Save and
// Load.
func TestApplyTechniques(t *testing.T) {
	m := teacher(t)
	teacherBytes, err := m.FileBytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(a *space.Arch)
		tol  float64
	}{
		{"low-rank", func(a *space.Arch) {
			for i := range a.Layers {
				a.Layers[i].AttentionRank, a.Layers[i].FFNRank = 8, 8
			}
		}, 5},
		{"fp16", func(a *space.Arch) {
			for i := range a.Layers {
				a.Layers[i].Bits = 16
			}
		}, 0.01},
		{"int8", func(a *space.Arch) {
			for i := range a.Layers {
				a.Layers[i].Bits = 8
			}
		}, 0.2},
		{"int4", func(a *space.Arch) {
			for i := range a.Layers {
				a.Layers[i].Bits = 4
			}
		}, 2},
		{"factorized embeddings", func(a *space.Arch) { a.EmbeddingRank = 8 }, 5},
		{"int8 embeddings", func(a *space.Arch) { a.EmbeddingBits = 8 }, 0.2},
		{"shared int8 low-rank", func(a *space.Arch) {
			a.Layers = a.Layers[:2]
			a.Layers[1] = a.Layers[0]
			a.Layers[1].Source, a.Layers[1].SharePrev = 1, true
			for i := range a.Layers {
				a.Layers[i].Bits, a.Layers[i].FFNRank = 8, 16
			}
		}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := full(m)
			tc.edit(&a)
			s, err := Apply(m, a, nil, Options{Int4Group: 32})
			if err != nil {
				t.Fatal(err)
			}
			d := maxDiff(logits(t, m), logits(t, s))
			t.Logf("logits differ from the teacher's by %.3g", d)
			if d > tc.tol {
				t.Errorf("student differs from the teacher by %.3g > %g", d, tc.tol)
			}
			n, err := s.FileBytes()
			if err != nil {
				t.Fatal(err)
			}
			if n >= teacherBytes {
				t.Errorf("student file %d bytes, teacher %d", n, teacherBytes)
			}
			dir := filepath.Join(t.TempDir(), "s")
			if err := s.Save(dir); err != nil {
				t.Fatal(err)
			}
			back, err := transformer.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(logits(t, s), logits(t, back)); d != 0 {
				t.Errorf("saved student differs by %g", d)
			}
		})
	}
}

// TestApplyInt8QuartersWeights checks the measured size: int8 stores each
// encoder weight in one byte (plus a scale per row), so the file shrinks
// by about 3/4 of the fp32 encoder weights; int4 by about 7/8.
func TestApplyInt8QuartersWeights(t *testing.T) {
	c := transformer.DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 50, 256, 2, 4, 1024
	c.MaxPositionEmbeddings, c.NumLabels = 16, 2
	m, err := transformer.NewRandom(c, rand.New(rand.NewPCG(1, 2)), 0.05)
	if err != nil {
		t.Fatal(err)
	}
	fp32, err := m.FileBytes()
	if err != nil {
		t.Fatal(err)
	}
	weights := int64(4 * 2 * (4*256*256 + 2*256*1024))
	for _, tc := range []struct {
		bits   int
		lo, hi float64 // bounds of the fraction of the fp32 encoder weights saved
	}{{16, 0.499, 0.501}, {8, 0.74, 0.75}, {4, 0.85, 0.875}} {
		a := full(m)
		for i := range a.Layers {
			a.Layers[i].Bits = tc.bits
		}
		s, err := Apply(m, a, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.FileBytes()
		if err != nil {
			t.Fatal(err)
		}
		saved := float64(fp32-n) / float64(weights)
		t.Logf("%d bits: %d bytes (fp32 %d), %.4f of the encoder weights saved", tc.bits, n, fp32, saved)
		if saved < tc.lo || saved > tc.hi {
			t.Errorf("%d bits save %.4f of the encoder weights, want [%g, %g]", tc.bits, saved, tc.lo, tc.hi)
		}
	}
}
