package search

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	mrand "math/rand"
	"math/rand/v2"
	"slices"

	"github.com/MaxHalford/eaopt"

	"github.com/edgenas/edgenas/space"
)

// strategy proposes each generation's batch. A proposal depends only on
// the population, the archive and the random source, so a run restarted
// from its persisted state proposes the same batch again.
type strategy interface {
	// propose returns the population members kept into the next
	// generation and the architectures to evaluate in this one.
	propose(pop []string, r *rand.Rand) (keep []string, offspring []space.Arch, err error)
	// commit returns the next population from the kept members and the
	// keys of the evaluated offspring, in batch order.
	commit(keep, offspring []string) []string
}

// lookup gives a strategy the archived candidates.
type lookup func(key string) (Candidate, bool)

func newStrategy(cfg Config, sp *space.Space, get lookup) strategy {
	b := base{cfg: cfg, sp: sp, get: get}
	switch cfg.Strategy {
	case StrategyNSGA2:
		return &nsga2Strategy{b}
	case StrategyRegularizedEvolution:
		return &reStrategy{b}
	case StrategyRandom:
		return &randomStrategy{b}
	}
	return &gaStrategy{b}
}

type base struct {
	cfg Config
	sp  *space.Space
	get lookup
}

// sampleNew draws n architectures, avoiding archived keys and repeats
// within the batch as long as a bounded number of draws allows.
func (b *base) sampleNew(n int, r *rand.Rand) []space.Arch {
	var out []space.Arch
	seen := map[string]bool{}
	for tries := 0; len(out) < n && tries < 50*n; tries++ {
		a := b.sp.Sample(r)
		k := a.Key()
		if _, ok := b.get(k); ok || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	return out
}

func (b *base) candidate(key string) (Candidate, error) {
	c, ok := b.get(key)
	if !ok {
		return Candidate{}, fmt.Errorf("population member %s is not in the archive", key)
	}
	return c, nil
}

// v1 derives the *math/rand.Rand eaopt needs from the run's source.
func v1(r *rand.Rand) *mrand.Rand { return mrand.New(mrand.NewSource(int64(r.Uint64()))) }

// v2 derives a math/rand/v2 generator for the space's operators from
// eaopt's generator.
func v2(r *mrand.Rand) *rand.Rand { return rand.New(rand.NewPCG(uint64(r.Int63()), uint64(r.Int63()))) }

// archOps are the space's genetic operators as eaopt calls them: they
// cannot return errors, so the first one is kept here.
type archOps struct {
	sp   *space.Space
	rate float64 // per-gene mutation probability
	get  lookup
	err  error
}

func (o *archOps) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// archGenome is an eaopt.Genome wrapping a space.Arch.
type archGenome struct {
	arch space.Arch
	ops  *archOps
}

var _ eaopt.Genome = (*archGenome)(nil)

// errNotEvaluated is what eaopt gets if it asks for the fitness of an
// architecture the search has not evaluated: the search evaluates
// offspring itself and never lets eaopt do it.
var errNotEvaluated = errors.New("architecture not evaluated yet")

// Evaluate returns the archived fitness (minus the reward).
func (g *archGenome) Evaluate() (float64, error) {
	c, ok := g.ops.get(g.arch.Key())
	if !ok {
		return 0, fmt.Errorf("%s: %w", g.arch.Key(), errNotEvaluated)
	}
	return -c.Reward, nil
}

// Mutate applies Space.Mutate.
func (g *archGenome) Mutate(rng *mrand.Rand) {
	a, err := g.ops.sp.Mutate(g.arch, v2(rng), g.ops.rate)
	if err != nil {
		g.ops.fail(err)
		return
	}
	g.arch = a
}

// Crossover applies Space.Crossover; g and the mate become the children.
func (g *archGenome) Crossover(mate eaopt.Genome, rng *mrand.Rand) {
	m := mate.(*archGenome)
	a, b, err := g.ops.sp.Crossover(g.arch, m.arch, v2(rng))
	if err != nil {
		g.ops.fail(err)
		return
	}
	g.arch, m.arch = a, b
}

// Clone returns a deep copy.
func (g *archGenome) Clone() eaopt.Genome { return &archGenome{arch: g.arch.Clone(), ops: g.ops} }

// individuals wraps population members as evaluated eaopt individuals,
// sorted by fitness as eaopt keeps its populations.
func (b *base) individuals(pop []string, ops *archOps) (eaopt.Individuals, error) {
	indis := make(eaopt.Individuals, len(pop))
	for i, k := range pop {
		c, err := b.candidate(k)
		if err != nil {
			return nil, err
		}
		indis[i] = eaopt.Individual{Genome: &archGenome{arch: c.Result.Arch.Clone(), ops: ops}, Fitness: -c.Reward, Evaluated: true, ID: fmt.Sprint(i)}
		if c.Result.Arch.Key() != k {
			// The evaluator's Result may not carry the Arch; rebuild it.
			a, err := space.ParseKey(k)
			if err != nil {
				return nil, err
			}
			indis[i].Genome = &archGenome{arch: a, ops: ops}
		}
	}
	slices.SortStableFunc(indis, func(x, y eaopt.Individual) int { return cmp.Compare(x.Fitness, y.Fitness) })
	return indis, nil
}

func archs(indis eaopt.Individuals) []space.Arch {
	out := make([]space.Arch, len(indis))
	for i, in := range indis {
		out[i] = in.Genome.(*archGenome).arch
	}
	return out
}

// gaStrategy is eaopt's generational model with tournament selection.
type gaStrategy struct{ base }

func (s *gaStrategy) propose(pop []string, r *rand.Rand) ([]string, []space.Arch, error) {
	if len(pop) == 0 {
		return nil, s.sampleNew(s.cfg.PopulationSize, r), nil
	}
	ops := &archOps{sp: s.sp, rate: s.cfg.GeneMutationRate, get: s.get}
	indis, err := s.individuals(pop, ops)
	if err != nil {
		return nil, nil, err
	}
	model := eaopt.ModGenerational{
		Selector:  eaopt.SelTournament{NContestants: uint(s.cfg.TournamentSize)},
		MutRate:   s.cfg.MutationRate,
		CrossRate: s.cfg.CrossoverRate,
	}
	p := &eaopt.Population{Individuals: indis, RNG: v1(r)}
	if err := model.Apply(p); err != nil {
		return nil, nil, fmt.Errorf("ga: %w", err)
	}
	if ops.err != nil {
		return nil, nil, fmt.Errorf("ga: %w", ops.err)
	}
	return nil, archs(p.Individuals), nil
}

func (s *gaStrategy) commit(keep, offspring []string) []string {
	return append(slices.Clone(keep), offspring...)
}

// nsga2Strategy runs nsga2Model on parents and last offspring together.
type nsga2Strategy struct{ base }

func (s *nsga2Strategy) propose(pop []string, r *rand.Rand) ([]string, []space.Arch, error) {
	if len(pop) == 0 {
		return nil, s.sampleNew(s.cfg.PopulationSize, r), nil
	}
	ops := &archOps{sp: s.sp, rate: s.cfg.GeneMutationRate, get: s.get}
	indis, err := s.individuals(pop, ops)
	if err != nil {
		return nil, nil, err
	}
	m := &nsga2Model{n: s.cfg.PopulationSize, crossRate: s.cfg.CrossoverRate, mutRate: s.cfg.MutationRate, get: s.get}
	p := &eaopt.Population{Individuals: indis, RNG: v1(r)}
	if err := m.Apply(p); err != nil {
		return nil, nil, fmt.Errorf("nsga2: %w", err)
	}
	if ops.err != nil {
		return nil, nil, fmt.Errorf("nsga2: %w", ops.err)
	}
	keep := make([]string, m.survivors)
	for i, in := range p.Individuals[:m.survivors] {
		keep[i] = in.Genome.(*archGenome).arch.Key()
	}
	return keep, archs(p.Individuals[m.survivors:]), nil
}

func (s *nsga2Strategy) commit(keep, offspring []string) []string {
	return append(slices.Clone(keep), offspring...)
}

// nsga2Model is NSGA-II (Deb et al. 2002) as an eaopt Model. The
// population holds the previous parents and their evaluated offspring;
// Apply keeps the n best by constrained non-dominated sorting (a feasible
// candidate beats an infeasible one, the smaller violation beats the
// larger) and crowding distance, then appends n unevaluated offspring bred
// by binary tournament on (rank, crowding), crossover and mutation. After
// Apply the population is the survivors followed by the offspring; the
// number of survivors is in m.survivors.
type nsga2Model struct {
	n                  int
	crossRate, mutRate float64
	get                lookup
	survivors          int
}

var _ eaopt.Model = (*nsga2Model)(nil)

// Validate implements eaopt.Model.
func (m *nsga2Model) Validate() error {
	if m.n < 2 {
		return fmt.Errorf("nsga2: population %d, want ≥ 2", m.n)
	}
	if !(m.crossRate >= 0 && m.crossRate <= 1) || !(m.mutRate >= 0 && m.mutRate <= 1) {
		return fmt.Errorf("nsga2: rates must be probabilities")
	}
	return nil
}

// Apply implements eaopt.Model.
func (m *nsga2Model) Apply(pop *eaopt.Population) error {
	pool := pop.Individuals
	pts := make([]Point, len(pool))
	viol := make([]float64, len(pool))
	for i, in := range pool {
		k := in.Genome.(*archGenome).arch.Key()
		c, ok := m.get(k)
		if !ok {
			return fmt.Errorf("%s: %w", k, errNotEvaluated)
		}
		pts[i] = c.objectives()
		if !c.Feasible {
			viol[i] = math.Max(-c.Reward, math.SmallestNonzeroFloat64)
		}
	}
	fronts := nonDominatedSort(pts, viol)
	rank := make([]int, len(pool))
	crowd := make([]float64, len(pool))
	var surv []int
	for r, f := range fronts {
		cd := crowding(pts, f)
		for k, i := range f {
			rank[i], crowd[i] = r, cd[k]
		}
		if len(surv)+len(f) <= m.n {
			surv = append(surv, f...)
			continue
		}
		rest := slices.Clone(f)
		slices.SortStableFunc(rest, func(a, b int) int { return cmp.Compare(crowd[b], crowd[a]) })
		surv = append(surv, rest[:m.n-len(surv)]...)
		break
	}
	rng := pop.RNG
	better := func(a, b int) int {
		if rank[a] != rank[b] {
			if rank[a] < rank[b] {
				return a
			}
			return b
		}
		if crowd[b] > crowd[a] {
			return b
		}
		return a
	}
	tournament := func() int { return better(surv[rng.Intn(len(surv))], surv[rng.Intn(len(surv))]) }
	offspring := make(eaopt.Individuals, 0, m.n+1)
	for len(offspring) < m.n {
		a, b := pool[tournament()].Clone(rng), pool[tournament()].Clone(rng)
		if rng.Float64() < m.crossRate {
			a.Genome.Crossover(b.Genome, rng)
		}
		offspring = append(offspring, a, b)
	}
	offspring = offspring[:m.n]
	offspring.Mutate(m.mutRate, rng)
	next := make(eaopt.Individuals, 0, len(surv)+m.n)
	for _, i := range surv {
		next = append(next, pool[i])
	}
	for i := range offspring {
		offspring[i].Evaluated = false
	}
	pop.Individuals = append(next, offspring...)
	m.survivors = len(surv)
	return nil
}

// constrainedDominates is Deb's constrained domination: feasible (zero
// violation) beats infeasible, a smaller violation beats a larger, and
// between feasible points Pareto dominance decides.
func constrainedDominates(p, q Point, vp, vq float64) bool {
	switch {
	case vp == 0 && vq == 0:
		return p.Dominates(q)
	case vp == 0:
		return true
	case vq == 0:
		return false
	}
	return vp < vq
}

// nonDominatedSort splits the points into fronts (indexes, each front in
// index order) by constrained domination.
func nonDominatedSort(pts []Point, viol []float64) [][]int {
	n := len(pts)
	dominatedBy := make([]int, n)
	dominates := make([][]int, n)
	for i := range n {
		for j := range n {
			if i != j && constrainedDominates(pts[i], pts[j], viol[i], viol[j]) {
				dominates[i] = append(dominates[i], j)
				dominatedBy[j]++
			}
		}
	}
	var fronts [][]int
	var cur []int
	for i := range n {
		if dominatedBy[i] == 0 {
			cur = append(cur, i)
		}
	}
	for len(cur) > 0 {
		fronts = append(fronts, cur)
		var next []int
		for _, i := range cur {
			for _, j := range dominates[i] {
				if dominatedBy[j]--; dominatedBy[j] == 0 {
					next = append(next, j)
				}
			}
		}
		slices.Sort(next)
		cur = next
	}
	return fronts
}

// crowding returns the crowding distance of each member of front (in its
// order): the sum over objectives of the normalized gap between its
// neighbours, infinite at the extremes.
func crowding(pts []Point, front []int) []float64 {
	d := make([]float64, len(front))
	if len(front) <= 2 {
		for i := range d {
			d[i] = math.Inf(1)
		}
		return d
	}
	order := make([]int, len(front))
	for m := range 3 {
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pts[front[a]][m], pts[front[b]][m]) })
		lo, hi := pts[front[order[0]]][m], pts[front[order[len(order)-1]]][m]
		d[order[0]], d[order[len(order)-1]] = math.Inf(1), math.Inf(1)
		if hi <= lo {
			continue
		}
		for k := 1; k+1 < len(order); k++ {
			d[order[k]] += (pts[front[order[k+1]]][m] - pts[front[order[k-1]]][m]) / (hi - lo)
		}
	}
	return d
}

