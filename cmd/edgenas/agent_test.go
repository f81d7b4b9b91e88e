package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/agent"
	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/transformer"
)

// TestAgentUsage checks that bad agent flags exit 2 with a message.
func TestAgentUsage(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("secret\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no token file", []string{"agent"}, "--token-file is required"},
		{"cert without key", []string{"agent", "--token-file", tok, "--tls-cert", "c.pem"}, "go together"},
		{"negative queue", []string{"agent", "--token-file", tok, "--queue", "-1"}, "--queue -1"},
		{"zero blocks", []string{"agent", "--token-file", tok, "--blocks", "0"}, "--blocks 0"},
		{"too many blocks", []string{"agent", "--token-file", tok, "--blocks", "17"}, "--blocks 17"},
		{"zero body", []string{"agent", "--token-file", tok, "--max-body", "0"}, "--max-body 0"},
		{"extra argument", []string{"agent", "--token-file", tok, "now"}, "unexpected argument"},
		{"bad listen", []string{"agent", "--token-file", tok, "--listen", "a:b:c"}, "--listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 with %q", code, stderr, tc.want)
			}
		})
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// logWatch is an agent's log: it keeps the text and counts the
// measurements started ("msg=measuring" lines), signalling each.
type logWatch struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	measuring chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{measuring: make(chan struct{}, 1000)} }

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for range bytes.Count(p, []byte("msg=measuring ")) {
		l.measuring <- struct{}{}
	}
	return len(p), nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitHealthy polls the agent's health endpoint until it answers, giving
// up after limit (a bound on a wait, never an assertion about speed).
func waitHealthy(url string, limit time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url + "/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("the agent exited before answering")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the agent did not answer /v1/health within %v: %v", limit, err)
		}
	}
}

// TestAgentGracefulShutdown checks that a stopping agent lets the
// measurement in flight finish and answer, then stops serving.
func TestAgentGracefulShutdown(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("secret\n"), 0o600)
	addr := freeAddr(t)
	log := newLogWatch()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		served <- serveAgent(ctx, agentOptions{listen: addr, tokenFile: tok, maxBody: agent.DefaultMaxBody, queue: 1, grace: time.Minute}, log)
		close(exited)
	}()
	url := "http://" + addr
	if err := waitHealthy(url, time.Minute, exited); err != nil {
		t.Fatal(err)
	}
	c, err := agent.New(agent.Config{URL: url, TokenFile: tok, Retry: search.Retry{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, large := devicetest.Models(t)
	measured := make(chan error, 1)
	go func() {
		m, err := c.Measure(context.Background(), large, devices.Workload{SeqLen: 64, Runs: 40})
		if err == nil && m.Median <= 0 {
			err = errors.New("no latency")
		}
		measured <- err
	}()
	<-log.measuring // the agent is timing the model
	cancel()
	if err := <-measured; err != nil {
		t.Fatalf("the measurement in flight failed: %v\nagent log:\n%s", err, log)
	}
	if err := <-served; err != nil {
		t.Fatalf("serveAgent: %v", err)
	}
	if resp, err := http.Get(url + "/v1/health"); err == nil {
		resp.Body.Close()
		t.Fatal("the agent still answers after stopping")
	}
	if s := log.String(); !strings.Contains(s, "agent stopped") || strings.Contains(s, "cancelled") {
		t.Errorf("agent log:\n%s", s)
	}
}

// qemuAgent runs the cross-built agent under qemu-user.
type qemuAgent struct {
	cmd    *exec.Cmd
	log    *logWatch
	exited chan struct{}
}

// startQemuAgent starts the agent and waits until it answers; t's
// cleanup kills it. It may run on any goroutine: it reports by its error.
func startQemuAgent(t *testing.T, qemu, bin, addr, tok string) (*qemuAgent, error) {
	a := &qemuAgent{log: newLogWatch(), exited: make(chan struct{})}
	a.cmd = exec.Command(qemu, bin, "agent", "--listen", addr, "--token-file", tok)
	a.cmd.Stdout = io.Discard
	pr, pw := io.Pipe()
	a.cmd.Stderr = pw
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			a.log.Write(append(sc.Bytes(), '\n'))
		}
	}()
	go func() {
		a.cmd.Wait()
		pw.Close()
		close(a.exited)
	}()
	t.Cleanup(a.kill)
	if err := waitHealthy("http://"+addr, 2*time.Minute, a.exited); err != nil {
		return nil, fmt.Errorf("%w\nagent log:\n%s", err, a.log)
	}
	return a, nil
}

// kill ends the agent with SIGKILL, as a board losing power does.
func (a *qemuAgent) kill() {
	a.cmd.Process.Kill()
	<-a.exited
}

// watchedDevice passes measurements to a device and keeps their errors.
type watchedDevice struct {
	devices.Device
	mu   sync.Mutex
	errs []error
	ok   int
}

func (w *watchedDevice) Measure(ctx context.Context, m *transformer.Model, wl devices.Workload) (devices.Measurement, error) {
	out, err := w.Device.Measure(ctx, m, wl)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs = append(w.errs, err)
	} else {
		w.ok++
	}
	return out, err
}

