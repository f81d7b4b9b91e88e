package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/predictor"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/space"
)

// Evaluator turns an architecture into measured numbers. evaluator's
// implementation is the real one; tests use fakes. Evaluate must be safe
// for concurrent use (the search calls it from up to Config.Parallelism
// goroutines) and should return ctx's error promptly when ctx ends. An
// error wrapping devices.ErrUnavailable or evaluator.ErrMeasure is
// transient and retried (Config.Retry); any other error stops the run.
type Evaluator interface {
	Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error)
}

// FidelityEvaluator is an Evaluator that scores at several fidelities,
// which multi-fidelity search (Config.Fidelity) needs; evaluator's is one.
// EvaluateLevels scores a on levels[0] examples, then on each next level
// while promote accepts the Result of the level before, and returns the
// Result of every level scored, in order (at least one). promote is
// called from the goroutine that called EvaluateLevels.
type FidelityEvaluator interface {
	Evaluator
	EvaluateLevels(ctx context.Context, a space.Arch, levels []int, promote func(evaluator.Result) bool) ([]evaluator.Result, error)
}

// ScreeningEvaluator is an Evaluator that scores a candidate before
// deciding whether to measure it, which predictor screening
// (Config.Screening) needs; evaluator's is one. EvaluateScreened returns
// a's Result: measured (measured true), or, when measure rejects the
// scored and sized Result, unmeasured. measure is called from the
// goroutine that called EvaluateScreened.
type ScreeningEvaluator interface {
	Evaluator
	EvaluateScreened(ctx context.Context, a space.Arch, measure func(evaluator.Result) bool) (res evaluator.Result, measured bool, err error)
}

// StopReason says why a run stopped.
type StopReason string

// Stop reasons.
const (
	StopMaxEvaluations StopReason = "max-evaluations"
	StopMaxDuration    StopReason = "max-duration"
	StopMaxGenerations StopReason = "max-generations"
	StopPatience       StopReason = "patience"
	// StopCanceled: the context ended (e.g. SIGINT); everything completed
	// is saved and the run can be resumed.
	StopCanceled StopReason = "canceled"
	// StopExhausted: the space holds nothing new to evaluate, or
	// idleGenerations generations in a row proposed nothing new.
	StopExhausted StopReason = "exhausted"
)

// idleGenerations is how many generations in a row may propose only
// architectures already evaluated before the run stops as exhausted.
const idleGenerations = 25

// HVPoint is the state of the front after one generation: the exact
// front's hypervolume and size, and the reported front's (noise-aware
// unless Config.Front.Exact; see Archive.NoiseFront).
type HVPoint struct {
	Generation       int     `json:"generation"`
	Evaluations      int     `json:"evaluations"`
	Hypervolume      float64 `json:"hypervolume"`
	FrontSize        int     `json:"front_size"`
	NoiseHypervolume float64 `json:"noise_hypervolume"`
	NoiseFrontSize   int     `json:"noise_front_size"`
}

// Outcome is what a run found.
type Outcome struct {
	// RunID names the run in its database.
	RunID string
	// Front is the feasible Pareto front over (accuracy ↑, latency ↓,
	// size ↓), by accuracy, highest first: noise-aware unless
	// Config.Front.Exact (see Archive.NoiseFront).
	Front []Candidate
	// ExactFrontSize is the size of the exact Pareto front (Front's size
	// when Config.Front.Exact).
	ExactFrontSize int
	// Candidates is every evaluated candidate, in (generation, slot)
	// order, infeasible ones included.
	Candidates []Candidate
	// Best is the candidate with the highest reward; nil when none was
	// evaluated.
	Best *Candidate
	// History is the hypervolume after every generation.
	History []HVPoint
	// Stop says why the run stopped.
	Stop StopReason
	// Generations completed and Evaluations done over the whole run.
	Generations, Evaluations int
	// Elapsed is the run's wall time, summed over resumes.
	Elapsed time.Duration
	// Config is the config the run used, with defaults, the resolved
	// reference and reward targets.
	Config Config
	// Teacher is the teacher's Result when the search evaluated it.
	Teacher *evaluator.Result
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventEvaluation: one evaluation completed (Candidate set).
	EventEvaluation EventKind = iota + 1
	// EventFront: the exact front changed (Front set to the reported
	// front).
	EventFront
	// EventGeneration: a generation completed (Hypervolume, FrontSize).
	EventGeneration
)

