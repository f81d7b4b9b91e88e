package evaluator

import (
	"math"
	"testing"
)

func TestScore(t *testing.T) {
	pred := []int{1, 1, 0, 0, 1, 0, 1, 1}
	gold := []int{1, 0, 0, 0, 1, 1, 1, 1}
	// tp=4 fp=1 fn=1 tn=2
	for _, tc := range []struct {
		m    Metric
		want float64
	}{
		{MetricAccuracy, 6.0 / 8},
		{MetricF1, 8.0 / 10},
		{MetricMCC, (4*2 - 1*1) / math.Sqrt(5*5*3*3)},
	} {
		got, err := Score(tc.m, pred, gold, 2)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s = %v, %v; want %v", tc.m, got, err, tc.want)
		}
	}
	// Three classes: perfect predictions give 1 for every metric.
	p3 := []int{0, 1, 2, 2, 1}
	for _, m := range []Metric{MetricAccuracy, MetricF1, MetricMCC} {
		if got, _ := Score(m, p3, p3, 3); math.Abs(got-1) > 1e-12 {
			t.Errorf("3-class perfect %s = %v", m, got)
		}
	}
	if _, err := Score("bleu", pred, gold, 2); err == nil {
		t.Error("unknown metric accepted")
	}
	if _, err := Score(MetricAccuracy, []int{2}, []int{0}, 2); err == nil {
		t.Error("out-of-range prediction accepted")
	}
	if _, err := Score(MetricAccuracy, nil, nil, 2); err == nil {
		t.Error("empty input accepted")
	}
}

func TestMeanKL(t *testing.T) {
	p := []float32{1, 2, 0, 0}
	if kl := meanKL(p, p, 2); math.Abs(kl) > 1e-12 {
		t.Errorf("KL(p‖p) = %v", kl)
	}
	q := []float32{2, 1, 0, 0}
	// Row 1: p = softmax(1,2), q = softmax(2,1); row 2 identical.
	a, b := 1/(1+math.E), math.E/(1+math.E)
	want := (a*math.Log(a/b) + b*math.Log(b/a)) / 2
	if kl := meanKL(p, q, 2); math.Abs(kl-want) > 1e-9 {
		t.Errorf("KL = %v, want %v", kl, want)
	}
	if got := argmax([]float32{0, 3, 1, 5, 2, 2}, 3); got[0] != 1 || got[1] != 0 {
		t.Errorf("argmax = %v", got)
	}
}
