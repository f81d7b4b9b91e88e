package search

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/edgenas/edgenas/devices/predictor"
	"github.com/edgenas/edgenas/internal/fielderr"
)

// Strategy names accepted in Config.Strategy.
const (
	// StrategyGA is eaopt's generational model: tournament selection,
	// Space.Crossover and Space.Mutate, the offspring replace the population.
	StrategyGA = "ga"
	// StrategyNSGA2 is NSGA-II as an eaopt Model: constrained non-dominated
	// sorting and crowding distance over (accuracy, latency, size).
	StrategyNSGA2 = "nsga2"
	// StrategyRegularizedEvolution is aging evolution (Real et al. 2019): a
	// queue of PopulationSize members; each child mutates the best of
	// SampleSize random members and the oldest member leaves.
	StrategyRegularizedEvolution = "regularized-evolution"
	// StrategyRandom samples the space uniformly per choice, without
	// repeating an architecture when it can avoid it.
	StrategyRandom = "random"
)

// Strategies lists every accepted strategy name.
var Strategies = []string{StrategyGA, StrategyNSGA2, StrategyRegularizedEvolution, StrategyRandom}

// Penalty modes accepted in Objective.Mode.
const (
	// ModeSoft uses the exponent −Weight on both sides of the target
	// (MnasNet's soft constraint; default Weight 0.07).
	ModeSoft = "soft"
	// ModeHard uses exponent 0 at or below the target and −Weight above it
	// (MnasNet's hard constraint; default Weight 1).
	ModeHard = "hard"
	// ModeOff leaves the objective out of the reward.
	ModeOff = "off"
)

// Default values of the zero Config.
const (
	DefaultPopulationSize   = 16
	DefaultMutationRate     = 0.9
	DefaultGeneMutationRate = 0.15
	DefaultCrossoverRate    = 0.7
	DefaultTournamentSize   = 3
	DefaultBatch            = 4
	DefaultParallelism      = 1
	DefaultMaxEvaluations   = 100
	DefaultPatience         = 10
	DefaultSoftWeight       = 0.07
	DefaultHardWeight       = 1.0
	DefaultRetryAttempts    = 5
	// DefaultFidelityMargin is Fidelity.Margin's default: two standard
	// errors.
	DefaultFidelityMargin = 2.0
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	// DefaultTargetFraction is the share of the reference (teacher) latency
	// and size that the reward targets when no target is configured.
	DefaultTargetFraction = 0.5
)

// Upper bounds of the sizes a Config may ask for: far above any useful
// value, low enough that a typo cannot exhaust memory.
const (
	// MaxPopulationSize bounds population_size and batch.
	MaxPopulationSize = 100_000
	// MaxParallelism bounds parallelism.
	MaxParallelism = 1024
)

// ErrInvalidConfig marks a Config that Validate rejects; the error is a
// *FieldError naming one problem.
var ErrInvalidConfig = errors.New("invalid search config")

