package evaluator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// ErrBuild marks an evaluation that failed because building the student
// failed: a property of the architecture (or a bug), not worth retrying.
var ErrBuild = errors.New("building the student failed")

// ErrMeasure marks an evaluation that failed because the device failed to
// measure the student. The device's error is wrapped too, so
// errors.Is(err, devices.ErrUnavailable) says whether the device was
// merely unreachable.
var ErrMeasure = errors.New("measuring the student failed")

// Builder builds the student an architecture describes (compress.Apply
// bound to a teacher, in production; a fake in tests).
type Builder func(ctx context.Context, a space.Arch) (*transformer.Model, error)

// Config tunes an Evaluator; the zero value takes every default.
type Config struct {
	// Metric scores labelled data: accuracy (default), f1 or mcc. Data
	// without labels is scored by agreement with the teacher.
	Metric Metric `yaml:"metric" json:"metric"`
	// Subsample is how many examples a candidate is scored on (default
	// 256; at most the data's size); EvaluateFull scores all of them.
	Subsample int `yaml:"subsample" json:"subsample"`
	// Seed chooses the subsample.
	Seed uint64 `yaml:"seed" json:"seed"`
	// MaxLen truncates examples to this many tokens (default 128).
	MaxLen int `yaml:"max_len" json:"max_len"`
	// Threads for accuracy scoring (default 1).
	Threads int `yaml:"threads" json:"threads"`
	// Workload is what latency is measured on; its SeqLen is overridden
	// by each architecture's.
	Workload devices.Workload `yaml:"workload" json:"workload"`
}

func (c Config) withDefaults() Config {
	if c.Metric == "" {
		c.Metric = MetricAccuracy
	}
	if c.Subsample == 0 {
		c.Subsample = 256
	}
	if c.MaxLen == 0 {
		c.MaxLen = 128
	}
	if c.Threads == 0 {
		c.Threads = 1
	}
	return c
}

// Validate returns every problem of c at once, each a *FieldError
// naming its field (workload fields under "workload."); the workload's
// sequence length is checked against a model when one is measured.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, fielderr.New(field, format, a...)) }
	switch c.Metric {
	case "", MetricAccuracy, MetricF1, MetricMCC:
	default:
		bad("metric", "%q, want accuracy, f1 or mcc", c.Metric)
	}
	if c.Subsample < 0 {
		bad("subsample", "%d, want ≥ 0 (0: 256)", c.Subsample)
	}
	if c.MaxLen < 0 || c.MaxLen == 1 {
		bad("max_len", "%d, want ≥ 2 (0: 128)", c.MaxLen)
	}
	if c.Threads < 0 || c.Threads > devices.MaxThreads {
		bad("threads", "%d, want 1..%d (0: 1)", c.Threads, devices.MaxThreads)
	}
	errs = append(errs, fielderr.Prefix("workload", c.Workload.WithDefaults().Validate(nil))...)
	return errors.Join(errs...)
}

// split is one scored set of examples with what is known about it up front.
type split struct {
	data   *train.Dataset
	labels []int // nil without labels
	// teacher holds the teacher's logits on the set, for agreement and KL.
	teacher []float32
	classes int
	digest  string
}

// Evaluator turns architectures into Results. It is safe for concurrent
// use: evaluations of different architectures run in parallel (building
// and accuracy scoring). When the device measures alone
// (devices.MeasuresAlone, e.g. the local device), no other stage of any
// evaluation sharing its Gate runs during a measurement (the machine is
// quiet for timing); otherwise (a remote device) measurements run beside
// building and scoring. Concurrent requests for the same architecture are
// computed once. A Result whose cache write failed is kept in memory and
// served from there.
type Evaluator struct {
	cfg         Config
	build       Builder
	dev         devices.Device
	cache       Cache
	fingerprint string
	teacherKey  string
	builderKey  string
	sub, full   *split

	// For splits of other sizes (EvaluateLevels, ScoreAt): the examples in
	// the subsample's shuffled order, whether they are labelled, and the
	// teacher and tokenizer that prepare a split.
	order    []train.Example
	labelled bool
	teacher  *transformer.Model
	tok      *tokenizer.Tokenizer
	prefixes map[int]*split // guarded by mu

	// gate is held shared by building and scoring and, when the device
	// measures alone, exclusively by latency measurement.
	gate    *Gate
	alone   bool
	log     *slog.Logger
	metrics *Metrics // nil: none

	mu       sync.Mutex
	inflight map[CacheKey]*call
	// kept holds the Results the cache failed to store.
	kept map[CacheKey]Result
}

