package search

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/edgenas/edgenas/evaluator"
)

// Candidate is one evaluated architecture as the search sees it.
type Candidate struct {
	// Key is the architecture's canonical key.
	Key string `json:"key"`
	// Result is what the Evaluator returned.
	Result evaluator.Result `json:"result"`
	// Score is the reward's judgement of Result.
	Score
	// Generation and Slot say where the candidate was first proposed: the
	// generation (0 is the initial population) and its place in that
	// generation's batch.
	Generation int `json:"generation"`
	Slot       int `json:"slot"`
	// Screened says multi-fidelity evaluation stopped the candidate below
	// the last level (see Fidelity): Result holds the accuracy of the last
	// level it reached, and it is never on the front.
	Screened bool `json:"screened,omitempty"`
	// Predicted says predictor screening (see Screening) left the
	// candidate unmeasured: Result.Latency.Median is its predicted
	// latency, and it is Screened too.
	Predicted bool `json:"predicted,omitempty"`
	// Refined says Result is the refined one (see Refine), which Score
	// judges.
	Refined bool `json:"refined,omitempty"`
}

// Point is a point in objective space with every coordinate minimized.
type Point [3]float64

// Dominates reports whether p is no worse than q in every coordinate and
// better in one (all minimized).
func (p Point) Dominates(q Point) bool {
	better := false
	for i := range p {
		if p[i] > q[i] {
			return false
		}
		if p[i] < q[i] {
			better = true
		}
	}
	return better
}

// objectives is c's point in minimization form: (−accuracy, latency in
// seconds, size in bytes).
func (c *Candidate) objectives() Point {
	return Point{-c.Result.Accuracy, c.Result.Latency.Median.Seconds(), float64(c.Result.SizeBytes)}
}

// normalized is c's point relative to the reference: (−accuracy,
// latency/reference latency, size/reference size), whose reference point
// is (0, 1, 1).
func (c *Candidate) normalized(ref Reference) Point {
	return Point{-c.Result.Accuracy, float64(c.Result.Latency.Median) / float64(ref.Latency), float64(c.Result.SizeBytes) / float64(ref.SizeBytes)}
}

// Archive holds every evaluated candidate, one per key, and keeps the
// feasible Pareto front over (accuracy ↑, latency ↓, size ↓) exactly:
// candidates with equal objectives but different keys are all on it.
// Infeasible and screened candidates are archived but never on the front. An Archive
// is not safe for concurrent use.
type Archive struct {
	all   []Candidate
	pts   []Point // objectives of all, minimized
	byKey map[string]int
	front []int // indexes into all, unordered
	best  int   // index of the highest reward, -1 when empty
}

// NewArchive returns an empty Archive.
func NewArchive() *Archive { return &Archive{byKey: map[string]int{}, best: -1} }

// Insert adds c unless a candidate with its key is already archived; it
// reports whether c was added and whether it is on the front now.
func (a *Archive) Insert(c Candidate) (added, onFront bool) {
	if _, ok := a.byKey[c.Key]; ok {
		return false, false
	}
	i := len(a.all)
	a.all = append(a.all, c)
	p := c.objectives()
	a.pts = append(a.pts, p)
	a.byKey[c.Key] = i
	if a.best < 0 || c.Reward > a.all[a.best].Reward || c.Reward == a.all[a.best].Reward && earlier(c, a.all[a.best]) {
		a.best = i
	}
	if !c.Feasible || c.Screened {
		return true, false
	}
	kept := a.front[:0]
	for _, j := range a.front {
		q := a.pts[j]
		if q.Dominates(p) {
			return true, false // nothing p dominates can be on the front either
		}
		if !p.Dominates(q) {
			kept = append(kept, j)
		}
	}
	a.front = append(kept, i)
	return true, true
}

// replace puts c in the place of the archived candidate of its key (adds
// it when there is none) and recomputes the front and the best.
func (a *Archive) replace(c Candidate) {
	i, ok := a.byKey[c.Key]
	if !ok {
		a.Insert(c)
		return
	}
	all := slices.Clone(a.all)
	all[i] = c
	*a = *NewArchive()
	for _, x := range all {
		a.Insert(x)
	}
}

