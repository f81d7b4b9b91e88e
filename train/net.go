package train

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/edgenas/edgenas/internal/gemm"
	"github.com/edgenas/edgenas/internal/vec"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// ErrInput marks a batch, label set or target set that a step cannot run:
// a malformed batch, a token id outside the vocabulary, a sequence longer
// than the position table, a label out of range, a model without the head
// the objective needs. Every such error wraps ErrInput. It is the engine's
// transformer.ErrInput: a batch the engine rejects is rejected here the
// same way.
var ErrInput = transformer.ErrInput

// ErrShape marks a gradient accumulator, teacher or head whose shape does
// not fit the model it is used with. Every such error wraps ErrShape.
var ErrShape = errors.New("train: shape mismatch")

// NewGrads returns a zero-valued model with m's config and the same heads
// (pooler/classifier present iff in m): the gradient accumulator, visited in
// lockstep with m by (*transformer.Model).Params. Every tensor has the
// length of m's, LayerNorm gains included (they start at 0, not 1); a
// low-rank Linear gets gradients of its two factors U and V, a factorized
// model's word projection its own. Layers that share weights (ALBERT-style)
// share their gradient tensors too, so every use of a shared weight adds
// into its one gradient.
//
// Steps always add into the accumulator, so the caller zeroes it (for
// example through Params) between optimizer updates.
func NewGrads(m *transformer.Model) *transformer.Model {
	z := func(p []float32) []float32 {
		if p == nil {
			return nil
		}
		return make([]float32, len(p))
	}
	lin := func(l *transformer.Linear) transformer.Linear {
		return transformer.Linear{In: l.In, Out: l.Out, Rank: l.Rank, W: z(l.W), U: z(l.U), V: z(l.V), B: z(l.B)}
	}
	norm := func(n *transformer.LayerNorm) transformer.LayerNorm {
		return transformer.LayerNorm{Gamma: z(n.Gamma), Beta: z(n.Beta), Eps: n.Eps}
	}
	e := &m.Embeddings
	g := &transformer.Model{
		Config: m.Config.Clone(),
		Embeddings: transformer.Embeddings{
			Word: z(e.Word), Position: z(e.Position), TokenType: z(e.TokenType), Norm: norm(&e.Norm),
		},
		Layers: make([]transformer.Layer, len(m.Layers)),
	}
	if e.Projection != nil {
		p := lin(e.Projection)
		g.Embeddings.Projection = &p
	}
	for i := range m.Layers {
		if i > 0 && m.Config.Layer(i).SharesPrevious {
			g.Layers[i] = g.Layers[i-1] // shared weights, shared gradient: contributions add up
			continue
		}
		l := &m.Layers[i]
		g.Layers[i] = transformer.Layer{
			Heads: l.Heads, HeadSize: l.HeadSize, FFN: l.FFN,
			Query: lin(&l.Query), Key: lin(&l.Key), Value: lin(&l.Value),
			AttnOut: lin(&l.AttnOut), AttnNorm: norm(&l.AttnNorm),
			Inter: lin(&l.Inter), Out: lin(&l.Out), OutNorm: norm(&l.OutNorm),
		}
	}
	if m.Pooler != nil {
		p := lin(m.Pooler)
		g.Pooler = &p
	}
	if m.Classifier != nil {
		c := lin(m.Classifier)
		g.Classifier = &c
	}
	return g
}