// Config configures one search. It is the `search:` part of a run's YAML.
// The zero value of every field means its default (see WithDefaults), so
// the zero Config is a valid ga search of 100 evaluations.
type Config struct {
	// Strategy is one of Strategies; default "ga".
	Strategy string `yaml:"strategy" json:"strategy"`
	// Seed seeds the run's one random source; the same seed, space,
	// config and evaluator give the same run. 0 is a seed like any other.
	Seed uint64 `yaml:"seed" json:"seed"`
	// PopulationSize is the population of ga and nsga2, the queue length
	// of regularized evolution, and the batch of random; default 16.
	PopulationSize int `yaml:"population_size" json:"population_size"`
	// MutationRate is the probability that an offspring of ga or nsga2 is
	// mutated (eaopt's MutRate); default 0.9.
	MutationRate float64 `yaml:"mutation_rate" json:"mutation_rate"`
	// GeneMutationRate is the per-gene probability of a mutation
	// (Space.Mutate's p) in ga, nsga2 and regularized evolution; default
	// 0.15.
	GeneMutationRate float64 `yaml:"gene_mutation_rate" json:"gene_mutation_rate"`
	// CrossoverRate is the probability that two selected parents of ga or
	// nsga2 are crossed over; default 0.7.
	CrossoverRate float64 `yaml:"crossover_rate" json:"crossover_rate"`
	// TournamentSize is the number of contestants of ga's tournament
	// selection; default 3, at most PopulationSize−1 (checked for ga only).
	TournamentSize int `yaml:"tournament_size" json:"tournament_size"`
	// SampleSize is S of regularized evolution: how many random members
	// compete to be a child's parent; default max(2, PopulationSize/4),
	// at most PopulationSize (checked for regularized-evolution only).
	SampleSize int `yaml:"sample_size" json:"sample_size"`
	// Batch is how many children regularized evolution proposes at once
	// (one generation); they are evaluated in parallel. Default 4.
	Batch int `yaml:"batch" json:"batch"`
	// Parallelism is how many evaluations run at once; default 1. It
	// changes how fast a run goes, never what it finds.
	Parallelism int `yaml:"parallelism" json:"parallelism"`
	// Budget says when the search stops.
	Budget Budget `yaml:"budget" json:"budget"`
	// Reward configures the scalar reward and the hard constraints.
	Reward RewardConfig `yaml:"reward" json:"reward"`
	// Reference is the hypervolume reference point (zero accuracy and
	// this latency and size) and the base of the default reward targets.
	// Zero fields take the teacher's (see WithTeacher).
	Reference Reference `yaml:"reference" json:"reference"`
	// Fidelity turns multi-fidelity evaluation on (off by default).
	Fidelity Fidelity `yaml:"fidelity" json:"fidelity,omitzero"`
	// Screening turns latency-predictor screening on (off by default).
	Screening Screening `yaml:"screening" json:"screening,omitzero"`
	// Retry says how an evaluation that failed for a transient reason is
	// retried. Like Parallelism it changes how a run goes, never what it
	// finds, so it may change between resumes.
	Retry Retry `yaml:"retry" json:"retry,omitzero"`
	// Front says which latencies the reported front treats as tied (see
	// NoiseDominates). Like Retry it changes what a run reports, never
	// what it evaluates, so it may change between resumes.
	Front FrontConfig `yaml:"front" json:"front,omitzero"`
	// Refine turns in-search refinement on (off by default). It is set by
	// the caller, which gives the refinement with WithRefine, not read
	// from a config file.
	Refine Refine `yaml:"-" json:"refine,omitzero"`
}

// Refine improves the best candidates of each generation before the next
// generation is proposed (e.g. by distilling them briefly): after a
// generation's batch is evaluated, the Top candidates of highest reward
// that the generation evaluated (screened ones aside) are refined by the
// WithRefine function, and their Results are replaced by the refined ones
// (Candidate.Refined) in the archive, the run's state and everything
// after. Label names the refinement (what it does, with which settings),
// so a run resumes only with the same one. The zero Refine is off.
type Refine struct {
	Top   int    `json:"top"`
	Label string `json:"label,omitempty"`
}

// FrontConfig chooses the front a run reports (Outcome.Front). By default
// the front is noise-aware: two latencies closer than the larger of their
// measured spreads (or than LatencyEpsilon, relative) are tied, so noise
// does not fill the front with near-duplicates (see NoiseFront). The
// exact front and its hypervolume are always recorded beside it.
type FrontConfig struct {
	// Exact reports the exact Pareto front instead: latencies compared as
	// measured, however close.
	Exact bool `yaml:"exact" json:"exact,omitempty"`
	// LatencyEpsilon is a relative latency difference below which two
	// latencies are tied even when their spreads are smaller: a and b are
	// tied when |a−b| < LatencyEpsilon × max(a, b). Default
	// DefaultLatencyEpsilon; it must be in [0, 1). (The spread of one
	// measurement underestimates how much a second one differs: on the
	// demo search, re-measured front members moved by 5% in the median
	// while their spreads were 0.1–0.4%.)
	LatencyEpsilon float64 `yaml:"latency_epsilon" json:"latency_epsilon,omitempty"`
}

// DefaultLatencyEpsilon is the default FrontConfig.LatencyEpsilon.
const DefaultLatencyEpsilon = 0.02

// Epsilon is the relative latency tolerance f ties latencies with:
// LatencyEpsilon, or DefaultLatencyEpsilon when it is 0.
func (f FrontConfig) Epsilon() float64 {
	if f.LatencyEpsilon == 0 {
		return DefaultLatencyEpsilon
	}
	return f.LatencyEpsilon
}

