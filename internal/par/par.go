// Package par runs one piece of work split into contiguous ranges over a
// fixed set of goroutines: the caller's and the helpers of a Pool.
//
// A forward pass hands tens of short steps (a matrix product, a LayerNorm,
// attention heads) to its threads one after another. Starting goroutines
// for each step allocates, and waking a parked goroutine costs the
// scheduler microseconds, which adds up against steps of tens of
// microseconds. A Pool's helpers therefore wait for the next step by
// spinning for a short while (Spin) before they park, and the caller does
// the same while it waits for them; with one P (GOMAXPROCS 1) nobody spins.
// A burst of Runs whose gaps may be longer (a step whose ranges finish far
// apart, one thread then idle until the next step) is bracketed by Hold and
// Release: in between, nobody parks.
//
// The split of a Run into ranges is fixed by its size and the Pool's
// thread count, so a Task that writes each range's results in place gives
// the same results whoever runs which range. Ranges are claimed: the
// caller and the helpers take the next unclaimed range until none is
// left, so a helper that the operating system does not schedule in time
// delays nobody. Each first tries its own range, though (the caller range
// 0, helper i range i+1), so that when all keep up, range r of every Run
// is done by the same goroutine: steps that split the same rows the same
// way then find them in the cache of the core that wrote them.
//
// Concurrency: a Pool runs one Run at a time: Run must not be called
// concurrently, nor from inside a Task of the same Pool. Helpers start with
// the first Run that needs them and stop once the Pool is unreachable.
package par

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Spin is how long an idle helper, or a caller waiting for its helpers,
// polls before it parks.
const Spin = 50 * time.Microsecond

// Task is work over units that can be split into ranges.
type Task interface {
	// Range does units [lo, hi), range number r of the current Run. No
	// two calls with the same r run at once, so r can select scratch
	// memory; which goroutine runs a range is not fixed.
	Range(r, lo, hi int)
}

// Pool is the caller's goroutine and up to Threads()-1 helper goroutines.
// The zero value is not usable; make Pools with New.
type Pool struct {
	threads int
	s       *state
}

// state is what the helpers share with the Pool; they hold no reference to
// the Pool itself, so that it can become unreachable and stop them.
type state struct {
	// claim is the current Run's number (bits 32–63), its range count
	// (bits 16–31) and its next unclaimed range (bits 0–15). The fields
	// below are written by Run before it publishes a new number and read
	// only by whoever holds a claimed range of that number, which Run
	// waits for.
	claim atomic.Uint64
	// taken[r] is free(gen) until range r of Run number gen is claimed,
	// then claimed(gen) (Run sets it before it publishes gen).
	taken   []atomic.Uint64
	task    Task
	n       int
	done    atomic.Int32  // ranges of the current Run finished
	waiting atomic.Bool   // the caller sleeps on wake
	held    atomic.Int32  // Holds not yet Released: nobody parks
	wake    chan struct{} // buffered 1: whoever finishes the last range wakes a sleeping caller
	helpers []*helper
}

// helper is one helper goroutine's parking place.
type helper struct {
	sleeping atomic.Bool
	wake     chan struct{} // buffered 1; closed when the Pool is gone
}

// maxThreads bounds a Pool's threads (the range fields of state.claim).
const maxThreads = 1<<16 - 1

// Use returns p when it is not nil, else *own, which it first replaces
// with a new Pool of threads goroutines when it is nil or has another
// count: the Pool of a workspace that may be given one (p) or make its
// own of its Threads.
func Use(p *Pool, own **Pool, threads int) *Pool {
	if p != nil {
		return p
	}
	if *own == nil || (*own).Threads() != min(maxThreads, max(1, threads)) {
		*own = New(threads)
	}
	return *own
}

// New returns a Pool of threads goroutines in all (values below 1 mean 1,
// and at most 65535 are used).
func New(threads int) *Pool {
	p := &Pool{threads: min(maxThreads, max(1, threads)), s: &state{wake: make(chan struct{}, 1)}}
	p.s.taken = make([]atomic.Uint64, p.threads)
	runtime.AddCleanup(p, func(s *state) {
		s.held.Store(0) // a Hold never Released: the helpers park and stop
		for _, h := range s.helpers {
			close(h.wake)
		}
	}, p.s)
	return p
}