// reStrategy is regularized (aging) evolution.
type reStrategy struct{ base }

func (s *reStrategy) propose(pop []string, r *rand.Rand) ([]string, []space.Arch, error) {
	keep := slices.Clone(pop)
	if len(pop) < s.cfg.PopulationSize {
		return keep, s.sampleNew(s.cfg.PopulationSize-len(pop), r), nil
	}
	var out []space.Arch
	for range s.cfg.Batch {
		perm := r.Perm(len(pop))[:s.cfg.SampleSize]
		best, bestReward := "", math.Inf(-1)
		for _, i := range perm {
			c, err := s.candidate(pop[i])
			if err != nil {
				return nil, nil, err
			}
			if c.Reward > bestReward {
				best, bestReward = pop[i], c.Reward
			}
		}
		parent, err := space.ParseKey(best)
		if err != nil {
			return nil, nil, err
		}
		child := parent
		for try := 0; try < 10 && child.Key() == best; try++ {
			if child, err = s.sp.Mutate(parent, r, s.cfg.GeneMutationRate); err != nil {
				return nil, nil, fmt.Errorf("regularized evolution: %w", err)
			}
		}
		out = append(out, child)
	}
	return keep, out, nil
}

func (s *reStrategy) commit(keep, offspring []string) []string {
	all := append(slices.Clone(keep), offspring...)
	if extra := len(all) - s.cfg.PopulationSize; extra > 0 {
		all = all[extra:] // the oldest leave
	}
	return all
}

// randomStrategy samples every generation afresh.
type randomStrategy struct{ base }

func (s *randomStrategy) propose(_ []string, r *rand.Rand) ([]string, []space.Arch, error) {
	return nil, s.sampleNew(s.cfg.PopulationSize, r), nil
}

func (s *randomStrategy) commit(_, offspring []string) []string { return slices.Clone(offspring) }