// Net runs training-time forward and backward passes of a model, keeping
// the activations the backward pass needs; buffers are reused across steps
// (no per-step allocation growth in steady state). Not safe for concurrent
// use.
//
// A Net reads the model's weights afresh at every step (it never uses the
// model's packed weights), so an optimizer may update them between steps
// without telling the Net. It never writes them.
//
// A Net trains float32 models: dense Linears, low-rank ones (their factors
// U and V, through the same two thin products as the engine) and a
// factorized word table with its projection. Weights stored in 16, 8 or 4
// bits are not trained: train the float student with SetFakeQuant (fake
// quantization with the straight-through estimator), then quantize it.
type Net struct {
	m       *transformer.Model
	threads int
	ws      gemm.Workspace // the large products, Threads = threads
	workers []netWorker    // per-goroutine scratch of attention
	quant   []int          // fake-quantization bits per layer; nil = off
	form    error          // why the model cannot be trained (ErrInput); nil if it can

	bsz, seq, rows int // shape of the batch of the last forward pass

	emb     normActs
	layers  []layerActs
	weights []layerWeights

	// Factorized word embeddings before the projection, rows×E.
	embIn []float32

	// Pooler and classifier activations, bsz rows each.
	cls, pooled, logits []float32

	// Backward scratch.
	d, dz, dh    []float32 // rows×H
	dqkv, dctx   []float32
	dffn         []float32
	dmid         []float32 // gradient of a low-rank intermediate
	tr, gw       []float32 // transpose and weight-gradient scratch
	dlogits      []float32
	dpooled, dpz []float32

	// Extra gradients injected by distillation: kdHidden[i] is added to the
	// gradient of hidden state i (0 = embeddings, i = output of layer i-1),
	// kdProbs[l] to the gradient of layer l's attention probabilities.
	kdHidden, kdHiddenBuf [][]float32
	kdProbs, kdProbsBuf   [][]float32
	kdTerms               KDTerms

	mlm mlmActs

	gates *gateAcc // importance scoring (importance.go); acts only inside ImportanceStep

	checked *transformer.Model // last gradient accumulator whose shape was checked
}

// normActs is what a LayerNorm keeps for its backward pass.
type normActs struct {
	y, xhat, rstd []float32
}

// layerActs holds one encoder layer's activations.
type layerActs struct {
	qkv   []float32 // rows×3·inner, Q|K|V with biases
	probs []float32 // bsz×heads×seq×seq attention probabilities
	ctx   []float32 // rows×inner
	n1    normActs  // attention output LayerNorm
	u, a  []float32 // rows×FFN: pre-activation (with bias) and activation
	n2    normActs  // output LayerNorm; n2.y is the layer's output
	// Low-rank intermediates x·Vᵀ of the four products (nil at full rank):
	// Q|K|V (rows×3·rank), attention output, intermediate and output.
	qkvMid, attnMid, interMid, outMid []float32
}

// layerWeights are the weights one step uses for a layer: the model's own,
// or their fake-quantized copies.
type layerWeights struct {
	qkv                 stepLinear // Q|K|V stacked
	qkvBias             []float32  // 3·inner
	attnOut, inter, out stepLinear
}

// stepLinear is the weight of one product of a step, x·Wᵀ without bias,
// for parts Linears of the same input and shape whose outputs are written
// side by side (3 for Q|K|V, else 1): dense (rank 0), w holds the parts'
// weights stacked, (parts·out)×in; low-rank, v holds their V factors
// stacked, (parts·rank)×in, and u their U factors one after the other,
// parts × out×rank. The slices alias the model's weights (one float
// Linear) or are the Net's own buffers (stacked or fake-quantized copies).
type stepLinear struct {
	parts, in, out, rank int
	w, u, v              []float32
	owned                bool // w, u and v are the Net's own buffers
}

// set gathers the weights of ls (one Linear, or Q, K and V), rounded to
// bits bits per row when bits > 0.
func (s *stepLinear) set(bits int, ls ...*transformer.Linear) {
	l0 := ls[0]
	s.parts, s.in, s.out, s.rank = len(ls), l0.In, l0.Out, l0.Rank
	if len(ls) == 1 && bits == 0 {
		s.w, s.u, s.v, s.owned = l0.W, l0.U, l0.V, false
		return
	}
	// Copies live in the Net's own buffers, never in slices that aliased
	// the model's weights.
	if !s.owned {
		s.w, s.u, s.v, s.owned = nil, nil, nil, true
	}
	in, out, r := s.in, s.out, s.rank
	if r == 0 {
		s.w = grow(s.w, len(ls)*out*in)
		for j, l := range ls {
			quantizeInto(s.w[j*out*in:(j+1)*out*in], l.W, in, bits)
		}
		return
	}
	s.u = grow(s.u, len(ls)*out*r)
	s.v = grow(s.v, len(ls)*r*in)
	for j, l := range ls {
		quantizeInto(s.u[j*out*r:(j+1)*out*r], l.U, r, bits)
		quantizeInto(s.v[j*r*in:(j+1)*r*in], l.V, in, bits)
	}
}

// netWorker is one goroutine's scratch for attention.
type netWorker struct {
	ws     gemm.Workspace
	dp, tr []float32
}