// Hold keeps the Pool's idle helpers, and its caller waiting for them,
// polling instead of parking until the matching Release, for a burst of
// Runs such as one forward pass: waking a parked helper costs tens of
// microseconds at the start of the next Run. They poll on other cores
// only while the burst lasts. Holds nest; Hold and Release are called by
// the goroutine that calls Run.
func (p *Pool) Hold() { p.s.held.Add(1) }

// Release ends a Hold.
func (p *Pool) Release() { p.s.held.Add(-1) }

// Threads is the number of goroutines a Run may use, the caller's included.
func (p *Pool) Threads() int { return p.threads }

// Run splits units [0, n) into k = min(Threads, n) contiguous ranges of
// near-equal size, range r being [r·n/k, (r+1)·n/k), runs them on the
// calling goroutine and the helpers, and returns when all are done. With
// one range it calls task.Range(0, 0, n) directly.
func (p *Pool) Run(task Task, n int) {
	k := min(p.threads, n)
	if k <= 1 {
		if n > 0 {
			task.Range(0, 0, n)
		}
		return
	}
	s := p.s
	for len(s.helpers) < p.threads-1 {
		h := &helper{wake: make(chan struct{}, 1)}
		s.helpers = append(s.helpers, h)
		go s.serve(h, len(s.helpers))
	}
	s.task, s.n = task, n
	s.done.Store(0)
	gen := (s.claim.Load()>>32 + 1) & (1<<32 - 1) // wraps after 2³² Runs
	for r := range k {
		s.taken[r].Store(free(gen))
	}
	s.claim.Store(gen<<32 | uint64(k)<<16)
	for _, h := range s.helpers[:k-1] {
		if h.sleeping.Load() && h.sleeping.CompareAndSwap(true, false) {
			select {
			case h.wake <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
	}
	s.work(gen, 0)
	s.wait(k)
	s.task = nil
}

// work runs ranges of Run number gen until none is left unclaimed: first
// range own, then those the claim counter hands out that nobody took yet.
func (s *state) work(gen uint64, own int) {
	if c := s.claim.Load(); c>>32 == gen && own < int(c>>16&0xffff) {
		s.take(gen, own)
	}
	for {
		c := s.claim.Load()
		r, k := int(c&0xffff), int(c>>16&0xffff)
		if c>>32 != gen || r >= k {
			return
		}
		if s.claim.CompareAndSwap(c, c+1) {
			s.take(gen, r)
		}
	}
}

// take runs range r of Run number gen unless it is claimed already.
func (s *state) take(gen uint64, r int) {
	if !s.taken[r].CompareAndSwap(free(gen), claimed(gen)) {
		return
	}
	n, k := s.n, int(s.claim.Load()>>16&0xffff)
	s.task.Range(r, r*n/k, (r+1)*n/k)
	if int(s.done.Add(1)) == k && s.waiting.CompareAndSwap(true, false) {
		s.wake <- struct{}{}
	}
}

// free and claimed are the values of state.taken for a range of Run
// number gen before and after it is claimed.
func free(gen uint64) uint64    { return gen << 1 }
func claimed(gen uint64) uint64 { return gen<<1 | 1 }

// wait returns when every range of the current Run is done.
func (s *state) wait(ranges int) {
	k := int32(ranges)
	if runtime.GOMAXPROCS(0) > 1 {
		for i, start := 0, time.Now(); s.done.Load() != k; i++ {
			if i%256 == 255 && time.Since(start) > Spin && s.held.Load() == 0 {
				break
			}
		}
	}
	if s.done.Load() == k {
		return
	}
	s.waiting.Store(true)
	if s.done.Load() == k && s.waiting.CompareAndSwap(true, false) {
		return
	}
	<-s.wake // whoever finished the last range claimed waiting and signals
}

// serve is helper h's loop: it joins every Run until the Pool is gone,
// its own range being own.
func (s *state) serve(h *helper, own int) {
	var seen uint64
	for {
		spin := runtime.GOMAXPROCS(0) > 1
		for i, start := 0, time.Now(); s.claim.Load()>>32 == seen; i++ {
			if spin && (i%256 != 255 || time.Since(start) <= Spin || s.held.Load() > 0) {
				continue
			}
			h.sleeping.Store(true)
			if s.claim.Load()>>32 != seen {
				h.sleeping.Store(false)
				break
			}
			if _, ok := <-h.wake; !ok {
				return
			}
			h.sleeping.Store(false)
			i, start = 0, time.Now()
		}
		seen = s.claim.Load() >> 32
		s.work(seen, own)
	}
}