// call is one evaluation in progress that others may wait for.
type call struct {
	done chan struct{}
	res  Result
	err  error
}

// Option configures an Evaluator beyond its Config.
type Option func(*Evaluator)

// WithBuilderKey names how the Builder builds students (its options, e.g.
// "compress share=mean"); it is part of every cache key, so students built
// differently are never confused in the cache.
func WithBuilderKey(k string) Option { return func(e *Evaluator) { e.builderKey = k } }

// WithGate makes the Evaluator hold g shared while it builds and scores a
// student and, when its device measures alone, exclusively while it
// measures latency; give the evaluators of one machine the same Gate so
// none of them builds or scores during another's measurement. Without it
// the Evaluator uses a Gate of its own.
func WithGate(g *Gate) Option { return func(e *Evaluator) { e.gate = g } }

// WithLogger logs what the Evaluator survives (a failed cache write) to l
// (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(e *Evaluator) { e.log = l } }

// New prepares an Evaluator: it tokenizes the examples (a label of -1
// means unlabelled; either all are labelled or none), scores the teacher on
// them once, and reads the device's fingerprint. teacher is only read.
func New(ctx context.Context, teacher *transformer.Model, tok *tokenizer.Tokenizer, examples []train.Example,
	build Builder, dev devices.Device, cache Cache, cfg Config, opts ...Option) (*Evaluator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("evaluator config: %w", err)
	}
	cfg = cfg.withDefaults()
	if len(examples) == 0 {
		return nil, errors.New("evaluator: no examples to score on")
	}
	if teacher.Classifier == nil {
		return nil, errors.New("evaluator: the teacher has no classifier head")
	}
	labelled := examples[0].Label >= 0
	for i, e := range examples {
		if (e.Label >= 0) != labelled {
			return nil, fmt.Errorf("evaluator: example %d: mixed labelled and unlabelled examples", i)
		}
		if e.Label >= teacher.Classifier.Out {
			return nil, fmt.Errorf("evaluator: example %d: label %d, the teacher has %d classes", i, e.Label, teacher.Classifier.Out)
		}
	}
	fp, err := dev.Fingerprint(ctx)
	if err != nil {
		return nil, fmt.Errorf("evaluator: device %s: %w", dev.Name(), err)
	}
	tkey, err := teacher.Digest()
	if err != nil {
		return nil, fmt.Errorf("evaluator: teacher digest: %w", err)
	}
	e := &Evaluator{cfg: cfg, build: build, dev: dev, cache: cache, fingerprint: fp, teacherKey: tkey, inflight: map[CacheKey]*call{}, kept: map[CacheKey]Result{},
		gate: new(Gate), alone: devices.MeasuresAlone(dev), log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	pick := slices.Clone(examples)
	rand.New(rand.NewPCG(cfg.Seed, 0x5eed)).Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
	e.order, e.labelled, e.teacher, e.tok, e.prefixes = pick, labelled, teacher, tok, map[int]*split{}
	pick = pick[:min(cfg.Subsample, len(pick))]
	if e.sub, err = e.newSplit(teacher, tok, pick, labelled); err != nil {
		return nil, err
	}
	if e.full, err = e.newSplit(teacher, tok, examples, labelled); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Evaluator) newSplit(teacher *transformer.Model, tok *tokenizer.Tokenizer, ex []train.Example, labelled bool) (*split, error) {
	s := &split{data: train.NewDataset(tok, ex, e.cfg.MaxLen), classes: teacher.Classifier.Out}
	h := sha256.New()
	fmt.Fprintf(h, "metric=%s maxlen=%d n=%d\n", e.cfg.Metric, e.cfg.MaxLen, len(ex))
	for _, x := range ex {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(x.Text)))
		h.Write(n[:])
		h.Write([]byte(x.Text))
		binary.BigEndian.PutUint64(n[:], uint64(int64(x.Label)))
		h.Write(n[:])
	}
	s.digest = hex.EncodeToString(h.Sum(nil))
	if labelled {
		for _, x := range ex {
			s.labels = append(s.labels, x.Label)
		}
	}
	logits, err := train.Predict(teacher, s.data, e.cfg.Threads)
	if err != nil {
		return nil, fmt.Errorf("evaluator: teacher predictions: %w", err)
	}
	s.teacher = logits
	return s, nil
}

