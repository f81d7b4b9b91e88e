// Package ort is the ONNX Runtime latency device: it measures a candidate's
// ONNX export (transformer/onnx) in ONNX Runtime on this machine, so that a
// search can rank students by the runtime they will ship with instead of
// by the edgenas engine.
//
// ONNX Runtime runs in a long-lived Node.js worker (the npm package
// onnxruntime-node, which scripts/ort-setup.sh installs; no cgo): the
// device starts it once, writes each model to its temporary directory and
// speaks line-delimited JSON with it over stdin and stdout, one
// measurement at a time. The protocol is the local device's: a session on
// Workload.Threads intra-op threads (one inter-op thread, sequential,
// every graph optimization), Warmup untimed runs, Runs timed runs (timed
// by the worker with process.hrtime.bigint, so the pipe is not in them),
// median, p90 and MAD, and the workload measured again when its spread is
// too large. It has no drift reference (Measurement.DriftPercent is 0)
// and does not measure memory (PeakBytes is 0).
//
// int8 and int4 students run in ONNX Runtime as their exports describe
// them: activations quantized by a chain of element-wise operators before
// each MatMulInteger (int4: one per group), where the engine quantizes
// inside its integer kernels; their ONNX Runtime latencies rank them
// differently from the engine's, which is what this device is for.
//
// A worker that dies fails the measurement with devices.ErrUnavailable;
// the next measurement starts a new one. A Device measures alone
// (devices.Exclusive). It is safe for concurrent use; Close stops the
// worker and removes the temporary directory.
package ort

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/onnx"
)

//go:embed worker.cjs
var workerScript []byte

// startTimeout bounds how long a new worker may take to load
// onnxruntime-node and say it is ready.
const startTimeout = time.Minute

// stderrTail is how many bytes of the worker's stderr an error quotes.
const stderrTail = 2048

// ErrRuntime marks a measurement ONNX Runtime refused: the model did not
// load or run (the worker itself is fine).
var ErrRuntime = errors.New("ONNX Runtime failed")

// errProtocol marks a worker reply that breaks the protocol.
var errProtocol = errors.New("worker out of protocol")

// Device measures models in ONNX Runtime through a Node.js worker. Use New.
type Device struct {
	r           resolved
	dir         string // temporary directory: the worker script and the model
	fingerprint string

	mu     sync.Mutex // serializes measurements and guards the fields below
	w      *worker    // nil: none running; started on the next measurement
	nextID int
	closed bool
}

var (
	_ devices.Device    = (*Device)(nil)
	_ devices.Exclusive = (*Device)(nil)
)

// New validates cfg, starts the worker and returns the device. It fails
// with an error naming what to install when Node.js or onnxruntime-node
// is missing or cannot be loaded.
func New(cfg Config) (*Device, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("ort device: %w", err)
	}
	dir, err := os.MkdirTemp("", "edgenas-ort-")
	if err != nil {
		return nil, fmt.Errorf("ort device: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "worker.cjs"), workerScript, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ort device: %w", err)
	}
	d := &Device{r: r, dir: dir}
	w, hello, err := d.start()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ort device: %w (Node.js %s, node_modules %s: %s)", err, r.node, r.nodeModules, install)
	}
	d.w = w
	d.fingerprint = fmt.Sprintf("%s %s (node %s) on %s (%s, %d cpus, %s)", Package, r.version, hello.NodeVersion,
		local.CPUModel(), runtime.GOARCH, runtime.NumCPU(), local.Features())
	return d, nil
}

// Name returns "ort".
func (d *Device) Name() string { return "ort" }

// MeasuresAlone returns true: the worker times models on this machine's
// CPUs, so other work of the process would bend its timings.
func (d *Device) MeasuresAlone() bool { return true }

// Fingerprint names onnxruntime-node's version, Node.js's, the CPU model,
// the architecture, the number of CPUs and the vector extensions, e.g.
// "onnxruntime-node 1.30.0 (node v20.20.2) on AMD EPYC 9B14 (amd64, 2 cpus, avx2+fma)".
func (d *Device) Fingerprint(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return d.fingerprint, nil
}