// earlier reports whether x was proposed before y.
func earlier(x, y Candidate) bool {
	return cmp.Or(cmp.Compare(x.Generation, y.Generation), cmp.Compare(x.Slot, y.Slot), cmp.Compare(x.Key, y.Key)) < 0
}

// Best returns the candidate with the highest reward (the earliest
// proposed among equals) and false when the archive is empty.
func (a *Archive) Best() (Candidate, bool) {
	if a.best < 0 {
		return Candidate{}, false
	}
	return a.all[a.best], true
}

// Get returns the candidate archived under key.
func (a *Archive) Get(key string) (Candidate, bool) {
	i, ok := a.byKey[key]
	if !ok {
		return Candidate{}, false
	}
	return a.all[i], true
}

// Len returns the number of archived candidates.
func (a *Archive) Len() int { return len(a.all) }

// Candidates returns every archived candidate in (generation, slot) order.
func (a *Archive) Candidates() []Candidate {
	out := slices.Clone(a.all)
	slices.SortFunc(out, func(x, y Candidate) int {
		return cmp.Or(cmp.Compare(x.Generation, y.Generation), cmp.Compare(x.Slot, y.Slot), cmp.Compare(x.Key, y.Key))
	})
	return out
}

// Front returns the feasible Pareto front, by accuracy (highest first),
// then latency, size and key.
func (a *Archive) Front() []Candidate {
	out := make([]Candidate, len(a.front))
	for k, i := range a.front {
		out[k] = a.all[i]
	}
	sortFront(out)
	return out
}

// FrontSize returns the number of candidates on the front.
func (a *Archive) FrontSize() int { return len(a.front) }

func sortFront(f []Candidate) {
	slices.SortFunc(f, func(x, y Candidate) int {
		return cmp.Or(cmp.Compare(y.Result.Accuracy, x.Result.Accuracy), cmp.Compare(x.Result.Latency.Median, y.Result.Latency.Median),
			cmp.Compare(x.Result.SizeBytes, y.Result.SizeBytes), cmp.Compare(x.Key, y.Key))
	})
}

// LatencyTied reports whether two latency measurements, medians ma and
// mb with spreads (median absolute deviations) sa and sb, all in one
// unit, are indistinguishable: the medians differ by less than the larger
// spread or than eps (relative) times the larger median. With zero
// spreads and eps 0 nothing is tied.
func LatencyTied(ma, sa, mb, sb, eps float64) bool {
	return math.Abs(ma-mb) < max(sa, sb, eps*max(ma, mb))
}

// NoiseDominates reports whether x dominates y when latencies within the
// noise are tied (LatencyTied with x's and y's medians and spreads and
// eps): x is at least as accurate and no larger, its latency is below
// y's or tied with it, and it is better in one objective: more accurate,
// smaller, or faster (by any margin). Exact dominance (Point.Dominates)
// implies it; it is irreflexive and has no cycles (along one, accuracy
// and size would be constant and latency strictly falling), but it is
// not transitive: ties within the noise do not chain.
func NoiseDominates(x, y *Candidate, eps float64) bool {
	rx, ry := &x.Result, &y.Result
	if rx.Accuracy < ry.Accuracy || rx.SizeBytes > ry.SizeBytes {
		return false
	}
	lx, ly := rx.Latency.Median, ry.Latency.Median
	if lx > ly && !LatencyTied(float64(lx), float64(rx.Latency.MAD), float64(ly), float64(ry.Latency.MAD), eps) {
		return false
	}
	return rx.Accuracy > ry.Accuracy || rx.SizeBytes < ry.SizeBytes || lx < ly
}