// Event is one step of a run's progress, passed to the WithProgress
// callback.
type Event struct {
	Kind EventKind
	// Generation is the generation in progress or just completed.
	Generation int
	// Evaluations is the number of evaluations done so far in the run.
	Evaluations int
	// Candidate is the evaluated candidate (EventEvaluation).
	Candidate *Candidate
	// Front is the new front (EventFront).
	Front []Candidate
	// Hypervolume and FrontSize of the exact front after the event;
	// NoiseHypervolume and NoiseFrontSize of the reported front.
	Hypervolume      float64
	FrontSize        int
	NoiseHypervolume float64
	NoiseFrontSize   int
}

// Option configures Run.
type Option func(*options)

type options struct {
	store    Store
	runID    string
	reg      prometheus.Registerer
	progress func(Event)
	teacher  *evaluator.Result
	log      *slog.Logger
	refine   RefineFunc
	// sleep waits d or until ctx ends (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

// sleepCtx waits d, or returns ctx's error when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DefaultRunID is the run ID when WithRunID is not given.
const DefaultRunID = "default"

// WithStore persists the run in s (e.g. NewFileStore of the file the
// evaluator's cache is in). Without WithStore the run lives in memory and
// cannot be resumed.
func WithStore(s Store) Option { return func(o *options) { o.store = s } }

// WithRunID names the run in its Store (default DefaultRunID; not empty,
// no NUL). Run
// resumes a persisted run of that name, or starts it.
func WithRunID(id string) Option { return func(o *options) { o.runID = id } }

// WithRegisterer registers the search's metrics with reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithProgress calls fn with every Event, in order, from the goroutine
// running the search: fn must return quickly and must not call back into
// the run.
func WithProgress(fn func(Event)) Option { return func(o *options) { o.progress = fn } }

// WithTeacher gives the teacher's Result; its latency and size fill the
// zero fields of Config.Reference. Without it and without a full
// reference, Run evaluates space.TeacherArch itself first (not counted in
// the budget).
func WithTeacher(r evaluator.Result) Option { return func(o *options) { o.teacher = &r } }

// WithLogger logs the run's milestones to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// RefineFunc refines candidate c (see Refine) and returns its new Result,
// of the same architecture. The search calls it from the goroutine running
// the search, one candidate at a time; it should return ctx's error
// promptly when ctx ends.
type RefineFunc func(ctx context.Context, c Candidate) (evaluator.Result, error)

// WithRefine refines the best candidates of each generation with fn as
// Config.Refine says (without Config.Refine.Top, fn is not called).
func WithRefine(fn RefineFunc) Option { return func(o *options) { o.refine = fn } }

// Run searches sp with ev under cfg and returns what it found.
//
// With WithStore the run is persisted after every
// evaluation and every generation; calling Run again with the same run ID
// resumes it: no completed evaluation is lost or repeated, and the run
// continues exactly as it would have (same seed, same proposals), so an
// interrupted and resumed run finds what an uninterrupted one does. The
// budget and the parallelism may change between resumes; anything else
// that differs fails with ErrStateMismatch.
//
// When ctx ends, Run stops launching evaluations, cancels those in flight
// (their results are not kept), saves, and returns the Outcome with
// StopCanceled and a nil error. An evaluation that fails transiently (the
// device unavailable or failing to measure) is retried with exponential
// backoff as Config.Retry says; a failure is never recorded as a result.
// An evaluation still failing after the last attempt, any other
// evaluation error (e.g. evaluator.ErrBuild: a valid architecture that
// cannot be built is a bug), a storage error or a Result the reward
// cannot judge stops the run with that error, after saving; the Outcome
// so far is returned with it.
func Run(ctx context.Context, cfg Config, sp *space.Space, ev Evaluator, opts ...Option) (*Outcome, error) {
	o := options{runID: DefaultRunID, sleep: sleepCtx}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sp == nil || ev == nil {
		panic("search.Run: nil space or evaluator")
	}
	if err := checkRunID(o.runID); err != nil {
		return nil, err
	}
	if _, ok := ev.(FidelityEvaluator); cfg.Fidelity.On() && !ok {
		return nil, &FieldError{Field: "fidelity", Msg: fmt.Sprintf("multi-fidelity evaluation needs an evaluator that scores at several fidelities (a FidelityEvaluator); %T is not", ev), Err: ErrInvalidConfig}
	}
	if _, ok := ev.(ScreeningEvaluator); cfg.Screening.Predictor && !ok {
		return nil, &FieldError{Field: "screening", Msg: fmt.Sprintf("predictor screening needs an evaluator that scores before it measures (a ScreeningEvaluator); %T is not", ev), Err: ErrInvalidConfig}
	}
	if cfg.Refine.Top > 0 && o.refine == nil {
		return nil, &FieldError{Field: "refine", Msg: "refining candidates needs a refinement (WithRefine)", Err: ErrInvalidConfig}
	}
	var st store = memStore{}
	if o.store != nil {
		st = &runStore{s: o.store, id: o.runID}
	}
	m, err := newMetrics(o.reg)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	r := &runner{opts: o, sp: sp, ev: ev, store: st, metrics: m}
	if err := r.init(ctx, cfg); err != nil {
		return nil, err
	}
	err = r.loop(ctx)
	return outcome(o.runID, r.st, r.archive), err
}

// runner is one Run in progress. Only the goroutine that called Run
// touches it; evaluation workers get an Arch and send back a result.
type runner struct {
	opts    options
	sp      *space.Space
	ev      Evaluator
	store   store
	metrics *metrics

	cfg     Config // resolved
	st      *runState
	pcg     *rand.PCG
	rng     *rand.Rand
	archive *Archive
	strat   strategy
	started time.Time
	elapsed time.Duration // at start
	hv      float64       // hypervolume of the current exact front
	noiseHV float64       // hypervolume of the current reported front
	noiseN  int           // size of the current reported front
	live    liveFront     // the front's points as results are recorded, for screening
}

// liveFront holds the archive's front as it stands after the latest
// recorded evaluation: the screening rules (multi-fidelity promotion and
// predictor screening) read it from evaluation goroutines, so a candidate
// is screened against every result recorded before it, including those of
// its own generation.
type liveFront struct {
	mu   sync.Mutex
	pts  []Point   // the members' objectives (Candidate.objectives)
	ref  Reference // the hypervolume's reference
	norm []Point   // the members normalized against ref (Candidate.normalized)
	hv   float64   // the front's hypervolume against ref
}

// set replaces the front with front, whose hypervolume against ref is hv.
func (f *liveFront) set(front []Candidate, ref Reference, hv float64) {
	pts, norm := make([]Point, len(front)), make([]Point, len(front))
	for i := range front {
		pts[i], norm[i] = front[i].objectives(), front[i].normalized(ref)
	}
	f.mu.Lock()
	f.pts, f.ref, f.norm, f.hv = pts, ref, norm, hv
	f.mu.Unlock()
}

// gain returns the hypervolume c would add to the front and the front's
// hypervolume (FrontHypervolume's, against the reference of set); both
// are 0 when that reference has a zero field.
func (f *liveFront) gain(c *Candidate) (gain, hv float64) {
	f.mu.Lock()
	ref, norm, hv := f.ref, f.norm, f.hv
	f.mu.Unlock()
	if ref.Latency <= 0 || ref.SizeBytes <= 0 {
		return 0, 0
	}
	with := append(slices.Clip(norm), c.normalized(ref)) // never writes into norm, which others read
	return Hypervolume(with, Point{0, 1, 1}) - hv, hv
}

// dominated reports whether a point of the front dominates p.
func (f *liveFront) dominated(p Point) bool {
	f.mu.Lock()
	pts := f.pts
	f.mu.Unlock()
	for _, q := range pts {
		if q.Dominates(p) {
			return true
		}
	}
	return false
}

func (r *runner) init(ctx context.Context, cfg Config) error {
	cfg = cfg.WithDefaults()
	idc := cfg
	// How failures are retried and how the front is reported are not part
	// of what the run is.
	idc.Retry, idc.Front = Retry{}, FrontConfig{}
	id := identity(idc, r.sp.Spec())
	st, recs, err := r.store.load()
	if err != nil {
		return err
	}
	r.pcg = rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)
	if st != nil {
		if err := checkIdentity(st.Identity, id); err != nil {
			return fmt.Errorf("resume run %q: %w", r.opts.runID, err)
		}
		if err := r.pcg.UnmarshalBinary(st.RNG); err != nil {
			return fmt.Errorf("resume run %q: random state: %w", r.opts.runID, err)
		}
		// The budget, parallelism, retries and front rule are the caller's;
		// the rest as
		// persisted.
		st.Config.Budget, st.Config.Parallelism, st.Config.Retry, st.Config.Front = cfg.Budget, cfg.Parallelism, cfg.Retry, cfg.Front
		st.Stop = ""
		r.opts.log.Info("resuming run", "run", r.opts.runID, "generation", st.Generation, "evaluations", len(recs))
	} else {
		st = &runState{Identity: id}
		ref := cfg.Reference
		if ref.Latency <= 0 || ref.SizeBytes <= 0 {
			t := r.opts.teacher
			if t == nil {
				res, err := r.evaluate(ctx, cfg.Retry, r.sp.TeacherArch())
				if err != nil {
					return fmt.Errorf("evaluate the teacher for the reference point (or set reference.latency and reference.size_bytes): %w", err)
				}
				t = &res
				st.Teacher = t
			}
			if ref.Latency <= 0 {
				ref.Latency = t.Latency.Median
			}
			if ref.SizeBytes <= 0 {
				ref.SizeBytes = t.SizeBytes
			}
		}
		if ref.Latency <= 0 || ref.SizeBytes <= 0 {
			return fmt.Errorf("%w: reference latency %v and size %d B: both must be positive", ErrInvalidConfig, ref.Latency, ref.SizeBytes)
		}
		cfg.Reference = ref
		st.Config = cfg.WithDefaults()
		st.RNG, _ = r.pcg.MarshalBinary() // PCG marshalling cannot fail
		if err := r.store.saveState(st); err != nil {
			return err
		}
	}
	r.st, r.cfg = st, st.Config
	r.rng = rand.New(r.pcg)
	if r.archive, err = rebuildArchive(r.cfg.Reward, recs); err != nil {
		return err
	}
	r.strat = newStrategy(r.cfg, r.sp, r.archive.Get)
	r.started, r.elapsed = time.Now(), st.Elapsed
	r.measureFront()
	if b := best(r.archive); b != nil {
		r.metrics.bestReward.Set(b.Reward)
	}
	r.setBudgetUsed(r.elapsed)
	return nil
}

