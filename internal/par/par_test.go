package par

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// record notes in which range each unit was done and how often, and
// fails when two calls with the same range number overlap.
type record struct {
	hits, rng []atomic.Int32
	busy      [8]atomic.Bool
	overlap   atomic.Bool
}

func (r *record) Range(n, lo, hi int) {
	if !r.busy[n].CompareAndSwap(false, true) {
		r.overlap.Store(true)
	}
	for u := lo; u < hi; u++ {
		r.hits[u].Add(1)
		r.rng[u].Store(int32(n))
	}
	r.busy[n].Store(false)
}

func TestRunCoversEveryUnitOnce(t *testing.T) {
	for _, procs := range []int{1, 2} {
		for _, threads := range []int{1, 2, 3, 8} {
			for _, n := range []int{0, 1, 2, 5, 100} {
				t.Run(fmt.Sprintf("procs%d/threads%d/n%d", procs, threads, n), func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					p := New(threads)
					for round := range 50 { // helpers go through spinning, parking and waking
						r := &record{hits: make([]atomic.Int32, n), rng: make([]atomic.Int32, n)}
						p.Run(r, n)
						if r.overlap.Load() {
							t.Fatalf("round %d: two calls of one range number at once", round)
						}
						k := min(threads, n)
						for u := range n {
							if h := r.hits[u].Load(); h != 1 {
								t.Fatalf("round %d: unit %d done %d times", round, u, h)
							}
							// Unit u is in range r when r·n/k ≤ u < (r+1)·n/k.
							want := 0
							for want+1 < k && (want+1)*n/k <= u {
								want++
							}
							if got := int(r.rng[u].Load()); got != want {
								t.Fatalf("round %d: unit %d done as range %d, want %d", round, u, got, want)
							}
						}
						if round%10 == 9 {
							time.Sleep(2 * Spin) // let the helpers park
						}
					}
				})
			}
		}
	}
}

func TestRunNumberWraps(t *testing.T) {
	p, c := New(2), &count{}
	p.Run(c, 2) // start the helper
	p.s.claim.Store(uint64(1<<32-2) << 32)
	for range 5 { // Run numbers 2³²−1, 0, 1, 2, 3
		p.Run(c, 10)
	}
	if got := c.n.Load(); got != 2+5*10 {
		t.Fatalf("%d units done, want %d", got, 2+5*10)
	}
}

// count is a Task that does nothing but count units.
type count struct{ n atomic.Int64 }

func (c *count) Range(_, lo, hi int) { c.n.Add(int64(hi - lo)) }

func TestRunAllocatesNothing(t *testing.T) {
	for _, threads := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("threads%d", threads), func(t *testing.T) {
			p, c := New(threads), &count{}
			p.Run(c, 64)
			if a := testing.AllocsPerRun(100, func() { p.Run(c, 64) }); a != 0 {
				t.Fatalf("%v allocations per Run", a)
			}
			if got := c.n.Load(); got != 64*102 {
				t.Fatalf("%d units done, want %d", got, 64*102)
			}
		})
	}
}

func TestHelpersStopWhenPoolUnreachable(t *testing.T) {
	// The helpers of earlier tests' pools stop when the collector finds
	// their pools unreachable, at a time of its choosing (under qemu, after
	// this test started: 70 goroutines with this pool's three helpers,
	// against 68 before it); count from a settled number.
	before := settledGoroutines()
	func() {
		p := New(4)
		p.Run(&count{}, 8)
		if n := runtime.NumGoroutine(); n < before+3 {
			t.Fatalf("%d goroutines with a 4-thread pool, want at least %d", n, before+3)
		}
	}()
	for range 200 {
		runtime.GC()
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d goroutines after the pool became unreachable, want %d", runtime.NumGoroutine(), before)
}

// settledGoroutines collects garbage until the number of goroutines has
// not changed for ten checks 5 ms apart (two seconds at most) and returns
// it.
func settledGoroutines() int {
	n, same := runtime.NumGoroutine(), 0
	for range 400 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, same = m, 0
		} else if same++; same == 10 {
			break
		}
	}
	return n
}

// BenchmarkRun is the cost of handing a step to two threads and waiting
// for them.
func BenchmarkRun(b *testing.B) {
	p, c := New(2), &count{}
	for b.Loop() {
		p.Run(c, 2)
	}
}

