package search

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/predictor"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/space"
)

// screenEval is a ScreeningEvaluator over model: it records the keys it
// measured and those it scored without measuring.
type screenEval struct {
	fakeEval
	mu       sync.Mutex
	measured map[string]bool
	skipped  map[string]bool
}

func (s *screenEval) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	return s.evaluate(ctx, a, nil)
}

func (s *screenEval) EvaluateScreened(ctx context.Context, a space.Arch, measure func(evaluator.Result) bool) (evaluator.Result, bool, error) {
	res, err := s.evaluate(ctx, a, measure)
	return res, res.Latency.Median > 0, err
}

// evaluate measures a unless measure (nil: always) rejects it.
func (s *screenEval) evaluate(ctx context.Context, a space.Arch, measure func(evaluator.Result) bool) (evaluator.Result, error) {
	res, err := s.fakeEval.Evaluate(ctx, a)
	if err != nil {
		return res, err
	}
	unmeasured := res
	unmeasured.Latency = devices.Measurement{}
	ok := measure == nil || measure(unmeasured)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.measured == nil {
		s.measured, s.skipped = map[string]bool{}, map[string]bool{}
	}
	if !ok {
		s.skipped[a.Key()] = true
		return unmeasured, nil
	}
	s.measured[a.Key()] = true
	return res, nil
}

