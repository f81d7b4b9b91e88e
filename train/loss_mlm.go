package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/edgenas/edgenas/internal/vec"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// MLMHead is the masked-LM head of Hugging Face's BertForMaskedLM: a dense
// hidden → hidden layer, the model's activation, a LayerNorm, and a decoder
// whose weight is tied to the word embeddings, plus its own bias. The
// caller holds (and saves) the head; the tied decoder weight stays in the
// model.
type MLMHead struct {
	Dense transformer.Linear    // hidden → hidden
	Norm  transformer.LayerNorm // over hidden
	Bias  []float32             // vocab_size: the decoder bias
}

// NewMLMHead returns a head for models of cfg: the dense weight drawn from
// N(0, std²) by rng (zero when rng is nil), zero biases, unit LayerNorm
// gain.
func NewMLMHead(cfg transformer.Config, rng *rand.Rand, std float64) *MLMHead {
	H := cfg.HiddenSize
	h := &MLMHead{
		Dense: transformer.Linear{In: H, Out: H, W: make([]float32, H*H), B: make([]float32, H)},
		Norm:  transformer.LayerNorm{Gamma: make([]float32, H), Beta: make([]float32, H), Eps: float32(cfg.LayerNormEps)},
		Bias:  make([]float32, cfg.VocabSize),
	}
	for i := range h.Norm.Gamma {
		h.Norm.Gamma[i] = 1
	}
	if rng != nil {
		for i := range h.Dense.W {
			h.Dense.W[i] = float32(rng.NormFloat64() * std)
		}
	}
	return h
}

// NewMLMGrads returns an all-zero head of h's shape: the gradient
// accumulator of MLMStep, visited in lockstep with h by Params.
func NewMLMGrads(h *MLMHead) *MLMHead {
	z := func(p []float32) []float32 { return make([]float32, len(p)) }
	return &MLMHead{
		Dense: transformer.Linear{In: h.Dense.In, Out: h.Dense.Out, W: z(h.Dense.W), B: z(h.Dense.B)},
		Norm:  transformer.LayerNorm{Gamma: z(h.Norm.Gamma), Beta: z(h.Norm.Beta), Eps: h.Norm.Eps},
		Bias:  z(h.Bias),
	}
}

// Params visits the head's tensors with their Hugging Face
// BertForMaskedLM names; the slices alias the head's weights. The tied
// decoder weight (cls.predictions.decoder.weight) is the model's word
// embedding table and is not visited.
func (h *MLMHead) Params(visit func(name string, shape []int, p []float32, kind transformer.ParamKind)) {
	H := h.Dense.Out
	visit("cls.predictions.transform.dense.weight", []int{h.Dense.Out, h.Dense.In}, h.Dense.W, transformer.ParamWeight)
	visit("cls.predictions.transform.dense.bias", []int{H}, h.Dense.B, transformer.ParamBias)
	visit("cls.predictions.transform.LayerNorm.weight", []int{H}, h.Norm.Gamma, transformer.ParamNormGain)
	visit("cls.predictions.transform.LayerNorm.bias", []int{H}, h.Norm.Beta, transformer.ParamNormBias)
	visit("cls.predictions.bias", []int{len(h.Bias)}, h.Bias, transformer.ParamBias)
}

// check reports whether h fits a model of cfg.
func (h *MLMHead) check(what string, cfg *transformer.Config) error {
	H, V := cfg.HiddenSize, cfg.VocabSize
	if h == nil {
		return fmt.Errorf("%w: nil MLM %s", ErrShape, what)
	}
	if h.Dense.In != H || h.Dense.Out != H || len(h.Dense.W) != H*H || len(h.Dense.B) != H ||
		len(h.Norm.Gamma) != H || len(h.Norm.Beta) != H || len(h.Bias) != V {
		return fmt.Errorf("%w: MLM %s does not fit hidden size %d and vocabulary %d", ErrShape, what, H, V)
	}
	return nil
}

// mlmActs are the MLM head's activations for the predicted positions.
type mlmActs struct {
	pos, target []int     // flat batch positions predicted and their targets
	x, u, a     []float32 // M×H: gathered hidden states, dense pre-activation, activation
	n           normActs  // LayerNorm; n.y feeds the decoder
	logits      []float32 // M×V, turned into their gradient in place
	dx          []float32 // M×H
}