// setBudgetUsed sets the budget gauges to the fractions used so far, the
// run's wall time being elapsed; a budget without a limit has no series.
func (r *runner) setBudgetUsed(elapsed time.Duration) {
	b := r.cfg.Budget
	set := func(kind string, limit, used float64) {
		if limit > 0 {
			r.metrics.budget.WithLabelValues(kind).Set(used / limit)
		} else {
			r.metrics.budget.DeleteLabelValues(kind)
		}
	}
	set(budgetEvaluations, float64(b.MaxEvaluations), float64(r.archive.Len()))
	set(budgetGenerations, float64(b.MaxGenerations), float64(r.st.Generation))
	set(budgetDuration, b.MaxDuration.Seconds(), elapsed.Seconds())
}

func (r *runner) now() time.Duration { return r.elapsed + time.Since(r.started) }

func (r *runner) save() error {
	r.st.Elapsed = r.now()
	return r.store.saveState(r.st)
}

func (r *runner) emit(e Event) {
	if r.opts.progress != nil {
		e.Evaluations = r.archive.Len()
		e.Hypervolume, e.FrontSize = r.hv, r.archive.FrontSize()
		e.NoiseHypervolume, e.NoiseFrontSize = r.noiseHV, r.noiseN
		r.opts.progress(e)
	}
}

