package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgenas/edgenas/internal/atomicfile"
)

// demoTeacherYAML is configs/demo-teacher.yaml without its comments; the
// tests hold the two equal.
const demoTeacherYAML = `model:
  shape: custom
  layers: 2
  hidden: 128
  heads: 2
  ffn: 512
  max_position: 64             # demo sentences have at most 24 words
data:
  demo: {seed: 1, train: 20000, dev: 2000}
max_seq_len: 32
batch_size: 32
epochs: 5
lr: 1e-3
warmup: 0.1
weight_decay: 0.01
clip: 1.0
eval_every: 625                # once per epoch
log_every: 125
seed: 1
threads: 2
run_dir: runs/demo-teacher
`

// demoSearchYAML is configs/demo.yaml without its comments; the tests hold
// the two equal.
const demoSearchYAML = `teacher:
  train: configs/demo-teacher.yaml   # the teacher is that run's best checkpoint
data:
  demo: {seed: 1, train: 20000, dev: 2000}
importance:
  examples: 512                      # calibration sentences from the training split
space:
  layers: [1, 2]
  heads: [1, 2]
  ffn: [64, 128, 256, 384, 512]
  attention_rank: [0, 32]
  ffn_rank: [0, 32, 64]
  bits: [32, 16, 8, 4]
  share_groups: [1, 2]
  embedding_rank: [0, 32, 64]
  embedding_bits: [32, 8, 4]
  seq_len: [32]
compress:
  share: best
evaluator:
  subsample: 500                     # dev sentences per candidate; the front is rescored on all 2000
  max_len: 32
device:
  kind: local
  local: {max_rel_spread: 0.05, max_attempts: 3}
search:
  strategy: nsga2
  seed: 1
  population_size: 12
  parallelism: 1
  budget: {max_evaluations: 64, patience: 4}
  reward:
    latency: {mode: soft, weight: 0.07}
    size: {mode: soft, weight: 0.07}
run_dir: runs/demo-search
`

// runDemo runs the main job on built-in defaults: it trains the demo
// teacher from scratch (about a minute and a half on two cores, once;
// later runs reuse it), then searches for compressed students of it on the
// demo task and prints the Pareto front. It is `edgenas search -c
// configs/demo.yaml` with the configs built in and every path under -dir.
func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	dir := fs.String("dir", filepath.Join("runs", "demo"), "run directory (the teacher, the search's cache and state)")
	evals := fs.Int("evals", 0, "evaluation budget (default: the built-in config's 64)")
	asJSON := fs.Bool("json", false, "print the front, the report's paths and the exports as JSON documents, one after the other")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *evals < 0 {
		return fmt.Errorf("%w: edgenas demo [-dir DIR] [-evals N] [--json]", errUsage)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	teacherCfg := filepath.Join(*dir, "demo-teacher.yaml")
	teacher := strings.Replace(demoTeacherYAML, "run_dir: runs/demo-teacher", "run_dir: "+filepath.Join(*dir, "teacher"), 1)
	if err := atomicfile.WriteBytes(teacherCfg, []byte(teacher)); err != nil {
		return err
	}
	search := strings.Replace(demoSearchYAML, "train: configs/demo-teacher.yaml", "train: "+teacherCfg, 1)
	search = strings.Replace(search, "run_dir: runs/demo-search", "run_dir: "+filepath.Join(*dir, "search"), 1)
	if *evals > 0 {
		search = strings.Replace(search, "max_evaluations: 64", fmt.Sprintf("max_evaluations: %d", *evals), 1)
	}
	searchCfg := filepath.Join(*dir, "demo.yaml")
	if err := atomicfile.WriteBytes(searchCfg, []byte(search)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "edgenas demo: configs written to %s and %s\n", teacherCfg, searchCfg)
	var jsonFlag []string
	if *asJSON {
		jsonFlag = []string{"--json"}
	}
	say := func(s string) {
		if !*asJSON {
			fmt.Fprint(stdout, s)
		}
	}
	if err := runSearch(append([]string{"-c", searchCfg}, jsonFlag...), stdout, stderr); err != nil {
		return err
	}
	// Then what a user takes home: the report and the exported front.
	runDir, export := filepath.Join(*dir, "search"), filepath.Join(*dir, "export")
	say("\nreport (open it in a browser):\n")
	if err := runReport(append([]string{runDir, "--out", *dir}, jsonFlag...), stdout, stderr); err != nil {
		return err
	}
	say("\nexported front (edgenas format, ONNX, measurements, model card):\n")
	return runExport(append([]string{runDir, "--out", export}, jsonFlag...), stdout, stderr)
}
