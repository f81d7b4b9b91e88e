package train

import (
	"fmt"
	"math"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// This file computes the importance scores of Michel et al. (2019), "Are
// Sixteen Heads Really Better than One?". Think of a gate ξ (= 1 in the
// real model) on each unit:
//
//   - head h of a layer: ctx_h ↦ ξ_h·ctx_h, its context output (before the
//     attention output projection);
//   - FFN neuron j: act_j ↦ ξ_j·act_j, its activation (before the FFN's
//     second projection);
//   - layer l: both residual branches, h1 = LN(x + ξ_l·Attn(x)) and
//     h2 = LN(h1 + ξ_l·FFN(h1)), Attn and FFN including their output
//     projection and its bias.
//
// A unit's score is Σ over calibration examples x of |∂L(x)/∂ξ| at ξ = 1:
// the absolute value is taken per example, then summed. The derivatives
// come from the ordinary backward pass, because at ξ = 1 a gate's gradient
// is the inner product of the gated tensor with its gradient, over the
// example's real tokens t:
//
//	∂L/∂ξ_h = Σ_t ⟨ctx_h[t], ∂L/∂ctx_h[t]⟩      ∂L/∂ξ_j = Σ_t act_j[t]·∂L/∂act_j[t]
//
// and, since Attn(x)[t] = ctx[t]·W_Oᵀ + b_O (likewise for the FFN),
//
//	∂L/∂ξ_l = Σ_h ∂L/∂ξ_h + Σ_t ⟨b_O, ∂L/∂Attn[t]⟩ + Σ_j ∂L/∂ξ_j + Σ_t ⟨b_2, ∂L/∂FFN[t]⟩.
//
// The layer gate is the derivative-level analogue of dropping the layer:
// with ξ_l = 0 the layer is x ↦ LN2(LN1(x)), the identity up to its
// LayerNorms' affine maps. It is not the sum of the layer's head and neuron
// scores: signed contributions of different units cancel inside one
// example before the absolute value is taken, as they do when the whole
// layer goes.
//
// Examples in a batch never interact (attention stays inside a row, the
// loss is a sum over rows), so one batched backward pass yields every
// example's own gate gradients.

// GateScores accumulates importance scores of a model's heads, FFN neurons
// and layers (see ImportanceStep). The scores are unnormalized sums over
// examples; NormalizeL2 applies the per-layer normalization of Michel et
// al. when wanted.
type GateScores struct {
	// Heads[l][h] is Σ_x |∂L(x)/∂ξ| of head h of layer l's gate.
	Heads [][]float64
	// Neurons[l][j] is Σ_x |∂L(x)/∂ξ| of FFN neuron j of layer l's gate.
	Neurons [][]float64
	// Layers[l] is Σ_x |∂L(x)/∂ξ| of the gate on both of layer l's residual
	// branches.
	Layers []float64
	// Examples is the number of examples accumulated.
	Examples int
}

// NewGateScores returns zero scores with m's shapes.
func NewGateScores(m *transformer.Model) *GateScores {
	s := &GateScores{
		Heads:   make([][]float64, len(m.Layers)),
		Neurons: make([][]float64, len(m.Layers)),
		Layers:  make([]float64, len(m.Layers)),
	}
	for i := range m.Layers {
		s.Heads[i] = make([]float64, m.Layers[i].Heads)
		s.Neurons[i] = make([]float64, m.Layers[i].FFN)
	}
	return s
}

// check reports whether s has m's shapes.
func (s *GateScores) check(m *transformer.Model) error {
	if s == nil {
		return fmt.Errorf("%w: nil importance scores", ErrShape)
	}
	if len(s.Heads) != len(m.Layers) || len(s.Neurons) != len(m.Layers) || len(s.Layers) != len(m.Layers) {
		return fmt.Errorf("%w: importance scores for %d/%d/%d layers, the model has %d (use NewGateScores)",
			ErrShape, len(s.Heads), len(s.Neurons), len(s.Layers), len(m.Layers))
	}
	for i := range m.Layers {
		if len(s.Heads[i]) != m.Layers[i].Heads || len(s.Neurons[i]) != m.Layers[i].FFN {
			return fmt.Errorf("%w: importance scores of layer %d have %d heads and %d neurons, the model %d and %d",
				ErrShape, i, len(s.Heads[i]), len(s.Neurons[i]), m.Layers[i].Heads, m.Layers[i].FFN)
		}
	}
	return nil
}

// NormalizeL2 divides each row of scores by its L2 norm, in place (a row
// of zeros stays zero). Applied to GateScores.Heads it is the per-layer
// normalization of Michel et al. (2019), which makes heads of different
// layers comparable for global pruning; it never changes the order of the
// units inside a layer. Nothing in this package applies it by default.
func NormalizeL2(scores [][]float64) {
	for _, row := range scores {
		var ss float64
		for _, v := range row {
			ss += v * v
		}
		if ss == 0 {
			continue
		}
		inv := 1 / math.Sqrt(ss)
		for j := range row {
			row[j] *= inv
		}
	}
}

// gateAcc is a Net's importance-scoring state; s is non-nil only while
// ImportanceStep runs, and only then do the backward hooks act.
type gateAcc struct {
	s         *GateScores
	per       []float64 // bsz×width: each example's signed unit gate gradients
	bias      []float64 // bsz: each example's ⟨bias, Σ_t ∂L/∂branch[t]⟩
	layer     []float64 // bsz: each example's signed FFN-branch gate gradient
	labels    []int     // pseudo-labels
	skeleton  *transformer.Model
	skeletonH int
}

// scoring reports whether the backward pass runs for ImportanceStep, which
// needs no parameter gradients.
func (n *Net) scoring() bool { return n.gates != nil && n.gates.s != nil }

// ImportanceStep runs forward and backward on a batch and adds every
// example's |∂L(x)/∂ξ| of every head, FFN neuron and layer gate into s (see
// GateScores), where L(x) is the example's cross-entropy against its label.
// labels == nil scores unlabelled data against the model's own argmax
// (pseudo-labels): the gradient of the KL divergence to the model's own
// predictions would be identically zero, since that KL is at its minimum.
// It returns the summed loss over the batch.
//
// No parameter gradient is computed. The model needs a pooler and a
// classifier; s must have the model's shapes (NewGateScores). Bad input
// returns an error wrapping ErrInput or ErrShape and leaves s untouched.
func (n *Net) ImportanceStep(b *tokenizer.Batch, labels []int, s *GateScores) (loss float64, err error) {
	if err := n.checkClassify(b, labels, false); err != nil {
		return 0, err
	}
	if err := s.check(n.m); err != nil {
		return 0, err
	}
	if n.gates == nil {
		n.gates = &gateAcc{}
	}
	g := n.gates
	n.forward(b)
	C := n.m.Classifier.Out
	if labels == nil {
		g.labels = g.labels[:0]
		for r := 0; r < b.Size; r++ {
			row, best := n.logits[r*C:(r+1)*C], 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			g.labels = append(g.labels, best)
		}
		labels = g.labels
	}
	n.dlogits = grow(n.dlogits, b.Size*C)
	clear(n.dlogits)
	// Weight 1 per row (a sum, not a mean), so each row's gradient is
	// exactly its own example's.
	loss, _ = crossEntropy(n.logits, labels, C, 1, n.dlogits)

	g.s = s
	defer func() { g.s = nil }()
	sk := g.gradSkeleton(n.m)
	n.startBackward()
	n.headBackward(n.dlogits, sk)
	n.encoderBackward(b, sk)
	s.Examples += b.Size
	return loss, nil
}

// gradSkeleton returns a stand-in gradient accumulator for a backward pass
// without parameter gradients: only the LayerNorm gains and shifts, which
// normBackward still writes, have storage (their values are never read).
func (g *gateAcc) gradSkeleton(m *transformer.Model) *transformer.Model {
	H := m.Config.HiddenSize
	if g.skeleton != nil && len(g.skeleton.Layers) == len(m.Layers) && g.skeletonH == H {
		return g.skeleton
	}
	norm := func() transformer.LayerNorm {
		return transformer.LayerNorm{Gamma: make([]float32, H), Beta: make([]float32, H)}
	}
	sk := &transformer.Model{Layers: make([]transformer.Layer, len(m.Layers)),
		Pooler: &transformer.Linear{}, Classifier: &transformer.Linear{}}
	for i := range sk.Layers {
		sk.Layers[i].AttnNorm, sk.Layers[i].OutNorm = norm(), norm()
	}
	g.skeleton, g.skeletonH = sk, H
	return sk
}

// growF64 returns buf resized to size, reallocating only when too small.
func growF64(buf []float64, size int) []float64 {
	if cap(buf) < size {
		return make([]float64, size)
	}
	return buf[:size]
}

// gateRows sets, for every example of the last batch, per[bi][j] =
// Σ_t x[t][j]·dx[t][j] over its real tokens t (x and dx have width
// columns) and bias[bi] = Σ_t ⟨b, dz[t]⟩ (dz has the hidden width).
func (n *Net) gateRows(b *tokenizer.Batch, width int, x, dx, dz, bias []float32) {
	g := n.gates
	B, T, H := n.bsz, n.seq, n.m.Config.HiddenSize
	g.per = growF64(g.per, B*width)
	g.bias = growF64(g.bias, B)
	n.parallel(B, func(_, lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			per := g.per[bi*width : (bi+1)*width]
			clear(per)
			var bt float64
			for t := 0; t < T; t++ {
				r := bi*T + t
				if b.Mask[r] == 0 {
					continue
				}
				xr, dr := x[r*width:(r+1)*width], dx[r*width:(r+1)*width]
				for j, v := range xr {
					per[j] += float64(v) * float64(dr[j])
				}
				for j, v := range dz[r*H : (r+1)*H] {
					bt += float64(bias[j]) * float64(v)
				}
			}
			g.bias[bi] = bt
		}
	})
}

