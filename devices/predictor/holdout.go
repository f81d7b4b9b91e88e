package predictor

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/space"
)

// Split divides n samples into a training and a test set, testShare of
// them (at least one each) in the test set, deterministically for a seed.
// Both sets hold indices in increasing order.
func Split(n int, testShare float64, seed uint64) (train, test []int, err error) {
	if n < 2 || !(testShare > 0 && testShare < 1) {
		return nil, nil, fmt.Errorf("predictor: split %d samples with test share %v: want at least 2 samples and a share in (0, 1)", n, testShare)
	}
	k := min(max(int(math.Round(testShare*float64(n))), 1), n-1)
	inTest := make([]bool, n)
	for _, i := range rand.New(rand.NewPCG(seed, 0x7e57)).Perm(n)[:k] {
		inTest[i] = true
	}
	for i, t := range inTest {
		if t {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test, nil
}

// Report is a held-out evaluation: the predictor fitted on the training
// samples and its relative errors on the test samples.
type Report struct {
	Predictor *Predictor
	// Train and Test are the sample indices of each set.
	Train, Test []int
	// Errors are predicted/measured − 1 of each test sample, in Test's
	// order.
	Errors []float64
}

// Holdout fits on a seeded share 1 − testShare of samples and tests on the
// rest (see Split and Fit).
func Holdout(t space.Teacher, w devices.Workload, samples []Sample, testShare float64, opts Options) (*Report, error) {
	train, test, err := Split(len(samples), testShare, opts.Seed)
	if err != nil {
		return nil, err
	}
	tr := make([]Sample, len(train))
	for i, j := range train {
		tr[i] = samples[j]
	}
	p, err := Fit(t, w, tr, opts)
	if err != nil {
		return nil, err
	}
	r := &Report{Predictor: p, Train: train, Test: test}
	for _, j := range test {
		r.Errors = append(r.Errors, p.relErr(samples[j]))
	}
	return r, nil
}

// Within returns the fraction of test samples whose relative error is
// within ±tol.
func (r *Report) Within(tol float64) float64 {
	return withinShare(r.Errors, tol)
}

// withinShare returns the fraction of errs within ±tol.
func withinShare(errs []float64, tol float64) float64 {
	if len(errs) == 0 {
		return 0
	}
	var k int
	for _, e := range errs {
		if math.Abs(e) <= tol {
			k++
		}
	}
	return float64(k) / float64(len(errs))
}

// Bin is one bar of a histogram of relative errors: the count of errors
// in [Lo, Hi).
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
}

// HistogramEdges are the bin edges of Histogram: ±2, 5, 10 and 20 %, with
// open-ended bins beyond.
var HistogramEdges = []float64{math.Inf(-1), -0.2, -0.1, -0.05, -0.02, 0.02, 0.05, 0.1, 0.2, math.Inf(1)}

// Histogram counts errs in the bins of HistogramEdges.
func Histogram(errs []float64) []Bin {
	bins := make([]Bin, len(HistogramEdges)-1)
	for i := range bins {
		bins[i] = Bin{Lo: HistogramEdges[i], Hi: HistogramEdges[i+1]}
	}
	for _, e := range errs {
		for i := range bins {
			if e >= bins[i].Lo && e < bins[i].Hi {
				bins[i].Count++
				break
			}
		}
	}
	return bins
}

// WriteHistogram writes the histogram of errs as text, one bin a line
// with its count, share and a bar, then the fractions within ±5 % and
// ±10 %.
func WriteHistogram(w io.Writer, errs []float64) error {
	n := max(len(errs), 1)
	var b strings.Builder
	for _, bin := range Histogram(errs) {
		fmt.Fprintf(&b, "  %-16s %5d  %5.1f %%  %s\n", binLabel(bin), bin.Count, 100*float64(bin.Count)/float64(n),
			strings.Repeat("#", int(math.Round(50*float64(bin.Count)/float64(n)))))
	}
	fmt.Fprintf(&b, "  within ±5 %%: %.3f, within ±10 %%: %.3f (%d samples)\n", withinShare(errs, 0.05), withinShare(errs, 0.1), len(errs))
	_, err := io.WriteString(w, b.String())
	return err
}

func binLabel(b Bin) string {
	pct := func(v float64) string { return fmt.Sprintf("%+.0f %%", 100*v) }
	switch {
	case math.IsInf(b.Lo, -1):
		return "< " + pct(b.Hi)
	case math.IsInf(b.Hi, 1):
		return "≥ " + pct(b.Lo)
	default:
		return "[" + pct(b.Lo) + ", " + pct(b.Hi) + ")"
	}
}
