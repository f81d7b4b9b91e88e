package evaluator

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateExcludes(t *testing.T) {
	var g Gate
	ctx := context.Background()
	var shared, exclusive, bad atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if i%3 == 0 {
					rel, _ := g.Exclusive(ctx)
					if exclusive.Add(1) > 1 || shared.Load() > 0 {
						bad.Add(1)
					}
					time.Sleep(10 * time.Microsecond)
					exclusive.Add(-1)
					rel()
					rel() // idempotent
				} else {
					rel, _ := g.Shared(ctx)
					shared.Add(1)
					if exclusive.Load() > 0 {
						bad.Add(1)
					}
					time.Sleep(10 * time.Microsecond)
					shared.Add(-1)
					rel()
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.Errorf("%d overlaps", bad.Load())
	}
}

func TestGateCancel(t *testing.T) {
	var g Gate
	rel, err := g.Shared(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Exclusive(ctx); err == nil {
		t.Fatal("Exclusive granted while shared is held")
	}
	// The abandoned Exclusive must not keep new Shared holders out.
	rel2, err := g.Shared(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rel2()
	rel()
	relx, err := g.Exclusive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	relx()
	var nilGate *Gate
	r, err := nilGate.Exclusive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
}

func TestGateWaitingExclusiveBlocksNewShared(t *testing.T) {
	var g Gate
	rel, _ := g.Shared(context.Background())
	got := make(chan struct{})
	go func() {
		r, _ := g.Exclusive(context.Background())
		close(got)
		time.Sleep(5 * time.Millisecond)
		r()
	}()
	time.Sleep(5 * time.Millisecond) // let Exclusive start waiting
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := g.Shared(ctx); err == nil {
		t.Error("new Shared granted while Exclusive waits")
	}
	rel()
	<-got
	r, err := g.Shared(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
}