// gateFFN is the backward hook of the FFN gates of layer li: n.dffn holds
// ∂L/∂act (before the activation's derivative is applied) and n.dz the
// gradient of the FFN branch's output. A no-op unless ImportanceStep runs.
func (n *Net) gateFFN(li int, b *tokenizer.Batch) {
	if !n.scoring() {
		return
	}
	g, l, a := n.gates, &n.m.Layers[li], &n.layers[li]
	F := l.FFN
	n.gateRows(b, F, a.a, n.dffn, n.dz, l.Out.B)
	g.layer = growF64(g.layer, n.bsz)
	scores := g.s.Neurons[li]
	for bi := range n.bsz {
		sum := g.bias[bi]
		for j, v := range g.per[bi*F : (bi+1)*F] {
			scores[j] += math.Abs(v)
			sum += v
		}
		g.layer[bi] = sum
	}
}

// gateAttn is the backward hook of the head gates of layer li, run after
// gateFFN: n.dctx holds ∂L/∂ctx and n.dz the gradient of the attention
// branch's output. It completes the layer's gate. A no-op unless
// ImportanceStep runs.
func (n *Net) gateAttn(li int, b *tokenizer.Batch) {
	if !n.scoring() {
		return
	}
	g, l, a := n.gates, &n.m.Layers[li], &n.layers[li]
	hs, inner := l.HeadSize, l.Heads*l.HeadSize
	n.gateRows(b, inner, a.ctx, n.dctx, n.dz, l.AttnOut.B)
	scores := g.s.Heads[li]
	for bi := range n.bsz {
		sum := g.layer[bi] + g.bias[bi]
		per := g.per[bi*inner : (bi+1)*inner]
		for h := range l.Heads {
			var v float64
			for _, u := range per[h*hs : (h+1)*hs] {
				v += u
			}
			scores[h] += math.Abs(v)
			sum += v
		}
		g.s.Layers[li] += math.Abs(sum)
	}
}

// Importance scores m's heads, FFN neurons and layers on calibration
// batches with a Net of threads threads (see GateScores and
// ImportanceStep): labels[i] labels batches[i]; labels == nil, or a nil
// labels[i], scores against the model's own argmax. The scores are
// unnormalized; m is only read.
func Importance(m *transformer.Model, batches []*tokenizer.Batch, labels [][]int, threads int) (*GateScores, error) {
	if labels != nil && len(labels) != len(batches) {
		return nil, fmt.Errorf("%w: importance: %d label sets for %d batches", ErrInput, len(labels), len(batches))
	}
	n := NewNet(m, threads)
	s := NewGateScores(m)
	for i, b := range batches {
		var y []int
		if labels != nil {
			y = labels[i]
		}
		if _, err := n.ImportanceStep(b, y, s); err != nil {
			return nil, fmt.Errorf("importance: batch %d: %w", i, err)
		}
	}
	return s, nil
}
