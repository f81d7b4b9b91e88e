package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/ort"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// TestConfigORTDevice: device.kind ort validates device.ort when the
// config is parsed, expanding ${VAR} in its paths, without starting
// Node.js.
func TestConfigORTDevice(t *testing.T) {
	dir := t.TempDir()
	pipelinetest.WriteConfigs(t, dir, "")
	install := filepath.Join(dir, "ort")
	pkg := filepath.Join(install, "node_modules", ort.Package)
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name": "onnxruntime-node", "version": "1.30.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(dir, "node")
	if err := os.WriteFile(node, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDGENAS_TEST_ORT", install)
	head := "teacher: {train: " + filepath.Join(dir, "teacher.yaml") + "}\ndata: {demo: {}}\n"
	for _, tc := range []struct {
		name, ort string // the lines of device.ort
		want      string // a substring of the error; "": valid
	}{
		{name: "valid", ort: "node_modules: ${EDGENAS_TEST_ORT}/node_modules\n    node: " + node},
		{name: "unset variable", ort: "node_modules: ${EDGENAS_SURELY_UNSET}/node_modules\n    node: " + node,
			want: ".yaml:6: device.ort.node_modules: "},
		{name: "not an install", ort: "node_modules: " + install + "\n    node: " + node,
			want: ".yaml:6: device.ort.node_modules: "},
		{name: "bad attempts", ort: "node_modules: ${EDGENAS_TEST_ORT}/node_modules\n    node: " + node + "\n    max_attempts: -2",
			want: ".yaml:8: device.ort.max_attempts: -2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(head+"device:\n  kind: ort\n  ort:\n    "+tc.ort+"\n"), "search.yaml")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Device.ORT.NodeModules; got != filepath.Join(install, "node_modules") {
					t.Errorf("node_modules %q, want ${EDGENAS_TEST_ORT} expanded", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseConfig: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOpenORTDevice: a run whose config says device.kind ort measures its
// candidates in ONNX Runtime, and Close stops the worker. It needs Node.js
// and onnxruntime-node (scripts/ort-setup.sh): skipped without them,
// except under CI.
func TestOpenORTDevice(t *testing.T) {
	if err := (ort.Config{}).Validate(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the ort device needs Node.js and onnxruntime-node under CI: %v", err)
		}
		t.Skipf("no ONNX Runtime here (run scripts/ort-setup.sh): %v", err)
	}
	dir := t.TempDir()
	path := pipelinetest.WriteConfigs(t, dir, "")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	local := "device:\n  local: {max_attempts: 1, no_reference: true}\n"
	if !strings.Contains(string(data), local) {
		t.Fatalf("%s has no %q to replace", path, local)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), local, "device:\n  kind: ort\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			r.Close()
		}
	}()
	if r.Device.Name() != "ort" {
		t.Fatalf("device %q, want ort", r.Device.Name())
	}
	ev, err := r.Evaluator(ctx, cfg.Compress.Options())
	if err != nil {
		t.Fatal(err)
	}
	res, err := ev.Evaluate(ctx, r.Space.TeacherArch())
	if err != nil {
		t.Fatal(err)
	}
	if res.Latency.Median <= 0 || res.Latency.Runs < 7 {
		t.Errorf("teacher measured in ONNX Runtime: %+v", res.Latency)
	}
	closed = true
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Device.Measure(ctx, r.Teacher, devices.Workload{SeqLen: 16}); err == nil {
		t.Error("the ort device still measures after Run.Close")
	}
}