// Evaluate scores a on the subsample, measures it, and caches the Result.
// A failed evaluation's error wraps ErrBuild or ErrMeasure (and the
// device's error, e.g. devices.ErrUnavailable) when building or measuring
// failed; it is never cached. A failed cache write is logged and the
// Result kept in memory: the evaluation still succeeds.
func (e *Evaluator) Evaluate(ctx context.Context, a space.Arch) (Result, error) {
	return e.evaluate(ctx, a, e.sub)
}

// Examples returns how many examples EvaluateFull scores on.
func (e *Evaluator) Examples() int { return len(e.order) }

// splitAt returns the first n examples of the subsample's shuffled order
// (so n = Config.Subsample is Evaluate's subsample), or every example when
// n ≥ Examples() (EvaluateFull's); prefixes are prepared on first use.
func (e *Evaluator) splitAt(n int) (*split, error) {
	switch {
	case n < 1:
		return nil, fmt.Errorf("evaluator: score on %d examples, want ≥ 1", n)
	case n >= len(e.order):
		return e.full, nil
	case n == e.sub.data.Len():
		return e.sub, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.prefixes[n]; s != nil {
		return s, nil
	}
	s, err := e.newSplit(e.teacher, e.tok, e.order[:n], e.labelled)
	if err != nil {
		return nil, err
	}
	e.prefixes[n] = s
	return s, nil
}

// EvaluateLevels evaluates a at increasing fidelities, levels being
// numbers of examples (the first n of the subsample's shuffled order;
// n ≥ Examples() means every example, as EvaluateFull): the student is
// built and measured once, scored at levels[0], and scored at each next
// level only while promote accepts the Result of the level before. It
// returns the Result of every level scored, in order; each is cached
// under its level (the level of Config.Subsample is Evaluate's entry,
// every example EvaluateFull's), and each Result's Stages hold the work
// done for that level only (build and latency where they happened).
// promote is called from the calling goroutine. levels must be
// increasing. Each level counts as one evaluation in the metrics; unlike
// Evaluate, concurrent calls for the same architecture are not merged
// (the search never makes them).
func (e *Evaluator) EvaluateLevels(ctx context.Context, a space.Arch, levels []int, promote func(Result) bool) ([]Result, error) {
	if len(levels) == 0 {
		return nil, errors.New("evaluator: no fidelity levels")
	}
	splits := make([]*split, len(levels))
	for i, n := range levels {
		if i > 0 && n <= levels[i-1] {
			return nil, fmt.Errorf("evaluator: fidelity levels %v are not increasing", levels)
		}
		var err error
		if splits[i], err = e.splitAt(n); err != nil {
			return nil, err
		}
	}
	var (
		out     []Result
		student *transformer.Model
		lat     *Result // a Result of a holding its measurement
	)
	for i, s := range splits {
		r, err := e.level(ctx, a, s, &student, lat)
		e.metrics.evaluation(r.source, err)
		if err != nil {
			return out, err
		}
		out = append(out, r.Result)
		lat = &out[len(out)-1]
		if i+1 < len(splits) && !promote(r.Result) {
			break
		}
	}
	return out, nil
}

// EvaluateScreened is Evaluate with a say before the measurement: a's
// Result is served from memory or the cache (measured) when there, and
// otherwise a is built, scored and sized, and then measured only if
// measure, called with that unmeasured Result (Latency zero), accepts it.
// measured says whether the returned Result holds a measurement; an
// unmeasured Result is not cached. measure is called from the calling
// goroutine. Unlike Evaluate, concurrent calls for the same architecture
// are not merged (the search never makes them).
func (e *Evaluator) EvaluateScreened(ctx context.Context, a space.Arch, measure func(Result) bool) (_ Result, measured bool, _ error) {
	var student *transformer.Model
	skipped := false
	r, err := e.levelWith(ctx, a, e.sub, &student, nil, func(r Result) bool {
		skipped = !measure(r)
		return !skipped
	})
	e.metrics.evaluation(r.source, err)
	if err != nil {
		return Result{}, false, err
	}
	return r.Result, !skipped, nil
}

// levelResult is one level's Result and where it came from.
type levelResult struct {
	Result
	source string
}

// level returns a's Result on s for EvaluateLevels: from the cache, or
// computed with the student built at most once (*student) and the
// latency of lat when given (measured otherwise).
func (e *Evaluator) level(ctx context.Context, a space.Arch, s *split, student **transformer.Model, lat *Result) (levelResult, error) {
	return e.levelWith(ctx, a, s, student, lat, nil)
}

// levelWith is level, except that a fresh Result is measured only when
// measure (nil: always) accepts it scored and sized; one it rejects is
// returned unmeasured and not cached.
func (e *Evaluator) levelWith(ctx context.Context, a space.Arch, s *split, student **transformer.Model, lat *Result, measure func(Result) bool) (levelResult, error) {
	key := e.cacheKey(a, s)
	if r, ok, err := e.Lookup(key); err != nil {
		return levelResult{source: SourceCache}, err
	} else if ok {
		return levelResult{r, SourceCache}, nil
	}
	r := Result{Key: a.Key(), Arch: a.Clone(), EvaluatorVersion: Version, Device: e.fingerprint}
	err := e.shared(ctx, func() error {
		if *student == nil {
			m, d, err := e.buildStudent(ctx, a)
			if err != nil {
				return err
			}
			*student, r.Stages.Build = m, d
		}
		return e.scoreAndSize(ctx, &r, *student, a, s)
	})
	if err == nil {
		switch {
		case lat != nil:
			r.Latency, r.PeakBytes, r.FLOPs = lat.Latency, lat.PeakBytes, lat.FLOPs
		case measure != nil && !measure(r):
			return levelResult{r, SourceFresh}, nil
		default:
			err = e.measureInto(ctx, &r, *student, a)
		}
	}
	if err != nil {
		return levelResult{source: SourceFresh}, err
	}
	e.Store(key, r)
	return levelResult{r, SourceFresh}, nil
}

// EvaluateFull is Evaluate on every example (the final scoring of a
// front); it is cached separately.
func (e *Evaluator) EvaluateFull(ctx context.Context, a space.Arch) (Result, error) {
	return e.evaluate(ctx, a, e.full)
}

// cacheKey is the identity of evaluating a on s: the architecture, the
// teacher, how students are built, the data and every setting that
// changes a result (SettingsKey), the device and Version.
func (e *Evaluator) cacheKey(a space.Arch, s *split) CacheKey {
	return e.cacheKeyOn(a, s, e.fingerprint)
}

// cacheKeyOn is cacheKey with the latency measured on the device of
// fingerprint fp.
func (e *Evaluator) cacheKeyOn(a space.Arch, s *split, fp string) CacheKey {
	return NewCacheKey(a.Key(), e.teacherKey+"|"+e.builderKey, s.digest+"|"+e.SettingsKey(), fp, Version)
}

// SettingsKey is the canonical form of every evaluator setting that
// changes a Result: the metric, the subsample size and seed, the maximum
// length and the measurement workload (batch, threads, warm-up, runs;
// the sequence length is each architecture's). It is part of every cache
// key.
func (e *Evaluator) SettingsKey() string {
	w := e.cfg.Workload.WithDefaults()
	return fmt.Sprintf("metric=%s subsample=%d seed=%d max_len=%d batch=%d threads=%d warmup=%d runs=%d",
		e.cfg.Metric, e.cfg.Subsample, e.cfg.Seed, e.cfg.MaxLen, w.Batch, w.Threads, w.Warmup, w.Runs)
}

// DataDigest is the digest of every example the Evaluator scores on (with
// their labels), as EvaluateFull sees them.
func (e *Evaluator) DataDigest() string { return e.full.digest }

// Fingerprint is the device fingerprint in every cache key.
func (e *Evaluator) Fingerprint() string { return e.fingerprint }

func (e *Evaluator) evaluate(ctx context.Context, a space.Arch, s *split) (Result, error) {
	r, source, err := e.lookupOrCompute(ctx, a, s)
	e.metrics.evaluation(source, err)
	return r, err
}

// lookupOrCompute serves a's Result on s from memory, the cache or a
// concurrent evaluation of a (source SourceCache), or computes it
// (SourceFresh).
func (e *Evaluator) lookupOrCompute(ctx context.Context, a space.Arch, s *split) (_ Result, source string, _ error) {
	key := e.cacheKey(a, s)
	if r, ok, err := e.Lookup(key); err != nil {
		return Result{}, SourceCache, err
	} else if ok {
		return r, SourceCache, nil
	}
	e.mu.Lock()
	if c, ok := e.inflight[key]; ok {
		e.mu.Unlock()
		select {
		case <-c.done:
			return c.res, SourceCache, c.err
		case <-ctx.Done():
			return Result{}, SourceCache, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	e.inflight[key] = c
	e.mu.Unlock()
	c.res, c.err = e.compute(ctx, a, s)
	if c.err == nil {
		e.Store(key, c.res)
	}
	e.mu.Lock()
	delete(e.inflight, key)
	e.mu.Unlock()
	close(c.done)
	return c.res, SourceFresh, c.err
}

// compute runs every stage of one evaluation. On a split other than the
// subsample (EvaluateFull's), a's measurement on the subsample, when
// cached, is reused rather than measured again: latency does not depend
// on the examples scored, and the rescored point keeps the latency the
// search saw.
func (e *Evaluator) compute(ctx context.Context, a space.Arch, s *split) (Result, error) {
	r := Result{Key: a.Key(), Arch: a.Clone(), EvaluatorVersion: Version, Device: e.fingerprint}
	var student *transformer.Model
	err := e.shared(ctx, func() error {
		var err error
		if student, r.Stages.Build, err = e.buildStudent(ctx, a); err != nil {
			return err
		}
		return e.scoreAndSize(ctx, &r, student, a, s)
	})
	if err != nil {
		return Result{}, err
	}
	if s != e.sub {
		if m, ok, err := e.Lookup(e.cacheKey(a, e.sub)); err == nil && ok {
			r.Latency, r.PeakBytes, r.FLOPs = m.Latency, m.PeakBytes, m.FLOPs
			return r, nil
		}
	}
	if err := e.measureInto(ctx, &r, student, a); err != nil {
		return Result{}, err
	}
	return r, nil
}

// buildStudent builds a and says how long it took.
func (e *Evaluator) buildStudent(ctx context.Context, a space.Arch) (*transformer.Model, time.Duration, error) {
	t0 := time.Now()
	student, err := e.build(ctx, a)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("build %s: %w", a.Key(), ctx.Err())
		}
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrBuild, a.Key(), err)
	}
	d := time.Since(t0)
	e.metrics.stage(StageBuild, d)
	return student, d, nil
}