// TestUse: a given Pool is used as it is; otherwise the own Pool is made
// once per thread count and kept while the count stays.
func TestUse(t *testing.T) {
	given := New(2)
	var own *Pool
	if got := Use(given, &own, 3); got != given || own != nil {
		t.Fatalf("Use with a Pool returned %p (own %p), want the Pool %p", got, own, given)
	}
	first := Use(nil, &own, 3)
	if first == nil || first != own || first.Threads() != 3 {
		t.Fatalf("Use without a Pool: %p of %d threads, own %p", first, first.Threads(), own)
	}
	if again := Use(nil, &own, 3); again != first {
		t.Error("the own Pool was made again for the same thread count")
	}
	if other := Use(nil, &own, 1); other == first || other.Threads() != 1 {
		t.Errorf("a new thread count kept the Pool of %d threads", other.Threads())
	}
	if zero, one := Use(nil, &own, 0), Use(nil, &own, 1); zero != one {
		t.Error("0 threads, which means 1, made a second Pool")
	}
	huge := Use(nil, &own, 1<<20)
	if Use(nil, &own, 1<<20) != huge {
		t.Error("a thread count above the bound made a Pool on every call")
	}
}

// order notes the ranges a Task ran, in order (one goroutine only).
type order struct{ ranges []int }

func (o *order) Range(r, _, _ int) { o.ranges = append(o.ranges, r) }

// TestWorkTakesOwnRangeFirst drives one participant of a Run by hand: it
// runs its own range first (so that the same goroutine runs range r of
// every Run when all keep up), then the others in counter order; one
// whose own range is past the Run's ranges, or that joins a finished
// Run, takes what is left or nothing.
func TestWorkTakesOwnRangeFirst(t *testing.T) {
	for _, tc := range []struct {
		name     string
		own, gen int // gen 0: the Run's number; 1: an earlier Run's
		want     []int
	}{
		{"caller", 0, 0, []int{0, 1, 2}},
		{"first helper", 1, 0, []int{1, 0, 2}},
		{"last helper", 2, 0, []int{2, 0, 1}},
		{"own range past the Run's", 3, 0, []int{0, 1, 2}},
		{"earlier Run", 1, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, o := New(4), &order{}
			s := p.s // no Run yet: no helper joins
			const gen, k = 7, 3
			s.task, s.n = o, 30
			for r := range k {
				s.taken[r].Store(free(gen))
			}
			s.claim.Store(gen<<32 | k<<16)
			s.work(uint64(gen-tc.gen), tc.own)
			if fmt.Sprint(o.ranges) != fmt.Sprint(tc.want) {
				t.Fatalf("ranges run %v, want %v", o.ranges, tc.want)
			}
			if got, want := int(s.done.Load()), len(tc.want); got != want {
				t.Fatalf("%d ranges done, want %d", got, want)
			}
		})
	}
}

// TestHoldKeepsHelpersAwake: between Runs, an idle helper parks after
// Spin, except while the Pool is held; after Release it parks again, and
// a Pool dropped while held still stops its helpers.
func TestHoldKeepsHelpersAwake(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("helpers never spin with GOMAXPROCS 1")
	}
	parked := func(p *Pool) bool { return p.s.helpers[0].sleeping.Load() }
	// eventually polls cond for up to a second.
	eventually := func(cond func() bool) bool {
		for range 200 {
			if cond() {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	p := New(2)
	p.Run(&count{}, 2)
	if !eventually(func() bool { return parked(p) }) {
		t.Fatal("an idle helper of a Pool not held did not park")
	}
	p.Hold()
	p.Run(&count{}, 2) // wakes it
	time.Sleep(20 * Spin)
	if parked(p) {
		t.Fatalf("the helper parked within %v while the Pool was held", 20*Spin)
	}
	p.Release()
	if !eventually(func() bool { return parked(p) }) {
		t.Fatal("the helper did not park after Release")
	}

	before := runtime.NumGoroutine()
	func() {
		q := New(2)
		q.Hold()
		q.Run(&count{}, 2)
	}()
	if !eventually(func() bool { runtime.GC(); return runtime.NumGoroutine() < before+1 }) {
		t.Fatalf("%d goroutines after a held Pool became unreachable, want %d", runtime.NumGoroutine(), before)
	}
}
