package transformer

import (
	"slices"

	"github.com/edgenas/edgenas/internal/gemm"
	"github.com/edgenas/edgenas/internal/qgemm"
)

// prepared holds the weights laid out for the matrix-product kernels. It is
// derived from the Linear weights once (Prepare) and read-only afterwards.
type prepared struct {
	layers             []preparedLayer
	pooler, classifier *gemm.Packed
	proj               *gemm.Packed // the factorized embeddings' projection; nil if none
	maxMid             int          // widest low-rank intermediate of any product
	bytes              int64        // memory of the packed copies (quantized weights are used in place, but for concatenated int8 ones)
}

// preparedLayer is one encoder layer's prepared weights. Query, key and
// value form one hidden → 3·inner product.
type preparedLayer struct {
	qkv                 plinear
	qkvBias             []float32
	attnOut, inter, out plinear
}

// pmat is one prepared weight matrix: packed float32 (dense, half-precision
// and low-rank factors) or quantized (run by qgemm in place).
type pmat struct {
	f *gemm.Packed
	q qgemm.Weights
}

// stage is a set of products of one input written side by side: product j
// reads the input from column j·inStep and writes from column j·outStep.
type stage struct {
	mats            []pmat
	inStep, outStep int
}

// plinear is one or more Linears of the same input fused into one
// product: stage a alone (full rank), or a into an intermediate mid
// columns wide and then b (low rank).
type plinear struct {
	a, b stage
	mid  int
}

// Prepare packs the weights for the fast kernels. Load and the constructors
// leave a model unprepared; the first Forward or NewSession prepares it.
// Call Prepare again after changing any weight (training does); it must not
// run concurrently with a forward pass of the same model.
func (m *Model) Prepare() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prep = m.pack()
}

// preparedWeights returns the packed weights, packing them on first use.
func (m *Model) preparedWeights() *prepared {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prep == nil {
		m.prep = m.pack()
	}
	return m.prep
}

// packFloat packs a float32 Out×In weight (PyTorch layout) for y = x·Wᵀ.
func (p *prepared) packFloat(w []float32, in, out int) pmat {
	pk := gemm.Pack(w, in, in, out, true)
	p.bytes += int64(pk.Bytes())
	return pmat{f: pk}
}

// fuse prepares Linears of one input, shape and storage (query, key and
// value, or one Linear alone) as one product writing their outputs side by
// side. Float weights are packed into one matrix, and so are int8 and int4
// ones (a copy, so that the activations are quantized once).
func (p *prepared) fuse(ls ...*Linear) plinear {
	l0 := ls[0]
	in, out, r := l0.In, l0.Out, l0.Rank
	var pl plinear
	switch {
	case r == 0 && !l0.Quantized():
		w := l0.W
		if len(ls) > 1 {
			w = nil
			for _, l := range ls {
				w = append(w, l.W...)
			}
		}
		pl.a.mats = []pmat{p.packFloat(w, in, len(ls)*out)}
	case r == 0:
		if q := p.concatQuantized(ls); q != nil {
			pl.a.mats = []pmat{{q: q}}
			break
		}
		for _, l := range ls {
			pl.a.mats = append(pl.a.mats, pmat{q: l.QW})
		}
		pl.a.outStep = out
	case !l0.Quantized():
		var v []float32
		for _, l := range ls {
			v = append(v, l.V...)
			pl.b.mats = append(pl.b.mats, p.packFloat(l.U, r, out))
		}
		pl.a.mats = []pmat{p.packFloat(v, in, len(ls)*r)}
	default:
		for _, l := range ls {
			pl.a.mats = append(pl.a.mats, pmat{q: l.QV})
			pl.b.mats = append(pl.b.mats, pmat{q: l.QU})
		}
		pl.a.outStep = r
	}
	if r > 0 {
		pl.mid = len(ls) * r
		pl.b.inStep, pl.b.outStep = r, out
		p.maxMid = max(p.maxMid, pl.mid)
	}
	return pl
}

// quantized reports whether every product of pl is quantized (qgemm).
func (pl *plinear) quantized() bool {
	for _, st := range []*stage{&pl.a, &pl.b} {
		for _, w := range st.mats {
			if w.q == nil {
				return false
			}
		}
	}
	return true
}

// concatQuantized returns the int8 or int4 weights of several full-rank
// Linears as one (see qgemm.ConcatInt8 and ConcatInt4), or nil when there
// is one Linear or they do not concatenate. Its memory is counted in
// p.bytes.
func (p *prepared) concatQuantized(ls []*Linear) qgemm.Weights {
	if len(ls) < 2 {
		return nil
	}
	var c qgemm.Weights
	switch ls[0].QW.(type) {
	case *qgemm.Int8:
		c = concatAs(ls, qgemm.ConcatInt8)
	case *qgemm.Int4:
		c = concatAs(ls, qgemm.ConcatInt4)
	}
	if c != nil {
		p.bytes += int64(c.Bytes())
	}
	return c
}

// concatAs joins the weights of ls with cat when every one is a W, else
// (or when cat refuses their shapes: they run as separate products)
// returns nil.
func concatAs[W qgemm.Weights](ls []*Linear, cat func(...W) (W, error)) qgemm.Weights {
	ws := make([]W, len(ls))
	for i, l := range ls {
		w, ok := l.QW.(W)
		if !ok {
			return nil
		}
		ws[i] = w
	}
	c, err := cat(ws...)
	if err != nil {
		return nil
	}
	return c
}

// single returns the quantized weight of a full-rank plinear that is one
// product, else nil.
func (pl *plinear) single() qgemm.Weights {
	if pl.mid == 0 && len(pl.a.mats) == 1 {
		return pl.a.mats[0].q
	}
	return nil
}

func (m *Model) pack() *prepared {
	p := &prepared{layers: make([]preparedLayer, len(m.Layers))}
	for i := range m.Layers {
		if i > 0 && m.Config.Layer(i).SharesPrevious {
			p.layers[i] = p.layers[i-1] // the same weights, prepared once
			continue
		}
		l := &m.Layers[i]
		p.layers[i] = preparedLayer{
			qkv:     p.fuse(&l.Query, &l.Key, &l.Value),
			qkvBias: slices.Concat(l.Query.B, l.Key.B, l.Value.B),
			attnOut: p.fuse(&l.AttnOut),
			inter:   p.fuse(&l.Inter),
			out:     p.fuse(&l.Out),
		}
		p.bytes += 4 * int64(len(p.layers[i].qkvBias))
	}
	if m.Pooler != nil {
		p.pooler = p.packFloat(m.Pooler.W, m.Pooler.In, m.Pooler.Out).f
	}
	if m.Classifier != nil {
		p.classifier = p.packFloat(m.Classifier.W, m.Classifier.In, m.Classifier.Out).f
	}
	if pr := m.Embeddings.Projection; pr != nil {
		p.proj = p.packFloat(pr.Dense(), pr.In, pr.Out).f
	}
	return p
}
