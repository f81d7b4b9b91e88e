//go:build ort

// TestExportMatchesONNXRuntime runs exported students in ONNX Runtime,
// through Node.js and the npm package onnxruntime-node that
// scripts/ort-setup.sh installs: go test -tags ort -run
// TestExportMatchesONNXRuntime ./reports/ (EDGENAS_ORT_LIB, when set, names
// the installed library; otherwise the test runs scripts/ort-setup.sh).
//
// It trains a demo teacher, searches its students on this machine,
// exports the front and runs every model.onnx, the teacher's own export
// and a reference fp32 student in ONNX Runtime (batch 1, one thread):
// each one's accuracy on the dev examples, tokenized as the evaluator
// does, is within 0.5 points of the engine's, and every pair of the same
// weight precision whose engine latencies are more than ortSeparation
// apart is ordered alike by ONNX Runtime. It takes about 30 s.

package reports

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer/onnx"
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

// ortTeacherYAML trains a demo-task teacher that really learns (2 layers,
// hidden 64, 2 heads, FFN 256: ~0.88 dev accuracy after 3 epochs of 20000
// examples, ~20 s on two cores), so that the front trades accuracy for
// latency over students of clearly different size instead of collapsing
// to the smallest ones, as it does under a teacher that learned little.
// max_position 128 allows the latency workload's sequence length.
const ortTeacherYAML = `model: {shape: custom, layers: 2, hidden: 64, heads: 2, ffn: 256, max_position: 128}
data:
  demo: {seed: 1, train: 20000, dev: 400}
max_seq_len: 32
batch_size: 32
epochs: 3
lr: 1e-3
warmup: 0.1
weight_decay: 0.01
clip: 1.0
eval_every: 625
seed: 1
threads: 2
`

// ortSearchYAML searches one- and two-layer students, fp32 and int8, FFN
// 32 to 256. Accuracy is scored at 32 tokens (demo sentences are shorter),
// latency measured on this machine at sequence length 128, so that the
// models' own work, not the per-call overhead of Node.js and N-API,
// dominates ONNX Runtime's timings even of the smallest students.
const ortSearchYAML = `data:
  demo: {seed: 1, train: 2000, dev: 400}
importance: {examples: 128}
space:
  layers: [1, 2]
  heads: [1, 2]
  ffn: [32, 64, 128, 256]
  bits: [32, 8]
  seq_len: [128]
evaluator: {subsample: 200, max_len: 32}
device:
  local: {max_attempts: 2, no_reference: true}
search:
  strategy: nsga2
  seed: 1
  population_size: 8
  budget: {max_evaluations: 24}
`

// ortSeparation is how many times slower than another candidate of the
// same weight precision the engine must measure one for the pair to count
// as clearly separated: the latency order is checked on those pairs only.
// 2× is far beyond the spread of either measurement (a few percent on an
// idle machine, tens of percent on a busy one) and beyond the per-call
// overhead of Node.js and N-API that ONNX Runtime's timings include.
const ortSeparation = 2.0

// weightBits returns the bit width shared by every layer's weights of a,
// or 0 when the layers differ. Only candidates of the same width are
// compared for latency order: model.onnx quantizes an int8 or int4
// student's activations with a chain of element-wise operators before each
// MatMulInteger, which ONNX Runtime runs one by one, where the engine
// quantizes inside its integer kernels; an int8 student and an fp32 one
// are not ordered alike by the two (a small int8 student can be slower in
// ONNX Runtime than the fp32 teacher), whatever either's measurement noise.
func weightBits(a space.Arch) int {
	bits := 0
	for i, l := range a.Layers {
		if i > 0 && l.Bits != bits {
			return 0
		}
		bits = l.Bits
	}
	return bits
}

