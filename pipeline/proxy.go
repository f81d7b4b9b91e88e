package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/search"
)

// Defaults of the zero ProxyCheckConfig.
const (
	DefaultProxySamples = 32
	DefaultProxyMinTau  = 0.8
)

// ProxyCheckConfig is the `proxy_check:` section of a run's YAML. When the
// search scores candidates on a subsample of the dev examples
// (evaluator.subsample below their number), every search ends by scoring
// the front and a seeded random sample of the other evaluated candidates
// on every example and comparing the two accuracies (ProxyCheck). The
// zero value means the defaults.
type ProxyCheckConfig struct {
	// Samples is how many evaluated candidates besides the front are
	// rescored (at most all of them); default 32.
	Samples int `yaml:"samples"`
	// MinTau is the Kendall τ below which the check warns that rankings by
	// the subsample are unreliable; default 0.8. It must be in (−1, 1]
	// (a value above 1 always warns).
	MinTau float64 `yaml:"min_tau"`
	// Seed chooses the sample; the same seed and candidates, the same
	// sample.
	Seed uint64 `yaml:"seed"`
}

// withDefaults returns c with every zero field set to its default.
func (c ProxyCheckConfig) withDefaults() ProxyCheckConfig {
	if c.Samples == 0 {
		c.Samples = DefaultProxySamples
	}
	if c.MinTau == 0 {
		c.MinTau = DefaultProxyMinTau
	}
	return c
}

// ProxyCheck is how well the accuracy on the search's subsample (the
// proxy) ranks candidates against their accuracy on every dev example.
type ProxyCheck struct {
	// Metric is the accuracy metric compared.
	Metric string `json:"metric"`
	// Subsample and Examples are how many dev examples the proxy and the
	// full score use.
	Subsample int `json:"subsample"`
	Examples  int `json:"examples"`
	// KendallTau is Kendall's τ-b (ties accounted for) between the two
	// accuracies over Points; 0 with TauUndefined when a side ranks every
	// point equal (or there are fewer than two points).
	KendallTau   float64 `json:"kendall_tau"`
	TauUndefined bool    `json:"tau_undefined,omitempty"`
	// MinTau is the threshold the check used.
	MinTau float64 `json:"min_tau"`
	// MaxAbsError is the largest |proxy − full| over Points, reached by
	// the candidate MaxAbsErrorKey.
	MaxAbsError    float64 `json:"max_abs_error"`
	MaxAbsErrorKey string  `json:"max_abs_error_key"`
	// Points are the candidates compared: the front first, then the
	// sample, in the order the search evaluated them.
	Points []ProxyPoint `json:"points"`
	// Partial says the rescoring was interrupted: the numbers are over
	// the points rescored so far.
	Partial bool `json:"partial,omitempty"`
	// Warning is set when τ is below MinTau (or undefined): rankings by
	// the subsample are not to be trusted.
	Warning string `json:"warning,omitempty"`
}

// ProxyPoint is one candidate of a ProxyCheck.
type ProxyPoint struct {
	Key string `json:"key"`
	// Proxy is the accuracy on the subsample, Full on every example.
	Proxy float64 `json:"proxy"`
	Full  float64 `json:"full"`
	// Front says the candidate is a front member (else it was sampled).
	Front bool `json:"front,omitempty"`
}

// proxyCandidates returns the candidates a proxy check rescores: the
// front members, then at most c.Samples of the other candidates of all,
// chosen with c.Seed, in all's order.
func proxyCandidates(c ProxyCheckConfig, members []Member, all []search.Candidate) []search.Candidate {
	var out, rest []search.Candidate
	onFront := map[string]bool{}
	for _, m := range members {
		out = append(out, m.Candidate)
		onFront[m.Key] = true
	}
	for _, a := range all {
		if !onFront[a.Key] {
			rest = append(rest, a)
		}
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x5851f42d4c957f2d))
	pick := rng.Perm(len(rest))[:min(c.Samples, len(rest))]
	slices.Sort(pick)
	for _, i := range pick {
		out = append(out, rest[i])
	}
	return out
}

// proxyCheck rescores cands on every example with rescore (which the
// caller makes cached and retried) and compares. When rescore fails
// it returns the check over the points done, Partial, with
// the error.
func proxyCheck(c ProxyCheckConfig, examples int, cands []search.Candidate, onFront int,
	rescore func(search.Candidate) (evaluator.Result, error)) (*ProxyCheck, error) {
	p := &ProxyCheck{Examples: examples, MinTau: c.MinTau}
	var err error
	for i, cand := range cands {
		var full evaluator.Result
		if full, err = rescore(cand); err != nil {
			p.Partial = true
			break
		}
		p.Metric, p.Subsample = cand.Result.Metric, cand.Result.Examples
		p.Points = append(p.Points, ProxyPoint{Key: cand.Key, Proxy: cand.Result.Accuracy, Full: full.Accuracy, Front: i < onFront})
	}
	proxy, full := make([]float64, len(p.Points)), make([]float64, len(p.Points))
	for i, pt := range p.Points {
		proxy[i], full[i] = pt.Proxy, pt.Full
		if e := math.Abs(pt.Proxy - pt.Full); e > p.MaxAbsError || p.MaxAbsErrorKey == "" {
			p.MaxAbsError, p.MaxAbsErrorKey = e, pt.Key
		}
	}
	tau, ok := KendallTauB(proxy, full)
	p.KendallTau, p.TauUndefined = tau, !ok
	between := fmt.Sprintf("between %s on %d examples and on all %d (%d candidates)", cmp.Or(p.Metric, "accuracy"), p.Subsample, p.Examples, len(p.Points))
	switch {
	case p.TauUndefined:
		p.Warning = fmt.Sprintf("proxy check: Kendall τ undefined %s: one side ranks every candidate equal; raise evaluator.subsample or proxy_check.samples", between)
	case tau < c.MinTau:
		p.Warning = fmt.Sprintf("proxy check: Kendall τ %.3f < %g %s: rankings by the subsample are unreliable; raise evaluator.subsample", tau, c.MinTau, between)
	}
	return p, err
}

// KendallTauB returns Kendall's τ-b of x and y (equal lengths):
// (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)), where n₀ counts the
// pairs and n₁, n₂ the pairs tied in x and in y. ok is false when it is
// undefined: fewer than two points, or every x or every y equal.
func KendallTauB(x, y []float64) (tau float64, ok bool) {
	var conc, disc, tiedX, tiedY, pairs float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			pairs++
			dx, dy := cmp.Compare(x[i], x[j]), cmp.Compare(y[i], y[j])
			switch {
			case dx == 0 && dy == 0:
				tiedX++
				tiedY++
			case dx == 0:
				tiedX++
			case dy == 0:
				tiedY++
			case dx == dy:
				conc++
			default:
				disc++
			}
		}
	}
	den := math.Sqrt((pairs - tiedX) * (pairs - tiedY))
	if den == 0 {
		return 0, false
	}
	return (conc - disc) / den, true
}
