package transformer

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// tinyConfig is a small uniform config for fast tests.
func tinyConfig() Config {
	c := DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 97, 32, 2, 4, 64
	c.MaxPositionEmbeddings, c.NumLabels = 40, 3
	return c
}

// heteroConfig has layers of different head counts and FFN widths.
func heteroConfig() Config {
	c := tinyConfig()
	c.NumHiddenLayers = 3
	c.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: 8, Layers: []LayerConfig{
		{NumAttentionHeads: 4, IntermediateSize: 64},
		{NumAttentionHeads: 2, IntermediateSize: 17},
		{NumAttentionHeads: 1, IntermediateSize: 5},
	}}
	return c
}

// testBatch builds a right-padded batch from rows of token ids; the second
// half of the last row gets token type 1.
func testBatch(rows [][]int32) *tokenizer.Batch {
	T := 0
	for _, r := range rows {
		T = max(T, len(r))
	}
	b := &tokenizer.Batch{Size: len(rows), SeqLen: T}
	b.IDs = make([]int32, len(rows)*T)
	b.TypeIDs = make([]int32, len(rows)*T)
	b.Mask = make([]int32, len(rows)*T)
	for i, r := range rows {
		b.Lengths = append(b.Lengths, len(r))
		for j, id := range r {
			b.IDs[i*T+j] = id
			b.Mask[i*T+j] = 1
			if i == len(rows)-1 && j >= len(r)/2 {
				b.TypeIDs[i*T+j] = 1
			}
		}
	}
	return b
}

func randomRows(rng *rand.Rand, vocab int, lengths ...int) [][]int32 {
	rows := make([][]int32, len(lengths))
	for i, n := range lengths {
		for j := 0; j < n; j++ {
			rows[i] = append(rows[i], int32(rng.IntN(vocab)))
		}
	}
	return rows
}

// refForward is an independent float64 implementation of the BERT forward
// pass for one unpadded sequence, written loop by loop from the definition.
func refForward(m *Model, ids, types []int32) (hidden [][]float64, pooled, logits []float64) {
	H := m.Config.HiddenSize
	T := len(ids)
	lin := func(l *Linear, x []float64) []float64 {
		y := make([]float64, l.Out)
		for o := 0; o < l.Out; o++ {
			s := float64(l.B[o])
			for i := 0; i < l.In; i++ {
				s += float64(l.W[o*l.In+i]) * x[i]
			}
			y[o] = s
		}
		return y
	}
	norm := func(n *LayerNorm, x []float64) []float64 {
		var mean, v float64
		for _, u := range x {
			mean += u
		}
		mean /= float64(len(x))
		for _, u := range x {
			v += (u - mean) * (u - mean)
		}
		v /= float64(len(x))
		y := make([]float64, len(x))
		for i, u := range x {
			y[i] = (u-mean)/math.Sqrt(v+float64(n.Eps))*float64(n.Gamma[i]) + float64(n.Beta[i])
		}
		return y
	}
	x := make([][]float64, T)
	e := &m.Embeddings
	for t := 0; t < T; t++ {
		row := make([]float64, H)
		for j := range row {
			row[j] = float64(e.Word[int(ids[t])*H+j]) + float64(e.Position[t*H+j]) + float64(e.TokenType[int(types[t])*H+j])
		}
		x[t] = norm(&e.Norm, row)
	}
	for li := range m.Layers {
		l := &m.Layers[li]
		q, k, v := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := range x {
			q[t], k[t], v[t] = lin(&l.Query, x[t]), lin(&l.Key, x[t]), lin(&l.Value, x[t])
		}
		ctx := make([][]float64, T)
		for t := range ctx {
			ctx[t] = make([]float64, l.Heads*l.HeadSize)
		}
		for h := 0; h < l.Heads; h++ {
			o := h * l.HeadSize
			for i := 0; i < T; i++ {
				s := make([]float64, T)
				maxv := math.Inf(-1)
				for j := 0; j < T; j++ {
					for d := 0; d < l.HeadSize; d++ {
						s[j] += q[i][o+d] * k[j][o+d]
					}
					s[j] /= math.Sqrt(float64(l.HeadSize))
					maxv = math.Max(maxv, s[j])
				}
				var sum float64
				for j := range s {
					s[j] = math.Exp(s[j] - maxv)
					sum += s[j]
				}
				for j := range s {
					for d := 0; d < l.HeadSize; d++ {
						ctx[i][o+d] += s[j] / sum * v[j][o+d]
					}
				}
			}
		}
		for t := range x {
			a := lin(&l.AttnOut, ctx[t])
			for j := range a {
				a[j] += x[t][j]
			}
			x1 := norm(&l.AttnNorm, a)
			f := lin(&l.Inter, x1)
			for j, u := range f {
				switch m.Config.HiddenAct {
				case ActReLU:
					f[j] = math.Max(0, u)
				case ActGELUNew, ActGELUTanh:
					f[j] = 0.5 * u * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(u+0.044715*u*u*u)))
				default:
					f[j] = 0.5 * u * (1 + math.Erf(u/math.Sqrt2))
				}
			}
			o := lin(&l.Out, f)
			for j := range o {
				o[j] += x1[j]
			}
			x[t] = norm(&l.OutNorm, o)
		}
	}
	if m.Pooler != nil {
		pooled = lin(m.Pooler, x[0])
		for i := range pooled {
			pooled[i] = math.Tanh(pooled[i])
		}
		if m.Classifier != nil {
			logits = lin(m.Classifier, pooled)
		}
	}
	return x, pooled, logits
}

func maxAbsDiff(a []float32, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-b[i]))
	}
	return d
}

