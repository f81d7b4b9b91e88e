package transformer

import (
	"slices"

	"github.com/edgenas/edgenas/internal/gemm"
)

// prepared holds the weights packed for the matrix-product kernel. It is
// derived from the Linear weights once (Prepare) and read-only afterwards.
type prepared struct {
	layers             []preparedLayer
	pooler, classifier *gemm.Packed
}

// preparedLayer is one encoder layer's packed weights. Query, key and value
// are packed side by side into one hidden → 3·inner product.
type preparedLayer struct {
	qkv                 *gemm.Packed
	qkvBias             []float32
	attnOut, inter, out *gemm.Packed
}

// packLinear packs l's weight for y = x·Wᵀ.
func packLinear(l *Linear) *gemm.Packed {
	return gemm.Pack(l.W, l.In, l.In, l.Out, true)
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

func (m *Model) pack() *prepared {
	p := &prepared{layers: make([]preparedLayer, len(m.Layers))}
	for i := range m.Layers {
		l := &m.Layers[i]
		qkvW := slices.Concat(l.Query.W, l.Key.W, l.Value.W) // (3·inner)×hidden
		p.layers[i] = preparedLayer{
			qkv:     gemm.Pack(qkvW, l.Query.In, l.Query.In, 3*l.Query.Out, true),
			qkvBias: slices.Concat(l.Query.B, l.Key.B, l.Value.B),
			attnOut: packLinear(&l.AttnOut),
			inter:   packLinear(&l.Inter),
			out:     packLinear(&l.Out),
		}
	}
	if m.Pooler != nil {
		p.pooler = packLinear(m.Pooler)
	}
	if m.Classifier != nil {
		p.classifier = packLinear(m.Classifier)
	}
	return p
}