// stopReason returns why the run must stop before the next generation.
func (r *runner) stopReason(ctx context.Context) StopReason {
	b := r.cfg.Budget
	switch {
	case ctx.Err() != nil:
		return StopCanceled
	case r.archive.Len() >= b.MaxEvaluations:
		return StopMaxEvaluations
	case b.MaxDuration > 0 && r.now() >= b.MaxDuration:
		return StopMaxDuration
	case b.MaxGenerations > 0 && r.st.Generation >= b.MaxGenerations:
		return StopMaxGenerations
	case b.Patience > 0 && r.st.Stale >= b.Patience:
		return StopPatience
	case r.st.Idle >= idleGenerations || r.sp.Size().Cmp(big.NewInt(int64(r.archive.Len()))) <= 0:
		return StopExhausted
	}
	return ""
}

// Retryable says whether an evaluation error is transient: the device was
// unavailable or failed to measure. An invalid workload fails the same way
// every time.
func Retryable(err error) bool {
	return errors.Is(err, devices.ErrUnavailable) ||
		errors.Is(err, evaluator.ErrMeasure) && !errors.Is(err, devices.ErrWorkload)
}

// Do calls f until it succeeds, fails with an error that is not
// Retryable, ctx ends, or rc's attempts (after defaults) are spent,
// waiting with exponential backoff between attempts; onRetry, when not
// nil, hears of each retry. sleep waits (nil: a timer).
func (rc Retry) Do(ctx context.Context, sleep func(context.Context, time.Duration) error, f func() error, onRetry func(attempt int, backoff time.Duration, err error)) error {
	rc = rc.withDefaults()
	if sleep == nil {
		sleep = sleepCtx
	}
	backoff := rc.InitialBackoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil || !Retryable(err) {
			return err
		}
		if attempt >= rc.MaxAttempts {
			return fmt.Errorf("gave up after %d attempts (retry.max_attempts): %w", attempt, err)
		}
		if onRetry != nil {
			onRetry(attempt, backoff, err)
		}
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, rc.MaxBackoff)
	}
}