func TestExportMatchesONNXRuntime(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (scripts/ort-setup.sh needs Node.js and npm): %v", err)
	}
	nodePath := ortNodePath(t)
	dir := t.TempDir()
	teacherCfg := filepath.Join(dir, "teacher.yaml")
	cfgPath := filepath.Join(dir, "search.yaml")
	for path, body := range map[string]string{
		teacherCfg: ortTeacherYAML + "run_dir: " + filepath.Join(dir, "teacher") + "\n",
		cfgPath:    "teacher: {train: " + teacherCfg + "}\n" + ortSearchYAML + "run_dir: " + filepath.Join(dir, "run") + "\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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

	// The teacher's own export joins the latency comparison: it is clearly
	// slower than small students in both engines.
	var teacher *evaluator.Result
	for i, tr := range f.Teachers {
		if tr.Arch.SeqLen == exported[0].Row.SeqLen {
			teacher = &f.Teachers[i]
		}
	}
	if teacher == nil {
		t.Fatalf("the front holds no teacher measurement at sequence length %d", exported[0].Row.SeqLen)
	}
	teacherONNX := filepath.Join(dir, "teacher.onnx")
	if err := onnx.ExportFile(run.Teacher, teacherONNX); err != nil {
		t.Fatal(err)
	}
	type candidate struct {
		name      string
		bits      int
		path      string
		seqLen    int
		accuracy  float64
		latencyMS float64
	}
	cands := []candidate{{"teacher", 32, teacherONNX, teacher.Arch.SeqLen, teacher.Accuracy, teacher.Latency.Median.Seconds() * 1e3}}
	// So is the smallest fp32 student of the space, evaluated on this
	// machine like the front's: the front may hold no fp32 student, and
	// int8 ones are not compared with fp32 ones (weightBits), so the teacher
	// and this reference make a clearly separated pair in every run.
	ref := space.Arch{Layers: []space.LayerGene{{Source: 1, Heads: 1, FFN: 32, Bits: 32}}, EmbeddingBits: 32, SeqLen: teacher.Arch.SeqLen}
	bo := run.Config.Compress.Options()
	ev, err := run.Evaluator(ctx, bo)
	if err != nil {
		t.Fatal(err)
	}
	refRes, err := ev.EvaluateFull(ctx, ref)
	if err != nil {
		t.Fatalf("evaluate the reference student %s: %v", ref.Key(), err)
	}
	refModel, err := run.Build(ref, bo)
	if err != nil {
		t.Fatal(err)
	}
	refONNX := filepath.Join(dir, "reference.onnx")
	if err := onnx.ExportFile(refModel, refONNX); err != nil {
		t.Fatal(err)
	}
	cands = append(cands, candidate{"reference " + ref.Key(), 32, refONNX, ref.SeqLen, refRes.Accuracy, refRes.Latency.Median.Seconds() * 1e3})
	for _, e := range exported {
		if e.Row.Metric != "accuracy" {
			t.Fatalf("%s: metric %s, want accuracy", e.Key, e.Row.Metric)
		}
		cands = append(cands, candidate{e.Dir, weightBits(e.Row.Arch), filepath.Join(out, e.Dir, ONNXFile), e.Row.SeqLen, e.Row.Accuracy, e.Row.LatencyMS})
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
		Rounds   int       `json:"rounds"`
		Calls    int       `json:"calls"`
		Models   []model   `json:"models"`
	}{Warmup: 20, Rounds: 15, Calls: 20}
	var labels []int
	for _, e := range run.Dev {
		enc := run.Tokenizer.Encode(e.Text, e.Pair, maxLen)
		job.Examples = append(job.Examples, example{enc.IDs, enc.Mask, enc.TypeIDs})
		if e.Label == train.Unlabelled {
			t.Fatal("the demo dev data is labelled")
		}
		labels = append(labels, e.Label)
	}
	for _, c := range cands {
		job.Models = append(job.Models, model{c.name, c.path, c.seqLen})
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
	if data, err = os.ReadFile(resPath); err != nil || json.Unmarshal(data, &results) != nil || len(results) != len(cands) {
		t.Fatalf("ONNX Runtime results: %v\n%s", err, data)
	}
	ortMS := make([]float64, len(cands))
	for i, res := range results {
		c := cands[i]
		if res.Key != c.name || len(res.Predictions) != len(labels) {
			t.Fatalf("ONNX Runtime result %d: %s with %d predictions, want %s with %d", i, res.Key, len(res.Predictions), c.name, len(labels))
		}
		right := 0
		for j, p := range res.Predictions {
			if p == labels[j] {
				right++
			}
		}
		acc := float64(right) / float64(len(labels))
		t.Logf("%s (%d-bit weights, 0 = mixed): accuracy edgenas %.4f, ONNX Runtime %.4f; latency edgenas %.3f ms, ONNX Runtime %.3f ms", c.name, c.bits, c.accuracy, acc, c.latencyMS, res.LatencyMS)
		// int8 rounding may flip an example or two: 0.5 points allowed
		// (1e-9 absorbs the float error of an exact 0.5).
		const tol = 0.005
		if math.Abs(acc-c.accuracy) > tol+1e-9 {
			t.Errorf("%s: ONNX Runtime accuracy %.4f, edgenas %.4f: more than %.1f points apart", c.name, acc, c.accuracy, 100*tol)
		}
		ortMS[i] = res.LatencyMS
	}
	// Latency order: every pair of the same weight precision (weightBits)
	// that the engine separates by more than ortSeparation is ordered the
	// same way by ONNX Runtime.
	pairs := 0
	for i, a := range cands {
		for j, b := range cands {
			if a.bits == 0 || a.bits != b.bits || a.latencyMS <= ortSeparation*b.latencyMS {
				continue
			}
			pairs++
			t.Logf("%d-bit pair: %s %.3f ms vs %s %.3f ms in edgenas (%.1f×); %.3f vs %.3f ms in ONNX Runtime (%.1f×)",
				a.bits, a.name, a.latencyMS, b.name, b.latencyMS, a.latencyMS/b.latencyMS, ortMS[i], ortMS[j], ortMS[i]/ortMS[j])
			if ortMS[i] <= ortMS[j] {
				t.Errorf("%s is %.1f× slower than %s in edgenas (%.3f vs %.3f ms) but not in ONNX Runtime (%.3f vs %.3f ms)",
					a.name, a.latencyMS/b.latencyMS, b.name, a.latencyMS, b.latencyMS, ortMS[i], ortMS[j])
			}
		}
	}
	if pairs == 0 {
		t.Errorf("no two candidates of the same weight precision (the fp32 teacher and %d front students) are more than %g× apart in edgenas latency: the order check checked nothing", len(exported), ortSeparation)
	}
}
