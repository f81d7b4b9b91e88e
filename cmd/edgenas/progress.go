package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/edgenas/edgenas/search"
)

// searchProgress shows a search's progress: on a terminal one status line
// redrawn in place after every evaluation (evaluations of the budget, best
// reward, front size, hypervolume, ETA), otherwise that status as one line
// per generation. It is not safe for concurrent use (search events come
// from one goroutine).
type searchProgress struct {
	w      io.Writer
	tty    bool
	budget int
	now    func() time.Time

	start      time.Time
	startEvals int // evaluations done before this process (a resumed run)
	started    bool
	evals      int
	best       float64
	front      int     // the reported (noise-aware) front's size
	hv         float64 // and hypervolume
	exactFront int
	exactHV    float64
	lastDraw   time.Time
	drawn      bool
	printed    int // evaluations in the last line printed (not on a terminal)
}

func newSearchProgress(w io.Writer, tty bool, budget int) *searchProgress {
	return &searchProgress{w: w, tty: tty, budget: budget, now: time.Now, best: math.NaN()}
}

// event records one search event and reports when due.
func (p *searchProgress) event(e search.Event) {
	if !p.started {
		p.started, p.start, p.startEvals = true, p.now(), max(0, e.Evaluations-1)
	}
	p.evals = e.Evaluations
	switch e.Kind {
	case search.EventEvaluation:
		if c := e.Candidate; c != nil && c.Feasible && (math.IsNaN(p.best) || c.Reward > p.best) {
			p.best = c.Reward
		}
		if p.tty {
			if now := p.now(); now.Sub(p.lastDraw) >= 100*time.Millisecond || p.evals >= p.budget {
				p.lastDraw = now
				p.draw()
			}
		}
	case search.EventGeneration:
		p.exactFront, p.exactHV = e.FrontSize, e.Hypervolume
		p.front, p.hv = e.NoiseFrontSize, e.NoiseHypervolume
		if p.front == 0 { // no noise-aware front (every member infeasible)
			p.front, p.hv = e.FrontSize, e.Hypervolume
		}
		if p.tty {
			p.draw()
		} else {
			fmt.Fprintf(p.w, "generation %d: %s\n", e.Generation, p.status())
			p.printed = p.evals
		}
	}
}

// done ends the status line on a terminal, or prints the final status
// when evaluations came after the last generation's line.
func (p *searchProgress) done() {
	switch {
	case p.tty && p.drawn:
		p.draw()
		fmt.Fprintln(p.w)
		p.drawn = false
	case !p.tty && p.started && p.evals != p.printed:
		fmt.Fprintf(p.w, "search: %s\n", p.status())
	}
}

func (p *searchProgress) draw() {
	fmt.Fprintf(p.w, "\r\x1b[K%s", p.status())
	p.drawn = true
}

// status is the one-line summary.
func (p *searchProgress) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d evaluations", p.evals, p.budget)
	if !math.IsNaN(p.best) {
		fmt.Fprintf(&b, "  best reward %.4f", p.best)
	}
	fmt.Fprintf(&b, "  front %d", p.front)
	if p.exactFront != p.front {
		fmt.Fprintf(&b, " (exact %d)", p.exactFront)
	}
	fmt.Fprintf(&b, "  hypervolume %.4g", p.hv)
	if p.exactHV != p.hv {
		fmt.Fprintf(&b, " (exact %.4g)", p.exactHV)
	}
	if done, el := p.evals-p.startEvals, p.now().Sub(p.start); done > 0 && el > 0 && p.evals < p.budget {
		// At most: patience or an exhausted space may stop the search early.
		if left := time.Duration(float64(p.budget-p.evals) * float64(el) / float64(done)); left >= time.Second {
			fmt.Fprintf(&b, "  ETA ≤ %s", left.Round(time.Second))
		}
	}
	return b.String()
}