// evaluate calls the Evaluator, retrying a transient failure as rc says.
// It runs on evaluation goroutines: it only reads the runner.
func (r *runner) evaluate(ctx context.Context, rc Retry, a space.Arch) (evaluator.Result, error) {
	var res evaluator.Result
	err := rc.Do(ctx, r.opts.sleep, func() (err error) {
		res, err = r.ev.Evaluate(ctx, a)
		return err
	}, func(attempt int, backoff time.Duration, err error) {
		r.metrics.retries.Inc()
		r.opts.log.Warn("evaluation failed, retrying", "arch", a.Key(), "attempt", attempt, "backoff", backoff, "err", err)
	})
	if err != nil {
		return evaluator.Result{}, err
	}
	return res, nil
}

func (r *runner) loop(ctx context.Context) error {
	for {
		if reason := r.stopReason(ctx); reason != "" {
			return r.finish(reason)
		}
		if r.st.Pending == nil {
			if err := r.propose(); err != nil {
				return err
			}
		}
		reason, err := r.evaluateBatch(ctx)
		if err == nil && reason == "" {
			reason, err = r.refineBatch(ctx)
		}
		if err != nil {
			_ = r.save()
			return err
		}
		if reason != "" {
			return r.finish(reason)
		}
		if err := r.commit(); err != nil {
			return err
		}
		r.metrics.generations.Inc()
		r.setBudgetUsed(r.now())
		r.opts.log.Info("generation done", "generation", r.st.Generation-1, "evaluations", r.archive.Len(), "hypervolume", r.hv, "front", r.archive.FrontSize())
		r.emit(Event{Kind: EventGeneration, Generation: r.st.Generation - 1})
	}
}

// propose proposes the next generation's batch and persists it with the
// random source's state.
func (r *runner) propose() error {
	keep, off, err := r.strat.propose(r.st.Population, r.rng)
	if err != nil {
		return fmt.Errorf("generation %d: propose: %w", r.st.Generation, err)
	}
	p := &pending{Keep: keep, Offspring: make([]string, len(off))}
	for i, a := range off {
		p.Offspring[i] = a.Key()
	}
	r.st.Pending = p
	if r.st.RNG, err = r.pcg.MarshalBinary(); err != nil {
		return err
	}
	return r.save()
}

// commit applies the completed batch to the population and the history and
// persists the generation.
func (r *runner) commit() error {
	p := r.st.Pending
	fresh := 0
	for _, k := range p.Offspring {
		if c, ok := r.archive.Get(k); ok && c.Generation == r.st.Generation {
			fresh++
		}
	}
	r.st.Population = r.strat.commit(p.Keep, p.Offspring)
	r.st.Pending = nil
	r.measureFront()
	r.st.History = append(r.st.History, HVPoint{Generation: r.st.Generation, Evaluations: r.archive.Len(), Hypervolume: r.hv, FrontSize: r.archive.FrontSize(),
		NoiseHypervolume: r.noiseHV, NoiseFrontSize: r.noiseN})
	if r.hv > r.st.BestHV {
		r.st.BestHV, r.st.Stale = r.hv, 0
	} else {
		r.st.Stale++
	}
	if fresh == 0 {
		r.st.Idle++
	} else {
		r.st.Idle = 0
	}
	r.st.Generation++
	return r.save()
}

func (r *runner) finish(reason StopReason) error {
	r.st.Stop = reason
	r.opts.log.Info("search stopped", "reason", reason, "generation", r.st.Generation, "evaluations", r.archive.Len())
	err := r.save()
	r.setBudgetUsed(r.st.Elapsed)
	return err
}

type job struct {
	slot int
	arch space.Arch
	i    int // index in the batch's jobs
}

type done struct {
	job
	res       evaluator.Result
	screened  bool
	predicted bool
	err       error
	dur       time.Duration
}

// latencyScreen is predictor screening for one generation: the predictor
// fitted on every measured candidate at the generation's start, and the
// front as it stands.
type latencyScreen struct {
	p       *predictor.Predictor
	front   *liveFront
	margin  float64
	minGain float64 // Screening.MinGain
}

// latencyScreen returns the generation's predictor screening, nil when
// Config.Screening is off, too few candidates are measured yet or the fit
// fails (then every candidate is measured).
func (r *runner) latencyScreen() *latencyScreen {
	sc := r.cfg.Screening
	if !sc.Predictor {
		return nil
	}
	var samples []predictor.Sample
	for _, c := range r.archive.Candidates() {
		if !c.Predicted && c.Result.Latency.Median > 0 {
			samples = append(samples, predictor.Sample{Arch: c.Result.Arch, Latency: c.Result.Latency.Median})
		}
	}
	if len(samples) < sc.MinMeasurements {
		return nil
	}
	// The workload's batch only scales features the fit rescales, so the
	// default workload fits the same predictions as the evaluator's.
	p, err := predictor.Fit(r.sp.Teacher(), devices.Workload{}, samples, predictor.Options{Seed: r.cfg.Seed})
	if err != nil {
		r.opts.log.Warn("latency predictor fit failed; measuring every candidate", "measured", len(samples), "err", err)
		return nil
	}
	return &latencyScreen{p: p, front: &r.live, margin: sc.Margin, minGain: sc.MinGain}
}

