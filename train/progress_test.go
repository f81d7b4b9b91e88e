package train

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Unix(0, 0)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestProgressLog(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 10, 0, false, 4)
	p.now = fakeClock(time.Second)
	p.start = time.Unix(0, 0)
	for s := 1; s <= 10; s++ {
		p.Step(s, 1, 3, 4, 100)
		if s == 5 {
			p.Eval(5, 0.75, true)
		}
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 { // steps 4, eval, 8, 10
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{"step 4/10", "loss 1.0000", "train acc 0.750", "tok/s", "ETA"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("line %q lacks %q", lines[0], want)
		}
	}
	if lines[1] != "step 5: dev accuracy 0.7500 (best)" || !strings.Contains(lines[2], "dev 0.7500") || !strings.Contains(lines[3], "step 10/10") {
		t.Errorf("lines %q", lines)
	}
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Error("log output has terminal control characters")
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 4, 0, true, 1)
	p.now = fakeClock(time.Second)
	for s := 1; s <= 4; s++ {
		p.Step(s, 0.5, 1, 2, 10)
	}
	p.Printf("hello")
	p.Done()
	out := buf.String()
	if !strings.Contains(out, "\r\x1b[K[") || !strings.Contains(out, "] step 4/4") || !strings.Contains(out, "\r\x1b[Khello\n") || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output %q", out)
	}
	if strings.Count(out, "\n") != 2 { // the message and the final newline: the bar redraws in place
		t.Errorf("%d newlines in %q", strings.Count(out, "\n"), out)
	}
}

func TestProgressLoss(t *testing.T) {
	p := NewProgress(&bytes.Buffer{}, 100, 0, false, 100)
	if !math.IsNaN(p.Loss()) {
		t.Error("loss before any step")
	}
	p.Step(1, 2, 0, 1, 1)
	if math.Abs(p.Loss()-2) > 1e-12 { // bias-corrected: the first value exactly
		t.Errorf("loss %v after one step of 2", p.Loss())
	}
	p.Step(2, 4, 0, 1, 1)
	if l := p.Loss(); l <= 2 || l >= 4 {
		t.Errorf("smoothed loss %v not between 2 and 4", l)
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}

func TestHumanRate(t *testing.T) {
	for in, want := range map[float64]string{12: "12", 1500: "1.5k", 2.5e6: "2.5M"} {
		if got := humanRate(in); got != want {
			t.Errorf("humanRate(%v) = %q, want %q", in, got, want)
		}
	}
}
