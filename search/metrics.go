package search

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the search's Prometheus collectors. No label carries a
// candidate key.
type metrics struct {
	evaluations prometheus.Counter
	generations prometheus.Counter
	hypervolume prometheus.Gauge
	frontSize   prometheus.Gauge
	bestReward  prometheus.Gauge
	duration    prometheus.Histogram
	retries     prometheus.Counter
}

// newMetrics creates the collectors and registers them with reg (nil:
// not registered). A collector already registered by an earlier run in
// the same process is reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgenas_search_evaluations_total",
			Help: "Evaluations the search completed (distinct architectures sent to the evaluator).",
		}),
		generations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgenas_search_generations_total",
			Help: "Generations the search completed.",
		}),
		hypervolume: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgenas_search_hypervolume",
			Help: "Hypervolume of the feasible Pareto front in normalized objectives (accuracy, latency/reference, size/reference) against (0, 1, 1).",
		}),
		frontSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgenas_search_front_size",
			Help: "Candidates on the feasible Pareto front.",
		}),
		bestReward: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgenas_search_best_reward",
			Help: "Highest reward of any evaluated candidate.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgenas_search_evaluation_duration_seconds",
			Help:    "Wall time of one evaluation as the search saw it (cache hits included).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 12),
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgenas_search_evaluation_retries_total",
			Help: "Evaluations the search retried after a transient failure (device unavailable or failing to measure).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.evaluations = register(reg, m.evaluations, &err)
	m.generations = register(reg, m.generations, &err)
	m.hypervolume = register(reg, m.hypervolume, &err)
	m.frontSize = register(reg, m.frontSize, &err)
	m.bestReward = register(reg, m.bestReward, &err)
	m.duration = register(reg, m.duration, &err)
	m.retries = register(reg, m.retries, &err)
	return m, err
}

// register registers c, or returns the collector already registered under
// its description; the first failure goes to *err.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, err *error) C {
	if e := reg.Register(c); e != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(e, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		if *err == nil {
			*err = e
		}
	}
	return c
}