// Fidelity configures multi-fidelity evaluation, successive-halving
// style: each candidate is scored on Levels[0] examples first and promoted
// to the next level only while it could still reach the front, that is
// while its point (its accuracy at this level raised by Margin standard
// errors, its measured latency and size) is dominated by no member of the
// front with every earlier candidate of the run recorded (its own
// generation's too; see the package doc). Only candidates scored at
// the last level can enter the front; the others are archived as Screened
// with the accuracy of the last level they reached. It needs an Evaluator
// that is a FidelityEvaluator. The zero Fidelity is off.
type Fidelity struct {
	// Levels are the numbers of examples of each level, increasing; at
	// least two when set (a number at or above the data's size means
	// every example).
	Levels []int `yaml:"levels" json:"levels,omitempty"`
	// Margin is the optimistic margin in standard errors of the accuracy
	// at a level (sqrt(max(p(1−p), 1/n)/n) for accuracy p on n examples);
	// default DefaultFidelityMargin.
	Margin float64 `yaml:"margin" json:"margin,omitempty"`
}

// On reports whether multi-fidelity evaluation is configured.
func (f Fidelity) On() bool { return len(f.Levels) > 0 }

// Screening configures latency-predictor screening: once MinMeasurements
// candidates have been measured, a latency predictor (devices/predictor)
// is fitted on them at the start of every generation, refitted as
// measurements accrue, and each new candidate, scored and sized first, is
// measured only if its predicted point (its accuracy and size, its
// predicted latency lowered by Margin) is dominated by no member of the
// front as it stands (every result recorded so far). The others are archived
// as Screened and Predicted, their Result holding the predicted latency,
// and never enter the front, so every front member is measured. It needs
// an Evaluator that is a ScreeningEvaluator and excludes Fidelity. The
// zero Screening is off.
type Screening struct {
	// Predictor turns screening on.
	Predictor bool `yaml:"predictor" json:"predictor,omitempty"`
	// Margin is the relative optimism on the predicted latency, in
	// [0, 1); default DefaultScreeningMargin.
	Margin float64 `yaml:"margin" json:"margin,omitempty"`
	// MinMeasurements is how many measured candidates the first fit
	// waits for; default DefaultScreeningMinMeasurements, at least
	// predictor.MinSamples.
	MinMeasurements int `yaml:"min_measurements" json:"min_measurements,omitempty"`
	// MinGain, when above 0, also leaves unmeasured a candidate whose
	// predicted point, though on the front, would add less than MinGain
	// times the front's hypervolume (relative, in [0, 1); 0: every
	// candidate that could enter the front is measured). Most candidates
	// that enter a front late add a sliver of hypervolume next to a member
	// they barely beat; measuring only those that add more trades that
	// sliver for measurements.
	MinGain float64 `yaml:"min_gain" json:"min_gain,omitempty"`
}

// Screening defaults.
const (
	DefaultScreeningMargin          = 0.1
	DefaultScreeningMinMeasurements = 50
)

// Retry bounds the retries of an evaluation that failed transiently: the
// device was unavailable (devices.ErrUnavailable) or failed to measure
// (evaluator.ErrMeasure, except an invalid workload). The attempts wait
// InitialBackoff, then twice as long each time up to MaxBackoff. A run
// whose evaluation still fails after MaxAttempts attempts stops with the
// error, after saving.
type Retry struct {
	// MaxAttempts is how many times one evaluation is tried, the first
	// included; default 5. 1 disables retrying.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts"`
	// InitialBackoff is the wait before the first retry; default 1s.
	InitialBackoff time.Duration `yaml:"initial_backoff" json:"initial_backoff"`
	// MaxBackoff caps the wait between attempts; default 30s.
	MaxBackoff time.Duration `yaml:"max_backoff" json:"max_backoff"`
}

// withDefaults returns r with every zero field set to its default.
func (r Retry) withDefaults() Retry {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultRetryAttempts
	}
	if r.InitialBackoff == 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = max(DefaultMaxBackoff, r.InitialBackoff)
	}
	return r
}