// scoreAndSize fills r's accuracy fields on s, its size and parameters.
func (e *Evaluator) scoreAndSize(ctx context.Context, r *Result, student *transformer.Model, a space.Arch, s *split) error {
	t0 := time.Now()
	if err := e.score(r, student, s); err != nil {
		return fmt.Errorf("score %s: %w", a.Key(), err)
	}
	r.Stages.Accuracy = time.Since(t0)
	e.metrics.stage(StageAccuracy, r.Stages.Accuracy)
	t0 = time.Now()
	var err error
	if r.SizeBytes, err = student.FileBytes(); err != nil {
		return fmt.Errorf("size of %s: %w", a.Key(), err)
	}
	r.Params = int64(student.NumParams())
	r.Stages.Size = time.Since(t0)
	e.metrics.stage(StageSize, r.Stages.Size)
	return ctx.Err()
}

// measureInto measures student's latency at a's sequence length into r.
func (e *Evaluator) measureInto(ctx context.Context, r *Result, student *transformer.Model, a space.Arch) error {
	w := e.cfg.Workload
	w.SeqLen = a.SeqLen
	w = w.WithDefaults()
	r.FLOPs = student.FLOPs(w.Batch, w.SeqLen)
	t0 := time.Now()
	m, err := e.measure(ctx, student, w)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("measure %s on %s: %w", a.Key(), e.dev.Name(), ctx.Err())
		}
		e.metrics.measureFailed(err)
		return fmt.Errorf("%w: %s on %s: %w", ErrMeasure, a.Key(), e.dev.Name(), err)
	}
	r.Stages.Latency = time.Since(t0)
	e.metrics.stage(StageLatency, r.Stages.Latency)
	e.metrics.measured(m)
	r.Latency = m
	r.PeakBytes = m.PeakBytes
	return nil
}

