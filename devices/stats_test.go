package devices

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name    string
		samples []time.Duration
		want    Stats
	}{
		{"empty", nil, Stats{}},
		{"one", []time.Duration{5 * ms}, Stats{Runs: 1, Median: 5 * ms, P90: 5 * ms, Min: 5 * ms, Max: 5 * ms}},
		{
			// sorted: 1 2 3 4 100; median 3; deviations 2 1 0 1 97 -> sorted 0 1 1 2 97 -> MAD 1;
			// p90 at position 3.6 -> 4 + 0.6*(100-4) = 61.6
			"odd with outlier",
			[]time.Duration{4 * ms, 100 * ms, 1 * ms, 3 * ms, 2 * ms},
			Stats{Runs: 5, Median: 3 * ms, P90: 61600 * time.Microsecond, Min: ms, Max: 100 * ms, MAD: ms},
		},
		{
			// sorted 1 2 3 4: median at 1.5 -> 2.5; deviations 1.5 .5 .5 1.5 -> MAD 1.0
			"even",
			[]time.Duration{2 * ms, 1 * ms, 4 * ms, 3 * ms},
			Stats{Runs: 4, Median: 2500 * time.Microsecond, P90: 3700 * time.Microsecond, Min: ms, Max: 4 * ms, MAD: ms},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.samples); got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSummarizeKeepsInput(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 {
		t.Fatal("Summarize reordered its input")
	}
}

func TestRelSpread(t *testing.T) {
	s := Stats{Median: 200, MAD: 10}
	if got := s.RelSpread(); got != 0.05 {
		t.Fatalf("RelSpread = %v", got)
	}
	if (Stats{}).RelSpread() != 0 {
		t.Fatal("zero stats should have zero spread")
	}
}
