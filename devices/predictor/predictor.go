package predictor

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/space"
)

// ErrTooFewSamples is returned by Fit and Holdout when there are fewer
// samples than MinSamples.
var ErrTooFewSamples = errors.New("too few samples")

// MinSamples is the fewest measured samples Fit accepts.
const MinSamples = 10

// Sample is one measured architecture: its latency (the median of a
// measurement) on the device the predictor is for.
type Sample struct {
	Arch    space.Arch
	Latency time.Duration
}

// Options tune Fit. The zero value takes the defaults.
type Options struct {
	// Folds is the number of cross-validation folds that choose the ridge
	// strengths (default 5).
	Folds int
	// Seed seeds the folds.
	Seed uint64
	// NoTables leaves out the per-operation lookup entries: analytic
	// features only.
	NoTables bool
}

// Default ridge strengths tried by cross-validation: per sample, on
// standardized features, for the analytic features and for the lookup
// entries (+Inf: no lookup entries).
var (
	analyticLambdas = []float64{1e-8, 1e-6, 1e-4, 1e-2}
	tableLambdas    = []float64{1e-6, 1e-4, 1e-2, 1, math.Inf(1)}
)

// Predictor predicts latency from architecture for one device and
// workload. Build one with Fit.
type Predictor struct {
	d      dims
	coef   [numAnalytic]float64
	table  map[OpKey]float64
	lambda [2]float64
	n      int
}

// Fit fits a predictor on samples measured under workload w on one
// device, for students of a teacher with dimensions t (its Hidden and
// HeadSize, as a space.Space holds them). Every sample must be an
// architecture of t (layer genes within its dimensions) with a positive
// latency.
func Fit(t space.Teacher, w devices.Workload, samples []Sample, opts Options) (*Predictor, error) {
	d, err := check(t, w, samples)
	if err != nil {
		return nil, err
	}
	folds := opts.Folds
	if folds == 0 {
		folds = 5
	}
	if folds < 2 || folds > len(samples) {
		return nil, fmt.Errorf("predictor: %d folds for %d samples: want 2 to %d", folds, len(samples), len(samples))
	}
	tl := tableLambdas
	if opts.NoTables {
		tl = tl[len(tl)-1:]
	}
	fold := make([]int, len(samples))
	for i, j := range rand.New(rand.NewPCG(opts.Seed, 0x5eed)).Perm(len(samples)) {
		fold[j] = i % folds
	}
	best, bestErr := [2]float64{}, math.Inf(1)
	for _, la := range analyticLambdas {
		for _, lt := range tl {
			var sum float64
			for f := range folds {
				var train, test []Sample
				for i, s := range samples {
					if fold[i] == f {
						test = append(test, s)
					} else {
						train = append(train, s)
					}
				}
				p, err := fit(d, train, la, lt)
				if err != nil {
					return nil, err
				}
				for _, s := range test {
					sum += math.Abs(p.relErr(s))
				}
			}
			if sum < bestErr {
				best, bestErr = [2]float64{la, lt}, sum
			}
		}
	}
	return fit(d, samples, best[0], best[1])
}

// check validates Fit's arguments and returns the feature dimensions.
func check(t space.Teacher, w devices.Workload, samples []Sample) (dims, error) {
	w = w.WithDefaults()
	d := dims{hidden: t.Hidden, headSize: t.HeadSize, batch: w.Batch}
	if d.hidden <= 0 || d.headSize <= 0 || d.batch <= 0 {
		return d, fmt.Errorf("predictor: teacher hidden %d, head size %d, batch %d: want positive dimensions", t.Hidden, t.HeadSize, w.Batch)
	}
	if len(samples) < MinSamples {
		return d, fmt.Errorf("predictor: %d samples, want at least %d: %w", len(samples), MinSamples, ErrTooFewSamples)
	}
	for i, s := range samples {
		if s.Latency <= 0 || len(s.Arch.Layers) == 0 || s.Arch.SeqLen <= 0 {
			return d, fmt.Errorf("predictor: sample %d (%s): want layers, a positive sequence length and a positive latency, got %v", i, s.Arch.Key(), s.Latency)
		}
		for j, g := range s.Arch.Layers {
			if g.Heads < 0 || g.FFN < 0 || g.AttentionRank < 0 || g.FFNRank < 0 {
				return d, fmt.Errorf("predictor: sample %d (%s): layer %d has a negative dimension", i, s.Arch.Key(), j)
			}
		}
	}
	return d, nil
}