// NewNet returns a Net for m whose matrix products and attention use up to
// threads goroutines (values below 1 mean 1). A model the Net cannot train
// (weights stored in 16, 8 or 4 bits, a malformed Linear; see Net) is
// rejected by every pass with an error wrapping ErrInput.
func NewNet(m *transformer.Model, threads int) *Net {
	threads = max(1, threads)
	n := &Net{m: m, threads: threads, workers: make([]netWorker, threads), form: trainable(m)}
	n.ws.Threads = threads
	n.layers = make([]layerActs, len(m.Layers))
	n.weights = make([]layerWeights, len(m.Layers))
	return n
}

// Model returns the model the Net trains.
func (n *Net) Model() *transformer.Model { return n.m }

// grow returns buf resized to size, reallocating only when too small.
func grow(buf []float32, size int) []float32 {
	if cap(buf) < size {
		return make([]float32, size)
	}
	return buf[:size]
}

// parallel runs f over units [0, units) split into contiguous ranges, one
// per goroutine, with the worker index w.
func (n *Net) parallel(units int, f func(w, lo, hi int)) {
	t := min(n.threads, units)
	if t <= 1 {
		f(0, 0, units)
		return
	}
	var wg sync.WaitGroup
	wg.Add(t)
	for w := 0; w < t; w++ {
		go func() {
			defer wg.Done()
			f(w, w*units/t, (w+1)*units/t)
		}()
	}
	wg.Wait()
}

// trainable reports, wrapping ErrInput, why a Net cannot train m: a
// weight stored in 16, 8 or 4 bits, a Linear whose float storage does not
// fit its shape, Q, K and V of one layer in different forms, a low-rank
// pooler, classifier or word projection.
func trainable(m *transformer.Model) error {
	const quantHint = "training needs float32 weights: train the float student with SetFakeQuant (fake quantization, straight-through estimator) and quantize it afterwards"
	lin := func(what string, l *transformer.Linear, lowRank bool) error {
		if b := l.WeightBits(); b != 32 {
			return fmt.Errorf("%w: %s holds %d-bit weights; %s", ErrInput, what, b, quantHint)
		}
		if l.Rank > 0 && !lowRank {
			return fmt.Errorf("%w: %s is low-rank (rank %d); only encoder layers may be", ErrInput, what, l.Rank)
		}
		ok := l.In > 0 && l.Out > 0 && len(l.B) == l.Out
		if l.Rank == 0 {
			ok = ok && len(l.W) == l.Out*l.In
		} else {
			ok = ok && len(l.U) == l.Out*l.Rank && len(l.V) == l.Rank*l.In
		}
		if !ok {
			return fmt.Errorf("%w: %s: float storage does not fit a %d→%d Linear of rank %d", ErrInput, what, l.In, l.Out, l.Rank)
		}
		return nil
	}
	e := &m.Embeddings
	if b := bitsOf(e.WordBits); b != 32 || e.WordQ != nil {
		return fmt.Errorf("%w: the word embeddings are stored in %d bits; %s", ErrInput, b, quantHint)
	}
	if p := e.Projection; p != nil {
		if err := lin("the word projection", p, false); err != nil {
			return err
		}
		H := m.Config.HiddenSize
		if p.Out != H || len(e.Word) != m.Config.VocabSize*p.In {
			return fmt.Errorf("%w: a %d→%d word projection for hidden size %d and a word table of %d values", ErrInput, p.In, p.Out, H, len(e.Word))
		}
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		for _, c := range []struct {
			name string
			l    *transformer.Linear
		}{{"query", &l.Query}, {"key", &l.Key}, {"value", &l.Value}, {"attention output", &l.AttnOut}, {"intermediate", &l.Inter}, {"output", &l.Out}} {
			if err := lin(fmt.Sprintf("layer %d %s", i, c.name), c.l, true); err != nil {
				return err
			}
		}
		if l.Key.Rank != l.Query.Rank || l.Value.Rank != l.Query.Rank {
			return fmt.Errorf("%w: layer %d: query, key and value of ranks %d, %d and %d (want one rank)", ErrInput, i, l.Query.Rank, l.Key.Rank, l.Value.Rank)
		}
	}
	if m.Pooler != nil {
		if err := lin("the pooler", m.Pooler, false); err != nil {
			return err
		}
	}
	if m.Classifier != nil {
		if err := lin("the classifier", m.Classifier, false); err != nil {
			return err
		}
	}
	return nil
}