// TestForwardMatchesReference checks the engine against the float64
// reference on every real (unpadded) position of a padded batch, which also
// proves that padding does not leak into real tokens.
func TestForwardMatchesReference(t *testing.T) {
	cases := []struct {
		name string
		cfg  func() Config
		act  string
	}{
		{"uniform-gelu", tinyConfig, ActGELU},
		{"uniform-gelu_new", tinyConfig, ActGELUNew},
		{"uniform-relu", tinyConfig, ActReLU},
		{"heterogeneous", heteroConfig, ActGELU},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			cfg := tc.cfg()
			cfg.HiddenAct = tc.act
			m, err := NewRandom(cfg, rng, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			rows := randomRows(rng, cfg.VocabSize, 11, 4, 1, 7)
			b := testBatch(rows)
			out, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			if out.Labels != cfg.NumLabels || len(out.Logits) != b.Size*cfg.NumLabels {
				t.Fatalf("logits shape: labels %d len %d", out.Labels, len(out.Logits))
			}
			worst := 0.0
			for i, r := range rows {
				types := b.TypeIDs[i*b.SeqLen : i*b.SeqLen+len(r)]
				hid, pooled, logits := refForward(m, r, types)
				for p := range r {
					got := out.LastHidden[(i*b.SeqLen+p)*out.Hidden : (i*b.SeqLen+p+1)*out.Hidden]
					worst = math.Max(worst, maxAbsDiff(got, hid[p]))
				}
				worst = math.Max(worst, maxAbsDiff(out.Pooled[i*out.Hidden:(i+1)*out.Hidden], pooled))
				worst = math.Max(worst, maxAbsDiff(out.Logits[i*out.Labels:(i+1)*out.Labels], logits))
			}
			t.Logf("max abs diff vs float64 reference: %.3g", worst)
			if worst > 1e-4 {
				t.Fatalf("engine differs from reference by %g > 1e-4", worst)
			}
		})
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(3, 4)), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	long := make([]int32, m.Config.MaxPositionEmbeddings+1)
	cases := []struct {
		name  string
		batch *tokenizer.Batch
	}{
		{"nil", nil},
		{"id past vocab", testBatch([][]int32{{1, 97}})},
		{"negative id", testBatch([][]int32{{-1}})},
		{"too long", testBatch([][]int32{long})},
		{"bad type id", func() *tokenizer.Batch {
			b := testBatch([][]int32{{1, 2}})
			b.TypeIDs[1] = 2
			return b
		}()},
		{"all masked row", func() *tokenizer.Batch {
			b := testBatch([][]int32{{1, 2}, {3}})
			b.Mask[2] = 0
			b.Lengths[1] = 0
			return b
		}()},
		{"short slices", &tokenizer.Batch{Size: 2, SeqLen: 3, IDs: []int32{1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Forward(tc.batch)
			if !errors.Is(err, ErrInput) {
				t.Fatalf("want ErrInput, got %v", err)
			}
		})
	}
}

func TestFLOPsAndParams(t *testing.T) {
	cfg := tinyConfig()
	m, err := NewModel(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	H, F, L, V, P := 32, 64, 2, 97, 40
	layer := 4*(H*H+H) + 2*H + (H*F + F) + (F*H + H) + 2*H
	want := V*H + P*H + 2*H + 2*H + L*layer + (H*H + H) + (H*3 + 3)
	if got := m.NumParams(); got != want {
		t.Fatalf("NumParams = %d, want %d", got, want)
	}
	// One sequence of 8 tokens: per layer 4 projections, scores+context, FFN.
	T := int64(8)
	perLayer := 2*T*32*32*4 + 2*2*T*T*32 + 2*2*T*32*64
	if got, want := m.FLOPs(1, 8), 2*perLayer+2*32*32+2*32*3; got != want {
		t.Fatalf("FLOPs = %d, want %d", got, want)
	}
}

func TestSharedLayers(t *testing.T) {
	c := tinyConfig()
	c.NumHiddenLayers = 3
	c.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: c.HeadSize(), Layers: []LayerConfig{
		{NumAttentionHeads: 2, IntermediateSize: 16},
		{NumAttentionHeads: 2, IntermediateSize: 16, SharesPrevious: true},
		{NumAttentionHeads: 1, IntermediateSize: 8},
	}}
	m, err := NewRandom(c, rand.New(rand.NewPCG(4, 4)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	if &m.Layers[0].Query.W[0] != &m.Layers[1].Query.W[0] || &m.Layers[0].OutNorm.Gamma[0] != &m.Layers[1].OutNorm.Gamma[0] {
		t.Fatal("layer 1 does not alias layer 0's weights")
	}
	unshared := c.Clone()
	unshared.Edgenas.Layers[1].SharesPrevious = false
	u, _ := NewModel(unshared, true)
	if m.NumParams() >= u.NumParams() {
		t.Errorf("shared model counts %d parameters, unshared %d", m.NumParams(), u.NumParams())
	}
	var names []string
	m.Params(func(name string, _ []int, _ []float32, _ ParamKind) { names = append(names, name) })
	for _, n := range names {
		if strings.Contains(n, "layer.1.") {
			t.Errorf("shared layer's tensor %s visited", n)
		}
	}
	// Saved once, loaded with the aliasing restored, same outputs.
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if &back.Layers[0].Value.W[0] != &back.Layers[1].Value.W[0] {
		t.Error("loaded model does not share")
	}
	b := testBatch([][]int32{{1, 2, 3, 4}, {5, 6}})
	o1, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := back.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o1.Logits, o2.Logits) {
		t.Errorf("logits %v after reload, %v before", o2.Logits, o1.Logits)
	}
	bad := c.Clone()
	bad.Edgenas.Layers[2].SharesPrevious = true
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "edgenas.layers[2].shares_previous") {
		t.Errorf("sharing across shapes: %v", err)
	}
}