// fitModel fits a predictor on n architectures of sp timed by model.
func fitModel(t *testing.T, sp *space.Space, n int) *predictor.Predictor {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var samples []predictor.Sample
	for range n {
		a := sp.Sample(r)
		_, lat, _ := model(a)
		samples = append(samples, predictor.Sample{Arch: a, Latency: lat})
	}
	p, err := predictor.Fit(sp.Teacher(), devices.Workload{}, samples, predictor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLatencyScreenMeasure(t *testing.T) {
	sp := testSpace(t)
	p := fitModel(t, sp, 200)
	a := sp.TeacherArch()
	pred := p.Predict(a)
	s := &latencyScreen{p: p, margin: 0.1, front: new(liveFront)}
	res := evaluator.Result{Arch: a, Accuracy: 0.8, SizeBytes: 1000}
	for _, tc := range []struct {
		name  string
		front Point // accuracy, latency (s), size
		want  bool
	}{
		{"dominated even 10 % faster", Point{-0.9, 0.8 * pred.Seconds(), 500}, false},
		{"rescued by the margin", Point{-0.9, 0.95 * pred.Seconds(), 500}, true},
		{"front less accurate", Point{-0.7, 0.5 * pred.Seconds(), 500}, true},
		{"front larger", Point{-0.9, 0.5 * pred.Seconds(), 2000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.front.pts = []Point{tc.front}
			if got := s.measure(res); got != tc.want {
				t.Fatalf("measure = %v, want %v (predicted %v)", got, tc.want, pred)
			}
		})
	}
}

// TestLatencyScreenMinGain: with a minimum gain, a candidate on the front
// is measured only if its predicted point adds that share of the front's
// hypervolume.
func TestLatencyScreenMinGain(t *testing.T) {
	sp := testSpace(t)
	p := fitModel(t, sp, 200)
	a := sp.TeacherArch()
	pred := p.Predict(a).Seconds()
	ref := Reference{Latency: time.Duration(4 * pred * float64(time.Second)), SizeBytes: 4000}
	// One member: accuracy 0.8, the candidates' predicted latency (a
	// quarter of the reference's) and half the reference size.
	member := []Candidate{{Result: evaluator.Result{Arch: a, Accuracy: 0.8, SizeBytes: 2000}}}
	member[0].Result.Latency.Median = p.Predict(a)
	front := new(liveFront)
	front.set(member, ref, FrontHypervolume(member, ref))
	for _, tc := range []struct {
		name    string
		res     evaluator.Result
		minGain float64
		want    bool
	}{
		// Barely more accurate, far larger: on the front, adds a sliver.
		{"sliver, no minimum", evaluator.Result{Arch: a, Accuracy: 0.801, SizeBytes: 3900}, 0, true},
		{"sliver under 1 %", evaluator.Result{Arch: a, Accuracy: 0.801, SizeBytes: 3900}, 0.01, false},
		// Faster and smaller at a little less accuracy: adds a lot.
		{"large gain over 1 %", evaluator.Result{Arch: a, Accuracy: 0.75, SizeBytes: 500}, 0.01, true},
		{"dominated whatever the minimum", evaluator.Result{Arch: a, Accuracy: 0.7, SizeBytes: 3000}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &latencyScreen{p: p, front: front, minGain: tc.minGain}
			c := Candidate{Result: tc.res}
			c.Result.Latency.Median = p.Predict(a)
			gain, hv := front.gain(&c)
			if got := s.measure(tc.res); got != tc.want {
				t.Fatalf("measure = %v, want %v (gain %.5f of hypervolume %.4f)", got, tc.want, gain, hv)
			}
		})
	}
}

func TestScreeningRun(t *testing.T) {
	sp := testSpace(t)
	base := Config{Strategy: StrategyNSGA2, Seed: 3, PopulationSize: 12, Budget: Budget{MaxEvaluations: 150, Patience: -1}}
	cfg := base
	cfg.Screening = Screening{Predictor: true, MinMeasurements: 24}
	ev := &screenEval{}
	store := openStore(t, filepath.Join(t.TempDir(), "run.db"))
	out, err := Run(context.Background(), cfg, sp, ev, WithTeacher(teacherResult(sp)), WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if out.Evaluations != 150 || out.Config.Screening.Margin != DefaultScreeningMargin {
		t.Fatalf("%d evaluations, margin %v", out.Evaluations, out.Config.Screening.Margin)
	}
	predicted := 0
	for _, c := range out.Candidates {
		switch {
		case c.Predicted:
			predicted++
			if !c.Screened || ev.measured[c.Key] || !ev.skipped[c.Key] || c.Result.Latency.Median <= 0 {
				t.Errorf("predicted %s: screened %v, measured %v, latency %v", c.Key, c.Screened, ev.measured[c.Key], c.Result.Latency.Median)
			}
			if c.Generation*12 < 24 {
				t.Errorf("%s predicted in generation %d, before %d measurements", c.Key, c.Generation, 24)
			}
		case !ev.measured[c.Key]:
			t.Errorf("%s neither predicted nor measured", c.Key)
		}
	}
	if predicted == 0 || predicted == len(out.Candidates) {
		t.Fatalf("%d of %d candidates predicted: screening never or always skips", predicted, len(out.Candidates))
	}
	for _, c := range out.Front {
		if c.Predicted || !ev.measured[c.Key] {
			t.Errorf("front member %s: predicted %v, measured %v", c.Key, c.Predicted, ev.measured[c.Key])
		}
	}
	t.Logf("%d of %d candidates screened by the predictor, front %d", predicted, len(out.Candidates), len(out.Front))
	// The marks survive a resume.
	again, err := Run(context.Background(), cfg, sp, ev, WithTeacher(teacherResult(sp)), WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range again.Candidates {
		if c.Predicted != out.Candidates[i].Predicted || c.Screened != out.Candidates[i].Screened {
			t.Fatalf("candidate %s: predicted %v after resuming, %v before", c.Key, c.Predicted, out.Candidates[i].Predicted)
		}
	}
}

func TestScreeningNeedsScreeningEvaluator(t *testing.T) {
	sp := testSpace(t)
	_, err := Run(context.Background(), Config{Screening: Screening{Predictor: true}}, sp, &fakeEval{}, WithTeacher(teacherResult(sp)))
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("an evaluator without EvaluateScreened under screening: %v", err)
	}
}

func TestScreeningConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Config
		field string // "" valid
	}{
		{"off", Config{}, ""},
		{"on", Config{Screening: Screening{Predictor: true}}, ""},
		{"tuned", Config{Screening: Screening{Predictor: true, Margin: 0.2, MinMeasurements: 30}}, ""},
		{"margin 1", Config{Screening: Screening{Predictor: true, Margin: 1}}, "screening.margin"},
		{"negative margin", Config{Screening: Screening{Predictor: true, Margin: -0.1}}, "screening.margin"},
		{"too few measurements", Config{Screening: Screening{Predictor: true, MinMeasurements: predictor.MinSamples - 1}}, "screening.min_measurements"},
		{"min gain 1", Config{Screening: Screening{Predictor: true, MinGain: 1}}, "screening.min_gain"},
		{"negative min gain", Config{Screening: Screening{Predictor: true, MinGain: -0.01}}, "screening.min_gain"},
		{"min gain NaN", Config{Screening: Screening{Predictor: true, MinGain: math.NaN()}}, "screening.min_gain"},
		{"with fidelity", Config{Screening: Screening{Predictor: true}, Fidelity: Fidelity{Levels: []int{10, 100}}}, "screening.predictor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("valid screening rejected: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("error %v, want one on %s", err, tc.field)
			}
		})
	}
}