// bitsOf maps a stored bit width to its meaning: 0 is 32.
func bitsOf(b int) int {
	if b == 0 {
		return 32
	}
	return b
}

// checkBatch validates b against the model, as the engine's forward pass
// does, so that no step panics on bad input.
func (n *Net) checkBatch(b *tokenizer.Batch) error {
	if n.form != nil {
		return n.form
	}
	if err := n.m.CheckInput(b); err != nil {
		return err
	}
	// A factorized word table is E wide; every id must have its row.
	wcols := n.m.Config.HiddenSize
	if p := n.m.Embeddings.Projection; p != nil {
		wcols = p.In
	}
	for i, id := range b.IDs {
		if (int(id)+1)*wcols > len(n.m.Embeddings.Word) {
			return fmt.Errorf("%w: row %d position %d: token id %d has no row in the %d-value word table", ErrInput, i/b.SeqLen, i%b.SeqLen, id, len(n.m.Embeddings.Word))
		}
	}
	return nil
}

// checkGrads verifies once per accumulator that g has m's parameter shapes.
func (n *Net) checkGrads(g *transformer.Model) error {
	if g == nil {
		return fmt.Errorf("%w: nil gradient accumulator", ErrShape)
	}
	if g == n.checked {
		return nil
	}
	if g == n.m {
		return fmt.Errorf("%w: the gradient accumulator is the model itself (use NewGrads)", ErrShape)
	}
	type tensor struct {
		name string
		size int
	}
	var want, got []tensor
	n.m.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) {
		want = append(want, tensor{name, len(p)})
	})
	g.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) {
		got = append(got, tensor{name, len(p)})
	})
	if len(want) != len(got) {
		return fmt.Errorf("%w: gradient accumulator has %d tensors, model %d (use NewGrads)", ErrShape, len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Errorf("%w: gradient tensor %s has %d values, model's %s %d", ErrShape, got[i].name, got[i].size, want[i].name, want[i].size)
		}
	}
	n.checked = g
	return nil
}

// hidden returns hidden state i of the last forward pass: 0 is the
// embedding output, i ≥ 1 the output of encoder layer i-1.
func (n *Net) hidden(i int) []float32 {
	if i == 0 {
		return n.emb.y
	}
	return n.layers[i-1].n2.y
}

// prepareWeights gathers the weights of this step, fake-quantizing them
// where SetFakeQuant asked for it.
func (n *Net) prepareWeights() {
	for li := range n.m.Layers {
		l, w := &n.m.Layers[li], &n.weights[li]
		bits := 0
		if n.quant != nil {
			bits = n.quant[li]
		}
		w.qkv.set(bits, &l.Query, &l.Key, &l.Value)
		inner := l.Query.Out
		w.qkvBias = grow(w.qkvBias, 3*inner)
		copy(w.qkvBias, l.Query.B)
		copy(w.qkvBias[inner:], l.Key.B)
		copy(w.qkvBias[2*inner:], l.Value.B)
		w.attnOut.set(bits, &l.AttnOut)
		w.inter.set(bits, &l.Inter)
		w.out.set(bits, &l.Out)
	}
}

// linearForward computes y = x·Wᵀ (no bias) for rows rows of x (row
// stride ldx) into y (row stride ldy): one product at full rank; at low
// rank the intermediate *mid = x·Vᵀ (rows × parts·rank, kept for the
// backward pass) and then mid·Uᵀ for every part.
func (n *Net) linearForward(s *stepLinear, rows int, x []float32, ldx int, mid *[]float32, y []float32, ldy int) {
	if s.rank == 0 {
		n.ws.MulRaw(rows, s.parts*s.out, s.in, x, ldx, s.w, s.in, true, y, ldy)
		return
	}
	r, k := s.rank, s.parts*s.rank
	*mid = grow(*mid, rows*k)
	n.ws.MulRaw(rows, k, s.in, x, ldx, s.v, s.in, true, *mid, k)
	for j := 0; j < s.parts; j++ {
		n.ws.MulRaw(rows, s.out, r, (*mid)[j*r:], k, s.u[j*s.out*r:], r, true, y[j*s.out:], ldy)
	}
}