// agentConfig writes the tiny search config of pipelinetest measuring on
// the agent at url, with run directory dir/run and extra lines.
func agentConfig(t *testing.T, dir, url, tok, extra string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := pipelinetest.WriteConfigs(t, dir, extra)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const local = "device:\n  local: {max_attempts: 1, no_reference: true}\n"
	if !bytes.Contains(data, []byte(local)) {
		t.Fatalf("%s has no device section to replace", cfg)
	}
	data = bytes.Replace(data, []byte(local), []byte("device:\n  kind: agent\n  agent:\n    url: "+url+"\n    token_file: "+tok+
		"\n    timeout: 5m\n    retry: {max_attempts: 2, initial_backoff: 100ms, max_backoff: 200ms}\n"), 1)
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkFront checks a run's saved front: complete, with every evaluated
// candidate holding a measured latency.
func checkFront(t *testing.T, runDir string, evaluations int) {
	t.Helper()
	f, err := pipeline.LoadFront(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Partial || f.Evaluations != evaluations || len(f.Members) == 0 || len(f.All) != evaluations {
		t.Fatalf("front: partial %v, %d evaluations, %d members, %d candidates; want complete with %d", f.Partial, f.Evaluations, len(f.Members), len(f.All), evaluations)
	}
	for _, c := range f.All {
		if l := c.Result.Latency; l.Median <= 0 || l.Runs < devices.MinRuns {
			t.Errorf("candidate %s: latency %+v, want a measurement", c.Key, l)
		}
	}
}

// TestAgentUnderQemu cross-builds edgenas for linux/arm64, runs it under
// qemu-user as an agent on loopback and searches against it: the agent
// reports arm64, measurements come back and the front is written. Then
// the agent is killed while it measures: the client gets an error
// wrapping devices.ErrUnavailable, the search retries, the agent comes
// back and the search finishes with no failure recorded as a latency.
// Timings under emulation mean nothing and are never reported.
func TestAgentUnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("qemu-aarch64-static is not installed and CI is set (.ci/run installs the Debian package qemu-user-static): %v", err)
		}
		t.Skip("qemu-aarch64-static not installed (apt-get install qemu-user-static)")
	}
	if testing.Short() {
		t.Skip("cross-builds edgenas and runs it under emulation")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgenas-arm64")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-build: %v\n%s", err, out)
	}
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("qemu-secret\n"), 0o600)
	addr := freeAddr(t)
	url := "http://" + addr
	a, err := startQemuAgent(t, qemu, bin, addr, tok)
	if err != nil {
		t.Fatal(err)
	}

	c, err := agent.New(agent.Config{URL: url, TokenFile: tok})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := c.Fingerprint(context.Background())
	if err != nil || in.Arch != "arm64" || in.OS != "linux" || !strings.Contains(fp, "arm64") {
		t.Fatalf("info %+v, fingerprint %q (%v): want linux/arm64", in, fp, err)
	}

	t.Run("search", func(t *testing.T) {
		cfg := agentConfig(t, filepath.Join(dir, "first"), url, tok, "")
		code, _, stderr := runCLI(t, "search", "-c", cfg, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s\nagent log:\n%s", code, stderr, a.log)
		}
		checkFront(t, filepath.Join(dir, "first", "run"), 5)
	})

	t.Run("agent killed mid-measurement", func(t *testing.T) {
		sub := filepath.Join(dir, "second")
		cfg := agentConfig(t, sub, url, tok, "")
		data, _ := os.ReadFile(cfg)
		data = bytes.Replace(data, []byte("budget: {max_evaluations: 5}"),
			[]byte("budget: {max_evaluations: 8}\n  retry: {max_attempts: 20, initial_backoff: 200ms, max_backoff: 2s}"), 1)
		os.WriteFile(cfg, data, 0o644)
		pc, err := pipeline.LoadConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		client, err := agent.New(pc.Device.Agent)
		if err != nil {
			t.Fatal(err)
		}
		dev := &watchedDevice{Device: client}
		for len(a.log.measuring) > 0 {
			<-a.log.measuring
		}
		type restart struct {
			a   *qemuAgent
			err error
		}
		restarted := make(chan restart, 1)
		go func() {
			// Kill the agent while it times this search's second model,
			// then bring it back on the same address.
			<-a.log.measuring
			<-a.log.measuring
			a.kill()
			b, err := startQemuAgent(t, qemu, bin, addr, tok)
			restarted <- restart{b, err}
		}()
		run, err := pipeline.Open(context.Background(), pc, pipeline.Options{Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		defer run.Close()
		if _, err := run.Search(context.Background(), pipeline.SearchOptions{}); err != nil {
			t.Fatalf("search: %v\nagent log:\n%s", err, a.log)
		}
		r := <-restarted
		if r.err != nil {
			t.Fatalf("restart: %v", r.err)
		}
		b := r.a
		dev.mu.Lock()
		errs, ok := dev.errs, dev.ok
		dev.mu.Unlock()
		if len(errs) == 0 {
			t.Fatalf("no measurement failed although the agent was killed while measuring")
		}
		for _, err := range errs {
			if !errors.Is(err, devices.ErrUnavailable) {
				t.Errorf("measurement error %v, want devices.ErrUnavailable", err)
			}
		}
		if ok == 0 || len(b.log.measuring) == 0 {
			t.Errorf("%d measurements succeeded, %d after the restart; want the search to finish on the restarted agent", ok, len(b.log.measuring))
		}
		checkFront(t, filepath.Join(sub, "run"), 8)
	})
}
