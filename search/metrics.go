package search

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgenas/edgenas/internal/promreg"
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
	budget      *prometheus.GaugeVec
}

// Budget kinds, the values of edgenas_search_budget_used_ratio's budget
// label.
const (
	budgetEvaluations = "evaluations"
	budgetGenerations = "generations"
	budgetDuration    = "duration"
)

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
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgenas_search_budget_used_ratio",
			Help: "Fraction of each budget the run has used, over the whole run (resumes included): evaluations of budget.max_evaluations, generations of budget.max_generations, wall time of budget.max_duration; a budget without a limit has no series.",
		}, []string{"budget"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.evaluations = promreg.Register(reg, m.evaluations, &err)
	m.generations = promreg.Register(reg, m.generations, &err)
	m.hypervolume = promreg.Register(reg, m.hypervolume, &err)
	m.frontSize = promreg.Register(reg, m.frontSize, &err)
	m.bestReward = promreg.Register(reg, m.bestReward, &err)
	m.duration = promreg.Register(reg, m.duration, &err)
	m.retries = promreg.Register(reg, m.retries, &err)
	m.budget = promreg.Register(reg, m.budget, &err)
	return m, err
}
