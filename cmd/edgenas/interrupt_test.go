package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// cliEnv makes the test binary act as the edgenas command (TestMain), so
// tests can signal a real process.
const cliEnv = "EDGENAS_TEST_BE_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// cliCommand returns the edgenas command as a real process.
func cliCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	return cmd
}

// TestInterruptedSearch sends SIGINT to a real search process mid-search:
// it stops, prints the front so far marked partial, exits 130, and has
// saved its state: the same command resumes where it stopped and finishes
// with the front rescored on every example.
func TestInterruptedSearch(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	// A first, short run trains the teacher, so the interrupted run spends
	// its time searching.
	if code, _, stderr := runCLI(t, "search", "-c", cfg); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Replace(string(data), "budget: {max_evaluations: 5}", "budget: {max_evaluations: 400, patience: -1}", 1)
	long = strings.Replace(long, "run_dir: "+filepath.Join(dir, "run"), "run_dir: "+filepath.Join(dir, "run2"), 1)
	// A space of thousands of students, so the budget is what ends the run.
	long = strings.Replace(long, "ffn: [8, 16, 32]", "ffn: [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32]\n  ffn_rank: [0, 4, 8]\n  attention_rank: [0, 4, 8]", 1)
	long = strings.Replace(long, "bits: [32]", "bits: [32, 16, 8, 4]", 1)
	cfg2 := filepath.Join(dir, "long.yaml")
	if err := os.WriteFile(cfg2, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := cliCommand("search", "-c", cfg2)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	var stderr strings.Builder
	signalled := false
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if !signalled && strings.HasPrefix(sc.Text(), "generation 2:") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(2 * time.Minute): // a hang guard, not a speed goal
		cmd.Process.Kill()
		t.Fatalf("the search did not stop after SIGINT:\n%s", stderr.String())
	}
	if !signalled {
		t.Fatalf("the search ended before its third generation:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\nstderr:\n%s", werr, stderr.String())
	}
	if !strings.Contains(stdout.String(), "PARTIAL") || !strings.Contains(stdout.String(), "Pareto front") {
		t.Errorf("stdout does not print the front marked partial:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "interrupted: state saved") {
		t.Errorf("stderr does not say the state is saved:\n%s", stderr.String())
	}
	var front struct {
		Partial     bool `json:"partial"`
		Evaluations int  `json:"evaluations"`
	}
	frontFile, err := os.ReadFile(filepath.Join(dir, "run2", "front.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(frontFile, &front); err != nil || !front.Partial || front.Evaluations < 8 || front.Evaluations >= 400 {
		t.Fatalf("front.json %+v (%v)", front, err)
	}
	// Resume with a budget just above what was done: no evaluation is
	// repeated, the run finishes, the front is rescored and not partial.
	resumed := strings.Replace(long, "max_evaluations: 400", "max_evaluations: "+itoa(front.Evaluations+2), 1)
	if err := os.WriteFile(cfg2, []byte(resumed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "search", "-c", cfg2, "--json")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "generation 0:") {
		t.Errorf("the resumed run started over:\n%s", errs)
	}
	var fin struct {
		Partial     bool `json:"partial"`
		Evaluations int  `json:"evaluations"`
		Rows        []struct {
			Examples int `json:"examples"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &fin); err != nil || fin.Partial || fin.Evaluations != front.Evaluations+2 || len(fin.Rows) < 2 {
		t.Fatalf("resumed: %+v (%v)\n%s", fin, err, out)
	}
	for _, r := range fin.Rows {
		if r.Examples != 48 {
			t.Errorf("a row was not rescored on every example: %s", out)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
