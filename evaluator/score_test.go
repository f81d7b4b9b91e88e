package evaluator

import (
	"context"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/train"
)

// TestScoreModelMatchesEvaluateFull proves that ScoreModel (edgenas eval)
// and ScoreFull (export's check) give exactly EvaluateFull's accuracy for
// every metric.
func TestScoreModelMatchesEvaluateFull(t *testing.T) {
	f := newFixture(t)
	for _, m := range []Metric{MetricAccuracy, MetricF1, MetricMCC} {
		t.Run(string(m), func(t *testing.T) {
			cfg := Config{Subsample: 40, Metric: m, MaxLen: 12}
			e, err := New(context.Background(), f.teacher, f.tok, f.ex, f.build, &devicetest.Fake{}, &MemCache{}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			a := arch(8)
			full, err := e.EvaluateFull(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			student, err := f.build(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ScoreModel(student, f.tok, f.ex, cfg)
			if err != nil {
				t.Fatal(err)
			}
			again, err := e.ScoreFull(context.Background(), student)
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]Result{"ScoreModel": got, "ScoreFull": again} {
				if r.Accuracy != full.Accuracy || r.Metric != full.Metric || r.Examples != full.Examples {
					t.Errorf("%s: %s %v on %d, EvaluateFull %s %v on %d", name, r.Metric, r.Accuracy, r.Examples, full.Metric, full.Accuracy, full.Examples)
				}
			}
		})
	}
}

func TestScoreModelErrors(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name string
		ex   []train.Example
		cfg  Config
		want string
	}{
		{"no examples", nil, Config{}, "no examples"},
		{"unlabelled", []train.Example{{Text: "a", Label: train.Unlabelled}}, Config{}, "example 1 has no label"},
		{"label too large", []train.Example{{Text: "a", Label: 0}, {Text: "b", Label: 7}}, Config{}, "example 2: label 7, the model has 2 classes"},
		{"bad metric", []train.Example{{Text: "a", Label: 0}}, Config{Metric: "auc"}, `"auc", want accuracy, f1 or mcc`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ScoreModel(f.teacher, f.tok, c.ex, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}