// measure runs the device's measurement, holding the gate exclusively
// when the device measures alone.
func (e *Evaluator) measure(ctx context.Context, student *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	if e.alone {
		release, err := e.gate.Exclusive(ctx)
		if err != nil {
			return devices.Measurement{}, err
		}
		defer release()
	}
	return e.dev.Measure(ctx, student, w)
}

// shared runs f while no latency measurement that needs the machine
// alone runs.
func (e *Evaluator) shared(ctx context.Context, f func() error) error {
	release, err := e.gate.Shared(ctx)
	if err != nil {
		return err
	}
	defer release()
	return f()
}

// score fills the accuracy fields of r.
func (e *Evaluator) score(r *Result, student *transformer.Model, s *split) error {
	if student.Classifier == nil || student.Classifier.Out != s.classes {
		return errors.New("the student's classifier does not match the teacher's")
	}
	logits, err := train.Predict(student, s.data, e.cfg.Threads)
	if err != nil {
		return err
	}
	r.TeacherKL = meanKL(s.teacher, logits, s.classes)
	return scoreLogits(r, e.cfg.Metric, logits, s.labels, s.teacher, s.classes)
}

// scoreLogits fills r's Accuracy, Metric and Examples from a model's
// logits (classes per row): metric m against labels, or, when labels is
// nil, agreement with the teacher's logits.
func scoreLogits(r *Result, m Metric, logits []float32, labels []int, teacher []float32, classes int) error {
	pred := argmax(logits, classes)
	r.Examples = len(pred)
	var err error
	if labels == nil {
		r.Metric = string(MetricAgreement)
		r.Accuracy, err = Score(MetricAgreement, pred, argmax(teacher, classes), classes)
		return err
	}
	r.Metric = string(m)
	r.Accuracy, err = Score(m, pred, labels, classes)
	return err
}

