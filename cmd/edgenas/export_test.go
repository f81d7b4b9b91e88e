package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/reports"
)

// TestExportThenEval: edgenas export writes the front of a demo-data run,
// and edgenas eval on each exported directory with the dev.jsonl export
// wrote into it (the command of the model card) reproduces its
// measurements.json accuracy exactly.
func TestExportThenEval(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	if code, _, stderr := runCLI(t, "search", "-c", cfg); code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	runDir, out := filepath.Join(dir, "run"), filepath.Join(dir, "export")
	code, stdout, stderr := runCLI(t, "export", runDir, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	var got []reports.Exported
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || len(got) == 0 {
		t.Fatalf("export --json: %v\n%s", err, stdout)
	}
	for _, e := range got {
		t.Run(e.Dir, func(t *testing.T) {
			model := filepath.Join(out, e.Dir)
			data := filepath.Join(model, reports.DevFile)
			var m reports.Measurements
			raw, err := os.ReadFile(filepath.Join(model, reports.MeasurementsFile))
			if err != nil || json.Unmarshal(raw, &m) != nil {
				t.Fatalf("measurements.json: %v", err)
			}
			card, _ := os.ReadFile(filepath.Join(model, reports.ModelCardFile))
			if want := "edgenas eval --model " + e.Dir + " --data " + e.Dir + "/" + reports.DevFile + "\n"; m.DevFile != reports.DevFile || !strings.Contains(string(card), want) {
				t.Errorf("dev_file %q; the model card lacks %q", m.DevFile, want)
			}
			code, stdout, stderr := runCLI(t, "eval", "--model", model, "--data", data, "--json")
			if code != 0 {
				t.Fatalf("eval: exit %d: %s", code, stderr)
			}
			var res evalResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("eval --json: %v\n%s", err, stdout)
			}
			if res.Accuracy != m.Accuracy.Value || res.Examples != m.Accuracy.Examples || res.MaxLen != m.Scoring.MaxLen || res.Metric != m.Accuracy.Metric {
				t.Errorf("eval gives %+v, export measured %+v (max_len %d)", res, m.Accuracy, m.Scoring.MaxLen)
			}
			code, stdout, _ = runCLI(t, "eval", "--model", model, "--data", data)
			if want := fmt.Sprintf("accuracy %.4f on %d examples", m.Accuracy.Value, m.Accuracy.Examples); code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("eval text: exit %d, %q lacks %q", code, stdout, want)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	if code, _, stderr := runCLI(t, "search", "-c", cfg); code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	runDir := filepath.Join(dir, "run")
	out := func(name string) string { return filepath.Join(dir, name) }
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{runDir}, 2, "usage"},
		{"no run", []string{"--out", out("a")}, 2, "usage"},
		{"bad limit unit", []string{runDir, "--out", out("b"), "--best-under", "latency=2ms,size=5XB"}, 2, `size "5XB"`},
		{"bad limit key", []string{runDir, "--out", out("c"), "--best-under", "speed=3"}, 2, `unknown limit "speed"`},
		{"bad duration", []string{runDir, "--out", out("d"), "--best-under", "latency=soon"}, 2, `latency "soon"`},
		{"nothing feasible", []string{runDir, "--out", out("e"), "--best-under", "latency=1ns"}, 3, "no front candidate meets the limits latency=1ns"},
		{"select and best", []string{runDir, "--out", out("f"), "--select", "x", "--best-under", "latency=1s"}, 2, "not both"},
		{"unknown key", []string{runDir, "--out", out("g"), "--select", "v9|nope"}, 1, `"v9|nope" is not a key of the front`},
		{"not a run", []string{dir, "--out", out("h")}, 1, "no front saved"},
		{"feasible", []string{"--best-under", "latency=1h,size=1GB", runDir, "--out", out("i")}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"export"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, c.code, stderr, c.want)
			}
			if code == 0 && strings.Count(stdout, "exported ") != 1 {
				t.Errorf("--best-under exported other than one candidate:\n%s", stdout)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"text": "a", "label": 1}`+"\n"+`{"text": "b", "label": 9}`+"\n"), 0o644)
	model := filepath.Join(dir, "m")
	if code, _, stderr := runCLI(t, "init", "-shape", "tiny", "-out", model); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no data", []string{"--model", model}, 2, "usage"},
		{"bad label", []string{"--model", model, "--data", bad}, 1, "bad.jsonl:2: label 9: want an integer in [0, 2)"},
		{"bad metric", []string{"--model", model, "--data", bad, "--metric", "auc"}, 2, `"auc", want accuracy, f1 or mcc`},
		{"max-len beyond the model", []string{"--model", model, "--data", bad, "--max-len", "100000"}, 2, "max_position_embeddings"},
		{"missing model", []string{"--model", filepath.Join(dir, "none"), "--data", bad}, 1, "none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"eval"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, c.code, stderr, c.want)
			}
		})
	}
}