// measure says whether to measure a scored and sized res: whether its
// point with the predicted latency lowered by the margin is dominated by
// no member of the front as it stands and, with a minimum gain, would add
// at least that share of the front's hypervolume.
func (s *latencyScreen) measure(res evaluator.Result) bool {
	c := Candidate{Result: res}
	c.Result.Latency.Median = time.Duration(float64(s.p.Predict(res.Arch)) * (1 - s.margin))
	if s.front.dominated(c.objectives()) {
		return false
	}
	if s.minGain <= 0 {
		return true
	}
	gain, hv := s.front.gain(&c)
	return hv <= 0 || gain >= s.minGain*hv
}

// screen returns the promotion rule of multi-fidelity evaluation (nil
// when Config.Fidelity is off): a Result is promoted while its optimistic
// point is dominated by no member of the front as it stands (r.live)
// once wait has returned, which it does when every earlier job of the
// batch has been recorded (false: the batch was canceled, and nothing is
// promoted). Evaluation goroutines call it.
func (r *runner) screen(wait func() bool) func(evaluator.Result) bool {
	f := r.cfg.Fidelity
	if !f.On() {
		return nil
	}
	return func(res evaluator.Result) bool {
		if !wait() {
			return false
		}
		c := Candidate{Result: res}
		p := c.objectives()
		p[0] -= f.Margin * standardError(res.Accuracy, res.Examples)
		return !r.live.dominated(p)
	}
}

// standardError is the standard error of an accuracy p measured on n
// examples, sqrt(max(p(1−p), 1/n)/n): never zero, so a perfect or null
// score on few examples keeps a margin.
func standardError(p float64, n int) float64 {
	if n < 1 {
		return 1
	}
	return math.Sqrt(max(p*(1-p), 1/float64(n)) / float64(n))
}

// evaluateCandidate evaluates a for the search: with Evaluate, or, under
// Config.Fidelity, level by level while promote accepts it, or under
// Config.Screening measured when ls accepts it once wait has returned
// true; screened says it stopped below the last level or was not
// measured.
func (r *runner) evaluateCandidate(ctx context.Context, a space.Arch, promote func(evaluator.Result) bool, ls *latencyScreen, wait func() bool) (res evaluator.Result, screened bool, err error) {
	if ls != nil {
		return r.evaluateScreened(ctx, a, ls, wait)
	}
	if promote == nil {
		res, err = r.evaluate(ctx, r.cfg.Retry, a)
		return res, false, err
	}
	fe := r.ev.(FidelityEvaluator) // checked by Run
	levels := r.cfg.Fidelity.Levels
	var rs []evaluator.Result
	err = r.cfg.Retry.Do(ctx, r.opts.sleep, func() (err error) {
		rs, err = fe.EvaluateLevels(ctx, a, levels, promote)
		if err == nil && (len(rs) == 0 || len(rs) > len(levels)) {
			err = fmt.Errorf("the evaluator returned %d results for %d levels", len(rs), len(levels))
		}
		return err
	}, func(attempt int, backoff time.Duration, err error) {
		r.metrics.retries.Inc()
		r.opts.log.Warn("evaluation failed, retrying", "arch", a.Key(), "attempt", attempt, "backoff", backoff, "err", err)
	})
	if err != nil {
		return evaluator.Result{}, false, err
	}
	return rs[len(rs)-1], len(rs) < len(levels), nil
}

// evaluateScreened evaluates a under predictor screening: measured, or,
// when ls rejects it, with its predicted latency (screened true).
func (r *runner) evaluateScreened(ctx context.Context, a space.Arch, ls *latencyScreen, wait func() bool) (evaluator.Result, bool, error) {
	se := r.ev.(ScreeningEvaluator) // checked by Run
	var (
		res      evaluator.Result
		measured bool
	)
	err := r.cfg.Retry.Do(ctx, r.opts.sleep, func() (err error) {
		res, measured, err = se.EvaluateScreened(ctx, a, func(res evaluator.Result) bool { return wait() && ls.measure(res) })
		return err
	}, func(attempt int, backoff time.Duration, err error) {
		r.metrics.retries.Inc()
		r.opts.log.Warn("evaluation failed, retrying", "arch", a.Key(), "attempt", attempt, "backoff", backoff, "err", err)
	})
	if err != nil {
		return evaluator.Result{}, false, err
	}
	if !measured {
		res.Latency = devices.Measurement{Stats: devices.Stats{Median: ls.p.Predict(a)}}
	}
	return res, !measured, nil
}

