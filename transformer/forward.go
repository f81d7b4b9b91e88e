package transformer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// ErrInput marks a batch the model cannot run: a token id outside the
// vocabulary, a sequence longer than the position table, a bad mask.
var ErrInput = errors.New("invalid input")

// Output holds the results of one forward pass.
type Output struct {
	Batch, SeqLen, Hidden, Labels int
	// LastHidden is the final encoder output, Batch×SeqLen×Hidden. Rows at
	// padded positions are computed like HF does and carry no meaning.
	LastHidden []float32
	// Pooled is tanh(W·h[CLS]+b), Batch×Hidden; nil without a pooler.
	Pooled []float32
	// Logits are the classifier's scores, Batch×Labels; nil without a head.
	Logits []float32
}

// Forward runs the encoder, pooler and classifier over a padded batch.
func (m *Model) Forward(b *tokenizer.Batch) (*Output, error) {
	if err := m.checkInput(b); err != nil {
		return nil, err
	}
	cfg := &m.Config
	H, T, B := cfg.HiddenSize, b.SeqLen, b.Size
	rows := B * T
	x := make([]float32, rows*H)
	m.embed(b, x)

	maxInner, maxFFN := 0, 0
	for i := range m.Layers {
		maxInner = max(maxInner, m.Layers[i].Heads*m.Layers[i].HeadSize)
		maxFFN = max(maxFFN, m.Layers[i].FFN)
	}
	q := make([]float32, rows*maxInner)
	k := make([]float32, rows*maxInner)
	v := make([]float32, rows*maxInner)
	ctx := make([]float32, rows*maxInner)
	scores := make([]float32, T*T)
	tmp := make([]float32, rows*H)
	ffn := make([]float32, rows*maxFFN)
	act := activation(cfg.HiddenAct)

	for li := range m.Layers {
		l := &m.Layers[li]
		inner := l.Heads * l.HeadSize
		l.Query.apply(x, rows, q)
		l.Key.apply(x, rows, k)
		l.Value.apply(x, rows, v)
		scale := float32(1 / math.Sqrt(float64(l.HeadSize)))
		for bi := 0; bi < B; bi++ {
			mask := b.Mask[bi*T : (bi+1)*T]
			off := bi * T * inner
			for h := 0; h < l.Heads; h++ {
				ho := off + h*l.HeadSize
				matmul(T, T, l.HeadSize, q[ho:], inner, k[ho:], inner, true, scores, T)
				maskedSoftmax(scores, T, mask, scale)
				matmul(T, l.HeadSize, T, scores, T, v[ho:], inner, false, ctx[ho:], inner)
			}
		}
		l.AttnOut.apply(ctx, rows, tmp)
		addNorm(x, tmp, rows, &l.AttnNorm)
		l.Inter.apply(x, rows, ffn)
		f := ffn[:rows*l.FFN]
		for i, u := range f {
			f[i] = act(u)
		}
		l.Out.apply(ffn, rows, tmp)
		addNorm(x, tmp, rows, &l.OutNorm)
	}

	out := &Output{Batch: B, SeqLen: T, Hidden: H, LastHidden: x}
	if m.Pooler != nil {
		cls := make([]float32, B*H)
		for bi := 0; bi < B; bi++ {
			copy(cls[bi*H:(bi+1)*H], x[bi*T*H:])
		}
		out.Pooled = make([]float32, B*H)
		m.Pooler.apply(cls, B, out.Pooled)
		for i, u := range out.Pooled {
			out.Pooled[i] = float32(math.Tanh(float64(u)))
		}
		if m.Classifier != nil {
			out.Labels = m.Classifier.Out
			out.Logits = make([]float32, B*out.Labels)
			m.Classifier.apply(out.Pooled, B, out.Logits)
		}
	}
	return out, nil
}

