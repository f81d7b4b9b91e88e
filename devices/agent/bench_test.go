package agent

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/transformer"
)

// overheadPairs is how many local and remote measurements
// BenchmarkRemoteOverhead interleaves per iteration.
const overheadPairs = 20

// overheadProtocol is the local devices' measurement protocol in
// BenchmarkRemoteOverhead, the agent's included.
var overheadProtocol = local.Config{Blocks: 3}

// BenchmarkRemoteOverhead measures what going through an agent on
// loopback adds to a measurement: a BERT-mini-shaped student (vocabulary
// 30522, random weights) at batch 1, seq 128, one thread, measured
// overheadPairs times locally and through an in-process agent, rotating
// the order. It reports the p99 and median of the relative difference of
// the reported medians (remote/local − 1, in %; the target is p99 ≤ 5 %),
// the same for a second local device against the first (the machine's
// own noise floor, measured in the same run), and the wall-clock time a
// remote measurement adds (sending the model, loading it, answering).
// Every device measures with the protocol of overheadProtocol: the
// fastest of three blocks, the local device's setting for a shared
// machine (device.local.blocks, edgenas agent --blocks).
func BenchmarkRemoteOverhead(b *testing.B) {
	cfg, err := transformer.ShapeConfig("mini", 30522)
	if err != nil {
		b.Fatal(err)
	}
	m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(5, 6)), 0.02)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewServer(ServerConfig{Token: testToken, TempDir: b.TempDir(), Local: overheadProtocol})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	remote := newClient(b, hs.URL, Config{})
	loc, err := local.New(overheadProtocol)
	if err != nil {
		b.Fatal(err)
	}
	loc2, err := local.New(overheadProtocol)
	if err != nil {
		b.Fatal(err)
	}
	w := devices.Workload{SeqLen: 128, Runs: 15}
	ctx := context.Background()
	measure := func(d devices.Device) (devices.Measurement, time.Duration) {
		start := time.Now()
		r, err := d.Measure(ctx, m, w)
		if err != nil {
			b.Fatal(err)
		}
		return r, time.Since(start)
	}
	devs := []devices.Device{loc, remote, loc2}
	for _, d := range devs {
		measure(d) // the first measurement sets a device's drift baseline
	}
	var rel, noise, wall []float64
	for b.Loop() {
		for i := range overheadPairs {
			var med [3]time.Duration
			var took [3]time.Duration
			for j := range devs {
				k := (i + j) % len(devs)
				var r devices.Measurement
				r, took[k] = measure(devs[k])
				med[k] = r.Median
			}
			rel = append(rel, 100*(float64(med[1])/float64(med[0])-1))
			noise = append(noise, 100*(float64(med[2])/float64(med[0])-1))
			wall = append(wall, float64(took[1]-took[0])/1e6)
		}
	}
	for _, s := range [][]float64{rel, noise, wall} {
		slices.Sort(s)
	}
	b.ReportMetric(quantile(rel, 0.99), "p99_overhead_%")
	b.ReportMetric(quantile(rel, 0.5), "median_overhead_%")
	b.ReportMetric(quantile(noise, 0.99), "p99_local_vs_local_%")
	b.ReportMetric(quantile(noise, 0.5), "median_local_vs_local_%")
	b.ReportMetric(quantile(wall, 0.5), "median_added_wall_ms")
}

// quantile interpolates linearly between the order statistics of sorted s.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}
