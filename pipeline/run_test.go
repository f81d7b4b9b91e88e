package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// openTiny opens a run of the tiny teacher (trained on first use) with a
// fake device; extra is appended to the search config.
func openTiny(t *testing.T, dir, extra string) *Run {
	t.Helper()
	cfg, err := LoadConfig(pipelinetest.WriteConfigs(t, dir, extra))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), cfg, Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestImportanceSettings: importance is computed at the evaluator's
// max_len unless importance.max_len says otherwise (its data digest is of
// the examples tokenized at that length).
func TestImportanceSettings(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, extra string
		maxLen      int
	}{
		{"evaluator max_len", "", 16},
		{"own max_len and batch", "importance: {examples: 32, max_len: 8, batch: 4}\n", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			os.MkdirAll(sub, 0o755)
			extra := tc.extra
			r := openTiny(t, sub, "")
			if extra != "" { // replace the base's importance section
				r.Close()
				data, _ := os.ReadFile(filepath.Join(sub, "search.yaml"))
				os.WriteFile(filepath.Join(sub, "search.yaml"), []byte(strings.Replace(string(data), "importance: {examples: 32}\n", extra, 1)), 0o644)
				cfg, err := LoadConfig(filepath.Join(sub, "search.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if r, err = Open(context.Background(), cfg, Options{Device: &devicetest.Fake{}}); err != nil {
					t.Fatal(err)
				}
				defer r.Close()
			}
			tr, _, err := train.DemoExamples(r.Config.Data.Demo.Generator())
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			var labels []int
			for _, e := range tr[:32] {
				texts, labels = append(texts, e.Text), append(labels, e.Label)
			}
			b := r.Tokenizer.EncodeBatch(texts, nil, tc.maxLen)
			if want := compress.DataDigest([]*tokenizer.Batch{&b}, labels); r.Importance.Data != want {
				t.Errorf("importance data digest %s, want that of the examples at max_len %d (%s)", r.Importance.Data, tc.maxLen, want)
			}
		})
	}
}

// TestBaselinesFollowTheSpace: the baselines are measured at the space's
// sequence lengths (the demo config's 32, not a fixed 64 and 128).
func TestBaselinesFollowTheSpace(t *testing.T) {
	r := openTiny(t, t.TempDir(), "")
	rows, err := r.Baselines(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 || rows[0].Technique != "teacher" {
		t.Fatalf("rows %+v", rows)
	}
	for _, row := range rows {
		if len(row.Latency) != 1 || row.Latency[0].SeqLen != 16 || row.Latency[0].MS <= 0 || row.Examples != 48 {
			t.Errorf("%s %s: latency %+v, %d examples; want one measurement at seq 16 on all 48", row.Technique, row.Strength, row.Latency, row.Examples)
		}
	}
	back, err := LoadBaselines(r.Config.RunDir)
	if err != nil || !reflect.DeepEqual(back, rows) {
		t.Errorf("LoadBaselines after Baselines: %v\n%+v\nwant %+v", err, back, rows)
	}
}

// TestRetrainedTeacherStartsANewRun: the run ID covers the teacher, so a
// teacher retrained in the same directory starts a new run instead of
// resuming the old archive; the same teacher resumes.
func TestRetrainedTeacherStartsANewRun(t *testing.T) {
	dir := t.TempDir()
	r := openTiny(t, dir, "")
	ctx := context.Background()
	f, err := r.Search(ctx, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := r.ID
	r.Close()
	if f.Evaluations != 5 || f.Partial || len(f.Members) == 0 || f.Members[0].Full == nil || len(f.Teachers) != 1 ||
		f.Teachers[0].Examples != 48 || f.Teachers[0].Arch.SeqLen != 16 || len(f.All) != 5 || !strings.Contains(f.Config, "regularized-evolution") {
		t.Fatalf("front %+v", f)
	}
	loaded, err := LoadFront(filepath.Join(dir, "run"))
	if err != nil || loaded.RunID != first || len(loaded.Members) != len(f.Members) {
		t.Fatalf("LoadFront: %+v, %v", loaded, err)
	}
	// The directory alone reopens the run.
	byDir, err := OpenDir(ctx, filepath.Join(dir, "run"), Options{Device: &devicetest.Fake{}})
	if err != nil || byDir.ID != first {
		t.Fatalf("OpenDir: %v", err)
	}
	byDir.Close()
	// Same teacher: same run, resumed (nothing evaluated again).
	r = openTiny(t, dir, "")
	if r.ID != first {
		t.Fatalf("same teacher, run ID %s then %s", first, r.ID)
	}
	evals := 0
	if _, err := r.Search(ctx, SearchOptions{Progress: func(e search.Event) { evals += countEval(e) }}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if evals != 0 {
		t.Errorf("the resumed run evaluated %d candidates again", evals)
	}
	// Retrain the teacher with another seed in the same place.
	if err := os.RemoveAll(filepath.Join(dir, "teacher")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "teacher.yaml"))
	os.WriteFile(filepath.Join(dir, "teacher.yaml"), append(data, []byte("seed: 99\n")...), 0o644)
	cfg, err := LoadConfig(filepath.Join(dir, "search.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err = Open(ctx, cfg, Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { r.Close() }()
	if r.ID == first {
		t.Fatal("a retrained teacher kept the run ID")
	}
	r.Close()
	if _, err := OpenDir(ctx, filepath.Join(dir, "run"), Options{Device: &devicetest.Fake{}}); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Errorf("OpenDir on a run whose teacher changed: %v", err)
	}
	if r, err = Open(ctx, cfg, Options{Device: &devicetest.Fake{}}); err != nil {
		t.Fatal(err)
	}
	evals = 0
	f, err = r.Search(ctx, SearchOptions{Progress: func(e search.Event) { evals += countEval(e) }})
	if err != nil {
		t.Fatal(err)
	}
	if evals != 5 || f.RunID != r.ID {
		t.Errorf("the new teacher's run evaluated %d candidates (want 5, a new run), run %s", evals, f.RunID)
	}
}

func countEval(e search.Event) int {
	if e.Kind == search.EventEvaluation {
		return 1
	}
	return 0
}

// TestRunTeacherDir: the run records the directory its teacher was loaded
// from (export copies the tokenizer files from there).
func TestRunTeacherDir(t *testing.T) {
	dir := t.TempDir()
	r := openTiny(t, dir, "")
	want := filepath.Join(dir, "teacher", train.BestDir)
	if r.TeacherDir != want {
		t.Fatalf("TeacherDir %q, want %q", r.TeacherDir, want)
	}
	if _, err := os.Stat(filepath.Join(r.TeacherDir, tokenizer.VocabFile)); err != nil {
		t.Errorf("no vocabulary in the teacher dir: %v", err)
	}
}
