package search

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/boltfile"
	"github.com/edgenas/edgenas/space"
)

// The helper process of TestResumeAfterKill: it runs (or resumes) a search
// persisted in $EDGENAS_SEARCH_DB whose evaluator appends "done <key>" to
// $EDGENAS_SEARCH_LOG, with fsync, after every completed evaluation.
const helperEnv = "EDGENAS_SEARCH_HELPER"

func killTestConfig(strategy string) Config {
	return Config{Strategy: strategy, Seed: 11, PopulationSize: 8, TournamentSize: 3, Batch: 3, Parallelism: 2,
		Budget: Budget{MaxEvaluations: 60, Patience: -1}}
}

// loggingEval logs every evaluation it completes, durably, before the
// search sees the result.
type loggingEval struct {
	inner Evaluator
	mu    sync.Mutex
	f     *os.File
}

func (l *loggingEval) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	r, err := l.inner.Evaluate(ctx, a)
	if err != nil {
		return r, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.WriteString("done " + a.Key() + "\n"); err != nil {
		return r, err
	}
	return r, l.f.Sync()
}

func TestHelperSearchProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process of TestResumeAfterKill")
	}
	f, err := os.OpenFile(os.Getenv("EDGENAS_SEARCH_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp := testSpace(t)
	ev := &loggingEval{inner: &fakeEval{delay: 10 * time.Millisecond}, f: f}
	out, err := Run(context.Background(), killTestConfig(os.Getenv(helperEnv)), sp, ev,
		WithStore(openStore(t, os.Getenv("EDGENAS_SEARCH_DB"))), WithTeacher(teacherResult(sp)))
	if err != nil {
		t.Fatal(err)
	}
	if out.Stop != StopMaxEvaluations {
		t.Fatalf("stopped: %s", out.Stop)
	}
}

// logCounts counts the "done" lines per key.
func logCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "done "); ok {
			n[k]++
		}
	}
	return n
}

// recorded returns the keys whose evaluations the run has persisted, or
// nil when it has none yet.
func recorded(t *testing.T, path string) *Outcome {
	t.Helper()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	f, err := boltfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := LoadOutcome(NewFileStore(f), DefaultRunID)
	if err != nil {
		return nil
	}
	return out
}

func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs search processes")
	}
	rng := rand.New(rand.NewPCG(2026, 7))
	for _, strategy := range Strategies {
		t.Run(strategy, func(t *testing.T) {
			want := run(t, killTestConfig(strategy), &fakeEval{}) // uninterrupted, in process
			dir := t.TempDir()
			dbPath, logPath := filepath.Join(dir, "run.db"), filepath.Join(dir, "evals.log")
			start := func() *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSearchProcess$")
				cmd.Env = append(os.Environ(), helperEnv+"="+strategy, "EDGENAS_SEARCH_DB="+dbPath, "EDGENAS_SEARCH_LOG="+logPath)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			// wasted[k] is how many of k's logged evaluations were never
			// recorded (the process died between the evaluator finishing
			// and the search saving it); only those may be redone.
			wasted := map[string]int{}
			check := func(when string) *Outcome {
				out := recorded(t, dbPath)
				lines := logCounts(t, logPath)
				rec := map[string]bool{}
				if out != nil {
					for _, c := range out.Candidates {
						rec[c.Key] = true
						if lines[c.Key] != wasted[c.Key]+1 {
							t.Fatalf("%s: %s recorded but evaluated %d times (%d legitimately redone)", when, c.Key, lines[c.Key], wasted[c.Key])
						}
					}
				}
				for k, n := range lines {
					if !rec[k] {
						wasted[k] = n
					}
				}
				return out
			}
			kills := 0
			for kills < 4 {
				cmd := start()
				time.Sleep(time.Duration(30+rng.IntN(170)) * time.Millisecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				err := cmd.Wait()
				out := check("after kill")
				if err == nil || out != nil && out.Stop == StopMaxEvaluations {
					break // it finished before the kill
				}
				kills++
				t.Logf("killed at %d evaluations, generation %d", func() int {
					if out == nil {
						return 0
					}
					return out.Evaluations
				}(), func() int {
					if out == nil {
						return 0
					}
					return out.Generations
				}())
			}
			cmd := start()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("final resume: %v", err)
			}
			got := check("at the end")
			if got == nil {
				t.Fatal("nothing persisted")
			}
			if kills < 2 {
				t.Errorf("only %d kills landed mid-run", kills)
			}
			lines := logCounts(t, logPath)
			if len(lines) != got.Evaluations {
				t.Errorf("%d keys evaluated, %d recorded: an evaluation was lost", len(lines), got.Evaluations)
			}
			redone := 0
			for _, n := range wasted {
				redone += n
			}
			t.Logf("%d kills, %d evaluations, %d redone after a kill between evaluation and save", kills, got.Evaluations, redone)
			if !slices.Equal(trace(got), trace(want)) {
				t.Errorf("resumed run differs from the uninterrupted one:\n got %v\nwant %v", trace(got), trace(want))
			}
		})
	}
}
