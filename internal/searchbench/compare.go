package searchbench

import (
	"context"
	"fmt"
	"time"

	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

// Thresholds are the fractions of the exhaustive hypervolume whose
// evaluations-to-reach the benchmark reports.
var Thresholds = [2]float64{0.9, 0.95}

// StrategyResult is one strategy over several seeds.
type StrategyResult struct {
	Strategy string
	// Ratios are the hypervolume after Budget evaluations over the
	// exhaustive one, per seed.
	Ratios []float64
	// Reach[k] are the evaluations needed to reach Thresholds[k] of the
	// exhaustive hypervolume, per seed; 0 when a seed never did.
	Reach [2][]int
}

// CompareStrategies replays each strategy with seeds 1..seeds, base
// giving every other setting, against the table's true accuracies (every
// example): the hypervolume ratio after budget evaluations and the
// evaluations needed to reach each of Thresholds (searching up to the
// whole space), hypervolumes taken with accuracy reference accRef.
func CompareStrategies(ctx context.Context, t *Table, sp *space.Space, base search.Config, strategies []string, seeds, budget int, accRef float64) ([]StrategyResult, error) {
	hvStar := t.ExhaustiveHV(accRef)
	n := int(sp.Size().Int64())
	var out []StrategyResult
	for _, s := range strategies {
		res := StrategyResult{Strategy: s}
		for seed := 1; seed <= seeds; seed++ {
			cfg := base
			cfg.Strategy, cfg.Seed, cfg.Fidelity = s, uint64(seed), search.Fidelity{}
			cfg.Budget = search.Budget{MaxEvaluations: n, Patience: -1}
			steps, err := Replay(ctx, t, sp, cfg, 0, accRef, func(st []Step) bool {
				return len(st) >= budget && st[len(st)-1].HV >= Thresholds[1]*hvStar
			})
			if err != nil {
				return nil, fmt.Errorf("%s seed %d: %w", s, seed, err)
			}
			res.Ratios = append(res.Ratios, RatioAt(steps, budget, hvStar))
			for k, th := range Thresholds {
				e, _, _ := Reach(steps, th*hvStar)
				res.Reach[k] = append(res.Reach[k], e)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// FidelityRun is one seed's time to reach a threshold of the exhaustive
// hypervolume.
type FidelityRun struct {
	Seed int
	// Time and Evals to reach the threshold; Reached false when the
	// search evaluated the whole space (or stopped) without reaching it.
	Time     time.Duration
	Evals    int
	Screened int
	Reached  bool
	// Rescore is the time rescoring the front on every example would add
	// then (Step.Rescore).
	Rescore time.Duration
}

// CompareFidelity replays base (its strategy) with seeds 1..seeds once
// per way of scoring: each of fixed (every candidate scored on that many
// examples, 0 meaning all; the front is judged by the true accuracies of
// its members) and then multi-fidelity evaluation over levels. It returns
// the runs of each way, in that order (runs[len(fixed)] is
// multi-fidelity), each with the evaluation time (the table's stage times
// of what was evaluated) to reach threshold of the exhaustive
// hypervolume (accuracy reference accRef).
func CompareFidelity(ctx context.Context, t *Table, sp *space.Space, base search.Config, fixed []int, levels []int, seeds int, threshold, accRef float64) ([][]FidelityRun, error) {
	target := threshold * t.ExhaustiveHV(accRef)
	n := int(sp.Size().Int64())
	run := func(seed int, level int, f search.Fidelity) (FidelityRun, error) {
		cfg := base
		cfg.Seed, cfg.Fidelity = uint64(seed), f
		cfg.Budget = search.Budget{MaxEvaluations: n, Patience: -1}
		steps, err := Replay(ctx, t, sp, cfg, level, accRef, func(st []Step) bool { return st[len(st)-1].HV >= target })
		if err != nil {
			return FidelityRun{}, err
		}
		e, d, ok := Reach(steps, target)
		r := FidelityRun{Seed: seed, Time: d, Evals: e, Reached: ok}
		if ok {
			r.Screened, r.Rescore = steps[e-1].Screened, steps[e-1].Rescore
		}
		return r, nil
	}
	out := make([][]FidelityRun, len(fixed)+1)
	for seed := 1; seed <= seeds; seed++ {
		for i, n := range fixed {
			fr, err := run(seed, n, search.Fidelity{})
			if err != nil {
				return nil, fmt.Errorf("fixed subsample of %d, seed %d: %w", n, seed, err)
			}
			out[i] = append(out[i], fr)
		}
		mr, err := run(seed, 0, search.Fidelity{Levels: levels, Margin: base.Fidelity.Margin})
		if err != nil {
			return nil, fmt.Errorf("multi-fidelity, seed %d: %w", seed, err)
		}
		out[len(fixed)] = append(out[len(fixed)], mr)
	}
	return out, nil
}

// FrontSize returns the number of rows on the exhaustive Pareto front.
func (t *Table) FrontSize() int {
	ref := t.Reference()
	pts := make([]search.Point, len(t.Rows))
	for i, r := range t.Rows {
		pts[i] = point(r, ref)
	}
	n := 0
	for i, p := range pts {
		dominated := false
		for j, q := range pts {
			if j != i && q.Dominates(p) {
				dominated = true
				break
			}
		}
		if !dominated {
			n++
		}
	}
	return n
}

// StageMeans returns the table's mean build, measurement and per-level
// scoring times.
func (t *Table) StageMeans() (build, measure time.Duration, score []time.Duration) {
	if len(t.Rows) == 0 {
		return 0, 0, nil
	}
	score = make([]time.Duration, len(t.Rows[0].Levels))
	for _, r := range t.Rows {
		build += r.Build
		measure += r.Measure
		for i := range min(len(score), len(r.Levels)) {
			score[i] += r.Levels[i].Score
		}
	}
	k := time.Duration(len(t.Rows))
	for i := range score {
		score[i] /= k
	}
	return build / k, measure / k, score
}