// checkInput validates the batch against the model before any work.
func (m *Model) checkInput(b *tokenizer.Batch) error {
	if b == nil {
		return fmt.Errorf("%w: nil batch", ErrInput)
	}
	if err := b.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	if b.Size == 0 || b.SeqLen == 0 {
		return fmt.Errorf("%w: empty batch (%d×%d)", ErrInput, b.Size, b.SeqLen)
	}
	cfg := &m.Config
	if b.SeqLen > cfg.MaxPositionEmbeddings {
		return fmt.Errorf("%w: sequence length %d exceeds max_position_embeddings %d", ErrInput, b.SeqLen, cfg.MaxPositionEmbeddings)
	}
	for i, id := range b.IDs {
		if id < 0 || int(id) >= cfg.VocabSize {
			return fmt.Errorf("%w: row %d position %d: token id %d outside vocabulary [0, %d)", ErrInput, i/b.SeqLen, i%b.SeqLen, id, cfg.VocabSize)
		}
		if t := b.TypeIDs[i]; t < 0 || int(t) >= cfg.TypeVocabSize {
			return fmt.Errorf("%w: row %d position %d: token type %d outside [0, %d)", ErrInput, i/b.SeqLen, i%b.SeqLen, t, cfg.TypeVocabSize)
		}
	}
	for r := 0; r < b.Size; r++ {
		if !slices.Contains(b.Mask[r*b.SeqLen:(r+1)*b.SeqLen], 1) {
			return fmt.Errorf("%w: row %d has no unmasked token", ErrInput, r)
		}
	}
	return nil
}

// embed writes LayerNorm(word + position + token type) for every token.
func (m *Model) embed(b *tokenizer.Batch, x []float32) {
	H := m.Config.HiddenSize
	e := &m.Embeddings
	for i, id := range b.IDs {
		pos := i % b.SeqLen
		dst := x[i*H : (i+1)*H]
		w := e.Word[int(id)*H:]
		p := e.Position[pos*H:]
		t := e.TokenType[int(b.TypeIDs[i])*H:]
		for j := range dst {
			dst[j] = w[j] + p[j] + t[j]
		}
		e.Norm.apply(dst)
	}
}

// apply computes y = x·Wᵀ + b for rows rows of x.
func (l *Linear) apply(x []float32, rows int, y []float32) {
	matmul(rows, l.Out, l.In, x, l.In, l.W, l.In, true, y, l.Out)
	for r := 0; r < rows; r++ {
		yr := y[r*l.Out : (r+1)*l.Out]
		for j, bv := range l.B {
			yr[j] += bv
		}
	}
}

// apply normalizes one row in place.
func (n *LayerNorm) apply(x []float32) {
	var mean float32
	for _, v := range x {
		mean += v
	}
	mean /= float32(len(x))
	var variance float32
	for _, v := range x {
		d := v - mean
		variance += d * d
	}
	variance /= float32(len(x))
	inv := float32(1 / math.Sqrt(float64(variance+n.Eps)))
	for i, v := range x {
		x[i] = (v-mean)*inv*n.Gamma[i] + n.Beta[i]
	}
}

// addNorm sets x = LayerNorm(x + delta) row by row.
func addNorm(x, delta []float32, rows int, n *LayerNorm) {
	H := len(n.Gamma)
	for r := 0; r < rows; r++ {
		xr := x[r*H : (r+1)*H]
		dr := delta[r*H : (r+1)*H]
		for j := range xr {
			xr[j] += dr[j]
		}
		n.apply(xr)
	}
}

// maskedSoftmax turns each row of the T×T score matrix into attention
// probabilities: scaled, with keys whose mask is 0 given probability exactly 0.
func maskedSoftmax(s []float32, T int, mask []int32, scale float32) {
	for i := 0; i < T; i++ {
		row := s[i*T : (i+1)*T]
		maxv := float32(math.Inf(-1))
		for j, v := range row {
			if mask[j] != 0 && v*scale > maxv {
				maxv = v * scale
			}
		}
		var sum float32
		for j, v := range row {
			if mask[j] == 0 {
				row[j] = 0
				continue
			}
			e := float32(math.Exp(float64(v*scale - maxv)))
			row[j] = e
			sum += e
		}
		inv := 1 / sum
		for j := range row {
			row[j] *= inv
		}
	}
}
