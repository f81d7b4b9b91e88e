package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

func TestTrain(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(pipelinetest.TeacherYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	code, out, stderr := runCLI(t, "train", "-c", cfg, "--run-dir", runDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout is not one JSON line: %q (%v)", out, err)
	}
	for _, k := range []string{"dev_accuracy", "baseline_accuracy", "train_seconds", "examples", "checkpoint"} {
		if _, ok := res[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, out)
		}
	}
	if res["examples"] != 64.0 || res["steps"] != 6.0 || res["checkpoint"] != filepath.Join(runDir, "best") {
		t.Errorf("summary %s", out)
	}
	if !strings.Contains(stderr, "dev accuracy") {
		t.Errorf("stderr lacks progress: %s", stderr)
	}
	// The best checkpoint is a model directory the other commands read.
	if code, out, stderr := runCLI(t, "encode", "-model", filepath.Join(runDir, "best"), "the plot is not dull"); code != 0 ||
		!strings.Contains(out, "trained from scratch by edgenas") || !strings.Contains(out, "positive") {
		t.Fatalf("encode the trained model: exit %d: %s %s", code, out, stderr)
	}
	// A second fresh run into the same directory is refused; --resume of a
	// finished run reports it again.
	if code, _, stderr := runCLI(t, "train", "-c", cfg, "--run-dir", runDir); code != 1 || !strings.Contains(stderr, "already holds a checkpoint") {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "train", "-c", cfg, "--run-dir", runDir, "--resume"); code != 0 || !strings.Contains(out, `"resumed_from":6`) {
		t.Fatalf("resume: exit %d: %s %s", code, out, stderr)
	}
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  shape: tiny\n  hiden: 3\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"train"}, 2, "usage"},
		{"stray argument", []string{"train", "-c", bad, "extra"}, 2, "usage"},
		{"missing file", []string{"train", "-c", filepath.Join(dir, "none.yaml")}, 2, "none.yaml"},
		{"unknown key", []string{"train", "-c", bad}, 2, "bad.yaml:3"},
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

func TestTrainWithPretraining(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.txt")
	para := " = Heading = \n\n the plot is not dull and the acting is good . the film is bad . \n"
	if err := os.WriteFile(text, []byte(strings.Repeat(para, 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "pre.yaml")
	yaml := pipelinetest.TeacherYAML + "pretrain: {text: [" + text + "], steps: 5, batch_size: 8, max_seq_len: 16, lr: 1e-3}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	code, out, stderr := runCLI(t, "train", "-c", cfg, "--run-dir", runDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if res["pretrain_steps"] != 5.0 || res["steps"] != 6.0 {
		t.Errorf("summary %s", out)
	}
	for _, k := range []string{"pretrain_loss", "pretrain_seconds"} {
		if v, ok := res[k].(float64); !ok || v <= 0 {
			t.Errorf("summary %s: %s = %v", out, k, res[k])
		}
	}
	if !strings.Contains(stderr, "MLM loss") {
		t.Errorf("stderr lacks pretraining progress: %s", stderr)
	}
	// Without a pretrain section the line has no pretraining fields.
	plain := filepath.Join(dir, "plain.yaml")
	os.WriteFile(plain, []byte(pipelinetest.TeacherYAML), 0o644)
	if _, out, _ := runCLI(t, "train", "-c", plain, "--run-dir", filepath.Join(dir, "run2")); strings.Contains(out, "pretrain") {
		t.Errorf("summary without pretraining: %s", out)
	}
}
