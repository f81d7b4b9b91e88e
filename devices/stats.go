package devices

import (
	"fmt"
	"slices"
	"time"
)

// Stats summarizes repeated latency measurements of one workload.
type Stats struct {
	Runs   int           `json:"runs"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
	Min    time.Duration `json:"min_ns"`
	Max    time.Duration `json:"max_ns"`
	// MAD is the median absolute deviation from the median.
	MAD time.Duration `json:"mad_ns"`
}

// Summarize computes Stats of samples; it does not modify them. It returns
// the zero Stats for no samples.
func Summarize(samples []time.Duration) Stats {
	n := len(samples)
	if n == 0 {
		return Stats{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	med := quantile(s, 0.5)
	dev := make([]time.Duration, n)
	for i, v := range s {
		dev[i] = max(v-med, med-v)
	}
	slices.Sort(dev)
	return Stats{Runs: n, Median: med, P90: quantile(s, 0.9), Min: s[0], Max: s[n-1], MAD: quantile(dev, 0.5)}
}

// quantile interpolates linearly between the order statistics of sorted s.
func quantile(s []time.Duration, q float64) time.Duration {
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	frac := pos - float64(i)
	return s[i] + time.Duration(frac*float64(s[i+1]-s[i]))
}

// RelSpread is MAD/Median, the relative spread used to decide whether a
// measurement can be trusted; 0 when the median is 0.
func (s Stats) RelSpread() float64 {
	if s.Median <= 0 {
		return 0
	}
	return float64(s.MAD) / float64(s.Median)
}

// String formats the stats in milliseconds.
func (s Stats) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return fmt.Sprintf("median %.3f ms (min %.3f, p90 %.3f, max %.3f, MAD %.1f%%, %d runs)",
		ms(s.Median), ms(s.Min), ms(s.P90), ms(s.Max), 100*s.RelSpread(), s.Runs)
}
