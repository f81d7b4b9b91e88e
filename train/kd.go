package train

import (
	"fmt"
	"math"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// KDConfig weighs the terms of TinyBERT-style distillation (DistillStep).
// A zero weight drops its term; the zero KDConfig distills nothing.
type KDConfig struct {
	// Temperature T of the soft targets; 0 means 1.
	Temperature float64
	// SoftWeight weighs T²·KL(teacher‖student) of the class distributions
	// at temperature T, averaged over the rows (Hinton et al.).
	SoftWeight float64
	// HardWeight weighs the mean cross-entropy with the labels.
	HardWeight float64
	// HiddenWeight weighs the mean squared error between hidden states:
	// the embedding outputs, and the output of every student layer i with
	// the output of teacher layer LayerMap[i]. Each mapped pair contributes
	// its mean over the real (unpadded) tokens and the hidden width; the
	// pairs are summed. Student and teacher need the same hidden size.
	HiddenWeight float64
	// AttnWeight weighs the mean squared error between attention
	// probabilities of mapped layers, over real query positions and every
	// key position. Layers with the same head count are compared head by
	// head; otherwise the maps averaged over each layer's heads are
	// compared (so pruned students with fewer heads can be distilled). The
	// layers' terms are summed.
	AttnWeight float64
	// LayerMap maps student layer i to teacher layer LayerMap[i] (0-based
	// encoder layers, -1 = none) for the hidden and attention terms. nil
	// means the uniform TinyBERT map: student layer i ← teacher layer
	// (i+1)·Lt/Ls - 1, so the last layers correspond.
	LayerMap []int
}

// KDTerms are the unweighted terms of the last DistillStep.
type KDTerms struct {
	// Soft, Hard, Hidden and Attn are the terms KDConfig's weights multiply.
	// A term whose weight is 0 is not computed and stays 0, except Hard,
	// which is computed whenever labels are given.
	Soft, Hard, Hidden, Attn float64
	// Correct is the number of rows whose student argmax equals the label
	// (0 without labels).
	Correct int
}

// LastDistill returns the terms of the last successful DistillStep.
func (n *Net) LastDistill() KDTerms { return n.kdTerms }

// layerMap returns cfg's layer map for a student of ls and a teacher of lt
// layers, checking it.
func (cfg *KDConfig) layerMap(ls, lt int) ([]int, error) {
	if cfg.LayerMap == nil {
		lm := make([]int, ls)
		for i := range lm {
			lm[i] = (i+1)*lt/ls - 1
		}
		return lm, nil
	}
	if len(cfg.LayerMap) != ls {
		return nil, fmt.Errorf("%w: distill: layer map has %d entries for %d student layers", ErrInput, len(cfg.LayerMap), ls)
	}
	for i, j := range cfg.LayerMap {
		if j < -1 || j >= lt {
			return nil, fmt.Errorf("%w: distill: layer map[%d] = %d outside [-1, %d)", ErrInput, i, j, lt)
		}
	}
	return cfg.LayerMap, nil
}

// DistillStep runs the teacher forward and the student (n) forward and
// backward on a batch, adds the gradient of the KDConfig-weighted loss into
// g and returns that loss; LastDistill gives its terms. labels may be nil
// when HardWeight is 0. The teacher's Net is only run forward; teacher and
// student share the tokenizer. Bad input returns an error wrapping
// ErrInput or ErrShape and leaves g untouched.
func (n *Net) DistillStep(teacher *Net, b *tokenizer.Batch, labels []int, cfg KDConfig, g *transformer.Model) (loss float64, err error) {
	if teacher == nil || teacher == n {
		return 0, fmt.Errorf("%w: distill: the teacher needs its own Net", ErrInput)
	}
	for _, w := range []float64{cfg.Temperature, cfg.SoftWeight, cfg.HardWeight, cfg.HiddenWeight, cfg.AttnWeight} {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return 0, fmt.Errorf("%w: distill: weights and temperature must be finite and not negative: %+v", ErrInput, cfg)
		}
	}
	T := cfg.Temperature
	if T == 0 {
		T = 1
	}
	sm, tm := n.m, teacher.m
	logitTerms := cfg.SoftWeight > 0 || cfg.HardWeight > 0
	if err := n.checkBatch(b); err != nil {
		return 0, err
	}
	if err := teacher.checkBatch(b); err != nil {
		return 0, fmt.Errorf("teacher: %w", err)
	}
	if logitTerms {
		if err := n.checkClassify(b, labels, cfg.HardWeight > 0); err != nil {
			return 0, err
		}
	}
	if cfg.SoftWeight > 0 {
		if tm.Pooler == nil || tm.Classifier == nil {
			return 0, fmt.Errorf("%w: distill: soft targets need a teacher with a classifier", ErrInput)
		}
		if tm.Classifier.Out != sm.Classifier.Out {
			return 0, fmt.Errorf("%w: distill: teacher has %d labels, student %d", ErrShape, tm.Classifier.Out, sm.Classifier.Out)
		}
	}
	lm, err := cfg.layerMap(len(sm.Layers), len(tm.Layers))
	if err != nil {
		return 0, err
	}
	if cfg.HiddenWeight > 0 && sm.Config.HiddenSize != tm.Config.HiddenSize {
		return 0, fmt.Errorf("%w: distill: hidden-state loss needs equal hidden sizes (student %d, teacher %d); no projection is learned",
			ErrShape, sm.Config.HiddenSize, tm.Config.HiddenSize)
	}
	if err := n.checkGrads(g); err != nil {
		return 0, err
	}

	teacher.forward(b)
	n.forward(b)
	n.startBackward()
	var terms KDTerms
	B, H := b.Size, sm.Config.HiddenSize
	if logitTerms {
		C := sm.Classifier.Out
		n.dlogits = grow(n.dlogits, B*C)
		clear(n.dlogits)
		if cfg.SoftWeight > 0 {
			terms.Soft = softKL(n.logits, teacher.logits, B, C, T, cfg.SoftWeight, n.dlogits)
		}
		if labels != nil {
			n.dpz = grow(n.dpz, B*C)
			clear(n.dpz)
			terms.Hard, terms.Correct = crossEntropy(n.logits, labels, C, 1/float64(B), n.dpz)
			for i, v := range n.dpz {
				n.dlogits[i] += float32(cfg.HardWeight) * v
			}
		}
		n.headBackward(n.dlogits, g)
	}

	real := 0
	for _, v := range b.Mask {
		real += int(v)
	}
	n.kdHidden, n.kdProbs = nil, nil
	if cfg.HiddenWeight > 0 {
		n.kdHidden = make([][]float32, len(sm.Layers)+1) // small: one header per layer
		norm := 1 / float64(real*H)
		n.kdHidden[0] = n.hiddenGrad(&terms.Hidden, 0, n.hidden(0), teacher.hidden(0), b, H, norm, cfg.HiddenWeight)
		for i, j := range lm {
			if j >= 0 {
				n.kdHidden[i+1] = n.hiddenGrad(&terms.Hidden, i+1, n.hidden(i+1), teacher.hidden(j+1), b, H, norm, cfg.HiddenWeight)
			}
		}
	}
	if cfg.AttnWeight > 0 {
		n.kdProbs = make([][]float32, len(sm.Layers))
		for i, j := range lm {
			if j >= 0 {
				n.kdProbs[i] = n.attnGrad(&terms.Attn, i, teacher.layers[j].probs, tm.Layers[j].Heads, b, real, cfg.AttnWeight)
			}
		}
	}
	n.encoderBackward(b, g)
	n.kdHidden, n.kdProbs = nil, nil
	n.kdTerms = terms
	loss = cfg.SoftWeight*terms.Soft + cfg.HardWeight*terms.Hard + cfg.HiddenWeight*terms.Hidden + cfg.AttnWeight*terms.Attn
	return loss, nil
}

