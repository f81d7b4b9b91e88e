package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

func TestMLMStepGradients(t *testing.T) {
	for _, act := range activations {
		t.Run(act, func(t *testing.T) {
			m := randomModel(t, testConfig(act, []int{2, 1}, []int{12, 6}), 31, 0.5)
			m.Pooler, m.Classifier = nil, nil // MLM needs no classification head
			rng := rand.New(rand.NewPCG(32, 32))
			head := NewMLMHead(m.Config, rng, 0.5)
			for i := range head.Bias {
				head.Bias[i] = float32(rng.NormFloat64() * 0.3)
			}
			for i := range head.Norm.Gamma {
				head.Norm.Gamma[i] += float32(rng.NormFloat64() * 0.3)
				head.Norm.Beta[i] = float32(rng.NormFloat64() * 0.3)
			}
			b := testBatch(rng, m.Config.VocabSize, 5, 3, 4)
			targets := make([]int, len(b.IDs))
			for i := range targets {
				targets[i] = -1
				if b.Mask[i] == 1 && rng.IntN(3) == 0 {
					targets[i] = rng.IntN(m.Config.VocabSize)
				}
			}
			g, gh := NewGrads(m), NewMLMGrads(head)
			loss, correct, err := NewNet(m, 2).MLMStep(b, targets, head, g, gh)
			if err != nil {
				t.Fatal(err)
			}
			p := toParams64(m, head)
			lossOf := func(p params64) float64 { return refMLM(m, p, b, targets) }
			if want := lossOf(p); math.Abs(want-loss) > 1e-5*math.Max(1, want) {
				t.Fatalf("loss %v, reference %v", loss, want)
			}
			if correct < 0 {
				t.Fatalf("correct = %d", correct)
			}
			checkGrad(t, p, grads32(g, gh), lossOf, func(string) bool { return true }, 10, rng)
		})
	}
}

func TestMLMStepErrors(t *testing.T) {
	m := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}), 31, 0.5)
	rng := rand.New(rand.NewPCG(1, 1))
	head := NewMLMHead(m.Config, rng, 0.1)
	b := testBatch(rng, m.Config.VocabSize, 4, 2)
	none := make([]int, len(b.IDs))
	for i := range none {
		none[i] = -1
	}
	with := func(i, v int) []int {
		t := append([]int(nil), none...)
		t[i] = v
		return t
	}
	small := NewMLMHead(transformer.Config{HiddenSize: 4, VocabSize: 23}, nil, 0)
	for _, tc := range []struct {
		name    string
		targets []int
		head    *MLMHead
		want    error
	}{
		{"length", none[:3], head, ErrInput},
		{"out of vocabulary", with(1, 23), head, ErrInput},
		{"below -1", with(1, -2), head, ErrInput},
		{"at padding", with(7, 3), head, ErrInput},
		{"head shape", with(1, 3), small, ErrShape},
		{"nil head", with(1, 3), nil, ErrShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := NewMLMGrads(head)
			_, _, err := NewNet(m, 1).MLMStep(b, tc.targets, tc.head, NewGrads(m), gh)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("nothing predicted", func(t *testing.T) {
		g := NewGrads(m)
		loss, correct, err := NewNet(m, 1).MLMStep(b, none, head, g, NewMLMGrads(head))
		if err != nil || loss != 0 || correct != 0 {
			t.Fatalf("got %v, %d, %v; want 0, 0, nil", loss, correct, err)
		}
	})
}
