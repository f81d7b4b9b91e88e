// Package pipelinetest holds what tests of runs share: a tiny teacher
// that trains in a fraction of a second and a small search over it.
package pipelinetest

import (
	"os"
	"path/filepath"
	"testing"
)

// TeacherYAML is a training config (run_dir left out) that trains a tiny
// demo teacher in a few steps: 2 layers, hidden 16, 2 heads, FFN 32.
const TeacherYAML = `model: {shape: custom, layers: 2, hidden: 16, heads: 2, ffn: 32, max_position: 32}
data:
  demo: {seed: 2, train: 64, dev: 32}
max_seq_len: 32
batch_size: 16
max_steps: 6
lr: 1e-3
eval_every: 3
threads: 1
`

// WriteConfigs writes the tiny teacher's training config (teacher.yaml,
// training into dir/teacher on first use) and a search config over it
// (search.yaml: a 5-evaluation search with its run directory dir/run, then
// the lines of extra) into dir; it returns the search config's path.
func WriteConfigs(t testing.TB, dir, extra string) string {
	t.Helper()
	teacher := filepath.Join(dir, "teacher.yaml")
	if err := os.WriteFile(teacher, []byte(TeacherYAML+"run_dir: "+filepath.Join(dir, "teacher")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	body := `teacher: {train: ` + teacher + `}
data:
  demo: {seed: 2, train: 64, dev: 48}
importance: {examples: 32}
space:
  heads: [1, 2]
  ffn: [8, 16, 32]
  bits: [32, 8]
  seq_len: [16]
evaluator: {subsample: 24, max_len: 16}
device:
  local: {max_attempts: 1, no_reference: true}
search:
  strategy: regularized-evolution
  seed: 3
  population_size: 4
  budget: {max_evaluations: 5}
run_dir: ` + filepath.Join(dir, "run") + "\n" + extra
	cfg := filepath.Join(dir, "search.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}