// softKL returns T²·mean_rows KL(softmax(t/T) ‖ softmax(s/T)) and adds
// w times its gradient with respect to s into ds.
func softKL(s, t []float32, B, C int, T, w float64, ds []float32) float64 {
	var loss float64
	ps, pt := make([]float64, C), make([]float64, C)
	for r := 0; r < B; r++ {
		logSoftmax(ps, s[r*C:(r+1)*C], T)
		logSoftmax(pt, t[r*C:(r+1)*C], T)
		for j := 0; j < C; j++ {
			ptj := math.Exp(pt[j])
			loss += ptj * (pt[j] - ps[j])
			ds[r*C+j] += float32(w * T * (math.Exp(ps[j]) - ptj) / float64(B))
		}
	}
	return loss * T * T / float64(B)
}

// logSoftmax writes log softmax(z/T) into dst.
func logSoftmax(dst []float64, z []float32, T float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v)/T)
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v)/T - mx)
	}
	lse := mx + math.Log(sum)
	for j, v := range z {
		dst[j] = float64(v)/T - lse
	}
}

// hiddenGrad adds the mean squared error between hidden states s and t
// over real tokens (norm = 1/(real·H)) into *term and returns w times its
// gradient with respect to s, in the buffer kept for hidden state i.
func (n *Net) hiddenGrad(term *float64, i int, s, t []float32, b *tokenizer.Batch, H int, norm, w float64) []float32 {
	for len(n.kdHiddenBuf) <= i {
		n.kdHiddenBuf = append(n.kdHiddenBuf, nil)
	}
	d := grow(n.kdHiddenBuf[i], len(s))
	n.kdHiddenBuf[i] = d
	var sum float64
	for r, mk := range b.Mask {
		dr := d[r*H : (r+1)*H]
		if mk == 0 {
			clear(dr)
			continue
		}
		sr, tr := s[r*H:(r+1)*H], t[r*H:(r+1)*H]
		for j := range dr {
			diff := float64(sr[j]) - float64(tr[j])
			sum += diff * diff
			dr[j] = float32(2 * w * norm * diff)
		}
	}
	*term += sum * norm
	return d
}

