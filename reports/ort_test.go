//go:build ort

// TestExportMatchesONNXRuntime runs exported students in ONNX Runtime,
// through Node.js and the npm package onnxruntime-node that
// scripts/ort-setup.sh installs: go test -tags ort -run
// TestExportMatchesONNXRuntime ./reports/ (EDGENAS_ORT_LIB, when set, names
// the installed library; otherwise the test runs scripts/ort-setup.sh).

package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/train"
)

// ortNodePath returns the node_modules directory holding onnxruntime-node.
func ortNodePath(t *testing.T) string {
	t.Helper()
	lib := os.Getenv("EDGENAS_ORT_LIB")
	if lib == "" {
		out, err := exec.Command("bash", filepath.Join("..", "scripts", "ort-setup.sh")).Output()
		if err != nil {
			t.Fatalf("scripts/ort-setup.sh (installs onnxruntime-node with npm): %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		lib = lines[len(lines)-1]
	}
	i := strings.LastIndex(lib, string(filepath.Separator)+"node_modules"+string(filepath.Separator))
	if i < 0 {
		t.Fatalf("EDGENAS_ORT_LIB=%s is not inside an npm install of onnxruntime-node (scripts/ort-setup.sh makes one)", lib)
	}
	return lib[:i] + string(filepath.Separator) + "node_modules"
}

// ortTeacherYAML trains a teacher large enough for students of clearly
// different latency.
const ortTeacherYAML = `model: {shape: custom, layers: 4, hidden: 64, heads: 4, ffn: 256, max_position: 64}
data:
  demo: {seed: 2, train: 4000, dev: 64}
max_seq_len: 32
batch_size: 32
max_steps: 300
lr: 1e-3
warmup: 0.1
eval_every: 150
threads: 1
`

// ortSearchYAML is a search mixing fp32 and int8, one- to four-layer
// students of clearly different latency, measured on this machine.
const ortSearchYAML = `data:
  demo: {seed: 2, train: 512, dev: 400}
importance: {examples: 32}
space:
  layers: [1, 2, 3, 4]
  heads: [1, 4]
  ffn: [32, 256]
  bits: [32, 8]
  seq_len: [16]
evaluator: {subsample: 32, max_len: 32}
device:
  local: {max_attempts: 2, no_reference: true}
search:
  strategy: regularized-evolution
  seed: 5
  population_size: 6
  budget: {max_evaluations: 30}
`

func TestExportMatchesONNXRuntime(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (scripts/ort-setup.sh needs Node.js and npm): %v", err)
	}
	nodePath := ortNodePath(t)
	dir := t.TempDir()
	teacher := filepath.Join(dir, "teacher.yaml")
	cfgPath := filepath.Join(dir, "search.yaml")
	os.WriteFile(teacher, []byte(ortTeacherYAML+"run_dir: "+filepath.Join(dir, "teacher")+"\n"), 0o644)
	os.WriteFile(cfgPath, []byte("teacher: {train: "+teacher+"}\n"+ortSearchYAML+"run_dir: "+filepath.Join(dir, "run")+"\n"), 0o644)
	ctx := context.Background()
	cfg, err := pipeline.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.Open(ctx, cfg, pipeline.Options{}) // the real local device
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Search(ctx, pipeline.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	run, err := pipeline.OpenDir(ctx, cfg.RunDir, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	f, err := pipeline.LoadFront(cfg.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "export")
	exported, err := Export(ctx, run, f, ExportOptions{Out: out, Version: "ort-test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(exported) < 2 {
		t.Fatalf("the front has %d candidates; the test wants several", len(exported))
	}

	// The dev examples tokenized as the evaluator does (train.NewDataset:
	// tok.Encode at the evaluator's max_len), one per row.
	maxLen := cfg.Evaluator.MaxLen
	type example struct {
		IDs   []int32 `json:"input_ids"`
		Mask  []int32 `json:"attention_mask"`
		Types []int32 `json:"token_type_ids"`
	}
	type model struct {
		Key    string `json:"key"`
		Path   string `json:"path"`
		SeqLen int    `json:"seq_len"`
	}
	job := struct {
		Examples []example `json:"examples"`
		Warmup   int       `json:"warmup"`
		Runs     int       `json:"runs"`
		Models   []model   `json:"models"`
	}{Warmup: 3, Runs: 15}
	var labels []int
	for _, e := range run.Dev {
		enc := run.Tokenizer.Encode(e.Text, e.Pair, maxLen)
		job.Examples = append(job.Examples, example{enc.IDs, enc.Mask, enc.TypeIDs})
		if e.Label == train.Unlabelled {
			t.Fatal("the demo dev data is labelled")
		}
		labels = append(labels, e.Label)
	}
	for _, e := range exported {
		job.Models = append(job.Models, model{e.Key, filepath.Join(out, e.Dir, ONNXFile), e.Row.SeqLen})
	}
	jobPath, resPath := filepath.Join(dir, "ort-job.json"), filepath.Join(dir, "ort-result.json")
	data, _ := json.Marshal(job)
	if err := os.WriteFile(jobPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "ort-eval.cjs"), jobPath, resPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node ort-eval.cjs: %v\n%s", err, msg)
	}
	var results []struct {
		Key         string  `json:"key"`
		Predictions []int   `json:"predictions"`
		LatencyMS   float64 `json:"latency_median_ms"`
	}
	if data, err = os.ReadFile(resPath); err != nil || json.Unmarshal(data, &results) != nil || len(results) != len(exported) {
		t.Fatalf("ONNX Runtime results: %v\n%s", err, data)
	}
	ortLatency := map[string]float64{}
	for i, res := range results {
		e := exported[i]
		if e.Row.Metric != "accuracy" || len(res.Predictions) != len(labels) {
			t.Fatalf("%s: metric %s, %d predictions for %d examples", e.Key, e.Row.Metric, len(res.Predictions), len(labels))
		}
		right := 0
		for j, p := range res.Predictions {
			if p == labels[j] {
				right++
			}
		}
		acc := float64(right) / float64(len(labels))
		t.Logf("%s: edgenas %.4f, ONNX Runtime %.4f; latency edgenas %.3f ms, ONNX Runtime %.3f ms", e.Dir, e.Row.Accuracy, acc, e.Row.LatencyMS, res.LatencyMS)
		// int8 rounding may flip an example or two: 0.5 points allowed
		// (1e-9 absorbs the float error of an exact 0.5).
		if math.Abs(acc-e.Row.Accuracy) > 0.005+1e-9 {
			t.Errorf("%s: ONNX Runtime accuracy %.4f, edgenas %.4f: more than 0.5 points apart", e.Key, acc, e.Row.Accuracy)
		}
		ortLatency[e.Key] = res.LatencyMS
	}
	// Latency order: every pair the engine separates by more than 2× is
	// ordered the same way by ONNX Runtime.
	pairs := 0
	for _, a := range exported {
		for _, b := range exported {
			if a.Row.LatencyMS > 2*b.Row.LatencyMS {
				pairs++
				if ortLatency[a.Key] <= ortLatency[b.Key] {
					t.Errorf("%s is %.1f× slower than %s in edgenas but not in ONNX Runtime (%.3f vs %.3f ms)", a.Dir,
						a.Row.LatencyMS/b.Row.LatencyMS, b.Dir, ortLatency[a.Key], ortLatency[b.Key])
				}
			}
		}
	}
	if pairs == 0 {
		t.Errorf("no two front candidates are more than 2× apart in latency: the order check checked nothing (%s)", fmt.Sprint(ortLatency))
	}
}