// ScoreFull scores student on every example exactly as EvaluateFull does
// (same data, tokenization, maximum length, metric and threads), without
// building, measuring or caching: the Result holds the accuracy fields
// (Accuracy, Metric, Examples, TeacherKL) only. Export uses it to check
// that a rebuilt student is the one evaluated.
func (e *Evaluator) ScoreFull(ctx context.Context, student *transformer.Model) (Result, error) {
	var r Result
	err := e.shared(ctx, func() error { return e.score(&r, student, e.full) })
	return r, err
}

// ScoreAt is ScoreFull on the first n examples of the subsample's
// shuffled order (every example when n ≥ Examples()), the examples
// EvaluateLevels scores level n on.
func (e *Evaluator) ScoreAt(ctx context.Context, student *transformer.Model, n int) (Result, error) {
	s, err := e.splitAt(n)
	if err != nil {
		return Result{}, err
	}
	var r Result
	err = e.shared(ctx, func() error { return e.score(&r, student, s) })
	return r, err
}

// ScoreModel scores m on labelled examples as an Evaluator with cfg scores
// a student on every example: the examples tokenized by tok, truncated to
// cfg.MaxLen tokens, predicted on cfg.Threads threads and scored with
// cfg.Metric. It is how a saved student's exported accuracy is
// reproduced from a data file (edgenas eval). Unlabelled examples are
// refused: without a teacher there is nothing to agree with.
func ScoreModel(m *transformer.Model, tok *tokenizer.Tokenizer, examples []train.Example, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("score: %w", err)
	}
	cfg = cfg.withDefaults()
	if m.Classifier == nil {
		return Result{}, errors.New("score: the model has no classifier head")
	}
	if len(examples) == 0 {
		return Result{}, errors.New("score: no examples")
	}
	classes := m.Classifier.Out
	labels := make([]int, len(examples))
	for i, x := range examples {
		if x.Label < 0 || x.Label >= classes {
			if x.Label == train.Unlabelled {
				return Result{}, fmt.Errorf("score: example %d has no label (unlabelled data is scored by agreement with a teacher, which a model alone cannot do)", i+1)
			}
			return Result{}, fmt.Errorf("score: example %d: label %d, the model has %d classes", i+1, x.Label, classes)
		}
		labels[i] = x.Label
	}
	logits, err := train.Predict(m, train.NewDataset(tok, examples, cfg.MaxLen), cfg.Threads)
	if err != nil {
		return Result{}, fmt.Errorf("score: %w", err)
	}
	var r Result
	if err := scoreLogits(&r, cfg.Metric, logits, labels, nil, classes); err != nil {
		return Result{}, fmt.Errorf("score: %w", err)
	}
	return r, nil
}

