package space

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// LayerGene describes one kept encoder layer of a student.
type LayerGene struct {
	// Source is the teacher layer (0-based) the layer is built from.
	Source int `json:"source"`
	// Heads is the number of attention heads kept.
	Heads int `json:"heads"`
	// FFN is the number of FFN neurons kept.
	FFN int `json:"ffn"`
	// AttentionRank is the rank of the attention matrices, 0 for full rank.
	AttentionRank int `json:"attention_rank"`
	// FFNRank is the rank of the FFN matrices, 0 for full rank.
	FFNRank int `json:"ffn_rank"`
	// Bits is the weight bit width: 32, 16, 8 or 4.
	Bits int `json:"bits"`
	// SharePrev says the layer reuses the weights of the layer before it
	// (ALBERT-style sharing); a run of such layers with the layer that
	// starts it is one sharing group, and all its genes but Source agree.
	SharePrev bool `json:"share_prev,omitempty"`
}

// Arch is the genome of one student: its kept layers in order plus the
// embedding and sequence genes. The zero Arch is invalid.
type Arch struct {
	Layers        []LayerGene `json:"layers"`
	EmbeddingRank int         `json:"embedding_rank"`
	EmbeddingBits int         `json:"embedding_bits"`
	SeqLen        int         `json:"seq_len"`
}

// Clone returns a deep copy of a.
func (a Arch) Clone() Arch {
	a.Layers = slices.Clone(a.Layers)
	return a
}

// Equal reports whether a and b are the same architecture.
func (a Arch) Equal(b Arch) bool {
	return slices.Equal(a.Layers, b.Layers) && a.EmbeddingRank == b.EmbeddingRank &&
		a.EmbeddingBits == b.EmbeddingBits && a.SeqLen == b.SeqLen
}

// Groups returns the sharing groups of a as [start, end) layer ranges.
func (a Arch) Groups() [][2]int {
	var g [][2]int
	for i, l := range a.Layers {
		if i == 0 || !l.SharePrev {
			g = append(g, [2]int{i, i + 1})
		} else {
			g[len(g)-1][1] = i + 1
		}
	}
	return g
}

// KeyVersion is the version of the canonical key format; it starts every key.
const KeyVersion = "a1"

// Key returns the canonical string of a: the version, then one field per
// layer (source:heads:ffn:attention rank:FFN rank:bits, with a trailing "s"
// when the layer shares the previous one's weights), then the embedding rank
// and bits and the sequence length. It depends only on a, never on a Spec,
// so it is stable across runs and across reorderings of the spec's lists.
//
//	a1|L0:4:1024:0:0:32|L2:2:512:64:0:8s|E0:32|S128
func (a Arch) Key() string {
	var b strings.Builder
	b.WriteString(KeyVersion)
	for _, l := range a.Layers {
		fmt.Fprintf(&b, "|L%d:%d:%d:%d:%d:%d", l.Source, l.Heads, l.FFN, l.AttentionRank, l.FFNRank, l.Bits)
		if l.SharePrev {
			b.WriteByte('s')
		}
	}
	fmt.Fprintf(&b, "|E%d:%d|S%d", a.EmbeddingRank, a.EmbeddingBits, a.SeqLen)
	return b.String()
}

// String returns the canonical key.
func (a Arch) String() string { return a.Key() }

