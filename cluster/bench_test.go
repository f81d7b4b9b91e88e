package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgenas/edgenas/pipeline"
)

// BenchmarkQueue1000 sends 1,000 evaluations (an accuracy and a latency
// job each) through the queue (an embedded server on loopback, 2
// in-process workers with a trivial evaluator, 64 evaluations in flight)
// and reports evaluations per second ("jobs/s", as before the split) and
// the 99th percentile of the dispatch latency (publish to filed Result).
func BenchmarkQueue1000(b *testing.B) {
	const jobs, inflight = 1000, 64
	coordEv := newFakeEvals("t")
	c := startCluster(b, coordEv, newFakeEvals("t"), pipeline.ClusterConfig{}, 2)
	ctx := context.Background()
	var lat []time.Duration
	var elapsed time.Duration
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		t0 := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan int)
		for range inflight {
			wg.Go(func() {
				for i := range next {
					s := time.Now()
					if _, err := c.Evaluate(ctx, fakeArch(n*jobs+i)); err != nil {
						b.Error(err)
					}
					mu.Lock()
					lat = append(lat, time.Since(s))
					mu.Unlock()
				}
			})
		}
		for i := range jobs {
			next <- i
		}
		close(next)
		wg.Wait()
		elapsed += time.Since(t0)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
