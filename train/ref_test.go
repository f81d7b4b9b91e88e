package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// This file holds a float64 reference implementation of the training
// forward pass and the objectives, written as plainly as possible, and the
// finite-difference machinery the gradient tests use.

// params64 holds a model's (and an MLM head's) parameters in float64 by
// Hugging Face name.
type params64 map[string][]float64

func toParams64(m *transformer.Model, head *MLMHead) params64 {
	p := params64{}
	add := func(name string, _ []int, v []float32, _ transformer.ParamKind) {
		d := make([]float64, len(v))
		for i, x := range v {
			d[i] = float64(x)
		}
		p[name] = d
	}
	m.Params(add)
	if head != nil {
		head.Params(add)
	}
	return p
}

// grads32 returns an accumulator's tensors by name.
func grads32(g *transformer.Model, gh *MLMHead) map[string][]float32 {
	out := map[string][]float32{}
	add := func(name string, _ []int, v []float32, _ transformer.ParamKind) { out[name] = v }
	g.Params(add)
	if gh != nil {
		gh.Params(add)
	}
	return out
}

// refOut is what the reference forward pass computes.
type refOut struct {
	hidden [][]float64 // L+1 hidden states, rows×H
	probs  [][]float64 // per layer, B×heads×T×T
	pooled []float64
	logits []float64
}

func refLinear(x []float64, rows, in int, w, b []float64) []float64 {
	out := len(b)
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := b[o]
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[o*in+i]
			}
			y[r*out+o] = s
		}
	}
	return y
}

// refLin is refLinear for the Linear named prefix in p: dense (prefix.weight)
// or low-rank (prefix.weight_u and prefix.weight_v), computed as the two
// thin products (x·Vᵀ)·Uᵀ + b.
func refLin(p params64, prefix string, x []float64, rows, in int) []float64 {
	b := p[prefix+".bias"]
	if w, ok := p[prefix+".weight"]; ok {
		return refLinear(x, rows, in, w, b)
	}
	v := p[prefix+".weight_v"]
	rank := len(v) / in
	t := refLinear(x, rows, in, v, make([]float64, rank))
	return refLinear(t, rows, rank, p[prefix+".weight_u"], b)
}

func refNorm(x []float64, H int, gamma, beta []float64, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < len(x)/H; r++ {
		row := x[r*H : (r+1)*H]
		var mean, v float64
		for _, a := range row {
			mean += a
		}
		mean /= float64(H)
		for _, a := range row {
			v += (a - mean) * (a - mean)
		}
		v /= float64(H)
		for j, a := range row {
			y[r*H+j] = (a-mean)/math.Sqrt(v+eps)*gamma[j] + beta[j]
		}
	}
	return y
}

