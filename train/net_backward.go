package train

import (
	"math"

	"github.com/edgenas/edgenas/internal/vec"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// startBackward zeroes the gradient of the last hidden state, n.d, into
// which the objectives add.
func (n *Net) startBackward() {
	n.d = grow(n.d, n.rows*n.m.Config.HiddenSize)
	clear(n.d)
}

// headBackward propagates dlogits (bsz×labels) through the classifier and
// pooler, adding their parameter gradients into g and the [CLS] gradient
// into n.d.
func (n *Net) headBackward(dlogits []float32, g *transformer.Model) {
	m := n.m
	H, B, T, C := m.Config.HiddenSize, n.bsz, n.seq, m.Classifier.Out
	n.linearGrads(B, H, C, n.pooled, H, dlogits, C, g.Classifier.W, g.Classifier.B)
	n.dpooled = grow(n.dpooled, B*H)
	n.ws.MulRaw(B, H, C, dlogits, C, m.Classifier.W, H, false, n.dpooled, H)
	for i, p := range n.pooled {
		n.dpooled[i] *= 1 - p*p
	}
	n.linearGrads(B, H, H, n.cls, H, n.dpooled, H, g.Pooler.W, g.Pooler.B)
	n.dpz = grow(n.dpz, B*H)
	n.ws.MulRaw(B, H, H, n.dpooled, H, m.Pooler.W, H, false, n.dpz, H)
	for bi := 0; bi < B; bi++ {
		vec.Axpy(1, n.dpz[bi*H:(bi+1)*H], n.d[bi*T*H:bi*T*H+H])
	}
}

// linearGrads adds the parameter gradients of y = x·Wᵀ + b for rows×out
// output gradients dy (row stride ldy) and rows×in inputs x (row stride
// ldx): gW += dyᵀ·x (out×in), gB += the column sums of dy.
func (n *Net) linearGrads(rows, in, out int, x []float32, ldx int, dy []float32, ldy int, gW, gB []float32) {
	if n.scoring() {
		return // importance scores need no parameter gradients
	}
	for r := 0; r < rows; r++ {
		vec.Axpy(1, dy[r*ldy:r*ldy+out], gB)
	}
	n.weightGrads(rows, in, out, x, ldx, dy, ldy)
	vec.Axpy(1, n.gw, gW)
}

// transpose writes the rows×cols matrix src (row stride lds) into dst as
// cols×rows, row-major, in cache-sized tiles.
func transpose(dst, src []float32, rows, cols, lds int) {
	const tile = 16
	for i0 := 0; i0 < rows; i0 += tile {
		i1 := min(i0+tile, rows)
		for j0 := 0; j0 < cols; j0 += tile {
			j1 := min(j0+tile, cols)
			for j := j0; j < j1; j++ {
				d := dst[j*rows+i0 : j*rows+i1]
				for i := range d {
					d[i] = src[(i0+i)*lds+j]
				}
			}
		}
	}
}

// encoderBackward propagates n.d, the gradient of the last hidden state,
// down through every layer and the embeddings, adding every parameter
// gradient into g. It consumes n.d.
func (n *Net) encoderBackward(b *tokenizer.Batch, g *transformer.Model) {
	m := n.m
	H, T, B, R := m.Config.HiddenSize, n.seq, n.bsz, n.rows
	n.dz = grow(n.dz, R*H)
	n.dh = grow(n.dh, R*H)
	d := n.d
	for li := len(m.Layers) - 1; li >= 0; li-- {
		if n.kdHidden != nil && n.kdHidden[li+1] != nil {
			vec.Axpy(1, n.kdHidden[li+1], d)
		}
		l, gl, a, w := &m.Layers[li], &g.Layers[li], &n.layers[li], &n.weights[li]
		inner, F := l.Heads*l.HeadSize, l.FFN
		x := n.hidden(li)

		// Output LayerNorm, then the FFN's second projection.
		n.normBackward(d, &a.n2, l.OutNorm.Gamma, n.dz, gl.OutNorm.Gamma, gl.OutNorm.Beta, R, H)
		n.dffn = grow(n.dffn, R*F)
		n.linearBackward(&w.out, R, a.a, F, a.outMid, n.dz, H, [3]*transformer.Linear{&gl.Out}, n.dffn)
		n.gateFFN(li, b) // importance gates (importance.go); no-op outside ImportanceStep
		n.parallel(R, func(_, lo, hi int) {
			activationBackward(m.Config.HiddenAct, n.dffn[lo*F:hi*F], a.u[lo*F:hi*F], a.a[lo*F:hi*F])
		})
		n.linearBackward(&w.inter, R, a.n1.y, H, a.interMid, n.dffn, F, [3]*transformer.Linear{&gl.Inter}, n.dh)
		vec.Axpy(1, n.dz, n.dh) // residual around the FFN

		// Attention output LayerNorm, projection, attention, Q|K|V.
		n.normBackward(n.dh, &a.n1, l.AttnNorm.Gamma, n.dz, gl.AttnNorm.Gamma, gl.AttnNorm.Beta, R, H)
		n.dctx = grow(n.dctx, R*inner)
		n.linearBackward(&w.attnOut, R, a.ctx, inner, a.attnMid, n.dz, H, [3]*transformer.Linear{&gl.AttnOut}, n.dctx)
		n.gateAttn(li, b) // importance gates (importance.go); no-op outside ImportanceStep
		n.dqkv = grow(n.dqkv, R*3*inner)
		var extra []float32
		if n.kdProbs != nil {
			extra = n.kdProbs[li]
		}
		n.parallel(B*l.Heads, func(wi, lo, hi int) {
			n.attentionBackward(&n.workers[wi], b, l, a, extra, lo, hi)
		})
		n.linearBackward(&w.qkv, R, x, H, a.qkvMid, n.dqkv, 3*inner, [3]*transformer.Linear{&gl.Query, &gl.Key, &gl.Value}, d)
		vec.Axpy(1, n.dz, d) // residual around attention
	}
	if n.kdHidden != nil && n.kdHidden[0] != nil {
		vec.Axpy(1, n.kdHidden[0], d)
	}
	if n.scoring() {
		return // importance scores need nothing below the first layer
	}
	e, ge := &m.Embeddings, &g.Embeddings
	n.normBackward(d, &n.emb, e.Norm.Gamma, n.dz, ge.Norm.Gamma, ge.Norm.Beta, R, H)
	word, wcols := n.dz, H // the gradient of the word rows the batch used
	if p := e.Projection; p != nil {
		// Padding rows have a zero gradient, so all rows may enter the sums.
		wcols = p.In
		n.linearGrads(R, wcols, H, n.embIn, wcols, n.dz, H, ge.Projection.W, ge.Projection.B)
		n.dmid = grow(n.dmid, R*wcols)
		n.ws.MulRaw(R, wcols, H, n.dz, H, p.W, wcols, false, n.dmid, wcols)
		word = n.dmid
	}
	for i, id := range b.IDs {
		if b.Mask[i] == 0 {
			continue // padding: its gradient is exactly zero
		}
		vec.Axpy(1, word[i*wcols:(i+1)*wcols], ge.Word[int(id)*wcols:(int(id)+1)*wcols])
		src := n.dz[i*H : (i+1)*H]
		p := (i % T) * H
		vec.Axpy(1, src, ge.Position[p:p+H])
		t := int(b.TypeIDs[i]) * H
		vec.Axpy(1, src, ge.TokenType[t:t+H])
	}
}

// linearBackward propagates dy, the gradient of y = x·Wᵀ + b for the
// step's product s (rows × parts·out, row stride ldy; x rows × in, row
// stride ldx; mid the low-rank intermediate of the forward pass): it adds
// the bias and weight gradients of part j into gs[j] (W at full rank; U and
// V at low rank: dU = dyᵀ·mid, dV = (dy·U)ᵀ·x) and writes the input's
// gradient, dy·W or (dy·U)·V, into dx (rows × in).
func (n *Net) linearBackward(s *stepLinear, rows int, x []float32, ldx int, mid, dy []float32, ldy int, gs [3]*transformer.Linear, dx []float32) {
	in, out, P := s.in, s.out, s.parts
	grads := !n.scoring() // importance scores need no parameter gradients
	if grads {
		for r := 0; r < rows; r++ {
			row := dy[r*ldy : r*ldy+P*out]
			for j := 0; j < P; j++ {
				vec.Axpy(1, row[j*out:(j+1)*out], gs[j].B)
			}
		}
	}
	if s.rank == 0 {
		if grads {
			n.weightGrads(rows, in, P*out, x, ldx, dy, ldy)
			for j := 0; j < P; j++ {
				vec.Axpy(1, n.gw[j*out*in:(j+1)*out*in], gs[j].W)
			}
		}
		n.ws.MulRaw(rows, in, P*out, dy, ldy, s.w, in, false, dx, in)
		return
	}
	r, k := s.rank, P*s.rank
	n.dmid = grow(n.dmid, rows*k)
	for j := 0; j < P; j++ {
		n.ws.MulRaw(rows, r, out, dy[j*out:], ldy, s.u[j*out*r:], r, false, n.dmid[j*r:], k)
		if grads {
			n.weightGrads(rows, r, out, mid[j*r:], k, dy[j*out:], ldy)
			vec.Axpy(1, n.gw, gs[j].U)
		}
	}
	if grads {
		n.weightGrads(rows, in, k, x, ldx, n.dmid, k)
		for j := 0; j < P; j++ {
			vec.Axpy(1, n.gw[j*r*in:(j+1)*r*in], gs[j].V)
		}
	}
	n.ws.MulRaw(rows, in, k, n.dmid, k, s.v, in, false, dx, in)
}

// weightGrads sets n.gw (out×in) to dyᵀ·x for rows×out output gradients
// dy (row stride ldy) and rows×in inputs x (row stride ldx).
func (n *Net) weightGrads(rows, in, out int, x []float32, ldx int, dy []float32, ldy int) {
	n.tr = grow(n.tr, out*rows)
	transpose(n.tr, dy, rows, out, ldy)
	n.gw = grow(n.gw, out*in)
	n.ws.MulRaw(out, in, rows, n.tr, rows, x, ldx, false, n.gw, in)
}

// normBackward turns dy, the gradient of a LayerNorm's output, into dx, the
// gradient of its input (dx may be dy), adding the gain and shift
// gradients into gGamma and gBeta.
func (n *Net) normBackward(dy []float32, a *normActs, gamma, dx, gGamma, gBeta []float32, R, H int) {
	for r := 0; r < R; r++ {
		dyr, xh := dy[r*H:(r+1)*H], a.xhat[r*H:(r+1)*H]
		for j, v := range dyr {
			gGamma[j] += v * xh[j]
		}
		vec.Axpy(1, dyr, gBeta)
	}
	n.parallel(R, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			dyr, xh, dxr := dy[r*H:(r+1)*H], a.xhat[r*H:(r+1)*H], dx[r*H:(r+1)*H]
			var m1, m2 float32
			for j, v := range dyr {
				gv := v * gamma[j]
				m1 += gv
				m2 += gv * xh[j]
			}
			m1 /= float32(H)
			m2 /= float32(H)
			rstd := a.rstd[r]
			for j, v := range dyr {
				dxr[j] = rstd * (v*gamma[j] - m1 - xh[j]*m2)
			}
		}
	})
}

