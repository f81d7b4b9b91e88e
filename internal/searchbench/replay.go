package searchbench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

// ErrNotInTable marks an architecture the table does not hold.
var ErrNotInTable = errors.New("not in the ground-truth table")

// Evaluator replays a Table as a search.FidelityEvaluator: no model is
// built, scored or measured; every Result is the table's row. It is
// deterministic and safe for concurrent use. Each Result's Stages hold
// the wall times the table recorded for the work it stands for: the
// build and the latency measurement once per architecture (on its first
// level), the scoring of each level; Cost sums them per architecture.
type Evaluator struct {
	table *Table
	// level is the number of examples Evaluate's Results are scored on.
	level int

	mu   sync.Mutex
	cost map[string]time.Duration
}

// NewEvaluator returns an Evaluator of t whose Evaluate serves the
// accuracy on level examples (a level of the table; 0 or at least the
// last level: every example).
func NewEvaluator(t *Table, level int) (*Evaluator, error) {
	e := &Evaluator{table: t, level: level, cost: map[string]time.Duration{}}
	if t.Teacher == nil {
		return nil, errors.New("searchbench: the table has no teacher row")
	}
	if _, err := e.levelOf(t.Teacher, level); err != nil {
		return nil, err
	}
	return e, nil
}

// levelOf returns row's level of n examples; n = 0 or n at or above the
// last level means every example.
func (e *Evaluator) levelOf(row *Row, n int) (Level, error) {
	last := row.Levels[len(row.Levels)-1]
	if n == 0 || n >= last.Examples {
		return last, nil
	}
	l, ok := row.Level(n)
	if !ok {
		return Level{}, fmt.Errorf("searchbench: %s: no accuracy on %d examples in the table", row.Key, n)
	}
	return l, nil
}

func (e *Evaluator) row(a space.Arch) (*Row, error) {
	r, ok := e.table.Get(a.Key())
	if !ok {
		return nil, fmt.Errorf("searchbench: %s: %w", a.Key(), ErrNotInTable)
	}
	return r, nil
}

// result is row's Result at level l; first charges the build and the
// measurement.
func result(row *Row, l Level, first bool) evaluator.Result {
	r := evaluator.Result{Key: row.Key, Arch: row.Arch.Clone(), Accuracy: l.Accuracy, Metric: string(evaluator.MetricAccuracy), Examples: l.Examples,
		Latency: row.Latency, SizeBytes: row.SizeBytes, Params: row.Params, PeakBytes: row.Latency.PeakBytes, FLOPs: row.FLOPs,
		EvaluatorVersion: evaluator.Version, Device: "table"}
	r.Stages.Accuracy = l.Score
	if first {
		r.Stages.Build, r.Stages.Latency = row.Build, row.Measure
	}
	return r
}

func (e *Evaluator) charge(key string, rs ...evaluator.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		e.cost[key] += r.Stages.Build + r.Stages.Accuracy + r.Stages.Latency + r.Stages.Size
	}
}

// Evaluate returns a's row at the Evaluator's level.
func (e *Evaluator) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	row, err := e.row(a)
	if err != nil {
		return evaluator.Result{}, err
	}
	l, err := e.levelOf(row, e.level)
	if err != nil {
		return evaluator.Result{}, err
	}
	r := result(row, l, true)
	e.charge(row.Key, r)
	return r, ctx.Err()
}

// EvaluateLevels returns a's row at each level while promote accepts the
// level before (search.FidelityEvaluator).
func (e *Evaluator) EvaluateLevels(ctx context.Context, a space.Arch, levels []int, promote func(evaluator.Result) bool) ([]evaluator.Result, error) {
	row, err := e.row(a)
	if err != nil {
		return nil, err
	}
	var out []evaluator.Result
	for i, n := range levels {
		l, err := e.levelOf(row, n)
		if err != nil {
			return nil, err
		}
		r := result(row, l, i == 0)
		e.charge(row.Key, r)
		out = append(out, r)
		if i+1 < len(levels) && !promote(r) {
			break
		}
	}
	return out, ctx.Err()
}

// Cost returns the evaluation time charged for key so far.
func (e *Evaluator) Cost(key string) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cost[key]
}

// Reference is the hypervolume reference of the table: the teacher's
// latency and size.
func (t *Table) Reference() search.Reference {
	return search.Reference{Latency: t.Teacher.Latency.Median, SizeBytes: t.Teacher.SizeBytes}
}

