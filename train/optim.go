package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/safetensors"
)

// AdamWConfig holds the hyper-parameters of [AdamW]. Its zero value means
// the defaults of [DefaultAdamW] field by field, except WeightDecay, Clip and
// WarmupSteps, for which 0 means none.
type AdamWConfig struct {
	// LR is the peak learning rate; 0 means 1e-4.
	LR float64
	// Beta1 and Beta2 are the decay rates of the first and second moment
	// estimates; 0 means 0.9 and 0.999.
	Beta1, Beta2 float64
	// Eps is added to the root of the second moment; 0 means 1e-8.
	Eps float64
	// WeightDecay is the decoupled decay rate, applied as p -= lr·wd·p to
	// weight matrices and embedding tables only: biases and LayerNorm gains
	// and shifts are not decayed (their [transformer.ParamKind] says which).
	WeightDecay float64
	// Clip is the largest global L2 norm of the gradient; a larger gradient
	// is scaled down to it. 0 means no clipping.
	Clip float64
	// WarmupSteps is the number of steps over which the learning rate rises
	// linearly from LR/WarmupSteps to LR.
	WarmupSteps int
	// TotalSteps is the length of the schedule: after warm-up the rate falls
	// linearly to 0 at step TotalSteps. 0 means a constant rate after
	// warm-up.
	TotalSteps int
}

// DefaultAdamW returns the usual BERT fine-tuning settings: LR 1e-4,
// betas 0.9 and 0.999, eps 1e-8, weight decay 0.01, clipping at norm 1, no
// warm-up and a constant rate.
func DefaultAdamW() AdamWConfig {
	return AdamWConfig{LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Clip: 1}
}

// withDefaults fills the zero fields that have a non-zero default.
func (c AdamWConfig) withDefaults() AdamWConfig {
	d := DefaultAdamW()
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Beta1 == 0 {
		c.Beta1 = d.Beta1
	}
	if c.Beta2 == 0 {
		c.Beta2 = d.Beta2
	}
	if c.Eps == 0 {
		c.Eps = d.Eps
	}
	return c
}

// LRAt returns the learning rate of optimizer step t (1-based): linear
// warm-up t/WarmupSteps·LR for t ≤ WarmupSteps, then linear decay
// LR·(TotalSteps−t)/(TotalSteps−WarmupSteps), reaching 0 at TotalSteps and
// staying there. Without TotalSteps the rate stays at LR after warm-up.
func (c AdamWConfig) LRAt(t int) float64 {
	c = c.withDefaults()
	if t < 1 {
		return 0
	}
	if c.WarmupSteps > 0 && t <= c.WarmupSteps {
		return c.LR * float64(t) / float64(c.WarmupSteps)
	}
	if c.TotalSteps <= 0 {
		return c.LR
	}
	if t >= c.TotalSteps {
		return 0
	}
	return c.LR * float64(c.TotalSteps-t) / float64(c.TotalSteps-max(c.WarmupSteps, 0))
}

// ErrNonFinite is wrapped by errors about a NaN or infinite loss or
// gradient.
var ErrNonFinite = errors.New("non-finite value")

// StepStats describes one optimizer update.
type StepStats struct {
	// Step is the 1-based number of the update just made.
	Step int
	// LR is the learning rate it used.
	LR float64
	// GradNorm is the global L2 norm of the gradient before clipping.
	GradNorm float64
	// Clipped reports whether the gradient was scaled down to Clip.
	Clipped bool
}

// AdamW is the Adam optimizer with decoupled weight decay (Loshchilov and
// Hutter), with a linear warm-up and decay schedule and global-norm gradient
// clipping. Its state (the moment estimates and the step count) is kept in
// float32 per parameter, in the order of [transformer.Model.Params], and is
// saved and restored with [AdamW.Tensors] and [AdamW.Restore]. An AdamW
// belongs to one model and is not safe for concurrent use.
type AdamW struct {
	cfg   AdamWConfig
	names []string
	decay []bool
	p     [][]float32 // the model's parameters (aliases)
	m, v  [][]float32 // first and second moments
	step  int
}

// paramsFunc visits a set of parameters in a fixed order, as
// (*transformer.Model).Params does.
type paramsFunc func(visit func(name string, shape []int, p []float32, kind transformer.ParamKind))

// NewAdamW returns an optimizer for the parameters of m with zero state.
func NewAdamW(m *transformer.Model, cfg AdamWConfig) *AdamW { return newAdamW(m.Params, cfg) }

// newAdamW returns an optimizer for the parameters params visits.
func newAdamW(params paramsFunc, cfg AdamWConfig) *AdamW {
	o := &AdamW{cfg: cfg.withDefaults()}
	params(func(name string, _ []int, p []float32, kind transformer.ParamKind) {
		o.names = append(o.names, name)
		o.decay = append(o.decay, kind == transformer.ParamWeight)
		o.p = append(o.p, p)
		o.m = append(o.m, make([]float32, len(p)))
		o.v = append(o.v, make([]float32, len(p)))
	})
	return o
}

// Config returns the optimizer's settings with defaults filled in.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Steps returns the number of updates made so far (restored ones included).
func (o *AdamW) Steps() int { return o.step }