// Key returns the CacheKey of evaluating a: on the subsample (Evaluate's
// entry) or, when full, on every example (EvaluateFull's). A coordinator
// that has the evaluation done elsewhere files the Result under it.
func (e *Evaluator) Key(a space.Arch, full bool) CacheKey {
	return e.KeyOn(a, full, e.fingerprint)
}

// KeyOn is Key with the latency measured on another device, the one of
// fingerprint fp: the entry a coordinator files a Result under whose
// accuracy was scored like this Evaluator's and whose latency that device
// measured.
func (e *Evaluator) KeyOn(a space.Arch, full bool, fp string) CacheKey {
	if full {
		return e.cacheKeyOn(a, e.full, fp)
	}
	return e.cacheKeyOn(a, e.sub, fp)
}

// EvaluateAccuracy builds a and scores it on the subsample (on every
// example when full), without measuring or caching: the Result holds the
// accuracy fields, SizeBytes, Params, Stages.Build, Accuracy and Size,
// Key, Arch and EvaluatorVersion; Latency, PeakBytes, FLOPs and Device
// are left for EvaluateLatency. It is a cluster worker's half of an
// evaluation; a failed build wraps ErrBuild.
func (e *Evaluator) EvaluateAccuracy(ctx context.Context, a space.Arch, full bool) (Result, error) {
	s := e.sub
	if full {
		s = e.full
	}
	r := Result{Key: a.Key(), Arch: a.Clone(), EvaluatorVersion: Version}
	err := e.shared(ctx, func() error {
		student, d, err := e.buildStudent(ctx, a)
		if err != nil {
			return err
		}
		r.Stages.Build = d
		return e.scoreAndSize(ctx, &r, student, a, s)
	})
	if err != nil {
		return Result{}, err
	}
	return r, nil
}

// EvaluateLatency builds a and measures it on the Evaluator's device,
// without scoring or caching: the Result holds Latency, PeakBytes, FLOPs,
// Stages.Build and Latency, Key, Arch, EvaluatorVersion and Device (this
// Evaluator's Fingerprint). It is a cluster device worker's half of an
// evaluation; failures wrap ErrBuild or ErrMeasure as Evaluate's do.
func (e *Evaluator) EvaluateLatency(ctx context.Context, a space.Arch) (Result, error) {
	r := Result{Key: a.Key(), Arch: a.Clone(), EvaluatorVersion: Version, Device: e.fingerprint}
	var student *transformer.Model
	err := e.shared(ctx, func() error {
		var err error
		student, r.Stages.Build, err = e.buildStudent(ctx, a)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if err := e.measureInto(ctx, &r, student, a); err != nil {
		return Result{}, err
	}
	return r, nil
}

// Lookup returns the Result stored under k (in the cache, or kept in
// memory after a failed cache write) and whether there is one.
func (e *Evaluator) Lookup(k CacheKey) (Result, bool, error) {
	e.mu.Lock()
	r, ok := e.kept[k]
	e.mu.Unlock()
	if ok {
		return r, true, nil
	}
	return e.cache.Get(k)
}

// Store files r under k as a computed evaluation would be: in the cache,
// or, when the cache write fails, in memory (logged), so the Result is
// still served. It is how Results computed elsewhere (a cluster worker)
// enter the run's cache.
func (e *Evaluator) Store(k CacheKey, r Result) {
	if err := e.cache.Put(k, r); err != nil {
		e.log.Warn("evaluator: cache write failed; the result is kept in memory", "arch", r.Key, "err", err)
		e.mu.Lock()
		e.kept[k] = r
		e.mu.Unlock()
	}
}

// TeacherDigest is the digest of the teacher in every cache key.
func (e *Evaluator) TeacherDigest() string { return e.teacherKey }

// BuilderKey is how students are built (WithBuilderKey), part of every
// cache key.
func (e *Evaluator) BuilderKey() string { return e.builderKey }