// Close stops the worker and removes the device's temporary directory.
// Measurements after Close fail.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.w != nil {
		d.w.kill()
		d.w = nil
	}
	return os.RemoveAll(d.dir)
}

// Measure exports m to ONNX and times it in ONNX Runtime on the workload:
// warm-up runs, then the timed runs; when an attempt's MAD/median exceeds
// max_rel_spread the workload is measured again, up to max_attempts, and
// the Measurement says how many attempts it took and whether the last one
// was still unstable.
func (d *Device) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	w = w.WithDefaults()
	if err := w.Validate(&m.Config); err != nil {
		return devices.Measurement{}, err
	}
	if err := ctx.Err(); err != nil {
		return devices.Measurement{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer devices.StartMeasure(ctx)()
	if d.closed {
		return devices.Measurement{}, errors.New("ort device: measure after Close")
	}
	path := filepath.Join(d.dir, "model.onnx")
	if err := onnx.ExportFile(m, path); err != nil {
		return devices.Measurement{}, fmt.Errorf("ort device: %w", err)
	}
	req := request{Model: path, Batch: w.Batch, SeqLen: w.SeqLen, Threads: w.Threads, Warmup: w.Warmup, Runs: w.Runs,
		IDs: local.SyntheticBatch(m.Config.VocabSize, w.Batch, w.SeqLen).IDs, Outputs: onnx.OutputNames(m)}
	var out devices.Measurement
	for out.Attempts < d.r.maxAttempts {
		out.Attempts++
		samples, err := d.roundTrip(ctx, &req)
		if err != nil {
			return devices.Measurement{}, err
		}
		out.Stats = devices.Summarize(samples)
		if out.Stats.RelSpread() <= d.r.maxRelSpread {
			out.Unstable = false
			return out, nil
		}
		out.Unstable = true
	}
	return out, nil
}

// roundTrip sends req to the worker (starting one when none runs) and
// returns its timed samples. A worker that dies or cannot start fails
// with ErrUnavailable; a cancelled ctx stops the worker (it cannot be
// interrupted mid-run) and returns ctx's error. d.mu is held.
func (d *Device) roundTrip(ctx context.Context, req *request) ([]time.Duration, error) {
	if d.w == nil {
		w, _, err := d.start()
		if err != nil {
			return nil, fmt.Errorf("ort device: restart the worker: %w: %w", err, devices.ErrUnavailable)
		}
		d.w = w
	}
	d.nextID++
	req.ID = d.nextID
	line, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("ort device: %w", err)
	}
	w := d.w
	if _, err := w.stdin.Write(append(line, '\n')); err != nil {
		w.kill()
		d.w = nil
		return nil, fmt.Errorf("ort device: worker gone (%v)%s: %w", err, w.tail(), devices.ErrUnavailable)
	}
	select {
	case reply := <-w.lines:
		samples, err := parseReply(reply, req.ID, req.Runs)
		if errors.Is(err, errProtocol) { // out of step: start afresh
			w.kill()
			d.w = nil
		}
		return samples, err
	case <-w.exited:
		d.w = nil
		return nil, fmt.Errorf("ort device: worker exited (%v) while measuring%s: %w", w.waitErr, w.tail(), devices.ErrUnavailable)
	case <-ctx.Done():
		w.kill()
		d.w = nil
		return nil, ctx.Err()
	}
}

// request is one measurement asked of the worker (see worker.cjs).
type request struct {
	ID      int      `json:"id"`
	Model   string   `json:"model"`
	Batch   int      `json:"batch"`
	SeqLen  int      `json:"seq_len"`
	Threads int      `json:"threads"`
	Warmup  int      `json:"warmup"`
	Runs    int      `json:"runs"`
	IDs     []int32  `json:"ids"`
	Outputs []string `json:"outputs"`
}

// hello is the worker's first line.
type hello struct {
	Ready       bool   `json:"ready"`
	NodeVersion string `json:"node_version"`
}

// worker is one running Node.js worker process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte   // stdout lines, one at a time
	quit   chan struct{} // closed by kill: the reader stops sending
	exited chan struct{} // closed once the process has exited and waitErr is set
	stderr tailWriter

	killOnce sync.Once
	waitErr  error
}