// Budget says when a search stops; the first limit reached wins. Limits
// count over the whole run, across resumes.
type Budget struct {
	// MaxEvaluations caps the evaluations (distinct architectures sent to
	// the Evaluator); default 100.
	MaxEvaluations int `yaml:"max_evaluations" json:"max_evaluations"`
	// MaxDuration caps the run's wall time (summed over resumes); 0 means
	// no limit. Evaluations in flight when it passes are finished.
	MaxDuration time.Duration `yaml:"max_duration" json:"max_duration"`
	// MaxGenerations caps the generations; 0 means no limit.
	MaxGenerations int `yaml:"max_generations" json:"max_generations"`
	// Patience stops the run after this many generations in a row without
	// a hypervolume improvement; default 10, negative disables.
	Patience int `yaml:"patience" json:"patience"`
}

// RewardConfig configures the MnasNet-style reward
//
//	accuracy × (latency/TargetLatency)^wLat × (size/TargetSize)^wSize
//
// and the hard constraints. A candidate that breaks a hard constraint is
// infeasible: its reward is minus its summed relative violations, below
// every feasible reward, and it is kept out of the feasible front.
type RewardConfig struct {
	// TargetLatency is the latency target (the median); default
	// DefaultTargetFraction of the reference latency.
	TargetLatency time.Duration `yaml:"target_latency" json:"target_latency"`
	// TargetSizeBytes is the size target; default DefaultTargetFraction of
	// the reference size.
	TargetSizeBytes int64 `yaml:"target_size_bytes" json:"target_size_bytes"`
	// Latency is the latency term's penalty; default soft.
	Latency Objective `yaml:"latency" json:"latency"`
	// Size is the size term's penalty; default soft.
	Size Objective `yaml:"size" json:"size"`
	// MaxLatency is a hard limit on the median latency; 0 means none.
	MaxLatency time.Duration `yaml:"max_latency" json:"max_latency"`
	// MaxSizeBytes is a hard limit on the size; 0 means none.
	MaxSizeBytes int64 `yaml:"max_size_bytes" json:"max_size_bytes"`
	// MinAccuracy is a hard lower limit on the accuracy; 0 means none.
	MinAccuracy float64 `yaml:"min_accuracy" json:"min_accuracy"`
}

// Objective is the penalty of one reward term.
type Objective struct {
	// Mode is ModeSoft (default), ModeHard or ModeOff.
	Mode string `yaml:"mode" json:"mode"`
	// Weight is the magnitude of the exponent; default 0.07 for soft, 1
	// for hard.
	Weight float64 `yaml:"weight" json:"weight"`
}

// Reference is the hypervolume reference point and the base of the
// default reward targets: usually the teacher's latency and size.
type Reference struct {
	// Latency is the reference median latency.
	Latency time.Duration `yaml:"latency" json:"latency"`
	// SizeBytes is the reference size.
	SizeBytes int64 `yaml:"size_bytes" json:"size_bytes"`
}

