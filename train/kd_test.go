package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

func TestDistillStepGradients(t *testing.T) {
	sm := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}), 11, 0.5)
	tm := randomModel(t, testConfig(transformer.ActGELUNew, []int{2, 2, 1}, []int{16, 10, 8}), 12, 0.5)
	rng := rand.New(rand.NewPCG(13, 13))
	b := testBatch(rng, sm.Config.VocabSize, 5, 3, 4)
	labels := []int{1, 0, 2}
	teacher := NewNet(tm, 1)
	tOut := refForward(tm, toParams64(tm, nil), b)
	for _, tc := range []struct {
		name string
		cfg  KDConfig
	}{
		{"soft", KDConfig{Temperature: 2, SoftWeight: 1}},
		{"hard", KDConfig{HardWeight: 1}},
		{"hidden", KDConfig{HiddenWeight: 1}},
		{"attn/per-head", KDConfig{AttnWeight: 1}},
		{"attn/head-averaged", KDConfig{AttnWeight: 1, LayerMap: []int{2, 1}}},
		{"all/partial-map", KDConfig{Temperature: 3, SoftWeight: 0.5, HardWeight: 0.3, HiddenWeight: 2, AttnWeight: 4, LayerMap: []int{-1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGrads(sm)
			loss, err := NewNet(sm, 2).DistillStep(teacher, b, labels, tc.cfg, g)
			if err != nil {
				t.Fatal(err)
			}
			lossOf := func(p params64) float64 {
				k := refKD(refForward(sm, p, b), tOut, sm, tm, b, labels, tc.cfg)
				return tc.cfg.SoftWeight*k.Soft + tc.cfg.HardWeight*k.Hard + tc.cfg.HiddenWeight*k.Hidden + tc.cfg.AttnWeight*k.Attn
			}
			p := toParams64(sm, nil)
			if want := lossOf(p); math.Abs(want-loss) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Fatalf("loss %v, reference %v", loss, want)
			}
			if loss == 0 {
				t.Fatal("zero loss: the term was not computed")
			}
			checkGrad(t, p, grads32(g, nil), lossOf, func(string) bool { return true }, 8, rng)
		})
	}
}

func TestDistillStepErrors(t *testing.T) {
	sm := randomModel(t, testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6}), 11, 0.5)
	wide := testConfig(transformer.ActGELU, []int{2, 1}, []int{12, 6})
	wide.HiddenSize = 12
	wm := randomModel(t, wide, 12, 0.5)
	tm := randomModel(t, testConfig(transformer.ActGELU, []int{2, 2, 1}, []int{16, 10, 8}), 12, 0.5)
	b := testBatch(rand.New(rand.NewPCG(1, 1)), sm.Config.VocabSize, 5, 3)
	n := NewNet(sm, 1)
	for _, tc := range []struct {
		name    string
		teacher *Net
		labels  []int
		cfg     KDConfig
		want    error
	}{
		{"nil teacher", nil, nil, KDConfig{SoftWeight: 1}, ErrInput},
		{"self as teacher", n, nil, KDConfig{SoftWeight: 1}, ErrInput},
		{"hidden sizes differ", NewNet(wm, 1), nil, KDConfig{HiddenWeight: 1}, ErrShape},
		{"layer map length", NewNet(tm, 1), nil, KDConfig{AttnWeight: 1, LayerMap: []int{0}}, ErrInput},
		{"layer map range", NewNet(tm, 1), nil, KDConfig{AttnWeight: 1, LayerMap: []int{0, 3}}, ErrInput},
		{"hard without labels", NewNet(tm, 1), nil, KDConfig{HardWeight: 1}, ErrInput},
		{"bad label", NewNet(tm, 1), []int{0, 5}, KDConfig{HardWeight: 1}, ErrInput},
		{"negative weight", NewNet(tm, 1), nil, KDConfig{SoftWeight: -1}, ErrInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.DistillStep(tc.teacher, b, tc.labels, tc.cfg, NewGrads(sm))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
