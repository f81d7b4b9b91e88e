package search

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
)

// unavailable is what an evaluator returns when its device is unreachable.
var unavailable = fmt.Errorf("%w: a1 on agent: %w", evaluator.ErrMeasure, devices.ErrUnavailable)

func TestRunRetriesTransientFailures(t *testing.T) {
	cfg := Config{Budget: Budget{MaxEvaluations: 6}, Retry: Retry{InitialBackoff: time.Second}}
	probe := run(t, cfg, &fakeEval{})
	key := probe.Candidates[2].Key
	for _, tc := range []struct {
		name    string
		err     error
		teacher bool // the teacher's evaluation fails (no WithTeacher)
	}{
		{"device unavailable", unavailable, false},
		{"device failed to measure", fmt.Errorf("%w: a1 on local: forward pass: out of memory", evaluator.ErrMeasure), false},
		{"teacher's device unavailable", unavailable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := testSpace(t)
			failing, opts := key, []Option{WithTeacher(teacherResult(sp))}
			if tc.teacher {
				failing, opts = sp.TeacherArch().Key(), nil
			}
			f := &fakeEval{fail: func(k string, n int) error {
				if k == failing && n <= 2 {
					return tc.err
				}
				return nil
			}}
			reg := prometheus.NewPedanticRegistry()
			var s sleeps
			out, err := Run(context.Background(), cfg, sp, f, append(opts, WithRegisterer(reg), s.option())...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(trace(out), trace(probe)) {
				t.Errorf("the run with failures differs from the run without:\n%v\n%v", trace(out), trace(probe))
			}
			if n := f.seen[failing]; n != 3 {
				t.Errorf("the failing arch was evaluated %d times, want 3 (two failures, one success)", n)
			}
			if !slices.Equal(s.d, []time.Duration{time.Second, 2 * time.Second}) {
				t.Errorf("backoffs %v, want [1s 2s]", s.d)
			}
			if got := gather(t, reg)["edgenas_search_evaluation_retries_total"]; got != 2 {
				t.Errorf("retries counted %v, want 2", got)
			}
		})
	}
}

func TestRunGivesUpAfterRetryBound(t *testing.T) {
	cfg := Config{Budget: Budget{MaxEvaluations: 6}, Retry: Retry{MaxAttempts: 4, InitialBackoff: time.Second, MaxBackoff: 3 * time.Second}}
	probe := run(t, cfg, &fakeEval{})
	key := probe.Candidates[2].Key
	sp := testSpace(t)
	st := openStore(t, filepath.Join(t.TempDir(), "run.db"))
	f := &fakeEval{fail: failKey(key, unavailable)}
	var s sleeps
	out, err := Run(context.Background(), cfg, sp, f, WithStore(st), WithTeacher(teacherResult(sp)), s.option())
	if !errors.Is(err, devices.ErrUnavailable) || !strings.Contains(err.Error(), "gave up after 4 attempts") || !strings.Contains(err.Error(), key) {
		t.Fatalf("got %v, want devices.ErrUnavailable after 4 attempts naming %s", err, key)
	}
	if n := f.seen[key]; n != 4 {
		t.Errorf("evaluated %d times, want 4", n)
	}
	if !slices.Equal(s.d, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}) {
		t.Errorf("backoffs %v, want [1s 2s 3s] (doubling, capped)", s.d)
	}
	if out == nil || out.Evaluations != 2 || slices.ContainsFunc(out.Candidates, func(c Candidate) bool { return c.Key == key }) {
		t.Fatalf("outcome %+v: want the 2 evaluations before the failing one, and no result for it", out)
	}
	// Everything completed was saved: the run resumes once the device is
	// back and finds what a run without the outage finds.
	saved, err := LoadOutcome(st, DefaultRunID)
	if err != nil || saved.Evaluations != out.Evaluations {
		t.Fatalf("saved outcome: %v evaluations, %v", saved, err)
	}
	back := &fakeEval{}
	resumed, err := Run(context.Background(), cfg, sp, back, WithStore(st), s.option())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(trace(resumed), trace(probe)) {
		t.Errorf("resumed run differs:\n%v\n%v", trace(resumed), trace(probe))
	}
	if n := back.calls.Load(); n != 4 {
		t.Errorf("the resumed run made %d calls, want the 4 not done", n)
	}
}

func TestRunDoesNotRetryPermanentFailures(t *testing.T) {
	probe := run(t, Config{Budget: Budget{MaxEvaluations: 6}}, &fakeEval{})
	key := probe.Candidates[2].Key
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"build failed", fmt.Errorf("%w: %s: no such layer", evaluator.ErrBuild, key)},
		{"invalid workload", fmt.Errorf("%w: %s on local: %w: seq_len: 900", evaluator.ErrMeasure, key, devices.ErrWorkload)},
		{"unclassified", errors.New("score: the student's classifier does not match")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := testSpace(t)
			f := &fakeEval{fail: failKey(key, tc.err)}
			var s sleeps
			_, err := Run(context.Background(), Config{Budget: Budget{MaxEvaluations: 6}}, sp, f, WithTeacher(teacherResult(sp)), s.option())
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			if n := f.seen[key]; n != 1 || len(s.d) != 0 {
				t.Errorf("evaluated %d times after %v backoffs, want once and none", n, s.d)
			}
		})
	}
}

// TestResumeWithOtherRetry changes the retry policy between resumes: it
// is how the run goes, not what it is.
func TestResumeWithOtherRetry(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "run.db"))
	sp := testSpace(t)
	cfg := Config{Budget: Budget{MaxEvaluations: 5}}
	if _, err := Run(context.Background(), cfg, sp, &fakeEval{}, WithStore(st), WithTeacher(teacherResult(sp))); err != nil {
		t.Fatal(err)
	}
	cfg.Budget.MaxEvaluations = 8
	cfg.Retry = Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond}
	out, err := Run(context.Background(), cfg, sp, &fakeEval{}, WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	if out.Evaluations != 8 || out.Config.Retry.MaxAttempts != 2 {
		t.Errorf("%d evaluations, retry %+v", out.Evaluations, out.Config.Retry)
	}
}
