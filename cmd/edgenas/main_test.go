package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgenas/edgenas/internal/limitio/limitiotest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDemoConfigsMatchShipped holds the demo's built-in configs equal to
// configs/demo-teacher.yaml and configs/demo.yaml (comment lines aside).
func TestDemoConfigsMatchShipped(t *testing.T) {
	for file, builtin := range map[string]string{"demo-teacher.yaml": demoTeacherYAML, "demo.yaml": demoSearchYAML} {
		data, err := os.ReadFile(filepath.Join("..", "..", "configs", file))
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if !strings.HasPrefix(line, "#") {
				kept = append(kept, line)
			}
		}
		if got := strings.Join(kept, ""); got != builtin {
			t.Errorf("configs/%s differs from the demo's built-in copy:\n%s\nwant\n%s", file, got, builtin)
		}
	}
}

func TestInitEncodeExportBench(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if code, _, stderr := runCLI(t, "init", "-shape", "tiny", "-out", dir); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "encode", "-model", dir, "the film is bad")
	if code != 0 || !strings.Contains(out, "ids: [2 ") || !strings.Contains(out, "p=") {
		t.Fatalf("encode: exit %d: %s %s", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "encode", "-model", dir, "-max-len", "1000", "the film is bad")
	if code != 2 || !strings.Contains(stderr, "-max-len 1000: want an integer in [2, 512] (the model's max_position_embeddings)") {
		t.Fatalf("encode past the model's positions: exit %d: %s", code, stderr)
	}
	onnxPath := filepath.Join(dir, "x.onnx")
	if code, _, stderr := runCLI(t, "export-onnx", "-model", dir, "-out", onnxPath); code != 0 {
		t.Fatalf("export-onnx: exit %d: %s", code, stderr)
	}
	if fi, err := os.Stat(onnxPath); err != nil || fi.Size() < 1000 {
		t.Fatalf("onnx file: %v", err)
	}
	code, out, stderr = runCLI(t, "bench", "-model", dir, "-seq", "8", "-runs", "7")
	if code != 0 || !strings.Contains(out, "median") {
		t.Fatalf("bench: exit %d: %s %s", code, out, stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "usage"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"bad flag", []string{"demo", "-bogus"}, 2, "bogus"},
		{"too few runs", []string{"bench", "-runs", "3"}, 2, "-runs 3: want an integer in [7, 10000]"},
		{"negative batch", []string{"bench", "-batch", "-1"}, 2, "-batch -1: want an integer in [1, 1024]"},
		{"zero seq", []string{"bench", "-seq", "0"}, 2, "-seq 0: want an integer in [1, 65536]"},
		{"absurd threads", []string{"bench", "-threads", "100000"}, 2, "-threads 100000: want an integer in [1, 256]"},
		{"seq past the model", []string{"bench", "-shape", "tiny", "-seq", "1000"}, 2, "-seq 1000: want an integer in [1, 512] (the model's max_position_embeddings)"},
		{"negative max-len", []string{"encode", "-model", missing, "-max-len", "-5", "text"}, 2, "-max-len -5: want an integer in [2, 65536]"},
		{"zero max-len", []string{"encode", "-model", missing, "-max-len", "0", "text"}, 2, "-max-len 0"},
		{"bad shape", []string{"init", "-shape", "huge", "-out", missing}, 2, "unknown shape"},
		{"missing model", []string{"encode", "-model", missing, "text"}, 1, missing},
		{"encode without text", []string{"encode", "-model", missing}, 2, "usage"},
		{"negative std", []string{"init", "-std", "-1", "-out", missing}, 2, "-std -1: want a standard deviation in (0, 1]"},
		{"NaN std", []string{"init", "-std", "NaN", "-out", missing}, 2, "-std NaN"},
		{"infinite std", []string{"init", "-std", "Inf", "-out", missing}, 2, "-std +Inf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, tc.code, stderr, tc.want)
			}
		})
	}
}

// TestCLIInputsAndOutputs checks that huge inputs fail at once and that
// outputs never replace what is not theirs, each with a message.
func TestCLIInputsAndOutputs(t *testing.T) {
	root := t.TempDir()
	foreign := filepath.Join(root, "foreign")
	if err := os.Mkdir(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(root, "m")
	if code, _, stderr := runCLI(t, "init", "-shape", "tiny", "-out", model); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	fifo := filepath.Join(root, "out.onnx")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs:", err)
	}
	sparse := filepath.Join(root, "huge.yaml")
	limitiotest.Sparse(t, sparse)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"search config is /dev/zero", []string{"search", "-c", "/dev/zero"}, 2, "/dev/zero: file is larger than the 16 MiB limit for a search config"},
		{"sparse 5 GB search config", []string{"search", "-c", sparse}, 2, "huge.yaml: file is larger than the 16 MiB limit for a search config"},
		{"sparse 5 GB training config", []string{"train", "-c", sparse}, 2, "huge.yaml: file is larger than the 16 MiB limit for a training config"},
		{"init into a foreign directory", []string{"init", "-out", foreign}, 1, "foreign exists and is not a model directory written by edgenas"},
		{"export to a named pipe", []string{"export-onnx", "-model", model, "-out", fifo}, 1, "out.onnx is a named pipe, not a regular file: refusing to replace it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat("/dev/zero"); err != nil && strings.Contains(tc.want, "/dev/zero") {
				t.Skip("no /dev/zero")
			}
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, tc.code, stderr, tc.want)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("foreign directory changed: %q, %v", b, err)
	}
}