// forward runs the encoder (and the pooler and classifier when present)
// over a checked batch, keeping every activation the backward pass needs.
func (n *Net) forward(b *tokenizer.Batch) {
	m := n.m
	H, T, B := m.Config.HiddenSize, b.SeqLen, b.Size
	R := B * T
	n.bsz, n.seq, n.rows = B, T, R
	n.prepareWeights()

	n.embedForward(b)
	for li := range m.Layers {
		l, a, w := &m.Layers[li], &n.layers[li], &n.weights[li]
		x := n.hidden(li)
		inner, F := l.Heads*l.HeadSize, l.FFN
		a.qkv = grow(a.qkv, R*3*inner)
		n.linearForward(&w.qkv, R, x, H, &a.qkvMid, a.qkv, 3*inner)
		n.parallel(R, func(_, lo, hi int) { vec.AddBias(a.qkv[lo*3*inner:hi*3*inner], w.qkvBias) })
		a.probs = grow(a.probs, B*l.Heads*T*T)
		a.ctx = grow(a.ctx, R*inner)
		n.parallel(B*l.Heads, func(wi, lo, hi int) { n.attentionForward(&n.workers[wi], b, l, a, lo, hi) })

		a.n1.y = grow(a.n1.y, R*H)
		n.linearForward(&w.attnOut, R, a.ctx, inner, &a.attnMid, a.n1.y, H)
		n.addNormForward(&a.n1, x, l.AttnOut.B, &l.AttnNorm, R, H)

		a.u = grow(a.u, R*F)
		a.a = grow(a.a, R*F)
		n.linearForward(&w.inter, R, a.n1.y, H, &a.interMid, a.u, F)
		n.parallel(R, func(_, lo, hi int) {
			u, act := a.u[lo*F:hi*F], a.a[lo*F:hi*F]
			vec.AddBias(u, l.Inter.B)
			copy(act, u)
			activate(m.Config.HiddenAct, act)
		})

		a.n2.y = grow(a.n2.y, R*H)
		n.linearForward(&w.out, R, a.a, F, &a.outMid, a.n2.y, H)
		n.addNormForward(&a.n2, a.n1.y, l.Out.B, &l.OutNorm, R, H)
	}
	n.headForward()
}

// headForward runs the pooler and classifier, when present, on [CLS].
func (n *Net) headForward() {
	m := n.m
	if m.Pooler == nil {
		return
	}
	H, B, T := m.Config.HiddenSize, n.bsz, n.seq
	last := n.hidden(len(m.Layers))
	n.cls = grow(n.cls, B*H)
	for bi := 0; bi < B; bi++ {
		copy(n.cls[bi*H:(bi+1)*H], last[bi*T*H:])
	}
	n.pooled = grow(n.pooled, B*H)
	n.ws.MulRaw(B, H, H, n.cls, H, m.Pooler.W, H, true, n.pooled, H)
	vec.AddBias(n.pooled, m.Pooler.B)
	vec.Tanh(n.pooled)
	if m.Classifier == nil {
		return
	}
	C := m.Classifier.Out
	n.logits = grow(n.logits, B*C)
	n.ws.MulRaw(B, C, H, n.pooled, H, m.Classifier.W, H, true, n.logits, C)
	vec.AddBias(n.logits, m.Classifier.B)
}

// activate applies the configured activation in place.
func activate(act string, x []float32) {
	switch act {
	case transformer.ActGELUNew, transformer.ActGELUTanh:
		vec.GELUTanh(x)
	case transformer.ActReLU:
		vec.ReLU(x)
	default:
		vec.GELU(x)
	}
}