// DefaultConfig returns the zero Config with every default filled in (the
// reference and the reward targets stay zero until a teacher is known).
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default. The
// reward targets are derived from the reference only when it is set.
func (c Config) WithDefaults() Config {
	if c.Strategy == "" {
		c.Strategy = StrategyGA
	}
	c.Front.LatencyEpsilon = c.Front.Epsilon()
	if c.PopulationSize == 0 {
		c.PopulationSize = DefaultPopulationSize
	}
	if c.MutationRate == 0 {
		c.MutationRate = DefaultMutationRate
	}
	if c.GeneMutationRate == 0 {
		c.GeneMutationRate = DefaultGeneMutationRate
	}
	if c.CrossoverRate == 0 {
		c.CrossoverRate = DefaultCrossoverRate
	}
	if c.TournamentSize == 0 {
		c.TournamentSize = DefaultTournamentSize
	}
	if c.SampleSize == 0 {
		c.SampleSize = max(2, c.PopulationSize/4)
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Parallelism == 0 {
		c.Parallelism = DefaultParallelism
	}
	if c.Budget.MaxEvaluations == 0 {
		c.Budget.MaxEvaluations = DefaultMaxEvaluations
	}
	if c.Budget.Patience == 0 {
		c.Budget.Patience = DefaultPatience
	}
	c.Retry = c.Retry.withDefaults()
	if c.Fidelity.On() && c.Fidelity.Margin == 0 {
		c.Fidelity.Margin = DefaultFidelityMargin
	}
	if c.Screening.Predictor {
		if c.Screening.Margin == 0 {
			c.Screening.Margin = DefaultScreeningMargin
		}
		if c.Screening.MinMeasurements == 0 {
			c.Screening.MinMeasurements = DefaultScreeningMinMeasurements
		}
	}
	c.Reward.Latency = c.Reward.Latency.withDefaults()
	c.Reward.Size = c.Reward.Size.withDefaults()
	if c.Reward.TargetLatency == 0 && c.Reference.Latency > 0 {
		c.Reward.TargetLatency = time.Duration(DefaultTargetFraction * float64(c.Reference.Latency))
	}
	if c.Reward.TargetSizeBytes == 0 && c.Reference.SizeBytes > 0 {
		c.Reward.TargetSizeBytes = int64(DefaultTargetFraction * float64(c.Reference.SizeBytes))
	}
	return c
}

func (o Objective) withDefaults() Objective {
	if o.Mode == "" {
		o.Mode = ModeSoft
	}
	if o.Weight == 0 {
		switch o.Mode {
		case ModeSoft:
			o.Weight = DefaultSoftWeight
		case ModeHard:
			o.Weight = DefaultHardWeight
		}
	}
	return o
}

// exponents returns the reward exponent below (or at) and above the target.
func (o Objective) exponents() (below, above float64) {
	switch o.Mode {
	case ModeSoft:
		return -o.Weight, -o.Weight
	case ModeHard:
		return 0, -o.Weight
	}
	return 0, 0
}

// FieldError is one problem of a Config: the YAML path of the field and
// what is wrong with it; it wraps ErrInvalidConfig. It is the one
// validation error type of edgenas (package fielderr).
type FieldError = fielderr.FieldError

// Validate checks c after defaults and returns every problem, each a
// *FieldError wrapping ErrInvalidConfig, joined; nil when there is none. It does not require the reward targets: Run derives
// them from the reference or the teacher and checks them then.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var p []error
	add := func(field, format string, args ...any) {
		p = append(p, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Err: ErrInvalidConfig})
	}
	known := false
	for _, s := range Strategies {
		known = known || c.Strategy == s
	}
	if !known {
		add("strategy", "%q is not one of %s", c.Strategy, strings.Join(Strategies, ", "))
	}
	if c.PopulationSize < 2 || c.PopulationSize > MaxPopulationSize {
		add("population_size", "%d, want 2..%d", c.PopulationSize, MaxPopulationSize)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"mutation_rate", c.MutationRate}, {"gene_mutation_rate", c.GeneMutationRate}, {"crossover_rate", c.CrossoverRate}} {
		if !(f.v >= 0 && f.v <= 1) {
			add(f.name, "%v, want a probability in [0, 1]", f.v)
		}
	}
	if c.TournamentSize < 0 {
		add("tournament_size", "%d, want ≥ 1 (0: %d)", c.TournamentSize, DefaultTournamentSize)
	} else if c.Strategy == StrategyGA && (c.TournamentSize < 1 || c.TournamentSize > c.PopulationSize-1) {
		add("tournament_size", "%d, want 1..population_size−1 (%d)", c.TournamentSize, c.PopulationSize-1)
	}
	if c.SampleSize < 0 {
		add("sample_size", "%d, want ≥ 1 (0: max(2, population_size/4))", c.SampleSize)
	} else if c.Strategy == StrategyRegularizedEvolution && (c.SampleSize < 1 || c.SampleSize > c.PopulationSize) {
		add("sample_size", "%d, want 1..population_size (%d)", c.SampleSize, c.PopulationSize)
	}
	if c.Refine.Top < 0 {
		add("refine.top", "%d, want ≥ 0 (0: off)", c.Refine.Top)
	}
	if c.Batch < 1 || c.Batch > MaxPopulationSize {
		add("batch", "%d, want 1..%d", c.Batch, MaxPopulationSize)
	}
	if c.Parallelism < 1 || c.Parallelism > MaxParallelism {
		add("parallelism", "%d, want 1..%d", c.Parallelism, MaxParallelism)
	}
	if c.Budget.MaxEvaluations < 1 {
		add("budget.max_evaluations", "%d, want ≥ 1", c.Budget.MaxEvaluations)
	}
	if c.Budget.MaxDuration < 0 {
		add("budget.max_duration", "%v, want ≥ 0 (0: no limit)", c.Budget.MaxDuration)
	}
	if c.Budget.MaxGenerations < 0 {
		add("budget.max_generations", "%d, want ≥ 0 (0: no limit)", c.Budget.MaxGenerations)
	}
	r := c.Reward
	if r.TargetLatency < 0 {
		add("reward.target_latency", "%v, want > 0", r.TargetLatency)
	}
	if r.TargetSizeBytes < 0 {
		add("reward.target_size_bytes", "%d, want > 0", r.TargetSizeBytes)
	}
	for _, o := range []struct {
		name string
		o    Objective
	}{{"reward.latency", r.Latency}, {"reward.size", r.Size}} {
		switch o.o.Mode {
		case ModeSoft, ModeHard, ModeOff:
		default:
			add(o.name+".mode", "%q, want soft, hard or off", o.o.Mode)
		}
		if !(o.o.Weight >= 0) || math.IsInf(o.o.Weight, 0) {
			add(o.name+".weight", "%v, want a finite magnitude ≥ 0 (the exponent is its negative)", o.o.Weight)
		}
	}
	if r.MaxLatency < 0 {
		add("reward.max_latency", "%v, want ≥ 0 (0: none)", r.MaxLatency)
	}
	if r.MaxSizeBytes < 0 {
		add("reward.max_size_bytes", "%d, want ≥ 0 (0: none)", r.MaxSizeBytes)
	}
	if !(r.MinAccuracy >= 0 && r.MinAccuracy <= 1) {
		add("reward.min_accuracy", "%v, want 0..1 (0: none)", r.MinAccuracy)
	}
	if c.Retry.MaxAttempts < 1 {
		add("retry.max_attempts", "%d, want ≥ 1 (1: no retry)", c.Retry.MaxAttempts)
	}
	if c.Retry.InitialBackoff < 0 {
		add("retry.initial_backoff", "%v, want > 0", c.Retry.InitialBackoff)
	}
	if c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		add("retry.max_backoff", "%v, want ≥ retry.initial_backoff (%v)", c.Retry.MaxBackoff, c.Retry.InitialBackoff)
	}
	if !(c.Front.LatencyEpsilon >= 0 && c.Front.LatencyEpsilon < 1) {
		add("front.latency_epsilon", "%v, want a relative tolerance in [0, 1) (0: %g)", c.Front.LatencyEpsilon, DefaultLatencyEpsilon)
	}
	if f := c.Fidelity; f.On() {
		if len(f.Levels) < 2 {
			add("fidelity.levels", "%v, want at least two increasing numbers of examples (or none: off)", f.Levels)
		}
		for i, n := range f.Levels {
			if n < 1 || i > 0 && n <= f.Levels[i-1] {
				add("fidelity.levels", "%v, want increasing numbers of examples ≥ 1", f.Levels)
				break
			}
		}
	}
	if m := c.Fidelity.Margin; !(m >= 0) || math.IsInf(m, 0) {
		add("fidelity.margin", "%v, want a finite number of standard errors ≥ 0 (0: %v)", m, DefaultFidelityMargin)
	}
	if sc := c.Screening; sc != (Screening{}) {
		if !(sc.Margin >= 0 && sc.Margin < 1) {
			add("screening.margin", "%v, want a relative margin in [0, 1) (0: %v)", sc.Margin, DefaultScreeningMargin)
		}
		if !(sc.MinGain >= 0 && sc.MinGain < 1) {
			add("screening.min_gain", "%v, want a share of the front's hypervolume in [0, 1) (0: off)", sc.MinGain)
		}
		if sc.MinMeasurements != 0 && sc.MinMeasurements < predictor.MinSamples {
			add("screening.min_measurements", "%d, want ≥ %d (0: %d)", sc.MinMeasurements, predictor.MinSamples, DefaultScreeningMinMeasurements)
		}
		if sc.Predictor && c.Fidelity.On() {
			add("screening.predictor", "true with fidelity.levels set: use one of multi-fidelity evaluation and predictor screening")
		}
	}
	if c.Reference.Latency < 0 {
		add("reference.latency", "%v, want ≥ 0 (0: the teacher's)", c.Reference.Latency)
	}
	if c.Reference.SizeBytes < 0 {
		add("reference.size_bytes", "%d, want ≥ 0 (0: the teacher's)", c.Reference.SizeBytes)
	}
	return errors.Join(p...)
}