// evaluateBatch evaluates the pending batch's architectures not archived
// yet, in slot order, at most Parallelism at once, recording each as it
// completes. It returns a stop reason when the batch could not be
// finished.
func (r *runner) evaluateBatch(ctx context.Context) (StopReason, error) {
	var jobs []job
	seen := map[string]bool{}
	for slot, k := range r.st.Pending.Offspring {
		if _, ok := r.archive.Get(k); ok || seen[k] {
			continue
		}
		seen[k] = true
		a, err := space.ParseKey(k)
		if err != nil {
			return "", fmt.Errorf("pending batch: %w", err)
		}
		jobs = append(jobs, job{slot, a, len(jobs)})
	}
	truncated := false
	if room := r.cfg.Budget.MaxEvaluations - r.archive.Len(); len(jobs) > room {
		jobs, truncated = jobs[:max(room, 0)], true
	}
	results := make(chan done)
	// The screening rules decide job i against the front with every
	// earlier job of the batch recorded (or failed), whatever the order
	// evaluations finish in, so that parallelism changes how fast a run
	// goes and never what it finds.
	processed := make([]chan struct{}, len(jobs))
	for i := range processed {
		processed[i] = make(chan struct{})
	}
	waitFor := func(i int) func() bool {
		return func() bool {
			for _, ch := range processed[:i] {
				select {
				case <-ch:
				case <-ctx.Done():
					return false
				}
			}
			return true
		}
	}
	ls := r.latencyScreen()
	inflight, next := 0, 0
	var firstErr error
	timeUp := false
	for {
		for inflight < r.cfg.Parallelism && next < len(jobs) && firstErr == nil && ctx.Err() == nil && !timeUp {
			j := jobs[next]
			next++
			inflight++
			go func() {
				t := time.Now()
				wait := waitFor(j.i)
				res, screened, err := r.evaluateCandidate(ctx, j.arch, r.screen(wait), ls, wait)
				if screened && err == nil && ctx.Err() != nil {
					// Perhaps screened because the wait was cut short:
					// not recorded; a resumed run evaluates it again.
					err = ctx.Err()
				}
				results <- done{job: j, res: res, screened: screened, predicted: screened && ls != nil, err: err, dur: time.Since(t)}
			}()
		}
		if inflight == 0 {
			break
		}
		d := <-results
		inflight--
		// Closed once d is recorded or failed, below.
		processedOne := processed[d.i]
		if d.err != nil {
			close(processedOne)
			if ctx.Err() == nil && firstErr == nil {
				firstErr = fmt.Errorf("evaluate %s: %w", d.arch.Key(), d.err)
			}
			continue
		}
		if err := r.record(d); err != nil && firstErr == nil {
			firstErr = err
		}
		close(processedOne)
		if d := r.cfg.Budget.MaxDuration; d > 0 && r.now() >= d {
			timeUp = true
		}
	}
	switch {
	case ctx.Err() != nil:
		return StopCanceled, nil
	case firstErr != nil:
		return "", firstErr
	case next < len(jobs):
		return StopMaxDuration, nil
	case truncated:
		return StopMaxEvaluations, nil
	}
	return "", nil
}