// attentionBackward computes, for (sequence, head) units [lo, hi), the
// gradients of Q, K and V (into n.dqkv) from the context gradient n.dctx;
// extra, when not nil, is added to the gradient of the probabilities.
func (n *Net) attentionBackward(wk *netWorker, b *tokenizer.Batch, l *transformer.Layer, a *layerActs, extra []float32, lo, hi int) {
	T, hs := b.SeqLen, l.HeadSize
	inner := l.Heads * hs
	ld := 3 * inner
	scale := float32(1 / math.Sqrt(float64(hs)))
	wk.dp = grow(wk.dp, T*T)
	wk.tr = grow(wk.tr, T*T)
	for unit := lo; unit < hi; unit++ {
		bi, h := unit/l.Heads, unit%l.Heads
		base := bi * T * ld
		q, k, v := a.qkv[base+h*hs:], a.qkv[base+inner+h*hs:], a.qkv[base+2*inner+h*hs:]
		dq, dk, dv := n.dqkv[base+h*hs:], n.dqkv[base+inner+h*hs:], n.dqkv[base+2*inner+h*hs:]
		dctx := n.dctx[bi*T*inner+h*hs:]
		p := a.probs[unit*T*T : (unit+1)*T*T]

		// dV = Pᵀ·dC, dP = dC·Vᵀ.
		transpose(wk.tr, p, T, T, T)
		wk.ws.MulRaw(T, hs, T, wk.tr, T, dctx, inner, false, dv, ld)
		wk.ws.MulRaw(T, T, hs, dctx, inner, v, ld, true, wk.dp, T)
		if extra != nil {
			vec.Axpy(1, extra[unit*T*T:(unit+1)*T*T], wk.dp)
		}
		// Softmax: dS = P⊙(dP - Σⱼ P·dP)·scale; masked keys have P = 0.
		for i := 0; i < T; i++ {
			pr, dr := p[i*T:(i+1)*T], wk.dp[i*T:(i+1)*T]
			s := vec.Dot(pr, dr)
			for j, pv := range pr {
				dr[j] = pv * (dr[j] - s) * scale
			}
		}
		// dQ = dS·K, dK = dSᵀ·Q.
		wk.ws.MulRaw(T, hs, T, wk.dp, T, k, ld, false, dq, ld)
		transpose(wk.tr, wk.dp, T, T, T)
		wk.ws.MulRaw(T, hs, T, wk.tr, T, q, ld, false, dk, ld)
	}
}

