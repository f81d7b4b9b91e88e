package ort

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/devicetest"
)

// realDevice opens the ort device on the machine's Node.js and
// onnxruntime-node (scripts/ort-setup.sh installs it); without them the
// test is skipped, except under CI (CI=true), where it fails.
func realDevice(t *testing.T) *Device {
	t.Helper()
	d, err := New(Config{})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the ort device needs Node.js and onnxruntime-node under CI: %v", err)
		}
		t.Skipf("no ONNX Runtime here (run scripts/ort-setup.sh): %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func TestConformance(t *testing.T) {
	d := realDevice(t)
	devicetest.Conformance(t, d)
	fp, err := d.Fingerprint(context.Background())
	if err != nil || !strings.HasPrefix(fp, Package+" ") || !strings.Contains(fp, " on ") {
		t.Errorf("Fingerprint() = %q, %v; want %q, its version and the CPU", fp, err, Package)
	}
}

// smallWorkload is quick on the small model of devicetest.Models.
var smallWorkload = devices.Workload{SeqLen: 16, Warmup: 1, Runs: devices.MinRuns}

func TestWorkerRestartsAfterDeath(t *testing.T) {
	d := realDevice(t)
	small, _ := devicetest.Models(t)
	ctx := context.Background()
	if _, err := d.Measure(ctx, small, smallWorkload); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	w := d.w
	d.mu.Unlock()
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w.exited
	if _, err := d.Measure(ctx, small, smallWorkload); !errors.Is(err, devices.ErrUnavailable) {
		t.Fatalf("measure on a dead worker: %v, want ErrUnavailable", err)
	}
	m, err := d.Measure(ctx, small, smallWorkload)
	if err != nil || m.Median <= 0 {
		t.Fatalf("measure after the worker died: %+v, %v; want a new worker to measure", m, err)
	}
}

func TestRuntimeErrorKeepsWorker(t *testing.T) {
	d := realDevice(t)
	d.mu.Lock()
	w := d.w
	_, err := d.roundTrip(context.Background(), &request{Model: filepath.Join(d.dir, "missing.onnx"), Batch: 1, SeqLen: 1,
		Threads: 1, Runs: devices.MinRuns, IDs: []int32{1}, Outputs: []string{"logits"}})
	same := d.w == w
	d.mu.Unlock()
	if !errors.Is(err, ErrRuntime) || errors.Is(err, devices.ErrUnavailable) {
		t.Fatalf("missing model: %v, want ErrRuntime and not ErrUnavailable", err)
	}
	if !same {
		t.Error("a model ONNX Runtime refused stopped the worker")
	}
}

func TestCancelStopsMeasurement(t *testing.T) {
	d := realDevice(t)
	small, _ := devicetest.Models(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelled as soon as the timed work starts: 10000 runs would take
	// far longer than the test.
	tctx := devices.WithTrace(ctx, &devices.Trace{MeasureStart: cancel})
	if _, err := d.Measure(tctx, small, devices.Workload{SeqLen: 128, Runs: devices.MaxRuns}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled measurement: %v, want context.Canceled", err)
	}
	if _, err := d.Measure(context.Background(), small, smallWorkload); err != nil {
		t.Fatalf("measure after a cancelled one: %v", err)
	}
}

// fakeWorker is a shell script that speaks the worker's protocol: it says
// it is ready, logs each start to $EDGENAS_ORT_FAKE_LOG and answers each
// request with body, run with $id set to the request's id.
func fakeWorker(t *testing.T, body string) (cfg Config, starts func() int) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "starts")
	t.Setenv("EDGENAS_ORT_FAKE_LOG", log)
	node := fakeNode(t, `echo start >> "$EDGENAS_ORT_FAKE_LOG"
echo '{"ready": true, "node_version": "fake"}'
while read -r line; do
  id=$(printf '%s' "$line" | sed 's/^{"id":\([0-9]*\),.*/\1/')
  `+body+`
done
`)
	starts = func() int {
		data, _ := os.ReadFile(log)
		return strings.Count(string(data), "start")
	}
	return Config{Node: node, NodeModules: fakeInstall(t, goodPackage)}, starts
}

func TestProtocol(t *testing.T) {
	ms := func(v ...int) string {
		var s []string
		for _, x := range v {
			s = append(s, strconv.Itoa(x*1000000))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name     string
		body     string
		attempts int
		unstable bool
		median   time.Duration
		errIs    error  // nil: the measurement succeeds
		errSays  string // with errIs
		starts   int    // worker starts after two measurements
	}{
		{name: "stable", body: `echo "{\"id\":$id,\"samples_ns\":[` + ms(2, 2, 2, 2, 2, 2, 3) + `]}"`,
			attempts: 1, median: 2 * time.Millisecond, starts: 1},
		{name: "spread too large", body: `echo "{\"id\":$id,\"samples_ns\":[` + ms(1, 1, 1, 5, 9, 9, 9) + `]}"`,
			attempts: 3, unstable: true, median: 5 * time.Millisecond, starts: 1},
		{name: "runtime error", body: `echo "{\"id\":$id,\"error\":\"Load model failed\"}"`,
			errIs: ErrRuntime, errSays: "Load model failed", starts: 1},
		{name: "worker dies", body: `echo 'out of memory' >&2; exit 7`,
			errIs: devices.ErrUnavailable, errSays: "out of memory", starts: 2},
		{name: "wrong id", body: `echo '{"id": 999, "samples_ns": []}'`,
			errIs: errProtocol, errSays: "want id", starts: 2},
		{name: "too few samples", body: `echo "{\"id\":$id,\"samples_ns\":[1,2]}"`,
			errIs: errProtocol, errSays: "holds 2 samples, want 7", starts: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, starts := fakeWorker(t, tc.body)
			d, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			small, _ := devicetest.Models(t)
			for range 2 {
				m, err := d.Measure(context.Background(), small, smallWorkload)
				if tc.errIs != nil {
					if !errors.Is(err, tc.errIs) || !strings.Contains(err.Error(), tc.errSays) {
						t.Fatalf("Measure: %v, want %v saying %q", err, tc.errIs, tc.errSays)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if m.Attempts != tc.attempts || m.Unstable != tc.unstable || m.Median != tc.median || m.Runs != smallWorkload.Runs {
					t.Fatalf("Measure = %+v, want %d attempts, unstable %v, median %v", m, tc.attempts, tc.unstable, tc.median)
				}
			}
			d.Close()
			if got := starts(); got != tc.starts {
				t.Errorf("the worker started %d times, want %d", got, tc.starts)
			}
		})
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"id":1,"samples_ns":[1,2,3,4,5,6,7]}`), 1, 7)
	f.Add([]byte(`{"id":1,"error":"x"}`), 1, 7)
	f.Add([]byte(`{"id":null}`), 0, 0)
	f.Fuzz(func(t *testing.T, line []byte, id, runs int) {
		s, err := parseReply(line, id, runs)
		if err != nil {
			return
		}
		if len(s) != runs {
			t.Fatalf("%d samples, want %d", len(s), runs)
		}
		for _, v := range s {
			if v <= 0 {
				t.Fatalf("sample %v accepted", v)
			}
		}
	})
}

func FuzzParseHello(f *testing.F) {
	f.Add([]byte(`{"ready": true, "node_version": "v20.20.2"}`))
	f.Add([]byte(`{"ready": false}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := parseHello(line)
		if err == nil && (!h.Ready || h.NodeVersion == "") {
			t.Fatalf("parseHello(%q) = %+v with no error", line, h)
		}
	})
}