// start runs a new worker and waits for it to say it is ready.
func (d *Device) start() (*worker, hello, error) {
	cmd := exec.Command(d.r.node, filepath.Join(d.dir, "worker.cjs"))
	cmd.Dir = d.dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+d.r.nodeModules)
	w := &worker{cmd: cmd, lines: make(chan []byte), quit: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = &w.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, hello{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, hello{}, err
	}
	if err := cmd.Start(); err != nil {
		return nil, hello{}, fmt.Errorf("start %s: %w", d.r.node, err)
	}
	w.stdin = stdin
	go w.read(stdout)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-w.lines:
		h, err := parseHello(line)
		if err != nil {
			w.kill()
			return nil, hello{}, fmt.Errorf("worker: %w", err)
		}
		return w, h, nil
	case <-w.exited:
		return nil, hello{}, fmt.Errorf("worker exited at start (%v)%s", w.waitErr, w.tail())
	case <-timer.C:
		w.kill()
		return nil, hello{}, fmt.Errorf("worker not ready after %v%s", startTimeout, w.tail())
	}
}

// read passes the worker's stdout lines on until EOF, then waits for the
// process and closes exited.
func (w *worker) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), limitio.LineLimit)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		select {
		case w.lines <- line:
		case <-w.quit:
		}
	}
	if sc.Err() != nil { // a line over the limit: the worker is broken
		w.cmd.Process.Kill()
		io.Copy(io.Discard, stdout)
	}
	w.waitErr = w.cmd.Wait()
	close(w.exited)
}

// kill stops the worker and waits for it to exit.
func (w *worker) kill() {
	w.killOnce.Do(func() {
		close(w.quit)
		w.stdin.Close()
		w.cmd.Process.Kill()
	})
	<-w.exited
}

// tail returns the end of the worker's stderr, formatted for an error
// message ("" when it wrote nothing).
func (w *worker) tail() string {
	s := w.stderr.String()
	if s == "" {
		return ""
	}
	return ": " + s
}

// tailWriter keeps the last stderrTail bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

// Write keeps the end of p.
func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > stderrTail {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-stderrTail:]...)
	}
	return len(p), nil
}

// String returns what was kept.
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// parseHello decodes the worker's ready line.
func parseHello(line []byte) (hello, error) {
	var h hello
	if err := json.Unmarshal(line, &h); err != nil {
		return hello{}, fmt.Errorf("ready line %q: %w", limitLine(line), err)
	}
	if !h.Ready || h.NodeVersion == "" || len(h.NodeVersion) > 64 {
		return hello{}, fmt.Errorf("ready line %q: want ready true and the Node.js version", limitLine(line))
	}
	return h, nil
}

// parseReply decodes the worker's answer to request id, which asked for
// runs timed runs: the samples, or the error ONNX Runtime reported.
func parseReply(line []byte, id, runs int) ([]time.Duration, error) {
	var r struct {
		ID      *int    `json:"id"`
		Samples []int64 `json:"samples_ns"`
		Error   string  `json:"error"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("ort device: %w: reply %q: %w", errProtocol, limitLine(line), err)
	}
	switch {
	case r.ID == nil || *r.ID != id:
		return nil, fmt.Errorf("ort device: %w: reply %q: want id %d", errProtocol, limitLine(line), id)
	case r.Error != "":
		return nil, fmt.Errorf("ort device: %w: %s", ErrRuntime, r.Error)
	case len(r.Samples) != runs:
		return nil, fmt.Errorf("ort device: %w: reply holds %d samples, want %d", errProtocol, len(r.Samples), runs)
	}
	out := make([]time.Duration, runs)
	for i, ns := range r.Samples {
		if ns <= 0 {
			return nil, fmt.Errorf("ort device: %w: sample %d is %d ns, want > 0", errProtocol, i, ns)
		}
		out[i] = time.Duration(ns)
	}
	return out, nil
}

// limitLine shortens a worker line quoted in an error.
func limitLine(line []byte) string {
	if len(line) > 200 {
		return string(line[:200]) + "…"
	}
	return string(line)
}