// embedForward computes LayerNorm(word + position + token type), the word
// rows of a factorized table first projected to hidden (row·Pᵀ + bias).
func (n *Net) embedForward(b *tokenizer.Batch) {
	e := &n.m.Embeddings
	H := n.m.Config.HiddenSize
	n.emb.y = grow(n.emb.y, n.rows*H)
	y := n.emb.y
	if p := e.Projection; p != nil {
		E := p.In
		n.embIn = grow(n.embIn, n.rows*E)
		for i, id := range b.IDs {
			copy(n.embIn[i*E:(i+1)*E], e.Word[int(id)*E:])
		}
		n.ws.MulRaw(n.rows, H, E, n.embIn, E, p.W, E, true, y, H)
		vec.AddBias(y, p.B)
	}
	for i, id := range b.IDs {
		dst := y[i*H : (i+1)*H]
		if e.Projection == nil {
			copy(dst, e.Word[int(id)*H:])
		}
		p := i % b.SeqLen
		vec.Axpy(1, e.Position[p*H:(p+1)*H], dst)
		t := int(b.TypeIDs[i])
		vec.Axpy(1, e.TokenType[t*H:(t+1)*H], dst)
	}
	n.normForward(&n.emb, &e.Norm, n.rows, H)
}

// addNormForward sets a.y = LayerNorm(a.y + res + bias), a.y holding the
// projection on entry.
func (n *Net) addNormForward(a *normActs, res, bias []float32, ln *transformer.LayerNorm, R, H int) {
	n.parallel(R, func(_, lo, hi int) {
		y := a.y[lo*H : hi*H]
		vec.Axpy(1, res[lo*H:hi*H], y)
		vec.AddBias(y, bias)
	})
	n.normForward(a, ln, R, H)
}

// normForward normalizes the rows of a.y in place, keeping x̂ and 1/σ.
func (n *Net) normForward(a *normActs, ln *transformer.LayerNorm, R, H int) {
	a.xhat = grow(a.xhat, R*H)
	a.rstd = grow(a.rstd, R)
	n.parallel(R, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			y, xh := a.y[r*H:(r+1)*H], a.xhat[r*H:(r+1)*H]
			var sum float64
			for _, v := range y {
				sum += float64(v)
			}
			mean := sum / float64(H)
			var ss float64
			for _, v := range y {
				d := float64(v) - mean
				ss += d * d
			}
			rstd := 1 / math.Sqrt(ss/float64(H)+float64(ln.Eps))
			a.rstd[r] = float32(rstd)
			for j, v := range y {
				h := float32((float64(v) - mean) * rstd)
				xh[j] = h
				y[j] = h*ln.Gamma[j] + ln.Beta[j]
			}
		}
	})
}

// attentionForward computes probabilities and context of (sequence, head)
// units [lo, hi), exactly as the engine's forward pass does.
func (n *Net) attentionForward(wk *netWorker, b *tokenizer.Batch, l *transformer.Layer, a *layerActs, lo, hi int) {
	T, hs := b.SeqLen, l.HeadSize
	inner := l.Heads * hs
	ld := 3 * inner
	scale := float32(1 / math.Sqrt(float64(hs)))
	for unit := lo; unit < hi; unit++ {
		bi, h := unit/l.Heads, unit%l.Heads
		mask := b.Mask[bi*T : (bi+1)*T]
		base := bi * T * ld
		q, k, v := a.qkv[base+h*hs:], a.qkv[base+inner+h*hs:], a.qkv[base+2*inner+h*hs:]
		p := a.probs[unit*T*T : (unit+1)*T*T]
		wk.ws.MulRaw(T, T, hs, q, ld, k, ld, true, p, T)
		for i := 0; i < T; i++ {
			vec.SoftmaxMasked(p[i*T:(i+1)*T], mask, scale)
		}
		wk.ws.MulRaw(T, hs, T, p, T, v, ld, false, a.ctx[bi*T*inner+h*hs:], inner)
	}
}

// Forward runs a training-time forward pass (fake quantization included)
// and returns its output. The Output and its slices belong to the Net and
// are overwritten by the next pass; Pooled and Logits are nil when the
// model lacks the pooler or classifier.
func (n *Net) Forward(b *tokenizer.Batch) (*transformer.Output, error) {
	if err := n.checkBatch(b); err != nil {
		return nil, err
	}
	n.forward(b)
	return n.output(), nil
}

func (n *Net) output() *transformer.Output {
	out := &transformer.Output{Batch: n.bsz, SeqLen: n.seq, Hidden: n.m.Config.HiddenSize,
		LastHidden: n.hidden(len(n.m.Layers))}
	if n.m.Pooler != nil {
		out.Pooled = n.pooled
		if n.m.Classifier != nil {
			out.Labels = n.m.Classifier.Out
			out.Logits = n.logits
		}
	}
	return out
}