// paramSlices returns g's parameter slices in Params order, checking that g
// has the optimizer's layout.
func (o *AdamW) paramSlices(g paramsFunc) ([][]float32, error) {
	var gs [][]float32
	var errs []error
	i := 0
	g(func(name string, _ []int, p []float32, _ transformer.ParamKind) {
		switch {
		case i >= len(o.names):
			errs = append(errs, fmt.Errorf("gradient has extra tensor %q", name))
		case name != o.names[i] || len(p) != len(o.p[i]):
			errs = append(errs, fmt.Errorf("gradient tensor %d is %q with %d values, want %q with %d", i, name, len(p), o.names[i], len(o.p[i])))
		}
		gs = append(gs, p)
		i++
	})
	if i < len(o.names) {
		errs = append(errs, fmt.Errorf("gradient has %d tensors, want %d", i, len(o.names)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("adamw: %w", err)
	}
	return gs, nil
}

// GradNorm returns the global L2 norm of all of g's parameters, accumulated
// in float64.
func GradNorm(g *transformer.Model) float64 { return gradNorm(g.Params) }

// gradNorm returns the global L2 norm of the tensors g visits.
func gradNorm(g paramsFunc) float64 {
	s := 0.0
	g(func(_ string, _ []int, p []float32, _ transformer.ParamKind) {
		for _, x := range p {
			s += float64(x) * float64(x)
		}
	})
	return math.Sqrt(s)
}

// Step applies one update to the model's parameters from the gradient g (a
// model of the same layout, e.g. from NewGrads): clip g to the global norm
// Clip, advance the moments, decay the weights and take the bias-corrected
// Adam step at the scheduled learning rate. g is scaled in place when
// clipped and otherwise left as it is; the caller zeroes it. A NaN or
// infinite gradient norm returns an error wrapping [ErrNonFinite] and
// changes nothing.
func (o *AdamW) Step(g *transformer.Model) (StepStats, error) { return o.update(g.Params) }

// update is Step over the gradient tensors g visits, in the order of the
// optimizer's parameters.
func (o *AdamW) update(g paramsFunc) (StepStats, error) {
	gs, err := o.paramSlices(g)
	if err != nil {
		return StepStats{}, err
	}
	norm := gradNorm(g)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return StepStats{GradNorm: norm}, fmt.Errorf("adamw: gradient norm %v: %w", norm, ErrNonFinite)
	}
	c := &o.cfg
	st := StepStats{Step: o.step + 1, LR: c.LRAt(o.step + 1), GradNorm: norm}
	scale := 1.0
	if c.Clip > 0 && norm > c.Clip {
		scale = c.Clip / (norm + 1e-6)
		st.Clipped = true
	}
	o.step++
	t := float64(o.step)
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	stepSize := st.LR / bc1
	rootBC2 := math.Sqrt(bc2)
	for i, p := range o.p {
		g, m, v := gs[i], o.m[i], o.v[i]
		decay := float32(1)
		if o.decay[i] {
			decay = float32(1 - st.LR*c.WeightDecay)
		}
		sc := float32(scale)
		for k := range p {
			gk := g[k]
			if st.Clipped {
				gk *= sc
				g[k] = gk
			}
			m[k] = b1*m[k] + (1-b1)*gk
			v[k] = b2*v[k] + (1-b2)*gk*gk
			denom := math.Sqrt(float64(v[k]))/rootBC2 + c.Eps
			p[k] = p[k]*decay - float32(stepSize*float64(m[k])/denom)
		}
	}
	return st, nil
}

// Names of the optimizer-state tensors: "exp_avg.<param>" and
// "exp_avg_sq.<param>", as PyTorch's AdamW names its state.
const (
	expAvgPrefix   = "exp_avg."
	expAvgSqPrefix = "exp_avg_sq."
	stepMetaKey    = "step"
)

// Tensors returns the optimizer state as F32 tensors (copies) and the
// metadata to store with them (the step count).
func (o *AdamW) Tensors() ([]safetensors.Tensor, map[string]string) {
	ts := make([]safetensors.Tensor, 0, 2*len(o.names))
	for i, name := range o.names {
		shape := []int{len(o.m[i])}
		ts = append(ts, safetensors.FromFloat32(expAvgPrefix+name, shape, o.m[i]))
		ts = append(ts, safetensors.FromFloat32(expAvgSqPrefix+name, shape, o.v[i]))
	}
	return ts, map[string]string{stepMetaKey: strconv.Itoa(o.step)}
}

// Restore replaces the optimizer state with the one in f, as written from
// [AdamW.Tensors]. Every tensor is checked before anything changes; a
// missing or misshaped tensor or a bad step count is an error naming it.
func (o *AdamW) Restore(f *safetensors.File) error {
	step, err := strconv.Atoi(f.Metadata[stepMetaKey])
	if err != nil || step < 0 {
		return fmt.Errorf("adamw state: metadata %q = %q: want a step count ≥ 0", stepMetaKey, f.Metadata[stepMetaKey])
	}
	ms := make([][]float32, len(o.names))
	vs := make([][]float32, len(o.names))
	var errs []error
	for i, name := range o.names {
		for _, x := range []struct {
			prefix string
			dst    *[]float32
		}{{expAvgPrefix, &ms[i]}, {expAvgSqPrefix, &vs[i]}} {
			t, ok := f.Get(x.prefix + name)
			if !ok {
				errs = append(errs, fmt.Errorf("tensor %q: missing", x.prefix+name))
				continue
			}
			if !slices.Equal(t.Shape, []int{len(o.p[i])}) {
				errs = append(errs, fmt.Errorf("tensor %q: shape %v, want [%d]", t.Name, t.Shape, len(o.p[i])))
				continue
			}
			data, err := t.Float32()
			if err != nil {
				errs = append(errs, fmt.Errorf("tensor %q: %w", t.Name, err))
				continue
			}
			*x.dst = data
		}
		if len(errs) >= maxReportedProblems {
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("adamw state: %w", err)
	}
	for i := range o.names {
		copy(o.m[i], ms[i])
		copy(o.v[i], vs[i])
	}
	o.step = step
	return nil
}

// maxReportedProblems bounds the problems one error lists.
const maxReportedProblems = 10
