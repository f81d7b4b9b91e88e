package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

func TestSearch(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	code, out, stderr := runCLI(t, "search", "-c", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Pareto front", "teacher", "accuracy", "latency ms", "speed-up", "run directory: " + filepath.Join(dir, "run")} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"training one from scratch", "importance of heads", "5/5 evaluations", "search space:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Run again: the finished run is loaded from bbolt, nothing is evaluated
	// again, and --json prints the same front.
	code, out, stderr = runCLI(t, "search", "-c", cfg, "--json")
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	var res struct {
		Rows []struct {
			Key       string  `json:"key"`
			Teacher   bool    `json:"teacher"`
			Accuracy  float64 `json:"accuracy"`
			Examples  int     `json:"examples"`
			LatencyMS float64 `json:"latency_ms"`
			SizeBytes int64   `json:"size_bytes"`
			SpeedUp   float64 `json:"speed_up"`
			Arch      string  `json:"architecture"`
		} `json:"rows"`
		RunDir      string `json:"run_dir"`
		Evaluations int    `json:"evaluations"`
		Partial     bool   `json:"partial"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(res.Rows) < 2 || !res.Rows[0].Teacher || res.Evaluations != 5 || res.RunDir != filepath.Join(dir, "run") || res.Partial {
		t.Fatalf("--json: %s", out)
	}
	for _, r := range res.Rows {
		if r.Accuracy <= 0 || r.LatencyMS <= 0 || r.SizeBytes <= 0 || r.Examples != 48 || r.SpeedUp <= 0 || !strings.Contains(r.Arch, "layer") {
			t.Errorf("row %+v", r)
		}
		if !r.Teacher && !strings.HasPrefix(r.Key, "a1|") {
			t.Errorf("row key %q", r.Key)
		}
	}
	if !strings.Contains(stderr, "reusing") {
		t.Errorf("importance recomputed for the same teacher and data:\n%s", stderr)
	}
	if strings.Contains(stderr, "generation ") {
		t.Errorf("the finished run evaluated again:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "importance.json")); err != nil {
		t.Error(err)
	}
}

// TestSearchWarnsOnAnUnreliableProxy: a proxy check below
// proxy_check.min_tau is a warning on stderr at the end of the search,
// and --json carries the check.
func TestSearchWarnsOnAnUnreliableProxy(t *testing.T) {
	cfg := pipelinetest.WriteConfigs(t, t.TempDir(), "proxy_check: {min_tau: 1.01}\n")
	code, out, stderr := runCLI(t, "search", "-c", cfg, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "warning: proxy check: Kendall τ") || !strings.Contains(last, "on 24 examples and on all 48") {
		t.Errorf("last stderr line %q, want the proxy check's warning", last)
	}
	var res struct {
		Proxy *struct {
			Points []json.RawMessage `json:"points"`
			MinTau float64           `json:"min_tau"`
		} `json:"proxy_check"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Proxy == nil || len(res.Proxy.Points) != 5 || res.Proxy.MinTau != 1.01 {
		t.Errorf("--json proxy check: %v\n%s", err, out)
	}
}

func TestSearchConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"unknown key", "serach: {}\n", []string{"search.yaml:19", "serach"}},
		{"every problem at once", "compress: {share: median}\n", []string{"compress.share"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pipelinetest.WriteConfigs(t, dir, tc.extra)
			code, _, stderr := runCLI(t, "search", "-c", cfg)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (config error): %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	// Several sections wrong: every problem is listed, each with its line.
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("teacher: {dir: x}\ndata: {dev: d.tsv}\nevaluator: {metric: bleu}\ndevice: {kind: phone}\nsearch: {strategy: annealing, population_size: -1}\n"), 0o644)
	code, _, stderr := runCLI(t, "search", "-c", cfg)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, w := range []string{"bad.yaml:3: evaluator.metric", "bad.yaml:4: device.kind", "bad.yaml:5: search.strategy", "search.population_size"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if code, _, _ := runCLI(t, "search"); code != 2 {
		t.Errorf("no -c: exit %d, want 2", code)
	}
}

// TestSearchNoFeasibleCandidate: a search whose hard limits no candidate
// meets exits 3 and says so.
func TestSearchNoFeasibleCandidate(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "budget: {max_evaluations: 5}", "budget: {max_evaluations: 5}\n  reward: {min_accuracy: 0.999}", 1)), 0o644)
	code, out, stderr := runCLI(t, "search", "-c", cfg)
	if code != 3 || !strings.Contains(stderr, "no feasible candidate") || !strings.Contains(out, "teacher") {
		t.Fatalf("exit %d (want 3)\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}

func TestJSONEverywhere(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	for _, args := range [][]string{
		{"version", "--json"},
		{"init", "-shape", "tiny", "-out", model, "--json"},
		{"encode", "-model", model, "--json", "a fine film", "a dull one"},
		{"export-onnx", "-model", model, "--json"},
		{"bench", "-model", model, "-seq", "16", "-runs", "7", "--json"},
	} {
		code, out, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		n := 0
		for dec.More() {
			var v map[string]any
			if err := dec.Decode(&v); err != nil || len(v) == 0 {
				t.Fatalf("%v: not JSON objects: %v\n%s", args, err, out)
			}
			n++
		}
		if n == 0 || (args[0] == "encode" && n != 2) {
			t.Errorf("%v: %d JSON objects:\n%s", args, n, out)
		}
	}
}