// point is row's true point: accuracy on every example, latency and size
// relative to ref (minimized, reference point (0, 1, 1)).
func point(row *Row, ref search.Reference) search.Point {
	return search.Point{-row.Full(), float64(row.Latency.Median) / float64(ref.Latency), float64(row.SizeBytes) / float64(ref.SizeBytes)}
}

// refPoint is the reference point of normalized objectives with
// accuracy reference accRef: (−accRef, 1, 1). Search's own is accRef 0.
func refPoint(accRef float64) search.Point { return search.Point{-accRef, 1, 1} }

// ExhaustiveHV returns the hypervolume of every row's true point: the
// hypervolume of the exhaustive front, the accuracy reference being
// accRef (search's hypervolume: 0).
func (t *Table) ExhaustiveHV(accRef float64) float64 {
	ref := t.Reference()
	pts := make([]search.Point, len(t.Rows))
	for i, r := range t.Rows {
		pts[i] = point(r, ref)
	}
	return search.Hypervolume(pts, refPoint(accRef))
}

// Step is the state of a replayed search after one evaluation.
type Step struct {
	// HV is the hypervolume of the true points (accuracy on every
	// example) of the members of the search's front.
	HV float64
	// Time is the evaluation time spent so far (Evaluator.Cost summed).
	Time time.Duration
	// Screened is how many candidates multi-fidelity screened out so far.
	Screened int
	// Rescore is the scoring time on every example of the front members
	// scored on fewer: what rescoring the front (as a search on a
	// subsample does at its end) would add to Time.
	Rescore time.Duration
}

// Replay runs one search of sp under cfg against the table (cfg's
// reference is the table's, its budget and strategy the caller's), its
// Evaluate serving the accuracy on level examples (0: all), and returns
// the Step after every evaluation, in order, hypervolumes taken with
// accuracy reference accRef. stop, when not nil, ends the search early
// once it returns true for the steps so far.
func Replay(ctx context.Context, t *Table, sp *space.Space, cfg search.Config, level int, accRef float64, stop func([]Step) bool) ([]Step, error) {
	ev, err := NewEvaluator(t, level)
	if err != nil {
		return nil, err
	}
	cfg.Reference = t.Reference()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	archive := search.NewArchive()
	var steps []Step
	var hv float64
	var spent, rescore time.Duration
	screened := 0
	var fail error
	progress := func(e search.Event) {
		if e.Kind != search.EventEvaluation || fail != nil {
			return
		}
		c := *e.Candidate
		_, onFront := archive.Insert(c)
		if c.Screened {
			screened++
		}
		if onFront {
			front := archive.Front()
			pts := make([]search.Point, len(front))
			rescore = 0
			for i, m := range front {
				row, ok := t.Get(m.Key)
				if !ok {
					fail = fmt.Errorf("front member %s: %w", m.Key, ErrNotInTable)
					cancel()
					return
				}
				pts[i] = point(row, cfg.Reference)
				if full := row.Levels[len(row.Levels)-1]; m.Result.Examples < full.Examples {
					rescore += full.Score
				}
			}
			hv = search.Hypervolume(pts, refPoint(accRef))
		}
		spent += ev.Cost(c.Key)
		steps = append(steps, Step{HV: hv, Time: spent, Screened: screened, Rescore: rescore})
		if stop != nil && stop(steps) {
			cancel()
		}
	}
	_, err = search.Run(ctx, cfg, sp, ev, search.WithProgress(progress))
	if fail != nil {
		return nil, fail
	}
	if err != nil {
		return nil, err
	}
	return steps, nil
}

// Reach returns the number of evaluations after which steps first reach
// hypervolume target, and the time spent by then; ok is false when they
// never do.
func Reach(steps []Step, target float64) (evals int, spent time.Duration, ok bool) {
	for i, s := range steps {
		if s.HV >= target {
			return i + 1, s.Time, true
		}
	}
	return 0, 0, false
}

// RatioAt returns the hypervolume after n evaluations (after the last
// step when the search stopped earlier) divided by hvStar.
func RatioAt(steps []Step, n int, hvStar float64) float64 {
	if len(steps) == 0 || n < 1 || hvStar <= 0 {
		return 0
	}
	return steps[min(n, len(steps))-1].HV / hvStar
}

// MeanSD returns the mean and the sample standard deviation of xs (sd 0
// for fewer than two).
func MeanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}
