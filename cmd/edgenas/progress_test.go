package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/search"
)

func TestSearchProgress(t *testing.T) {
	clock := time.Unix(0, 0)
	events := func(p *searchProgress) {
		for i := 1; i <= 6; i++ {
			clock = clock.Add(time.Second)
			p.event(search.Event{Kind: search.EventEvaluation, Evaluations: i, Candidate: &search.Candidate{Score: search.Score{Reward: float64(i) / 10, Feasible: true}}})
			if i%3 == 0 {
				p.event(search.Event{Kind: search.EventGeneration, Generation: i/3 - 1, Evaluations: i, FrontSize: i / 3, Hypervolume: 0.5,
					NoiseFrontSize: 1, NoiseHypervolume: 0.4 + 0.1*float64(i/6)})
			}
		}
		clock = clock.Add(time.Second)
		p.event(search.Event{Kind: search.EventEvaluation, Evaluations: 7, Candidate: &search.Candidate{Score: search.Score{Reward: 0.05, Feasible: true}}})
		p.done()
	}
	t.Run("terminal", func(t *testing.T) {
		var b bytes.Buffer
		p := newSearchProgress(&b, true, 10)
		p.now = func() time.Time { return clock }
		events(p)
		out := b.String()
		for _, want := range []string{"\r\x1b[K", "3/10 evaluations  best reward 0.3000  front 1  hypervolume 0.4 (exact 0.5)",
			"6/10 evaluations  best reward 0.6000  front 1 (exact 2)  hypervolume 0.5  ETA ≤ 3s", "7/10 evaluations"} {
			if !strings.Contains(out, want) {
				t.Errorf("lacks %q:\n%q", want, out)
			}
		}
		if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
			t.Errorf("a terminal gets one line redrawn in place: %q", out)
		}
	})
	t.Run("log", func(t *testing.T) {
		var b bytes.Buffer
		p := newSearchProgress(&b, false, 10)
		p.now = func() time.Time { return clock }
		events(p)
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "generation 0: 3/10 evaluations") || !strings.HasPrefix(lines[2], "search: 7/10 evaluations") {
			t.Errorf("want one line per generation and a final one:\n%s", b.String())
		}
	})
}
