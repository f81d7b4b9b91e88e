package evaluator

import (
	"context"
	"sync"
)

// Gate keeps latency measurements that need the machine quiet alone on it.
// Work that may run alongside other work (building a student, scoring its
// accuracy) holds the gate shared; a measurement on a device that measures
// alone (devices.MeasuresAlone) holds it exclusively, which waits until no
// shared holder is left and keeps new ones waiting until it is released.
// So such measurements never overlap each other or the evaluators' other
// work; a device that does not measure alone (a remote one) measures
// without the gate, beside everything else.
//
// The Evaluator holds it shared while it builds and scores a student,
// releases it, then takes it exclusively around the latency measurement
// only (never Exclusive while holding Shared: that waits for itself).
// Several evaluators on one machine share one Gate (WithGate).
//
// A waiting Exclusive has priority over new Shared holders. The zero Gate
// is ready to use; a nil *Gate grants everything at once. Safe for
// concurrent use.
type Gate struct {
	mu        sync.Mutex
	shared    int
	exclusive bool
	waiting   int           // Exclusive callers waiting
	changed   chan struct{} // closed and replaced on every release
}

// Shared acquires the gate shared, waiting while a measurement runs or
// waits. It returns the release function (safe to call more than once), or
// ctx's error if ctx ends first.
func (g *Gate) Shared(ctx context.Context) (release func(), err error) {
	return g.acquire(ctx, false)
}

// Exclusive acquires the gate alone, waiting until every shared holder has
// released it. It returns the release function (safe to call more than
// once), or ctx's error if ctx ends first.
func (g *Gate) Exclusive(ctx context.Context) (release func(), err error) {
	return g.acquire(ctx, true)
}

func (g *Gate) acquire(ctx context.Context, exclusive bool) (func(), error) {
	if g == nil {
		return func() {}, nil
	}
	g.mu.Lock()
	if exclusive {
		g.waiting++
	}
	for {
		if exclusive && !g.exclusive && g.shared == 0 {
			g.waiting--
			g.exclusive = true
			break
		}
		if !exclusive && !g.exclusive && g.waiting == 0 {
			g.shared++
			break
		}
		ch := g.wait()
		g.mu.Unlock()
		select {
		case <-ch:
			g.mu.Lock()
		case <-ctx.Done():
			g.mu.Lock()
			if exclusive {
				g.waiting--
				g.broadcast() // shared callers may proceed now
			}
			g.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			if exclusive {
				g.exclusive = false
			} else {
				g.shared--
			}
			g.broadcast()
			g.mu.Unlock()
		})
	}, nil
}

// wait returns the channel closed on the next change; g.mu is held.
func (g *Gate) wait() chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

// broadcast wakes every waiter; g.mu is held.
func (g *Gate) broadcast() {
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}