// attnGrad adds the mean squared error between student layer li's
// attention probabilities and the teacher's tp (th heads) into *term and
// returns w times its gradient with respect to the student's
// probabilities.
func (n *Net) attnGrad(term *float64, li int, tp []float32, th int, b *tokenizer.Batch, real int, w float64) []float32 {
	for len(n.kdProbsBuf) <= li {
		n.kdProbsBuf = append(n.kdProbsBuf, nil)
	}
	sp := n.layers[li].probs
	sh := n.m.Layers[li].Heads
	d := grow(n.kdProbsBuf[li], len(sp))
	n.kdProbsBuf[li] = d
	clear(d)
	T := b.SeqLen
	var sum float64
	if sh == th {
		norm := 1 / float64(real*T*sh)
		for unit := 0; unit < b.Size*sh; unit++ {
			bi := unit / sh
			for q := 0; q < T; q++ {
				if b.Mask[bi*T+q] == 0 {
					continue
				}
				off := (unit*T + q) * T
				for k := 0; k < T; k++ {
					diff := float64(sp[off+k]) - float64(tp[off+k])
					sum += diff * diff
					d[off+k] = float32(2 * w * norm * diff)
				}
			}
		}
		*term += sum * norm
		return d
	}
	// Head-averaged maps.
	norm := 1 / float64(real*T)
	for bi := 0; bi < b.Size; bi++ {
		for q := 0; q < T; q++ {
			if b.Mask[bi*T+q] == 0 {
				continue
			}
			for k := 0; k < T; k++ {
				var as, at float64
				for h := 0; h < sh; h++ {
					as += float64(sp[((bi*sh+h)*T+q)*T+k])
				}
				for h := 0; h < th; h++ {
					at += float64(tp[((bi*th+h)*T+q)*T+k])
				}
				diff := as/float64(sh) - at/float64(th)
				sum += diff * diff
				g := float32(2 * w * norm * diff / float64(sh))
				for h := 0; h < sh; h++ {
					d[((bi*sh+h)*T+q)*T+k] = g
				}
			}
		}
	}
	*term += sum * norm
	return d
}