func refAct(act string, x float64) float64 {
	switch act {
	case transformer.ActReLU:
		return math.Max(x, 0)
	case transformer.ActGELUNew, transformer.ActGELUTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
}

// refForward runs the model whose shapes m gives and whose parameters p
// holds over b.
func refForward(m *transformer.Model, p params64, b *tokenizer.Batch) refOut {
	cfg := &m.Config
	H, T, B := cfg.HiddenSize, b.SeqLen, b.Size
	R := B * T
	eps := float64(m.Embeddings.Norm.Eps)
	x := make([]float64, R*H)
	word, pos, typ := p["bert.embeddings.word_embeddings.weight"], p["bert.embeddings.position_embeddings.weight"], p["bert.embeddings.token_type_embeddings.weight"]
	if _, ok := p["bert.embeddings.word_projection.weight"]; ok {
		// Factorized: the E-wide rows projected to hidden.
		E := len(word) / cfg.VocabSize
		rows := make([]float64, R*E)
		for i, id := range b.IDs {
			copy(rows[i*E:(i+1)*E], word[int(id)*E:])
		}
		word = refLin(p, "bert.embeddings.word_projection", rows, R, E)
		for i := range b.IDs {
			for j := 0; j < H; j++ {
				x[i*H+j] = word[i*H+j] + pos[(i%T)*H+j] + typ[int(b.TypeIDs[i])*H+j]
			}
		}
	} else {
		for i, id := range b.IDs {
			for j := 0; j < H; j++ {
				x[i*H+j] = word[int(id)*H+j] + pos[(i%T)*H+j] + typ[int(b.TypeIDs[i])*H+j]
			}
		}
	}
	x = refNorm(x, H, p["bert.embeddings.LayerNorm.weight"], p["bert.embeddings.LayerNorm.bias"], eps)
	out := refOut{hidden: [][]float64{x}}
	leader := 0 // a shared layer reads its group's first layer's tensors
	for li, l := range m.Layers {
		if !cfg.Layer(li).SharesPrevious {
			leader = li
		}
		pre := fmt.Sprintf("bert.encoder.layer.%d.", leader)
		w := func(s string) []float64 { return p[pre+s+".weight"] }
		bb := func(s string) []float64 { return p[pre+s+".bias"] }
		lin := func(s string, x []float64, in int) []float64 { return refLin(p, pre+s, x, R, in) }
		inner, hs := l.Heads*l.HeadSize, l.HeadSize
		q := lin("attention.self.query", x, H)
		k := lin("attention.self.key", x, H)
		v := lin("attention.self.value", x, H)
		ctx := make([]float64, R*inner)
		probs := make([]float64, B*l.Heads*T*T)
		for bi := 0; bi < B; bi++ {
			for h := 0; h < l.Heads; h++ {
				for i := 0; i < T; i++ {
					row := probs[((bi*l.Heads+h)*T+i)*T:][:T]
					mx := math.Inf(-1)
					for j := 0; j < T; j++ {
						if b.Mask[bi*T+j] == 0 {
							continue
						}
						var s float64
						for c := 0; c < hs; c++ {
							s += q[(bi*T+i)*inner+h*hs+c] * k[(bi*T+j)*inner+h*hs+c]
						}
						row[j] = s / math.Sqrt(float64(hs))
						mx = math.Max(mx, row[j])
					}
					var sum float64
					for j := 0; j < T; j++ {
						if b.Mask[bi*T+j] == 0 {
							row[j] = 0
							continue
						}
						row[j] = math.Exp(row[j] - mx)
						sum += row[j]
					}
					for j := 0; j < T; j++ {
						row[j] /= sum
						for c := 0; c < hs; c++ {
							ctx[(bi*T+i)*inner+h*hs+c] += row[j] * v[(bi*T+j)*inner+h*hs+c]
						}
					}
				}
			}
		}
		out.probs = append(out.probs, probs)
		a := lin("attention.output.dense", ctx, inner)
		for i := range a {
			a[i] += x[i]
		}
		h1 := refNorm(a, H, w("attention.output.LayerNorm"), bb("attention.output.LayerNorm"), eps)
		u := lin("intermediate.dense", h1, H)
		for i := range u {
			u[i] = refAct(cfg.HiddenAct, u[i])
		}
		o := lin("output.dense", u, l.FFN)
		for i := range o {
			o[i] += h1[i]
		}
		x = refNorm(o, H, w("output.LayerNorm"), bb("output.LayerNorm"), eps)
		out.hidden = append(out.hidden, x)
	}
	if m.Pooler != nil {
		cls := make([]float64, B*H)
		for bi := 0; bi < B; bi++ {
			copy(cls[bi*H:(bi+1)*H], x[bi*T*H:])
		}
		out.pooled = refLinear(cls, B, H, p["bert.pooler.dense.weight"], p["bert.pooler.dense.bias"])
		for i := range out.pooled {
			out.pooled[i] = math.Tanh(out.pooled[i])
		}
		if m.Classifier != nil {
			out.logits = refLinear(out.pooled, B, H, p["classifier.weight"], p["classifier.bias"])
		}
	}
	return out
}

func refLogSoftmax(z []float64, T float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v/T)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v/T - mx)
	}
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = v/T - mx - math.Log(s)
	}
	return out
}

func refCE(logits []float64, labels []int, C int) float64 {
	var loss float64
	for r, y := range labels {
		loss -= refLogSoftmax(logits[r*C:(r+1)*C], 1)[y]
	}
	return loss / float64(len(labels))
}