// refineBatch refines the best Config.Refine.Top candidates the
// generation evaluated (see Refine): it persists the choice first, then
// each refined Result as it completes, so a resumed run refines none
// twice. It returns StopCanceled when ctx ended.
func (r *runner) refineBatch(ctx context.Context) (StopReason, error) {
	top := r.cfg.Refine.Top
	if top == 0 {
		return "", nil
	}
	p := r.st.Pending
	if len(p.Refine) == 0 { // nothing chosen yet, so nothing refined
		var fresh []Candidate
		for _, c := range r.archive.Candidates() {
			if c.Generation == r.st.Generation && !c.Screened && !c.Refined {
				fresh = append(fresh, c)
			}
		}
		slices.SortStableFunc(fresh, func(x, y Candidate) int {
			return cmp.Or(cmp.Compare(y.Reward, x.Reward), cmp.Compare(x.Slot, y.Slot), strings.Compare(x.Key, y.Key))
		})
		for _, c := range fresh[:min(top, len(fresh))] {
			p.Refine = append(p.Refine, c.Key)
		}
		if len(p.Refine) == 0 {
			return "", nil
		}
		if err := r.save(); err != nil {
			return "", err
		}
	}
	for _, k := range p.Refine {
		c, ok := r.archive.Get(k)
		if !ok {
			return "", fmt.Errorf("%w: run %q: %s, chosen for refinement, was never evaluated", ErrDamagedRun, r.opts.runID, k)
		}
		if c.Refined {
			continue
		}
		res, err := r.opts.refine(ctx, c)
		if ctx.Err() != nil {
			return StopCanceled, nil
		}
		if err != nil {
			return "", fmt.Errorf("refine %s: %w", k, err)
		}
		if res, err = r.checkResult(k, c.Result.Arch, res); err != nil {
			return "", fmt.Errorf("refine: %w", err)
		}
		s, err := r.cfg.Reward.Score(res)
		if err != nil {
			return "", fmt.Errorf("refine %s: %w", k, err)
		}
		c.Result, c.Score, c.Refined = res, s, true
		r.st.Elapsed = r.now()
		if err := r.store.saveEval(r.st, evalRecord{Generation: c.Generation, Slot: c.Slot, Result: res, Predicted: c.Predicted, Refined: true}); err != nil {
			return "", err
		}
		r.archive.replace(c)
		if b := best(r.archive); b != nil {
			r.metrics.bestReward.Set(b.Reward)
		}
		r.opts.log.Info("candidate refined", "arch", k, "accuracy", res.Accuracy, "reward", s.Reward)
		r.emit(Event{Kind: EventFront, Generation: c.Generation, Front: r.measureFront()})
	}
	return "", nil
}

// checkResult checks that res, returned for the architecture a of key key,
// is a's, filling its Key and Arch when empty.
func (r *runner) checkResult(key string, a space.Arch, res evaluator.Result) (evaluator.Result, error) {
	if res.Key == "" {
		res.Key = key
	}
	if res.Key != key {
		return res, fmt.Errorf("%s: the result returned is of %s", key, res.Key)
	}
	if len(res.Arch.Layers) == 0 {
		res.Arch = a
	}
	return res, nil
}

// record archives and persists one completed evaluation.
func (r *runner) record(d done) error {
	key := d.arch.Key()
	res, err := r.checkResult(key, d.arch, d.res)
	if err != nil {
		return fmt.Errorf("evaluate %w", err)
	}
	s, err := r.cfg.Reward.Score(res)
	if err != nil {
		return err
	}
	c := Candidate{Key: key, Result: res, Score: s, Generation: r.st.Generation, Slot: d.slot, Screened: d.screened, Predicted: d.predicted}
	r.st.Elapsed = r.now()
	if err := r.store.saveEval(r.st, evalRecord{Generation: c.Generation, Slot: c.Slot, Result: res, Screened: c.Screened, Predicted: c.Predicted}); err != nil {
		return err
	}
	_, onFront := r.archive.Insert(c)
	r.metrics.evaluations.Inc()
	r.metrics.duration.Observe(d.dur.Seconds())
	r.setBudgetUsed(r.st.Elapsed)
	if b := best(r.archive); b != nil {
		r.metrics.bestReward.Set(b.Reward)
	}
	var front []Candidate
	if onFront {
		front = r.measureFront()
	}
	r.emit(Event{Kind: EventEvaluation, Generation: c.Generation, Candidate: &c})
	if onFront {
		r.emit(Event{Kind: EventFront, Generation: c.Generation, Front: front})
	}
	return nil
}

// measureFront sets the hypervolumes and front sizes (fields and gauges:
// the gauges follow the exact front) and the live front screening reads,
// and returns the reported front.
func (r *runner) measureFront() []Candidate {
	front := r.archive.NoiseFront(r.cfg.Front)
	r.hv = r.archive.Hypervolume(r.cfg.Reference)
	r.live.set(r.archive.Front(), r.cfg.Reference, r.hv)
	r.noiseHV, r.noiseN = FrontHypervolume(front, r.cfg.Reference), len(front)
	r.metrics.hypervolume.Set(r.hv)
	r.metrics.frontSize.Set(float64(r.archive.FrontSize()))
	return front
}

// best returns the archive's best candidate or nil.
func best(a *Archive) *Candidate {
	if c, ok := a.Best(); ok {
		return &c
	}
	return nil
}

func outcome(id string, st *runState, a *Archive) *Outcome {
	return &Outcome{
		RunID:          id,
		Front:          a.NoiseFront(st.Config.Front),
		ExactFrontSize: a.FrontSize(),
		Candidates:     a.Candidates(),
		Best:           best(a),
		History:        append([]HVPoint(nil), st.History...),
		Stop:           st.Stop,
		Generations:    st.Generation,
		Evaluations:    a.Len(),
		Elapsed:        st.Elapsed,
		Config:         st.Config,
		Teacher:        st.Teacher,
	}
}