// fit solves the ridge problem for strengths la (analytic) and lt
// (lookup entries; +Inf leaves them out).
func fit(d dims, samples []Sample, la, lt float64) (*Predictor, error) {
	var keys []OpKey
	if !math.IsInf(lt, 1) {
		seen := map[OpKey]bool{}
		for _, s := range samples {
			ops(s.Arch, func(k OpKey) {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			})
		}
		slices.SortFunc(keys, compareOps)
	}
	col := make(map[OpKey]int, len(keys))
	for i, k := range keys {
		col[k] = numAnalytic + i
	}
	n, c := len(samples), numAnalytic+len(keys)
	// Rows weighted by 1/latency: the target is 1, the residual the
	// relative error.
	a := mat.NewDense(n, c, nil)
	var x [numAnalytic]float64
	for i, s := range samples {
		y := float64(s.Latency)
		d.analytic(s.Arch, &x)
		for j, v := range x {
			a.Set(i, j, v/y)
		}
		if len(keys) > 0 {
			ops(s.Arch, func(k OpKey) { a.Set(i, col[k], a.At(i, col[k])+1/y) })
		}
	}
	// Huber-weighted iterations: a sample whose relative residual exceeds
	// huberDelta (a measurement taken while the machine was busy) weighs
	// delta/|r| of the others, so load spikes do not bend the fit.
	wt := make([]float64, n)
	for i := range wt {
		wt[i] = 1
	}
	var beta []float64
	for it := range robustIterations {
		b, err := solve(a, wt, numAnalytic, la, lt)
		if err != nil {
			return nil, err
		}
		beta = b
		if it == robustIterations-1 {
			break
		}
		for i := range n {
			r := mat.Dot(a.RowView(i), mat.NewVecDense(c, beta)) - 1
			wt[i] = 1
			if math.Abs(r) > huberDelta {
				wt[i] = huberDelta / math.Abs(r)
			}
		}
	}
	p := &Predictor{d: d, lambda: [2]float64{la, lt}, n: n}
	for j, b := range beta {
		if b == 0 {
			continue
		}
		if j < numAnalytic {
			p.coef[j] = b
			continue
		}
		if p.table == nil {
			p.table = make(map[OpKey]float64, len(keys))
		}
		p.table[keys[j-numAnalytic]] = b
	}
	return p, nil
}

// Predict returns the predicted latency of a (at a.SeqLen, under the
// workload the predictor was fitted for). Lookup entries never measured
// count 0: the analytic features alone. A prediction below zero (far
// outside what was measured) is returned as 1 ns.
func (p *Predictor) Predict(a space.Arch) time.Duration {
	var x [numAnalytic]float64
	p.d.analytic(a, &x)
	var y float64
	for j, v := range x {
		y += p.coef[j] * v
	}
	if p.table != nil {
		ops(a, func(k OpKey) { y += p.table[k] })
	}
	if y < 1 {
		return 1
	}
	return time.Duration(math.Round(y))
}

// relErr returns the relative error of the prediction of s.
func (p *Predictor) relErr(s Sample) float64 {
	return float64(p.Predict(s.Arch))/float64(s.Latency) - 1
}

// Samples returns how many samples the predictor was fitted on.
func (p *Predictor) Samples() int { return p.n }

// Ridge returns the ridge strengths cross-validation chose: analytic
// features, lookup entries (+Inf when left out).
func (p *Predictor) Ridge() (analytic, table float64) { return p.lambda[0], p.lambda[1] }

// Coefficients returns the analytic coefficients (ns per unit of each
// feature), in the order of FeatureNames.
func (p *Predictor) Coefficients() []float64 { return slices.Clone(p.coef[:]) }

// TableSize returns the number of lookup entries fitted.
func (p *Predictor) TableSize() int { return len(p.table) }

// Robust fitting: Huber weights on relative residuals beyond huberDelta,
// over robustIterations solves.
const (
	huberDelta       = 0.05
	robustIterations = 4
)

// solve returns the ridge solution of min Σ wt_i (a_i·β − 1)² +
// n Σ λ_j (s_j β_j)², where s_j is column j's root mean square and λ_j is
// la for the first nAnalytic columns and lt for the rest; a column of
// zeros gets a zero coefficient.
func solve(a *mat.Dense, wt []float64, nAnalytic int, la, lt float64) ([]float64, error) {
	n, c := a.Dims()
	aw := mat.NewDense(n, c, nil)
	rhs := mat.NewVecDense(c, nil)
	scale := make([]float64, c)
	for j := range c {
		var ss float64
		for i := range n {
			ss += a.At(i, j) * a.At(i, j)
		}
		scale[j] = math.Sqrt(ss / float64(n))
		if scale[j] == 0 {
			continue
		}
		var r float64
		for i := range n {
			v := a.At(i, j) / scale[j] * math.Sqrt(wt[i])
			aw.Set(i, j, v)
			r += v * math.Sqrt(wt[i])
		}
		rhs.SetVec(j, r)
	}
	var g mat.SymDense
	g.SymOuterK(1, aw.T())
	for j := range c {
		l := la
		if j >= nAnalytic {
			l = lt
		}
		if scale[j] == 0 {
			l = 1 // an all-zero column: its coefficient stays 0
		}
		g.SetSym(j, j, g.At(j, j)+float64(n)*l)
	}
	var ch mat.Cholesky
	if !ch.Factorize(&g) {
		return nil, fmt.Errorf("predictor: normal equations of %d samples, %d features (ridge %g, %g) are not positive definite", n, c, la, lt)
	}
	var beta mat.VecDense
	if err := ch.SolveVecTo(&beta, rhs); err != nil {
		return nil, fmt.Errorf("predictor: solve: %w", err)
	}
	out := make([]float64, c)
	for j := range c {
		if scale[j] > 0 {
			out[j] = beta.AtVec(j) / scale[j]
		}
	}
	return out, nil
}