// refKD computes the four unweighted distillation terms.
func refKD(s, t refOut, sm, tm *transformer.Model, b *tokenizer.Batch, labels []int, cfg KDConfig) KDTerms {
	var out KDTerms
	T := cfg.Temperature
	if T == 0 {
		T = 1
	}
	C, B := len(s.logits)/b.Size, b.Size
	for r := 0; r < B; r++ {
		ls, lt := refLogSoftmax(s.logits[r*C:(r+1)*C], T), refLogSoftmax(t.logits[r*C:(r+1)*C], T)
		for j := range ls {
			out.Soft += math.Exp(lt[j]) * (lt[j] - ls[j])
		}
	}
	out.Soft *= T * T / float64(B)
	if labels != nil {
		out.Hard = refCE(s.logits, labels, C)
	}
	lm, err := cfg.layerMap(len(sm.Layers), len(tm.Layers))
	if err != nil {
		panic(err)
	}
	H, L := sm.Config.HiddenSize, b.SeqLen
	real := 0
	for _, v := range b.Mask {
		real += int(v)
	}
	mse := func(a, c []float64) float64 {
		var sum float64
		for r, mk := range b.Mask {
			if mk == 0 {
				continue
			}
			for j := 0; j < H; j++ {
				d := a[r*H+j] - c[r*H+j]
				sum += d * d
			}
		}
		return sum / float64(real*H)
	}
	out.Hidden = mse(s.hidden[0], t.hidden[0])
	for i, j := range lm {
		if j < 0 {
			continue
		}
		out.Hidden += mse(s.hidden[i+1], t.hidden[j+1])
		sh, th := sm.Layers[i].Heads, tm.Layers[j].Heads
		sp, tp := s.probs[i], t.probs[j+0]
		var sum float64
		for bi := 0; bi < B; bi++ {
			for q := 0; q < L; q++ {
				if b.Mask[bi*L+q] == 0 {
					continue
				}
				for k := 0; k < L; k++ {
					if sh == th {
						for h := 0; h < sh; h++ {
							d := sp[((bi*sh+h)*L+q)*L+k] - tp[((bi*th+h)*L+q)*L+k]
							sum += d * d
						}
						continue
					}
					var as, at float64
					for h := 0; h < sh; h++ {
						as += sp[((bi*sh+h)*L+q)*L+k]
					}
					for h := 0; h < th; h++ {
						at += tp[((bi*th+h)*L+q)*L+k]
					}
					d := as/float64(sh) - at/float64(th)
					sum += d * d
				}
			}
		}
		if sh == th {
			out.Attn += sum / float64(real*L*sh)
		} else {
			out.Attn += sum / float64(real*L)
		}
	}
	return out
}

// refMLM is the masked-LM loss of the reference model with the head in p.
func refMLM(m *transformer.Model, p params64, b *tokenizer.Batch, targets []int) float64 {
	o := refForward(m, p, b)
	H, V := m.Config.HiddenSize, m.Config.VocabSize
	last := o.hidden[len(o.hidden)-1]
	var loss float64
	count := 0
	for i, t := range targets {
		if t < 0 {
			continue
		}
		count++
		u := refLinear(last[i*H:(i+1)*H], 1, H, p["cls.predictions.transform.dense.weight"], p["cls.predictions.transform.dense.bias"])
		for j := range u {
			u[j] = refAct(m.Config.HiddenAct, u[j])
		}
		y := refNorm(u, H, p["cls.predictions.transform.LayerNorm.weight"], p["cls.predictions.transform.LayerNorm.bias"], m.Config.LayerNormEps)
		logits := refLinear(y, 1, H, p["bert.embeddings.word_embeddings.weight"], p["cls.predictions.bias"])
		_ = V
		loss -= refLogSoftmax(logits, 1)[t]
	}
	return loss / float64(count)
}

// checkGrad compares the analytic gradient got (float32) with central
// differences of loss (float64) for every parameter whose name keep
// accepts (each tensor sampled at up to maxPer positions, all when 0).
func checkGrad(t *testing.T, p params64, got map[string][]float32, loss func(params64) float64, keep func(string) bool, maxPer int, rng *rand.Rand) {
	t.Helper()
	names := make([]string, 0, len(p))
	for name := range p {
		if keep(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatal("no parameters selected")
	}
	const h = 1e-5
	checked := 0
	for _, name := range names {
		v, g := p[name], got[name]
		if len(g) != len(v) {
			t.Fatalf("%s: gradient has %d values, parameter %d", name, len(g), len(v))
		}
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		if maxPer > 0 && len(idx) > maxPer {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:maxPer]
		}
		bad := 0
		for _, i := range idx {
			old := v[i]
			v[i] = old + h
			lp := loss(p)
			v[i] = old - h
			lm := loss(p)
			v[i] = old
			fd := (lp - lm) / (2 * h)
			an := float64(g[i])
			if math.Abs(an-fd) > 2e-4+2e-3*math.Abs(fd) {
				if bad < 5 {
					t.Errorf("%s[%d]: analytic %.7g, finite difference %.7g", name, i, an, fd)
				}
				bad++
			}
			checked++
		}
	}
	t.Logf("checked %d gradient entries in %d tensors", checked, len(names))
}
