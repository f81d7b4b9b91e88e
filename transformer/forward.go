package transformer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/edgenas/edgenas/internal/gemm"
	"github.com/edgenas/edgenas/internal/par"
	"github.com/edgenas/edgenas/internal/qgemm"
	"github.com/edgenas/edgenas/internal/vec"
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

// Forward runs the encoder, pooler and classifier over a padded batch on one
// thread. The Output is the caller's. For repeated runs without allocation,
// or with more threads, use a Session.
func (m *Model) Forward(b *tokenizer.Batch) (*Output, error) {
	s := m.NewSession(1)
	out, err := s.Run(b)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Session runs forward passes of one model with reusable buffers: after the
// first run at a given shape, Run allocates nothing. A Session is not safe
// for concurrent use; give each goroutine its own (they may share the model).
type Session struct {
	m       *Model
	threads int
	prep    *prepared

	x, qkv, ctx, tmp, ffn []float32
	cls                   []float32
	mid                   []float32      // low-rank intermediates
	emb                   []float32      // factorized word embeddings, before the projection
	gws                   gemm.Workspace // the float products, on every thread
	qws                   qgemm.Workspace
	out                   Output
	workers               []worker
	packs                 []headPack // every (sequence, head) pair's keys and values, for attentionRows
	pool                  *par.Pool  // the session's threads, shared by every step and product
	step                  step       // the step pool runs
}

// step is a job of the session, as the pool runs it.
type step struct {
	s *Session
	j job
}

// Range runs units [lo, hi) of the job as range w (its worker's scratch).
func (st *step) Range(w, lo, hi int) { st.s.do(st.j, w, lo, hi) }

// worker is the scratch of one thread.
type worker struct {
	gemm   gemm.Workspace  // single-threaded: it runs inside a step
	pack   headPack        // one head's keys and values, packed once for every query block
	scores []float32       // one block of query rows × every key
	norms  []float32       // the softmax factor of each row of the block
	qws    qgemm.Workspace // int8 attention's products (single-threaded too)
}

// headPack is one (sequence, head) pair's keys and values packed for the
// attention products: for gemm in float layers, quantized to int8 for
// qgemm in layers with int8 or int4 weights (Layer.Int8Attention).
type headPack struct {
	keys, values   gemm.Packed // Kᵀ and V
	qkeys, qvalues qgemm.Int8  // K per key, V per feature
}

// scoreBytes bounds one block of attention scores so that it stays in L2
// while it is computed, normalized and multiplied by V.
const scoreBytes = 128 << 10

// queryBlock is the number of query rows attention handles at once for a
// sequence of T tokens: all of them when the scores fit in scoreBytes, else
// the largest multiple of 8 that fits.
func queryBlock(T int) int {
	return min(T, max(8, scoreBytes/4/T&^7))
}

// attentionBlock is the number of query rows of one attention unit for a
// sequence of T tokens, pairs (sequence, head) pairs and threads threads:
// queryBlock(T), or fewer (down to 8) when there are fewer pairs than
// threads, so that every thread gets work. Query rows are computed
// independently, so results do not depend on it.
func attentionBlock(T, pairs, threads int) int {
	R := queryBlock(T)
	if per := (threads + pairs - 1) / pairs; per > 1 {
		R = min(R, max(8, (T+per-1)/per))
	}
	return R
}

// NewSession returns a session running on up to threads goroutines (1 for
// latency measurement; results are identical whatever the count). It packs
// the model's weights if that has not happened yet.
func (m *Model) NewSession(threads int) *Session {
	threads = max(1, threads)
	s := &Session{m: m, threads: threads, prep: m.preparedWeights(), workers: make([]worker, threads), pool: par.New(threads)}
	s.step.s = s
	s.qws.Pool = s.pool
	s.gws.Pool = s.pool
	return s
}

// grow returns buf resized to n, reallocating only when too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Run computes the forward pass over b. The returned Output and its slices
// belong to the session and are overwritten by the next Run.
func (s *Session) Run(b *tokenizer.Batch) (*Output, error) {
	m := s.m
	if err := m.CheckInput(b); err != nil {
		return nil, err
	}
	// The threads wait for the next step without parking while the pass
	// lasts: a step whose ranges finish far apart would otherwise leave
	// a helper parked, and waking it delays every step after.
	s.pool.Hold()
	defer s.pool.Release()
	cfg := &m.Config
	H, T, B := cfg.HiddenSize, b.SeqLen, b.Size
	rows := B * T
	maxInner, maxFFN := 0, 0
	for i := range m.Layers {
		maxInner = max(maxInner, m.Layers[i].Heads*m.Layers[i].HeadSize)
		maxFFN = max(maxFFN, m.Layers[i].FFN)
	}
	s.x = grow(s.x, rows*H)
	s.qkv = grow(s.qkv, rows*3*maxInner)
	s.ctx = grow(s.ctx, rows*maxInner)
	s.tmp = grow(s.tmp, rows*H)
	s.ffn = grow(s.ffn, rows*maxFFN)
	s.mid = grow(s.mid, rows*s.prep.maxMid)
	for i := range s.workers {
		s.workers[i].scores = grow(s.workers[i].scores, queryBlock(T)*T)
		s.workers[i].norms = grow(s.workers[i].norms, queryBlock(T))
	}
	g := &s.gws
	x := s.x

	s.embed(b)
	fused := false // the previous layer's tail computed this layer's Q|K|V
	for li := range m.Layers {
		l, pl := &m.Layers[li], &s.prep.layers[li]
		inner := l.Heads * l.HeadSize
		qkv := s.qkv[:rows*3*inner]
		// The tail by row blocks when every thread gets a block; on one
		// thread, the tail's one range is every row. With fewer blocks
		// than threads, float layers split their products over the
		// threads instead, and int8 and int4 layers run whole on the
		// calling thread: their products are too fast to gain from a
		// split that waits for every thread after each step (BERT-mini
		// int8 at seq 32 on two threads: 0.49 ms split, 0.40 ms on one,
		// as fast as a one-thread session; BERT-tiny int8 at seq 32:
		// 88 µs with only the Q|K|V product split, 77 µs without).
		units := (rows + tailRows - 1) / tailRows
		split := units >= s.threads
		serial := !split && l.Int8Attention()
		switch q := pl.qkv.single(); {
		case fused: // done
		case q != nil && serial:
			s.workers[0].qws.Mul(rows, x, H, q, pl.qkvBias, qkv, 3*inner) // the bias added by the product
		case q != nil:
			s.qws.Mul(rows, x, H, q, pl.qkvBias, qkv, 3*inner)
		case serial:
			s.own(&s.workers[0], 0).linear(rows, x, H, &pl.qkv, qkv, 3*inner)
			s.do(job{op: opBias, buf: qkv, width: 3 * inner, bias: pl.qkvBias}, 0, 0, rows)
		default:
			s.wide().linear(rows, x, H, &pl.qkv, qkv, 3*inner)
			s.run(job{op: opBias, buf: qkv, width: 3 * inner, bias: pl.qkvBias}, rows)
		}
		switch {
		case split && s.threads > 1 && l.Int8Attention():
			// Attention by the tail's row blocks: each thread reads the
			// queries its tail wrote and writes the context its tail
			// reads; keys and values are packed first, by heads (int8:
			// the packed ones are a quarter of the bytes; float layers
			// are faster by heads).
			if n := B * l.Heads; len(s.packs) < n {
				s.packs = make([]headPack, n)
			}
			s.run(job{op: opPack, batch: b, layer: l, buf: qkv}, B*l.Heads)
			s.run(job{op: opAttentionRows, batch: b, layer: l, buf: qkv, width: rows}, units)
		case serial:
			R := queryBlock(T)
			s.do(job{op: opAttention, batch: b, layer: l, buf: qkv, width: R, alone: true}, 0, 0, B*l.Heads*((T+R-1)/R))
		default:
			R := attentionBlock(T, B*l.Heads, s.threads)
			s.run(job{op: opAttention, batch: b, layer: l, buf: qkv, width: R}, B*l.Heads*((T+R-1)/R))
		}
		if split || serial {
			var next *preparedLayer
			if li+1 < len(m.Layers) && s.prep.layers[li+1].qkv.single() != nil {
				next = &s.prep.layers[li+1]
			}
			tail := job{op: opTail, layer: l, pl: pl, next: next, width: rows, alone: serial}
			if serial {
				s.do(tail, 0, 0, units)
			} else {
				s.run(tail, units)
			}
			fused = next != nil
			continue
		}
		fused = false
		s.steps(s.wide(), true, l, pl, 0, rows)
	}

	out := &s.out
	*out = Output{Batch: B, SeqLen: T, Hidden: H, LastHidden: x}
	if m.Pooler != nil {
		s.cls = grow(s.cls, B*H+B*H+B*cfg.NumLabels)
		cls, pooled, logits := s.cls[:B*H], s.cls[B*H:2*B*H], s.cls[2*B*H:]
		for bi := 0; bi < B; bi++ {
			copy(cls[bi*H:(bi+1)*H], x[bi*T*H:])
		}
		g.Mul(B, cls, H, s.prep.pooler, pooled, H)
		vec.AddBias(pooled, m.Pooler.B)
		vec.Tanh(pooled)
		out.Pooled = pooled
		if m.Classifier != nil {
			out.Labels = m.Classifier.Out
			logits = logits[:B*out.Labels]
			g.Mul(B, pooled, H, s.prep.classifier, logits, out.Labels)
			vec.AddBias(logits, m.Classifier.B)
			out.Logits = logits
		}
	}
	return out, nil
}

// products is where products run: the session's workspaces, on every
// thread, or one worker's, on its thread only; mid holds the low-rank
// intermediates of the rows multiplied.
type products struct {
	q   *qgemm.Workspace
	g   *gemm.Workspace
	mid []float32
}

// mul computes C = A·Wᵀ for one prepared matrix: packed float32 weights by
// gemm, quantized ones by qgemm (which quantizes each row of A to int8 on
// the fly).
func (pr products) mul(rows int, a []float32, lda int, w pmat, c []float32, ldc int) {
	if w.q != nil {
		pr.q.Mul(rows, a, lda, w.q, nil, c, ldc)
		return
	}
	pr.g.Mul(rows, a, lda, w.f, c, ldc)
}

// stage runs the products of st over the same rows of x.
func (pr products) stage(rows int, x []float32, ldx int, st *stage, c []float32, ldc int) {
	for j, w := range st.mats {
		pr.mul(rows, x[j*st.inStep:], ldx, w, c[j*st.outStep:], ldc)
	}
}

// linear computes C = x·Wᵀ (no bias) for a prepared product: directly at
// full rank, through the low-rank intermediate otherwise.
func (pr products) linear(rows int, x []float32, ldx int, p *plinear, c []float32, ldc int) {
	if p.mid == 0 {
		pr.stage(rows, x, ldx, &p.a, c, ldc)
		return
	}
	t := pr.mid[:rows*p.mid]
	pr.stage(rows, x, ldx, &p.a, t, p.mid)
	pr.stage(rows, t, p.mid, &p.b, c, ldc)
}

// wide is where products run split over the session's threads: its own
// workspaces and low-rank intermediates.
func (s *Session) wide() products {
	return products{q: &s.qws, g: &s.gws, mid: s.mid}
}

// own is where products of rows from r0 run on worker wk's thread only:
// its workspaces, and the low-rank intermediates of those rows.
func (s *Session) own(wk *worker, r0 int) products {
	return products{q: &wk.qws, g: &wk.gemm, mid: s.mid[r0*s.prep.maxMid:]}
}

// tailRows is the number of rows of one unit of opTail: one row block of
// the AMX kernel.
const tailRows = 32

// tail does rows [r0, r1) of a layer's steps after attention, on worker
// wk's thread: the attention output product, its LayerNorm, the FFN
// products and activation and the last LayerNorm, then, when next is not
// nil, the next layer's Q|K|V product (single and quantized, with its
// bias) into s.qkv. Every step works row by
// row, so rows split over threads need no hand-off between steps, and
// their activations stay in the cache of the thread that made them
// (split by columns instead, the element-wise steps and LayerNorm read
// rows half written by another core). Every product gives a row the same
// bits whichever rows are multiplied with it (gemm: the same K blocks and
// kernel operations for every row; qgemm: activations quantized per row),
// so results do not depend on how rows are split. remote says the
// attention context was written by other threads (prefetched first).
func (s *Session) tail(wk *worker, l *Layer, pl, next *preparedLayer, r0, r1 int, remote bool) {
	H, inner, n := s.m.Config.HiddenSize, l.Heads*l.HeadSize, r1-r0
	pr := s.own(wk, r0)
	if remote {
		vec.Prefetch(s.ctx[r0*inner:], n, inner, inner) // written by the threads that ran attention
	}
	s.steps(pr, false, l, pl, r0, r1)
	if next != nil {
		q := next.qkv.single()
		pr.q.Mul(n, s.x[r0*H:r1*H], H, q, next.qkvBias, s.qkv[r0*q.Out():r1*q.Out()], q.Out())
	}
}

// steps does rows [r0, r1) of a layer's steps after attention with the
// products of pr: the attention output product, its LayerNorm, the FFN
// products and activation and the last LayerNorm. wide, pr is the
// session's (products split over its threads) and the element-wise steps
// are split over the threads too (s.run; rows [0, r1) only); otherwise
// every step runs on the calling thread (tail).
func (s *Session) steps(pr products, wide bool, l *Layer, pl *preparedLayer, r0, r1 int) {
	H, inner, n := s.m.Config.HiddenSize, l.Heads*l.HeadSize, r1-r0
	x, tmp, ffn := s.x[r0*H:r1*H], s.tmp[r0*H:r1*H], s.ffn[r0*l.FFN:r1*l.FFN]
	pr.linear(n, s.ctx[r0*inner:], inner, &pl.attnOut, tmp, H)
	s.addNorm(wide, x, tmp, l.AttnOut.B, &l.AttnNorm)
	pr.linear(n, x, H, &pl.inter, ffn, l.FFN)
	if wide {
		s.run(job{op: opActivate, buf: ffn, width: l.FFN, bias: l.Inter.B}, n)
	} else {
		s.activate(ffn, l.Inter.B)
	}
	pr.linear(n, ffn, l.FFN, &pl.out, tmp, H)
	s.addNorm(wide, x, tmp, l.Out.B, &l.OutNorm)
}

// addNorm computes x rows = LayerNorm(x + tmp + bias) with norm: split
// over the session's threads when wide (x and tmp then start at row 0).
func (s *Session) addNorm(wide bool, x, tmp, bias []float32, norm *LayerNorm) {
	H := s.m.Config.HiddenSize
	if wide {
		s.run(job{op: opAddNorm, width: H, bias: bias, norm: norm}, len(x)/H)
		return
	}
	vec.AddLayerNorm(x, tmp, bias, norm.Gamma, norm.Beta, norm.Eps)
}

// activate computes x rows = act(x rows + bias) with the model's activation.
func (s *Session) activate(x, bias []float32) {
	switch s.m.Config.HiddenAct {
	case ActGELUNew, ActGELUTanh:
		vec.AddBiasGELUTanh(x, bias)
	case ActReLU:
		vec.AddBiasReLU(x, bias)
	default:
		vec.AddBiasGELU(x, bias)
	}
}

// The element-wise and attention steps that a session splits over threads.
const (
	opBias          = iota // buf rows += bias
	opActivate             // buf rows = act(buf rows + bias)
	opAddNorm              // x rows = LayerNorm(x + tmp + bias)
	opAttention            // ctx from the Q|K|V rows in buf, one unit per (sequence, head, block of width query rows)
	opEmbed                // x rows = the embeddings of the batch's tokens (embedTokens)
	opTail                 // a layer's steps after attention, one unit per tailRows of width rows (tail)
	opAttentionRows        // ctx from the Q|K|V rows in buf, one unit per tailRows of width rows, every head (attentionRows)
	opPack                 // s.packs from the keys and values in buf, one unit per (sequence, head) pair (packHeads)
)

// job describes one step over units [0, n): rows, or blocks of query rows
// of (sequence, head) pairs. It is passed by value so that a
// single-threaded run allocates nothing.
type job struct {
	op    int
	buf   []float32
	width int // row width; for attention, the query rows of a unit; for opTail, the rows
	bias  []float32
	norm  *LayerNorm
	batch *tokenizer.Batch
	layer *Layer
	pl    *preparedLayer
	next  *preparedLayer // opTail: the next layer, whose Q|K|V the tail computes; nil if none
	// alone: opAttention and opTail of a layer run whole on the calling
	// thread, whose rows they read are this thread's own, so nothing is
	// prefetched from other cores.
	alone bool
}

// run executes j over n units: split into contiguous ranges over the
// session's threads, each range with its own worker's scratch, unless it
// is too little work to share (parallelWork).
func (s *Session) run(j job, n int) {
	work := n * j.width // elements of a row step
	switch j.op {
	case opEmbed:
		work = n * s.m.Config.HiddenSize
	case opAttention: // multiply-adds of Q·Kᵀ and P·V, at a fraction of the cost
		work = n * j.width * j.batch.SeqLen * j.layer.HeadSize / 8
	case opTail: // the FFN activations; a unit is hundreds of thousands of multiply-adds
		work = j.width * j.layer.FFN
	case opAttentionRows: // as opAttention
		work = j.width * j.batch.SeqLen * j.layer.Heads * j.layer.HeadSize / 8
	case opPack: // keys and values
		work = n * 2 * j.batch.SeqLen * j.layer.HeadSize
	}
	if work < parallelWork {
		s.do(j, 0, 0, n)
		return
	}
	s.step.j = j
	s.pool.Run(&s.step, n)
	s.step.j = job{}
}

// parallelWork is the number of elements from which a step is split over
// threads: below, handing work to another thread costs more than it saves.
const parallelWork = 16 << 10

// do runs units [lo, hi) of j with worker w's scratch.
func (s *Session) do(j job, w, lo, hi int) {
	switch j.op {
	case opBias:
		vec.AddBias(j.buf[lo*j.width:hi*j.width], j.bias)
	case opActivate:
		s.activate(j.buf[lo*j.width:hi*j.width], j.bias)
	case opAddNorm:
		H := j.width
		vec.AddLayerNorm(s.x[lo*H:hi*H], s.tmp[lo*H:hi*H], j.bias, j.norm.Gamma, j.norm.Beta, j.norm.Eps)
	case opAttention:
		s.attention(&s.workers[w], j.batch, j.layer, j.buf, j.width, lo, hi, s.threads > 1 && !j.alone)
	case opEmbed:
		s.embedTokens(j.batch, lo, hi)
	case opTail:
		s.tail(&s.workers[w], j.layer, j.pl, j.next, lo*tailRows, min(hi*tailRows, j.width), s.threads > 1 && !j.alone)
	case opAttentionRows:
		s.attentionRows(&s.workers[w], j.batch, j.layer, j.buf, lo*tailRows, min(hi*tailRows, j.width))
	case opPack:
		s.packHeads(j.batch, j.layer, j.buf, lo, hi)
	}
}

// attention computes the context of units [lo, hi) from the Q|K|V rows,
// reading each head in place through row strides: unit u is query rows
// [blk·R, (blk+1)·R) of (sequence, head) pair u/nb, blk = u mod nb, nb
// blocks per pair. Keys and values are packed into wk once for
// consecutive units of one pair (packHead). remote says the Q|K|V rows
// were mostly written by other threads (int8 layers prefetch them).
func (s *Session) attention(wk *worker, b *tokenizer.Batch, l *Layer, qkv []float32, R, lo, hi int, remote bool) {
	T := b.SeqLen
	nb := (T + R - 1) / R
	packed := -1 // the pair whose keys and values wk holds
	q8 := l.Int8Attention()
	for unit := lo; unit < hi; unit++ {
		pair, i0 := unit/nb, unit%nb*R
		if pair != packed {
			// When remote, the rows of Q, K and V were mostly written
			// by other threads: ask for this pair's and the next one's
			// at once rather than wait for each line as it is read.
			if q8 && remote {
				if unit == lo {
					s.prefetchHead(b, l, qkv, pair, 0)
				}
				if next := pair + 1; next*nb < hi {
					s.prefetchHead(b, l, qkv, next, 0)
				}
			}
			packHead(&wk.pack, b, l, qkv, pair)
			packed = pair
		}
		s.attendBlock(wk, &wk.pack, b, l, qkv, pair, i0, min(R, T-i0))
	}
}

// packHeads packs the keys and values of (sequence, head) pairs [lo, hi)
// into s.packs, for attentionRows.
func (s *Session) packHeads(b *tokenizer.Batch, l *Layer, qkv []float32, lo, hi int) {
	for pair := lo; pair < hi; pair++ {
		// Half the rows were written by another thread's tail: ask for
		// this pair's keys and values and the next pair's at once, as
		// attention does (2 % faster on BERT-mini int8 at seq 128 on two
		// threads).
		if pair == lo {
			s.prefetchHead(b, l, qkv, pair, 1)
		}
		if pair+1 < hi {
			s.prefetchHead(b, l, qkv, pair+1, 1)
		}
		packHead(&s.packs[pair], b, l, qkv, pair)
	}
}

// attentionRows computes the context of rows [r0, r1) of the batch (row
// r is query r mod T of sequence r/T) for every head, by blocks of at
// most queryBlock(T) query rows, with the keys and values packHeads put
// in s.packs. On several threads, each one reads the queries its tail
// wrote and writes the context its tail reads (opTail with the same
// rows, and par.Pool runs a range on the same thread from one step to
// the next), so that neither crosses cores; only the packed keys and
// values do, a quarter of the bytes of float ones.
func (s *Session) attentionRows(wk *worker, b *tokenizer.Batch, l *Layer, qkv []float32, r0, r1 int) {
	T := b.SeqLen
	R := queryBlock(T)
	for r := r0; r < r1; {
		bi := r / T
		i0, i1 := r-bi*T, min(r1-bi*T, T) // the sequence's query rows in range
		for h := range l.Heads {
			pair := bi*l.Heads + h
			for i := i0; i < i1; i += R {
				s.attendBlock(wk, &s.packs[pair], b, l, qkv, pair, i, min(R, i1-i))
			}
		}
		r = bi*T + i1
	}
}

// Int8Attention says whether l's attention score and context products run
// in int8 (on qgemm): in layers with int8 or int4 weights.
func (l *Layer) Int8Attention() bool { b := l.Query.WeightBits(); return b == 8 || b == 4 }

// packHead packs the keys and values of (sequence, head) pair into p: in a
// layer with int8 attention quantized to int8, keys per key and values per
// feature (the products then run on qgemm), else packed for gemm.
func packHead(p *headPack, b *tokenizer.Batch, l *Layer, qkv []float32, pair int) {
	T, inner, hs := b.SeqLen, l.Heads*l.HeadSize, l.HeadSize
	ld := 3 * inner
	base := pair/l.Heads*T*ld + pair%l.Heads*hs
	if l.Int8Attention() {
		p.qkeys.SetRows(T, hs, qkv[base+inner:], ld)
		p.qvalues.SetCols(hs, T, qkv[base+2*inner:], ld)
		return
	}
	p.keys.Repack(qkv[base+inner:], ld, hs, T, true)
	p.values.Repack(qkv[base+2*inner:], ld, T, hs, false)
}

// attendBlock computes the context of query rows [i0, i0+rows) (rows at
// most queryBlock) of (sequence, head) pair, from its keys and values
// packed in p, with wk's scratch; the softmax is divided out of P·V (hs
// columns) instead of P (T).
func (s *Session) attendBlock(wk *worker, p *headPack, b *tokenizer.Batch, l *Layer, qkv []float32, pair, i0, rows int) {
	T, inner, hs := b.SeqLen, l.Heads*l.HeadSize, l.HeadSize
	ld := 3 * inner
	bi, h := pair/l.Heads, pair%l.Heads
	scale := float32(1 / math.Sqrt(float64(hs)))
	mask := b.Mask[bi*T : (bi+1)*T]
	q := qkv[(bi*T+i0)*ld+h*hs:]
	scores := wk.scores[:rows*T]
	if l.Int8Attention() {
		wk.qws.Mul(rows, q, ld, &p.qkeys, nil, scores, T)
	} else {
		wk.gemm.Mul(rows, q, ld, &p.keys, scores, T)
	}
	for i := 0; i < rows; i++ {
		wk.norms[i] = vec.SoftmaxMaskedNorm(scores[i*T:(i+1)*T], mask, scale)
	}
	ctx := s.ctx[(bi*T+i0)*inner+h*hs:]
	if l.Int8Attention() {
		wk.qws.Mul(rows, scores, T, &p.qvalues, nil, ctx, inner)
	} else {
		wk.gemm.Mul(rows, scores, T, &p.values, ctx, inner)
	}
	// The softmax division, on the hs-wide rows of P·V rather than
	// the T-wide rows of P.
	for i := 0; i < rows; i++ {
		vec.Scale(wk.norms[i], ctx[i*inner:i*inner+hs])
	}
}

// prefetchHead asks for the queries, keys and values of (sequence, head)
// pair to be brought into this thread's cache, from part first (0: the
// queries on, 1: the keys and values).
func (s *Session) prefetchHead(b *tokenizer.Batch, l *Layer, qkv []float32, pair, first int) {
	T, inner, hs := b.SeqLen, l.Heads*l.HeadSize, l.HeadSize
	bi, h := pair/l.Heads, pair%l.Heads
	base := bi * T * 3 * inner
	for part := first; part < 3; part++ {
		vec.Prefetch(qkv[base+part*inner+h*hs:], T, 3*inner, hs)
	}
}

// CheckInput validates a batch against m before any work: its layout, its
// length against the position table, every token id and type id, and that
// every row has an unmasked token. Errors wrap ErrInput and name the row
// and position.
func (m *Model) CheckInput(b *tokenizer.Batch) error {
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
// A factorized word embedding is projected first (word = row·Pᵀ + bias);
// a quantized word table is dequantized row by row. The sums and the
// LayerNorm are split over the session's threads by token (opEmbed).
func (s *Session) embed(b *tokenizer.Batch) {
	e := &s.m.Embeddings
	H := s.m.Config.HiddenSize
	if p := e.Projection; p != nil {
		E := p.In
		s.emb = grow(s.emb, len(b.IDs)*E)
		for i, id := range b.IDs {
			s.wordRow(int(id), s.emb[i*E:(i+1)*E])
		}
		s.gws.Mul(len(b.IDs), s.emb, E, s.prep.proj, s.x[:len(b.IDs)*H], H)
	}
	s.run(job{op: opEmbed, batch: b}, len(b.IDs))
}

// embedTokens does tokens [lo, hi) of embed, after any projection.
func (s *Session) embedTokens(b *tokenizer.Batch, lo, hi int) {
	e := &s.m.Embeddings
	H := s.m.Config.HiddenSize
	for i := lo; i < hi; i++ {
		dst := s.x[i*H : (i+1)*H]
		if p := e.Projection; p != nil {
			vec.AddBias(dst, p.B)
		} else {
			s.wordRow(int(b.IDs[i]), dst)
		}
		pos, typ := i%b.SeqLen, int(b.TypeIDs[i])
		vec.Axpy(1, e.Position[pos*H:(pos+1)*H], dst)
		vec.Axpy(1, e.TokenType[typ*H:(typ+1)*H], dst)
	}
	vec.LayerNorm(s.x[lo*H:hi*H], e.Norm.Gamma, e.Norm.Beta, e.Norm.Eps)
}

// wordRow writes the word table's row id (float32 or dequantized) to dst.
func (s *Session) wordRow(id int, dst []float32) {
	e := &s.m.Embeddings
	if e.WordQ != nil {
		e.WordQ.Row(id, dst)
		return
	}
	copy(dst, e.Word[id*len(dst):(id+1)*len(dst)])
}