// Constants of the activation derivatives.
const (
	invSqrt2Pi  = 0.3989422804014327 // 1/√(2π)
	sqrt2OverPi = 0.7978845608028654 // √(2/π)
	geluTanhC   = 0.044715
)

// activationBackward sets dx[i] *= act'(u[i]), where a = act(u) is the
// forward pass's activation.
func activationBackward(act string, dx, u, a []float32) {
	const chunk = 256
	var buf [chunk]float32
	for lo := 0; lo < len(u); lo += chunk {
		hi := min(lo+chunk, len(u))
		uc, ac, dc, e := u[lo:hi], a[lo:hi], dx[lo:hi], buf[:hi-lo]
		switch act {
		case transformer.ActReLU:
			for i, v := range uc {
				if !(v > 0) {
					dc[i] = 0
				}
			}
		case transformer.ActGELUNew, transformer.ActGELUTanh:
			// a = u·s with s = σ(2z), z = √(2/π)(u + c·u³):
			// a' = s + u·s(1-s)·2√(2/π)(1 + 3c·u²).
			for i, v := range uc {
				e[i] = -2 * sqrt2OverPi * (v + geluTanhC*v*v*v)
			}
			vec.Exp(e, e)
			for i, v := range uc {
				s := 1 / (1 + e[i])
				dc[i] *= s + v*s*(1-s)*2*sqrt2OverPi*(1+3*geluTanhC*v*v)
			}
		default:
			// a = u·Φ(u): a' = Φ(u) + u·φ(u).
			for i, v := range uc {
				e[i] = -0.5 * v * v
			}
			vec.Exp(e, e)
			for i, v := range uc {
				phi := e[i] * invSqrt2Pi
				var cdf float32
				if v > 0.5 || v < -0.5 {
					cdf = ac[i] / v
				} else {
					// Φ(u) = ½ + φ(0)·(u - u³/6 + u⁵/40 - u⁷/336 + u⁹/3456 ...)
					v2 := v * v
					cdf = 0.5 + invSqrt2Pi*v*(1+v2*(-1.0/6+v2*(1.0/40+v2*(-1.0/336+v2*(1.0/3456)))))
				}
				dc[i] *= cdf + v*phi
			}
		}
	}
}
