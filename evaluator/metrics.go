package evaluator

import (
	"fmt"
	"math"
)

// Metric names a score of predictions against labels.
type Metric string

// Metrics with labels; MetricAgreement is used when the data has none.
const (
	MetricAccuracy  Metric = "accuracy"
	MetricF1        Metric = "f1"  // binary: class 1 is positive; more classes: macro-averaged
	MetricMCC       Metric = "mcc" // Matthews correlation (Gorodkin's R_K for more classes)
	MetricAgreement Metric = "teacher_agreement"
)

// Score computes metric m of predictions against labels, both class ids in
// [0, classes).
func Score(m Metric, pred, labels []int, classes int) (float64, error) {
	if len(pred) != len(labels) {
		return 0, fmt.Errorf("score: %d predictions for %d labels", len(pred), len(labels))
	}
	if len(pred) == 0 {
		return 0, fmt.Errorf("score: no examples")
	}
	conf := make([][]float64, classes) // conf[true][pred]
	for i := range conf {
		conf[i] = make([]float64, classes)
	}
	for i := range pred {
		if pred[i] < 0 || pred[i] >= classes || labels[i] < 0 || labels[i] >= classes {
			return 0, fmt.Errorf("score: example %d: prediction %d or label %d outside [0, %d)", i, pred[i], labels[i], classes)
		}
		conf[labels[i]][pred[i]]++
	}
	n := float64(len(pred))
	switch m {
	case MetricAccuracy, MetricAgreement:
		var c float64
		for k := range conf {
			c += conf[k][k]
		}
		return c / n, nil
	case MetricF1:
		f1 := func(k int) float64 {
			var tp, fp, fn float64
			tp = conf[k][k]
			for j := range conf {
				if j != k {
					fp += conf[j][k]
					fn += conf[k][j]
				}
			}
			if tp == 0 {
				return 0
			}
			return 2 * tp / (2*tp + fp + fn)
		}
		if classes == 2 {
			return f1(1), nil
		}
		var s float64
		for k := range conf {
			s += f1(k)
		}
		return s / float64(classes), nil
	case MetricMCC:
		// R_K = (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))
		var c, sumPT, sumP2, sumT2 float64
		for k := range conf {
			c += conf[k][k]
			var p, t float64
			for j := range conf {
				p += conf[j][k]
				t += conf[k][j]
			}
			sumPT += p * t
			sumP2 += p * p
			sumT2 += t * t
		}
		den := math.Sqrt((n*n - sumP2) * (n*n - sumT2))
		if den == 0 {
			return 0, nil
		}
		return (c*n - sumPT) / den, nil
	}
	return 0, fmt.Errorf("score: unknown metric %q (want accuracy, f1 or mcc)", m)
}

// meanKL is the mean over rows of KL(p‖q) between the softmax
// distributions of teacher logits p and student logits q (rows of width k).
func meanKL(p, q []float32, k int) float64 {
	rows := len(p) / k
	var total float64
	lp, lq := make([]float64, k), make([]float64, k)
	for r := 0; r < rows; r++ {
		logSoftmax(p[r*k:(r+1)*k], lp)
		logSoftmax(q[r*k:(r+1)*k], lq)
		for j := 0; j < k; j++ {
			total += math.Exp(lp[j]) * (lp[j] - lq[j])
		}
	}
	return total / float64(rows)
}

func logSoftmax(x []float32, out []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	l := m + math.Log(s)
	for i, v := range x {
		out[i] = float64(v) - l
	}
}

// argmax returns the index of the largest value of each row of width k.
func argmax(x []float32, k int) []int {
	out := make([]int, len(x)/k)
	for r := range out {
		row := x[r*k : (r+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[r] = best
	}
	return out
}