// NoiseFront returns the front fc asks for, in Front's order: the exact
// front when fc.Exact, else the noise-aware front. The noise-aware front
// takes the exact front's members by accuracy (highest first), then size,
// latency and key, and keeps each one no member already kept
// NoiseDominates (with fc.Epsilon()). Every member x dominates comes
// after x in that order, so: the result is a subset of the exact front,
// no kept member noise-dominates another, every member left out is
// noise-dominated by a kept one, and none of it depends on the order the
// candidates were inserted in. (A greedy pass is needed because noise
// dominance is not transitive: "not dominated by any other" could drop a
// member whose only dominator is itself dropped.)
func (a *Archive) NoiseFront(fc FrontConfig) []Candidate {
	front := a.Front()
	if fc.Exact {
		return front
	}
	order := slices.Clone(front)
	slices.SortFunc(order, func(x, y Candidate) int {
		return cmp.Or(cmp.Compare(y.Result.Accuracy, x.Result.Accuracy), cmp.Compare(x.Result.SizeBytes, y.Result.SizeBytes),
			cmp.Compare(x.Result.Latency.Median, y.Result.Latency.Median), cmp.Compare(x.Key, y.Key))
	})
	var kept []Candidate
	eps := fc.Epsilon()
	for i := range order {
		if !slices.ContainsFunc(kept, func(k Candidate) bool { return NoiseDominates(&k, &order[i], eps) }) {
			kept = append(kept, order[i])
		}
	}
	sortFront(kept)
	return kept
}

// Hypervolume returns the hypervolume of the exact front (see
// FrontHypervolume).
func (a *Archive) Hypervolume(ref Reference) float64 {
	front := make([]Candidate, len(a.front))
	for k, i := range a.front {
		front[k] = a.all[i]
	}
	return FrontHypervolume(front, ref)
}

// FrontHypervolume returns the hypervolume of front in normalized
// objectives (accuracy, latency/ref.Latency, size/ref.SizeBytes) against
// the reference point (0, 1, 1): the volume of the box region the front
// dominates where accuracy > 0, latency < ref.Latency and size <
// ref.SizeBytes. A point outside that box adds nothing. It is 0 when ref
// has a zero field.
func FrontHypervolume(front []Candidate, ref Reference) float64 {
	if ref.Latency <= 0 || ref.SizeBytes <= 0 {
		return 0
	}
	pts := make([]Point, len(front))
	for k := range front {
		pts[k] = front[k].normalized(ref)
	}
	return Hypervolume(pts, Point{0, 1, 1})
}

// Hypervolume returns the exact volume of the region dominated by pts and
// bounded by ref (all coordinates minimized): the union of the boxes
// [p, ref). Points not strictly below ref in every coordinate add nothing.
// It slices along the first coordinate and sweeps a 2-D staircase in the
// other two: O(n²) for n points.
func Hypervolume(pts []Point, ref Point) float64 {
	in := make([]Point, 0, len(pts))
	for _, p := range pts {
		if p[0] < ref[0] && p[1] < ref[1] && p[2] < ref[2] {
			in = append(in, p)
		}
	}
	slices.SortFunc(in, func(x, y Point) int { return cmp.Compare(x[0], y[0]) })
	var st staircase
	vol := 0.0
	for i, p := range in {
		st.insert(p[1], p[2])
		next := ref[0]
		if i+1 < len(in) {
			next = in[i+1][0]
		}
		if next > p[0] {
			vol += (next - p[0]) * st.area(ref[1], ref[2])
		}
	}
	return vol
}

// staircase is a 2-D non-dominated set (minimized), sorted by y ascending
// and so z strictly descending.
type staircase struct{ y, z []float64 }

func (s *staircase) insert(y, z float64) {
	i := sort.SearchFloat64s(s.y, y) // first with s.y ≥ y
	// The point before i has the least z of all with smaller y.
	if i > 0 && s.z[i-1] <= z {
		return
	}
	if i < len(s.y) && s.y[i] == y && s.z[i] <= z {
		return
	}
	j := i
	for j < len(s.y) && s.z[j] >= z {
		j++ // s.y[j] ≥ y and s.z[j] ≥ z: dominated by (y, z)
	}
	s.y = slices.Replace(s.y, i, j, y)
	s.z = slices.Replace(s.z, i, j, z)
}

// area is the area the staircase dominates below (ry, rz).
func (s *staircase) area(ry, rz float64) float64 {
	a := 0.0
	for k := range s.y {
		next := ry
		if k+1 < len(s.y) {
			next = s.y[k+1]
		}
		a += (next - s.y[k]) * (rz - s.z[k])
	}
	return a
}
