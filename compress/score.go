package compress

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// ComputeImportance scores teacher t's heads, FFN neurons and layers on
// calibration texts, tokenized by tok (at most maxLen tokens each) and run
// batchSize at a time on threads threads, as train.Importance defines the
// scores (Michel et al., 2019): Σ over examples of |∂L(x)/∂ξ| for a gate ξ
// on each head's context, each neuron's activation, and each layer's two
// residual branches together.
//
// L(x) is the example's cross-entropy against labels[i]; labels == nil
// scores unlabelled texts against the teacher's own argmax. The scores are
// not normalized (Normalized applies Michel et al.'s per-layer L2
// normalization): Apply ranks heads and neurons inside a layer, where that
// normalization changes nothing, and raw sums keep the layers comparable.
//
// Teacher is t's Digest; Data is DataDigest of the encoded examples. The
// teacher needs a pooler and a classifier; t is only read.
func ComputeImportance(t *transformer.Model, tok *tokenizer.Tokenizer, texts []string, labels []int, maxLen, batchSize, threads int) (*Importance, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("importance: no calibration texts")
	}
	if labels != nil && len(labels) != len(texts) {
		return nil, fmt.Errorf("importance: %d labels for %d texts", len(labels), len(texts))
	}
	if batchSize < 1 {
		return nil, fmt.Errorf("importance: batch size %d, want at least 1", batchSize)
	}
	var batches []*tokenizer.Batch
	var labelSets [][]int
	for lo := 0; lo < len(texts); lo += batchSize {
		hi := min(lo+batchSize, len(texts))
		b := tok.EncodeBatch(texts[lo:hi], nil, maxLen)
		batches = append(batches, &b)
		if labels != nil {
			labelSets = append(labelSets, labels[lo:hi])
		}
	}
	s, err := train.Importance(t, batches, labelSets, threads)
	if err != nil {
		return nil, err
	}
	digest, err := t.Digest()
	if err != nil {
		return nil, fmt.Errorf("importance: teacher digest: %w", err)
	}
	return &Importance{Heads: s.Heads, Neurons: s.Neurons, Layers: s.Layers, Examples: s.Examples,
		Teacher: digest, Data: DataDigest(batches, labels)}, nil
}

// DataDigest identifies calibration data as the model sees it: the hex
// SHA-256 of every example's real token ids and token type ids, in order,
// each followed by its label (-1 for every example when labels is nil,
// meaning pseudo-labels). It does not depend on how the examples are cut
// into batches or padded; labels, when not nil, has one entry per example
// of the batches.
func DataDigest(batches []*tokenizer.Batch, labels []int) string {
	h := sha256.New()
	h.Write([]byte("edgenas calibration data v1\n"))
	var buf []byte
	put := func(v int64) { buf = binary.LittleEndian.AppendUint64(buf, uint64(v)) }
	i := 0
	for _, b := range batches {
		for r := 0; r < b.Size; r++ {
			ids, types, _ := b.Row(r)
			n := b.Lengths[r]
			buf = buf[:0]
			put(int64(n))
			for j := 0; j < n; j++ {
				put(int64(ids[j]))
				put(int64(types[j]))
			}
			y := int64(-1)
			if labels != nil {
				y = int64(labels[i])
			}
			put(y)
			h.Write(buf)
			i++
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Normalized returns a copy of imp whose head and neuron scores are divided
// by their L2 norm within each layer (Michel et al., 2019), which makes
// units of different layers comparable when pruning globally. Layer scores
// are copied unchanged. imp is not modified.
func (imp *Importance) Normalized() *Importance {
	out := *imp
	clone := func(s [][]float64) [][]float64 {
		c := make([][]float64, len(s))
		for i, row := range s {
			c[i] = slices.Clone(row)
		}
		return c
	}
	out.Heads, out.Neurons, out.Layers = clone(imp.Heads), clone(imp.Neurons), slices.Clone(imp.Layers)
	train.NormalizeL2(out.Heads)
	train.NormalizeL2(out.Neurons)
	return &out
}
