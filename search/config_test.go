package search

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgenas/edgenas/internal/fielderr"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
)

func TestConfigDefaults(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	c := DefaultConfig()
	if c.Strategy != StrategyGA || c.PopulationSize != DefaultPopulationSize || c.Budget.MaxEvaluations != DefaultMaxEvaluations ||
		c.Budget.Patience != DefaultPatience || c.Reward.Latency.Mode != ModeSoft || c.Reward.Size.Weight != DefaultSoftWeight || c.SampleSize != 4 ||
		c.Retry != (Retry{MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: 30 * time.Second}) || c.Front != (FrontConfig{LatencyEpsilon: DefaultLatencyEpsilon}) {
		t.Errorf("defaults %+v", c)
	}
	c = Config{Reference: Reference{Latency: 10 * time.Millisecond, SizeBytes: 1000}, Reward: RewardConfig{Latency: Objective{Mode: ModeHard}}}.WithDefaults()
	if c.Reward.TargetLatency != 5*time.Millisecond || c.Reward.TargetSizeBytes != 500 || c.Reward.Latency.Weight != DefaultHardWeight {
		t.Errorf("derived targets %+v", c.Reward)
	}
}

func TestConfigValidateListsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"strategy", Config{Strategy: "hill-climbing"}, []string{`strategy: "hill-climbing" is not one of`}},
		{"everything at once", Config{
			PopulationSize: 1, MutationRate: 1.5, CrossoverRate: -0.1, TournamentSize: 5, Parallelism: -1,
			Budget: Budget{MaxEvaluations: -3, MaxDuration: -time.Second, MaxGenerations: -1},
			Reward: RewardConfig{Latency: Objective{Mode: "harsh"}, Size: Objective{Weight: math.NaN()}, MinAccuracy: -1, MaxSizeBytes: -1},
		}, []string{"population_size: 1", "mutation_rate: 1.5", "crossover_rate: -0.1", "tournament_size: 5", "parallelism: -1",
			"budget.max_evaluations: -3", "budget.max_duration", "budget.max_generations", `reward.latency.mode: "harsh"`,
			"reward.size.weight: NaN", "reward.min_accuracy", "reward.max_size_bytes"}},
		{"tournament too large", Config{PopulationSize: 4, TournamentSize: 4}, []string{"tournament_size: 4, want 1..population_size−1 (3)"}},
		{"sample too large", Config{Strategy: StrategyRegularizedEvolution, PopulationSize: 4, SampleSize: 5}, []string{"sample_size: 5"}},
		{"retry", Config{Retry: Retry{MaxAttempts: -1, InitialBackoff: -time.Second, MaxBackoff: -2 * time.Second}},
			[]string{"retry.max_attempts: -1", "retry.initial_backoff: -1s", "retry.max_backoff: -2s"}},
		{"front epsilon", Config{Front: FrontConfig{LatencyEpsilon: 1}}, []string{"front.latency_epsilon: 1, want a relative tolerance in [0, 1)"}},
		{"front epsilon NaN", Config{Front: FrontConfig{LatencyEpsilon: math.NaN()}}, []string{"front.latency_epsilon: NaN"}},
		{"backoff cap below the first", Config{Retry: Retry{InitialBackoff: time.Minute, MaxBackoff: time.Second}}, []string{"retry.max_backoff: 1s, want ≥ retry.initial_backoff (1m0s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var fe *FieldError
			if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &fe) {
				t.Fatalf("got %v, want *FieldError problems wrapping ErrInvalidConfig", err)
			}
			problems := fielderr.All(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if len(problems) < len(tc.want) {
				t.Errorf("%d problems, want ≥ %d", len(problems), len(tc.want))
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
strategy: nsga2
seed: 42
population_size: 20
parallelism: 2
budget:
  max_evaluations: 500
  max_duration: 2h
  patience: -1
reward:
  target_latency: 15ms
  target_size_bytes: 4000000
  latency: {mode: hard}
  size: {mode: soft, weight: 0.1}
  max_latency: 40ms
  min_accuracy: 0.8
reference:
  latency: 30ms
  size_bytes: 17000000
retry: {max_attempts: 3, initial_backoff: 2s, max_backoff: 1m}
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Strategy != StrategyNSGA2 || c.Seed != 42 || c.Budget.MaxDuration != 2*time.Hour || c.Budget.Patience != -1 ||
		c.Reward.TargetLatency != 15*time.Millisecond || c.Reward.Size.Weight != 0.1 || c.Reference.SizeBytes != 17000000 ||
		c.Retry != (Retry{MaxAttempts: 3, InitialBackoff: 2 * time.Second, MaxBackoff: time.Minute}) {
		t.Errorf("decoded %+v", c)
	}
}

func res(acc float64, lat time.Duration, size int64) evaluator.Result {
	return evaluator.Result{Key: "k", Accuracy: acc, Latency: devices.Measurement{Stats: devices.Stats{Median: lat}}, SizeBytes: size}
}

func TestRewardScore(t *testing.T) {
	ms := time.Millisecond
	base := RewardConfig{TargetLatency: 10 * ms, TargetSizeBytes: 100}
	hardLat := base
	hardLat.Latency, hardLat.Size = Objective{Mode: ModeHard}, Objective{Mode: ModeOff}
	constrained := base
	constrained.MaxLatency, constrained.MaxSizeBytes, constrained.MinAccuracy = 20*ms, 200, 0.5
	for _, tc := range []struct {
		name     string
		cfg      RewardConfig
		r        evaluator.Result
		want     float64
		feasible bool
	}{
		{"soft at target", base, res(0.9, 10*ms, 100), 0.9, true},
		{"soft below target gains", base, res(0.9, 5*ms, 100), 0.9 * math.Pow(0.5, -0.07), true},
		{"soft above target loses", base, res(0.9, 20*ms, 200), 0.9 * math.Pow(2, -0.07) * math.Pow(2, -0.07), true},
		{"hard below target is flat", hardLat, res(0.9, 5*ms, 1e9), 0.9, true},
		{"hard above target", hardLat, res(0.9, 20*ms, 1), 0.45, true},
		{"infeasible latency", constrained, res(0.9, 30*ms, 100), -0.5, false},
		{"infeasible on all three", constrained, res(0.25, 30*ms, 300), -0.5 - 0.5 - 0.5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.cfg.Score(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(s.Reward-tc.want) > 1e-12 || s.Feasible != tc.feasible {
				t.Errorf("got %+v, want reward %v feasible %v", s, tc.want, tc.feasible)
			}
			if !s.Feasible && len(s.Violations) == 0 {
				t.Error("no violation named")
			}
		})
	}
	// Every infeasible reward is below every feasible one.
	worst, _ := constrained.Score(res(0.5, 20*ms, 200))
	barely, _ := constrained.Score(res(0.4999, 10*ms, 100))
	if !(barely.Reward < 0 && barely.Reward < worst.Reward && worst.Feasible) {
		t.Errorf("barely infeasible %v vs worst feasible %v", barely, worst)
	}
	for name, tc := range map[string]struct {
		cfg RewardConfig
		r   evaluator.Result
	}{
		"no target":    {RewardConfig{}, res(0.9, ms, 1)},
		"zero latency": {base, res(0.9, 0, 1)},
		"NaN accuracy": {base, res(math.NaN(), ms, 1)},
	} {
		if _, err := tc.cfg.Score(tc.r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