// MLMStep runs forward and backward with the masked-LM objective:
// targets[i] is the original token at flat position i of the batch
// (row·SeqLen + column), -1 where nothing is predicted. It adds the
// gradient of the mean cross-entropy over the predicted positions into g
// (encoder and the tied word embeddings) and gh (the head), and returns
// that loss and the number of predicted positions whose argmax is the
// target. A batch without predicted positions returns 0, 0, nil and adds
// nothing. The model's pooler and classifier, if any, get no gradient.
// Bad input, or a model with a factorized word table, returns an error
// wrapping ErrInput or ErrShape.
func (n *Net) MLMStep(b *tokenizer.Batch, targets []int, head *MLMHead, g *transformer.Model, gh *MLMHead) (loss float64, correct int, err error) {
	if err := n.checkBatch(b); err != nil {
		return 0, 0, err
	}
	if n.m.Embeddings.Projection != nil {
		return 0, 0, fmt.Errorf("%w: masked LM ties its decoder to a hidden-wide word table; this model's is factorized", ErrInput)
	}
	cfg := &n.m.Config
	H, V := cfg.HiddenSize, cfg.VocabSize
	if len(targets) != len(b.IDs) {
		return 0, 0, fmt.Errorf("%w: %d MLM targets for a batch of %d×%d positions", ErrInput, len(targets), b.Size, b.SeqLen)
	}
	a := &n.mlm
	a.pos, a.target = a.pos[:0], a.target[:0]
	for i, t := range targets {
		if t == -1 {
			continue
		}
		if t < 0 || t >= V {
			return 0, 0, fmt.Errorf("%w: MLM target %d at row %d position %d outside vocabulary [0, %d)", ErrInput, t, i/b.SeqLen, i%b.SeqLen, V)
		}
		if b.Mask[i] == 0 {
			return 0, 0, fmt.Errorf("%w: MLM target at row %d position %d, which is padding", ErrInput, i/b.SeqLen, i%b.SeqLen)
		}
		a.pos, a.target = append(a.pos, i), append(a.target, t)
	}
	if err := head.check("head", cfg); err != nil {
		return 0, 0, err
	}
	if err := gh.check("head gradient", cfg); err != nil {
		return 0, 0, err
	}
	if gh == head {
		return 0, 0, fmt.Errorf("%w: the MLM head gradient is the head itself (use NewMLMGrads)", ErrShape)
	}
	if err := n.checkGrads(g); err != nil {
		return 0, 0, err
	}
	M := len(a.pos)
	if M == 0 {
		return 0, 0, nil
	}

	n.forward(b)
	last := n.hidden(len(n.m.Layers))
	a.x = grow(a.x, M*H)
	for r, p := range a.pos {
		copy(a.x[r*H:(r+1)*H], last[p*H:(p+1)*H])
	}
	a.u = grow(a.u, M*H)
	a.a = grow(a.a, M*H)
	n.ws.MulRaw(M, H, H, a.x, H, head.Dense.W, H, true, a.u, H)
	vec.AddBias(a.u, head.Dense.B)
	copy(a.a, a.u)
	activate(cfg.HiddenAct, a.a)
	a.n.y = grow(a.n.y, M*H)
	copy(a.n.y, a.a)
	n.normForward(&a.n, &head.Norm, M, H)
	a.logits = grow(a.logits, M*V)
	word := n.m.Embeddings.Word
	n.ws.MulRaw(M, V, H, a.n.y, H, word, H, true, a.logits, V)
	n.parallel(M, func(_, lo, hi int) { vec.AddBias(a.logits[lo*V:hi*V], head.Bias) })

	// Cross-entropy, turning the logits into their gradient in place.
	w := 1 / float64(M)
	for r, y := range a.target {
		row := a.logits[r*V : (r+1)*V]
		best, mx := 0, row[0]
		for j, v := range row {
			if v > mx {
				best, mx = j, v
			}
		}
		if best == y {
			correct++
		}
		zy := row[y]
		for j := range row {
			row[j] -= mx
		}
		vec.Exp(row, row)
		var sum float64
		for _, v := range row {
			sum += float64(v)
		}
		loss += (float64(mx) + math.Log(sum) - float64(zy)) * w
		vec.Scale(float32(w/sum), row)
		row[y] -= float32(w)
	}

	// Decoder (tied): bias, word embeddings, then the head's input.
	n.linearGrads(M, H, V, a.n.y, H, a.logits, V, g.Embeddings.Word, gh.Bias)
	a.dx = grow(a.dx, M*H)
	n.ws.MulRaw(M, H, V, a.logits, V, word, H, false, a.dx, H)
	n.normBackward(a.dx, &a.n, head.Norm.Gamma, a.dx, gh.Norm.Gamma, gh.Norm.Beta, M, H)
	activationBackward(cfg.HiddenAct, a.dx, a.u, a.a)
	n.linearGrads(M, H, H, a.x, H, a.dx, H, gh.Dense.W, gh.Dense.B)
	n.ws.MulRaw(M, H, H, a.dx, H, head.Dense.W, H, false, a.u, H) // a.u: gradient of the gathered rows
	n.startBackward()
	for r, p := range a.pos {
		vec.Axpy(1, a.u[r*H:(r+1)*H], n.d[p*H:(p+1)*H])
	}
	n.encoderBackward(b, g)
	return loss, correct, nil
}
