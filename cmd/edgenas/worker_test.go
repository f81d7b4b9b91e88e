package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// TestWorkerUsage: a worker command line or config it cannot use exits 2
// with a message naming the problem.
func TestWorkerUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("cluster: {embedded: {listen: \"0.0.0.0:4222\"}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no config and no server", []string{"worker"}, "no NATS server: give --nats URL"},
		{"extra argument", []string{"worker", "--nats", "nats://127.0.0.1:4222", "x"}, "usage"},
		{"bad device", []string{"worker", "--nats", "nats://127.0.0.1:4222", "--device", "pi 4", "-c", cfg}, "--device"},
		{"no server", []string{"worker", "-c", cfg}, "no NATS server"},
		{"network without auth", []string{"worker", "-c", bad}, "beyond loopback without authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// TestSearchServeNATS runs `edgenas search --serve-nats` and one
// `edgenas worker` as real processes: the search serves NATS on loopback,
// the worker (without --device) evaluates both the accuracy and the latency
// job of every candidate, and the search prints its front;
// the worker reads the teacher and data from a shared path (-c), or,
// with cluster.distribute: object_store, without a config, from the
// object store the search fills.
func TestSearchServeNATS(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		workerArgs  func(cfg string) []string
	}{
		{"shared path", "", func(cfg string) []string { return []string{"-c", cfg} }},
		{"object store", "cluster: {embedded: {}, distribute: object_store}\n", func(string) []string { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) { testSearchServeNATS(t, tc.extra, tc.workerArgs) })
	}
}

func testSearchServeNATS(t *testing.T, extra string, workerArgs func(cfg string) []string) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, extra)
	search := cliCommand("search", "-c", cfg, "--serve-nats", "127.0.0.1:0")
	var stdout strings.Builder
	search.Stdout = &stdout
	pipe, err := search.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := search.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	var worker *workerProc
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if url, ok := strings.CutPrefix(sc.Text(), "nats: serving workers at "); ok && worker == nil {
			url, _, _ = strings.Cut(url, " ")
			if !strings.HasPrefix(url, "nats://127.0.0.1:") {
				t.Errorf("served at %s, want loopback", url)
			}
			worker = startWorker(t, url, workerArgs(cfg)...)
		}
	}
	done := make(chan error, 1)
	go func() { done <- search.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute): // a hang guard
		search.Process.Kill()
		t.Fatalf("the search did not finish:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("search: %v\n%s", err, stderr.String())
	}
	if worker == nil {
		t.Fatalf("the search never said where it serves NATS:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "teacher") {
		t.Errorf("no front table:\n%s", stdout.String())
	}
	if err := worker.stop(); err != nil {
		t.Errorf("worker: %v\n%s", err, worker.stderr.String())
	}
	if extra != "" && !strings.Contains(worker.stderr.String(), "run files fetched and verified") {
		t.Errorf("the worker did not fetch the run's files:\n%s", worker.stderr.String())
	}
	// A worker without --device serves both halves of every evaluation
	// when the config names no cluster device.
	for _, kind := range []string{"kind=accuracy", "kind=latency"} {
		if !strings.Contains(worker.stderr.String(), "cluster: evaluating\" "+kind) {
			t.Errorf("the worker evaluated no job of %s:\n%s", kind, worker.stderr.String())
		}
	}
}

// workerProc is an edgenas worker process.
type workerProc struct {
	done   chan error
	cmd    interface{ Signal(os.Signal) error }
	stderr *strings.Builder
}

func startWorker(t *testing.T, url string, args ...string) *workerProc {
	t.Helper()
	cmd := cliCommand(append([]string{"worker", "--nats", url}, args...)...)
	w := &workerProc{done: make(chan error, 1), stderr: &strings.Builder{}}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.cmd = cmd.Process
	go func() { w.done <- cmd.Wait() }()
	return w
}

// stop stops the worker with SIGTERM and returns how it exited.
func (w *workerProc) stop() error {
	_ = w.cmd.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		return err
	case <-time.After(time.Minute): // a hang guard
		_ = w.cmd.Signal(syscall.SIGKILL)
		return <-w.done
	}
}