// ParseKey reads a canonical key back into an Arch. It checks the syntax
// only; validate the result against a Space.
func ParseKey(key string) (Arch, error) {
	fail := func(format string, args ...any) (Arch, error) {
		return Arch{}, fmt.Errorf("arch key %q: %s", abbreviate(key), fmt.Sprintf(format, args...))
	}
	parts := strings.Split(key, "|")
	if len(parts) < 3 || parts[0] != KeyVersion {
		return fail("want %s|L...|E<rank>:<bits>|S<seq>", KeyVersion)
	}
	var a Arch
	for i, p := range parts[1 : len(parts)-2] {
		body, ok := strings.CutPrefix(p, "L")
		if !ok {
			return fail("field %d: %q is not a layer (L...)", i+1, abbreviate(p))
		}
		var l LayerGene
		if l.SharePrev = strings.HasSuffix(body, "s"); l.SharePrev {
			body = body[:len(body)-1]
		}
		v, err := ints(body, 6)
		if err != nil {
			return fail("layer %d: %v", i, err)
		}
		l.Source, l.Heads, l.FFN, l.AttentionRank, l.FFNRank, l.Bits = v[0], v[1], v[2], v[3], v[4], v[5]
		a.Layers = append(a.Layers, l)
	}
	e, ok := strings.CutPrefix(parts[len(parts)-2], "E")
	if !ok {
		return fail("want E<rank>:<bits> before the sequence length")
	}
	v, err := ints(e, 2)
	if err != nil {
		return fail("embedding: %v", err)
	}
	a.EmbeddingRank, a.EmbeddingBits = v[0], v[1]
	s, ok := strings.CutPrefix(parts[len(parts)-1], "S")
	if !ok {
		return fail("want S<seq> last")
	}
	v, err = ints(s, 1)
	if err != nil {
		return fail("sequence length: %v", err)
	}
	a.SeqLen = v[0]
	if a.Key() != key {
		return fail("not in canonical form (it reads as %s)", a.Key())
	}
	return a, nil
}

// ints parses exactly n colon-separated non-negative decimal integers.
func ints(s string, n int) ([]int, error) {
	f := strings.Split(s, ":")
	if len(f) != n {
		return nil, fmt.Errorf("%q: want %d colon-separated numbers", abbreviate(s), n)
	}
	out := make([]int, n)
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a non-negative integer", abbreviate(x))
		}
		out[i] = v
	}
	return out, nil
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// DecodeArch reads an Arch from its JSON encoding strictly: unknown fields
// and trailing data are errors. It checks the syntax only; validate the
// result against a Space.
func DecodeArch(data []byte) (Arch, error) {
	var a Arch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Arch{}, fmt.Errorf("decode arch: %w", err)
	}
	if dec.More() {
		return Arch{}, fmt.Errorf("decode arch: data after the JSON object")
	}
	return a, nil
}

// Describe says a in words, for people: the number of layers, then each
// run of identical layers with its heads, FFN width, ranks, bit width and
// sharing, then the embeddings, e.g.
//
//	2 layers; layer 1: 2 heads, FFN 64, attention rank 32, FFN rank 64, int8; layer 2: 1 head, FFN 128, fp32; embeddings int8
//
// Layers are numbered from 1; the teacher layers they come from are said
// when they are not the first ones in order.
func (a Arch) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d layer%s", len(a.Layers), plural(len(a.Layers)))
	inOrder := true
	for i, l := range a.Layers {
		inOrder = inOrder && l.Source == i
	}
	for _, g := range a.Groups() {
		l := a.Layers[g[0]]
		if g[1]-g[0] == 1 {
			fmt.Fprintf(&b, "; layer %d: ", g[0]+1)
		} else {
			fmt.Fprintf(&b, "; layers %d–%d (one shared set of weights): ", g[0]+1, g[1])
		}
		fmt.Fprintf(&b, "%d head%s, FFN %d", l.Heads, plural(l.Heads), l.FFN)
		if l.AttentionRank > 0 {
			fmt.Fprintf(&b, ", attention rank %d", l.AttentionRank)
		}
		if l.FFNRank > 0 {
			fmt.Fprintf(&b, ", FFN rank %d", l.FFNRank)
		}
		b.WriteString(", " + bitsWord(l.Bits))
		if !inOrder {
			var src []string
			for _, m := range a.Layers[g[0]:g[1]] {
				src = append(src, fmt.Sprint(m.Source+1))
			}
			fmt.Fprintf(&b, ", from teacher layer %s", strings.Join(src, ", "))
		}
	}
	b.WriteString("; embeddings ")
	if a.EmbeddingRank > 0 {
		fmt.Fprintf(&b, "factorized at rank %d, ", a.EmbeddingRank)
	}
	b.WriteString(bitsWord(a.EmbeddingBits))
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// bitsWord names a weight bit width: fp32, fp16, int8, int4.
func bitsWord(bits int) string {
	switch bits {
	case 32, 0:
		return "fp32"
	case 16:
		return "fp16"
	}
	return fmt.Sprintf("int%d", bits)
}
