package compress

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/edgenas/edgenas/transformer"
)

// topK returns the indices of the k largest scores in ascending index
// order; ties go to the lower index, so the choice is deterministic.
func topK(scores []float64, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	idx = idx[:k]
	slices.Sort(idx)
	return idx
}

// rows copies the given rows (each of width w) of a row-major matrix.
func rows(m []float32, w int, keep []int) []float32 {
	out := make([]float32, 0, len(keep)*w)
	for _, r := range keep {
		out = append(out, m[r*w:(r+1)*w]...)
	}
	return out
}

// cols copies the given columns of a row-major matrix with n rows of width w.
func cols(m []float32, n, w int, keep []int) []float32 {
	out := make([]float32, 0, n*len(keep))
	for r := 0; r < n; r++ {
		row := m[r*w : (r+1)*w]
		for _, c := range keep {
			out = append(out, row[c])
		}
	}
	return out
}

// pick copies the given elements of a vector.
func pick(v []float32, keep []int) []float32 {
	out := make([]float32, len(keep))
	for i, k := range keep {
		out[i] = v[k]
	}
	return out
}

// headUnits expands kept heads into the inner-dimension units they own.
func headUnits(heads []int, headSize int) []int {
	var u []int
	for _, h := range heads {
		for j := 0; j < headSize; j++ {
			u = append(u, h*headSize+j)
		}
	}
	return u
}

// pruneLayer returns a copy of l that keeps only the given heads and FFN
// neurons (indices ascending): the query, key and value rows of the kept
// heads, the attention output's columns for them, the FFN input rows and
// output columns of the kept neurons. The result owns its memory.
func pruneLayer(l *transformer.Layer, heads, neurons []int) (transformer.Layer, error) {
	for _, h := range heads {
		if h < 0 || h >= l.Heads {
			return transformer.Layer{}, fmt.Errorf("head %d out of range [0, %d)", h, l.Heads)
		}
	}
	for _, n := range neurons {
		if n < 0 || n >= l.FFN {
			return transformer.Layer{}, fmt.Errorf("FFN neuron %d out of range [0, %d)", n, l.FFN)
		}
	}
	units := headUnits(heads, l.HeadSize)
	hidden := l.Query.In
	inner := len(units)
	sub := func(in *transformer.Linear) transformer.Linear {
		return transformer.Linear{In: hidden, Out: inner, W: rows(in.W, hidden, units), B: pick(in.B, units)}
	}
	return transformer.Layer{
		Heads: len(heads), HeadSize: l.HeadSize, FFN: len(neurons),
		Query: sub(&l.Query), Key: sub(&l.Key), Value: sub(&l.Value),
		AttnOut:  transformer.Linear{In: inner, Out: hidden, W: cols(l.AttnOut.W, hidden, l.AttnOut.In, units), B: slices.Clone(l.AttnOut.B)},
		AttnNorm: cloneNorm(l.AttnNorm),
		Inter:    transformer.Linear{In: hidden, Out: len(neurons), W: rows(l.Inter.W, hidden, neurons), B: pick(l.Inter.B, neurons)},
		Out:      transformer.Linear{In: len(neurons), Out: hidden, W: cols(l.Out.W, hidden, l.Out.In, neurons), B: slices.Clone(l.Out.B)},
		OutNorm:  cloneNorm(l.OutNorm),
	}, nil
}

func cloneNorm(n transformer.LayerNorm) transformer.LayerNorm {
	return transformer.LayerNorm{Gamma: slices.Clone(n.Gamma), Beta: slices.Clone(n.Beta), Eps: n.Eps}
}
