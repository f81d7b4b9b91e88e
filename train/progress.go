package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal), so that
// progress can be redrawn in place; anything else (a file, a pipe, a
// buffer) gets plain log lines.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Progress reports training progress: on a terminal a one-line bar redrawn
// in place (step/total, smoothed loss and training accuracy, dev accuracy,
// tokens/s, ETA), else a
// plain log line every few steps. It is not safe for concurrent use.
type Progress struct {
	w         io.Writer
	tty       bool
	every     int
	total     int
	startStep int
	start     time.Time
	now       func() time.Time

	step     int
	ema      float64 // exponential moving average of the loss, biased
	emaAcc   float64 // the same of the training accuracy
	emaN     int
	tokens   int64
	dev      float64 // NaN before the first evaluation
	lastDraw time.Time
	drawn    bool // a bar is on the current line

	// label starts the status line; lossName and accName name its loss and
	// accuracy ("" means "loss" and "train acc").
	label, lossName, accName string
}

// lossSmoothing is the decay of the loss average shown.
const lossSmoothing = 0.98

// redrawInterval bounds how often the terminal bar is redrawn.
const redrawInterval = 100 * time.Millisecond

// NewProgress returns a reporter writing to w for a run of total steps that
// starts (or resumes) after startStep steps: a bar redrawn in place when tty
// is set, else a log line every `every` steps (at least 1).
func NewProgress(w io.Writer, total, startStep int, tty bool, every int) *Progress {
	return &Progress{w: w, tty: tty, every: max(1, every), total: total, startStep: startStep,
		step: startStep, dev: math.NaN(), now: time.Now, start: time.Now()}
}

// Loss returns the smoothed training loss, NaN before the first step.
func (p *Progress) Loss() float64 {
	if p.emaN == 0 {
		return math.NaN()
	}
	return p.ema / (1 - math.Pow(lossSmoothing, float64(p.emaN)))
}

// Step records optimizer step number step: its loss, the number of rows
// of its batch classified right of rows, and its number of real tokens; it
// reports when due.
func (p *Progress) Step(step int, loss float64, correct, rows, tokens int) {
	p.step = step
	p.ema = lossSmoothing*p.ema + (1-lossSmoothing)*loss
	if rows > 0 {
		p.emaAcc = lossSmoothing*p.emaAcc + (1-lossSmoothing)*float64(correct)/float64(rows)
	}
	p.emaN++
	p.tokens += int64(tokens)
	now := p.now()
	switch {
	case p.tty:
		if step == p.total || now.Sub(p.lastDraw) >= redrawInterval {
			p.lastDraw = now
			p.draw()
		}
	case step%p.every == 0 || step == p.total:
		fmt.Fprintln(p.w, p.status())
	}
}

// Eval records a dev accuracy measured after step and prints it on a line
// of its own.
func (p *Progress) Eval(step int, acc float64, best bool) {
	p.dev = acc
	mark := ""
	if best {
		mark = " (best)"
	}
	p.Printf("step %d: dev accuracy %.4f%s", step, acc, mark)
}

// Printf prints a message on a line of its own, keeping the bar below it on
// a terminal.
func (p *Progress) Printf(format string, a ...any) {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, format+"\n", a...)
	if p.tty && p.drawn {
		p.draw()
	}
}

// Done ends the bar's line on a terminal.
func (p *Progress) Done() {
	if p.tty && p.drawn {
		p.draw()
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// barWidth is the number of cells of the terminal bar.
const barWidth = 24

func (p *Progress) draw() {
	frac := 0.0
	if p.total > 0 {
		frac = math.Min(1, float64(p.step)/float64(p.total))
	}
	full := int(frac * barWidth)
	bar := strings.Repeat("=", full)
	if full < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-full-1)
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s] %s", bar, p.status())
	p.drawn = true
}

// status is the one-line summary: step/total, loss, dev accuracy, tokens/s,
// ETA.
func (p *Progress) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sstep %d/%d", p.label, p.step, p.total)
	if l := p.Loss(); !math.IsNaN(l) {
		lossName, accName := p.lossName, p.accName
		if lossName == "" {
			lossName, accName = "loss", "train acc"
		}
		fmt.Fprintf(&b, "  %s %.4f  %s %.3f", lossName, l, accName, p.emaAcc/(1-math.Pow(lossSmoothing, float64(p.emaN))))
	}
	if !math.IsNaN(p.dev) {
		fmt.Fprintf(&b, "  dev %.4f", p.dev)
	}
	el := p.now().Sub(p.start).Seconds()
	done := p.step - p.startStep
	if el > 0 && done > 0 {
		fmt.Fprintf(&b, "  %s tok/s", humanRate(float64(p.tokens)/el))
		left := time.Duration(float64(p.total-p.step) * el / float64(done) * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", left.Round(time.Second))
	}
	return b.String()
}

// humanRate formats a rate with a k or M suffix.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
