package evaluator

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/internal/promreg"
)

// Values of the labels of the evaluator's metrics.
const (
	// OutcomeOK, OutcomeError and OutcomeCanceled are the values of the
	// outcome label of edgenas_evaluations_total.
	OutcomeOK       = "ok"
	OutcomeError    = "error"
	OutcomeCanceled = "canceled"
	// SourceCache and SourceFresh are the values of its source label:
	// served without computing (from the cache, the Results kept in
	// memory, or a concurrent evaluation of the same architecture), or
	// computed by the call.
	SourceCache = "cache"
	SourceFresh = "fresh"
	// StageBuild, StageAccuracy, StageSize and StageLatency are the values
	// of the stage label of edgenas_evaluation_stage_seconds (the fields
	// of Stages).
	StageBuild    = "build"
	StageAccuracy = "accuracy"
	StageSize     = "size"
	StageLatency  = "latency"
	// ErrorUnavailable and ErrorMeasure are the values of the kind label
	// of edgenas_measurement_errors_total: the device was unreachable
	// (devices.ErrUnavailable), or it failed otherwise.
	ErrorUnavailable = "unavailable"
	ErrorMeasure     = "measure"
)

// Metrics are the evaluator's Prometheus collectors. One Metrics serves
// every Evaluator given it with WithMetrics (the evaluators of a run share
// one set of series); a nil *Metrics records nothing. No label carries a
// candidate key. Safe for concurrent use.
type Metrics struct {
	evaluations *prometheus.CounterVec
	stages      *prometheus.HistogramVec
	latency     prometheus.Histogram
	measureErrs *prometheus.CounterVec
	drift       prometheus.Gauge
}

// NewMetrics creates the evaluator's collectors and registers them with
// reg (nil: not registered, e.g. for tests that read them directly):
//
//   - edgenas_evaluations_total{outcome, source}: evaluations by outcome
//     (ok, error, canceled) and source (cache, fresh);
//   - edgenas_evaluation_stage_seconds{stage}: wall time of each stage
//     (build, accuracy, size, latency) of fresh evaluations;
//   - edgenas_measured_latency_seconds: the median latency of every
//     measurement;
//   - edgenas_measurement_errors_total{kind}: failed measurements
//     (unavailable, measure);
//   - edgenas_device_drift_percent: the last measurement's DriftPercent.
//
// Collectors already registered with reg (by an earlier NewMetrics in the
// same process) are reused.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgenas_evaluations_total",
			Help: "Evaluations by outcome (ok, error, canceled) and source (cache: served without computing; fresh: built, scored and measured).",
		}, []string{"outcome", "source"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgenas_evaluation_stage_seconds",
			Help:    "Wall time of each completed stage of a fresh evaluation: build (the student), accuracy (scoring it), size, latency (measuring it, waiting for the device included).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 12),
		}, []string{"stage"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgenas_measured_latency_seconds",
			Help:    "Median latency of every student the device measured.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 2, 24),
		}),
		measureErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgenas_measurement_errors_total",
			Help: "Failed latency measurements by kind (unavailable: the device was unreachable; measure: it failed otherwise).",
		}, []string{"kind"}),
		drift: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgenas_device_drift_percent",
			Help: "How much slower (positive) or faster the device ran its reference model before the last measurement than at its first; 0 without a reference.",
		}),
	}
	// Every series exists from the start, so rates and ratios over them
	// have data before the first event of each kind.
	for _, o := range []string{OutcomeOK, OutcomeError, OutcomeCanceled} {
		for _, s := range []string{SourceCache, SourceFresh} {
			m.evaluations.WithLabelValues(o, s)
		}
	}
	for _, s := range []string{StageBuild, StageAccuracy, StageSize, StageLatency} {
		m.stages.WithLabelValues(s)
	}
	for _, k := range []string{ErrorUnavailable, ErrorMeasure} {
		m.measureErrs.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.evaluations = promreg.Register(reg, m.evaluations, &err)
	m.stages = promreg.Register(reg, m.stages, &err)
	m.latency = promreg.Register(reg, m.latency, &err)
	m.measureErrs = promreg.Register(reg, m.measureErrs, &err)
	m.drift = promreg.Register(reg, m.drift, &err)
	return m, err
}

// WithMetrics records the Evaluator's evaluations, stages and
// measurements in m (see NewMetrics); give every Evaluator of a run the
// same Metrics.
func WithMetrics(m *Metrics) Option { return func(e *Evaluator) { e.metrics = m } }

// evaluation counts one evaluation.
func (m *Metrics) evaluation(source string, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		outcome = OutcomeCanceled
	case err != nil:
		outcome = OutcomeError
	}
	m.evaluations.WithLabelValues(outcome, source).Inc()
}

// stage records the duration of one completed stage.
func (m *Metrics) stage(stage string, d time.Duration) {
	if m != nil {
		m.stages.WithLabelValues(stage).Observe(d.Seconds())
	}
}

// measured records a successful measurement.
func (m *Metrics) measured(ms devices.Measurement) {
	if m != nil {
		m.latency.Observe(ms.Median.Seconds())
		m.drift.Set(ms.DriftPercent)
	}
}

// measureFailed counts a failed measurement.
func (m *Metrics) measureFailed(err error) {
	if m == nil {
		return
	}
	kind := ErrorMeasure
	if errors.Is(err, devices.ErrUnavailable) {
		kind = ErrorUnavailable
	}
	m.measureErrs.WithLabelValues(kind).Inc()
}
