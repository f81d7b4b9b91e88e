package train

import (
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/train/demotask"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// TestSGDLearnsDemoTask trains a tiny model with SGD (heavy-ball momentum,
// written out below; plain SGD needs far more steps) on a small fixed set
// of demo-task sentences of the simple and negation constructions: the
// loss must fall and the accuracy on the training sentences must rise well
// above chance. (The other constructions come as twins with the same words
// and opposite labels, which a model this small does not untangle in a few
// hundred steps.)
func TestSGDLearnsDemoTask(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	train, _, err := demotask.Generate(demotask.Config{Seed: 3, Train: 256, Dev: 16, MaxWords: 14,
		Mix: map[demotask.Kind]float64{demotask.KindSimple: 1, demotask.KindNegation: 1}})
	if err != nil {
		t.Fatal(err)
	}
	vocab := append([]string{tokenizer.PADToken, tokenizer.UNKToken, tokenizer.CLSToken, tokenizer.SEPToken, tokenizer.MASKToken}, demotask.Lexicon()...)
	tok, err := tokenizer.New(vocab, tokenizer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cfg := transformer.DefaultConfig()
	cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers = len(vocab), 32, 2
	cfg.NumAttentionHeads, cfg.IntermediateSize = 2, 64
	cfg.MaxPositionEmbeddings, cfg.NumLabels = 32, 2
	rng := rand.New(rand.NewPCG(1, 1))
	m, err := transformer.NewRandom(cfg, rng, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	m.Params(func(_ string, _ []int, p []float32, kind transformer.ParamKind) {
		if kind == transformer.ParamNormGain {
			for i := range p {
				p[i] = 1
			}
		}
	})

	const batchSize = 32
	type batch struct {
		b      tokenizer.Batch
		labels []int
	}
	var batches []batch
	for lo := 0; lo < len(train); lo += batchSize {
		var texts []string
		var labels []int
		for _, e := range train[lo:min(lo+batchSize, len(train))] {
			texts = append(texts, e.Text)
			labels = append(labels, e.Label)
		}
		batches = append(batches, batch{tok.EncodeBatch(texts, nil, 32), labels})
	}
	accuracy := func() float64 {
		right := 0
		n := NewNet(m, 2)
		for _, bt := range batches {
			out, err := n.Forward(&bt.b)
			if err != nil {
				t.Fatal(err)
			}
			for r, y := range bt.labels {
				if (out.Logits[2*r+1] > out.Logits[2*r]) == (y == 1) {
					right++
				}
			}
		}
		return float64(right) / float64(len(train))
	}

	n := NewNet(m, 2)
	g := NewGrads(m)
	const steps, lr, mu = 400, 0.05, 0.9
	var vel [][]float32
	var first, last float64
	for step := 0; step < steps; step++ {
		bt := batches[step%len(batches)]
		g.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { clear(p) })
		loss, _, err := n.ClassifyStep(&bt.b, bt.labels, g)
		if err != nil {
			t.Fatal(err)
		}
		// SGD with momentum: v = μ·v + ∇, θ -= lr·v.
		var grads [][]float32
		g.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { grads = append(grads, p) })
		i := 0
		m.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) {
			if len(vel) <= i {
				vel = append(vel, make([]float32, len(p)))
			}
			for j, d := range grads[i] {
				vel[i][j] = mu*vel[i][j] + d
				p[j] -= lr * vel[i][j]
			}
			i++
		})
		if step < len(batches) {
			first += loss / float64(len(batches))
		}
		if step >= steps-len(batches) {
			last += loss / float64(len(batches))
		}
	}
	acc := accuracy()
	t.Logf("mean loss: first epoch %.3f, last epoch %.3f; training accuracy %.3f", first, last, acc)
	if !(last < 0.8*first) {
		t.Errorf("loss did not fall: first epoch %.3f, last %.3f", first, last)
	}
	if acc < 0.75 {
		t.Errorf("training accuracy %.3f, want ≥ 0.75 (chance 0.5)", acc)
	}
}
