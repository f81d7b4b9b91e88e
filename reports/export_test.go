package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// searched runs the tiny search in dir (fake device) and returns the run
// reopened from its directory, as edgenas export opens it, and its front.
func searched(t *testing.T, dir, extra string) (*pipeline.Run, *pipeline.Front) {
	t.Helper()
	return searchedWith(t, dir, extra, strings.NewReplacer())
}

// searchedWith is searched with the replacements of edit made in the
// search config.
func searchedWith(t *testing.T, dir, extra string, edit *strings.Replacer) (*pipeline.Run, *pipeline.Front) {
	t.Helper()
	ctx := context.Background()
	path := pipelinetest.WriteConfigs(t, dir, extra)
	// A larger budget than the base's 5 evaluations: a front of several.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The exact front: the fake device's latencies of the tiny students
	// are all within 2% of each other, so the noise-aware front has one.
	body := edit.Replace(strings.NewReplacer("max_evaluations: 5", "max_evaluations: 16", "  strategy: regularized-evolution", "  strategy: regularized-evolution\n  front: {exact: true}").Replace(string(data)))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.Open(ctx, cfg, pipeline.Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Search(ctx, pipeline.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	run, err := pipeline.OpenDir(ctx, cfg.RunDir, pipeline.Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	f, err := pipeline.LoadFront(cfg.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Members) < 2 {
		t.Fatalf("the tiny search's front has %d members; the test wants at least 2", len(f.Members))
	}
	return run, f
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	run, f := searched(t, dir, "")
	out := filepath.Join(dir, "front")
	before := listTree(t, dir, out)
	got, err := Export(context.Background(), run, f, ExportOptions{Out: out, Version: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(f.Members) {
		t.Fatalf("exported %d of %d members", len(got), len(f.Members))
	}
	if after := listTree(t, dir, out); !equalSets(before, after) {
		t.Errorf("files written outside --out: before %v, after %v", before, after)
	}
	name := regexp.MustCompile(`^[0-9]{2}-[A-Za-z0-9._-]+$`)
	for i, e := range got {
		t.Run(e.Dir, func(t *testing.T) {
			if !name.MatchString(e.Dir) || e.Dir != DirName(i+1, e.Key) {
				t.Errorf("directory name %q", e.Dir)
			}
			d := filepath.Join(out, e.Dir)
			for _, file := range []string{transformer.ConfigFile, transformer.WeightsFile, ONNXFile, tokenizer.VocabFile, MeasurementsFile, ModelCardFile, DevFile} {
				if st, err := os.Stat(filepath.Join(d, file)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", file, err)
				}
			}
			var m Measurements
			data, err := os.ReadFile(filepath.Join(d, MeasurementsFile))
			if err != nil || json.Unmarshal(data, &m) != nil {
				t.Fatalf("measurements.json: %v\n%s", err, data)
			}
			var full *evaluator.Result
			for _, mem := range f.Members {
				if mem.Key == e.Key {
					full = mem.Full
				}
			}
			if m.Accuracy.Value != full.Accuracy || m.Accuracy.Examples != len(run.Dev) || m.Accuracy.Metric != "accuracy" {
				t.Errorf("accuracy %+v, want %v on %d", m.Accuracy, full.Accuracy, len(run.Dev))
			}
			if m.Latency.MedianMS <= 0 || m.Latency.Runs < 7 || m.Latency.MinMS > m.Latency.MaxMS || m.SizeBytes <= 0 || m.Params <= 0 ||
				m.PeakBytes <= 0 || m.Device == "" || m.Workload.SeqLen != 16 || m.Workload.Batch != 1 || m.Workload.Runs < 7 ||
				m.Scoring.MaxLen != 16 || m.RunID != run.ID || m.EdgenasVersion != "test-1" || m.Key != e.Key || m.Architecture == "" {
				t.Errorf("incomplete measurements: %+v", m)
			}
			if m.Teacher.Digest != run.TeacherDigest || m.Teacher.Accuracy.Examples != len(run.Dev) || m.Teacher.Latency.MedianMS <= 0 ||
				m.Teacher.SizeBytes <= m.SizeBytes || m.SpeedUp != e.Row.SpeedUp || m.SizeReduction != e.Row.SizeReduction {
				t.Errorf("teacher numbers: %+v (row %+v)", m.Teacher, e.Row)
			}
			if strings.Join(m.ONNX.Inputs, ",") != "input_ids,attention_mask,token_type_ids" || !strings.Contains(strings.Join(m.ONNX.Outputs, ","), "logits") {
				t.Errorf("onnx %+v", m.ONNX)
			}
			// The demo task's dev examples are written, exactly those scored.
			if dev, err := train.ReadExamples(filepath.Join(d, m.DevFile), 2); m.DevFile != DevFile || err != nil || !slices.Equal(dev, run.Dev) {
				t.Errorf("dev_file %q: %d examples (%v), want the run's %d", m.DevFile, len(dev), err, len(run.Dev))
			}
			card, _ := os.ReadFile(filepath.Join(d, ModelCardFile))
			for _, want := range []string{e.Row.Architecture, run.TeacherDigest, "trained from scratch by edgenas", run.ID,
				"edgenas eval --model " + e.Dir + " --data " + e.Dir + "/" + DevFile + "\n", "edgenas encode -model " + e.Dir, "onnxruntime", `"token_type_ids"`,
				formatF(m.Accuracy.Value), formatF(m.Teacher.Accuracy.Value), "| parameters |"} {
				if !strings.Contains(string(card), want) {
					t.Errorf("model card lacks %q:\n%s", want, card)
				}
			}
			// The saved student scores exactly as exported (edgenas eval).
			sm, err := transformer.Load(d)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.Load(d)
			if err != nil {
				t.Fatal(err)
			}
			res, err := evaluator.ScoreModel(sm, tok, run.Dev, evaluator.Config{MaxLen: m.Scoring.MaxLen, Threads: m.Scoring.Threads})
			if err != nil || res.Accuracy != m.Accuracy.Value {
				t.Errorf("the saved student scores %v (%v), exported %v", res.Accuracy, err, m.Accuracy.Value)
			}
		})
	}
	var idx index
	if data, err := os.ReadFile(filepath.Join(out, IndexFile)); err != nil || json.Unmarshal(data, &idx) != nil || len(idx.Exported) != len(got) {
		t.Errorf("export.json: %v %+v", err, idx)
	}
	// Exporting again into the same directory replaces the earlier export.
	if again, err := Export(context.Background(), run, f, ExportOptions{Out: out, Select: []string{got[0].Key}}); err != nil || len(again) != 1 {
		t.Errorf("export into an earlier export: %v", err)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("a temporary directory is left: %s", e.Name())
		}
	}
}

// TestExportUserDevFile: a run on a user's dev file exports no copy of
// it; measurements.json and the model card name the file instead.
func TestExportUserDevFile(t *testing.T) {
	dir := t.TempDir()
	c, err := pipeline.LoadConfig(pipelinetest.WriteConfigs(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	_, demoDev, err := train.DemoExamples(c.Data.Demo.Generator())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := train.WriteJSONL(&b, demoDev); err != nil {
		t.Fatal(err)
	}
	devPath := filepath.Join(dir, "user-dev.jsonl")
	if err := os.WriteFile(devPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run, f := searchedWith(t, dir, "", strings.NewReplacer("demo: {seed: 2, train: 64, dev: 48}", "dev: "+devPath))
	if run.Config.Data.Demo != nil || len(run.Dev) != len(demoDev) {
		t.Fatalf("the run reads %d dev examples (demo %v), want %s's %d", len(run.Dev), run.Config.Data.Demo, devPath, len(demoDev))
	}
	out := filepath.Join(dir, "front")
	got, err := Export(context.Background(), run, f, ExportOptions{Out: out, Version: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		t.Run(e.Dir, func(t *testing.T) {
			d := filepath.Join(out, e.Dir)
			if _, err := os.Stat(filepath.Join(d, DevFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the user's dev data was copied into %s (%v)", d, err)
			}
			var m Measurements
			data, err := os.ReadFile(filepath.Join(d, MeasurementsFile))
			if err != nil || json.Unmarshal(data, &m) != nil {
				t.Fatalf("measurements.json: %v\n%s", err, data)
			}
			if m.DevFile != devPath || m.Data != devPath {
				t.Errorf("dev_file %q, data %q, want %s", m.DevFile, m.Data, devPath)
			}
			card, _ := os.ReadFile(filepath.Join(d, ModelCardFile))
			if want := "edgenas eval --model " + e.Dir + " --data " + devPath + "\n"; !strings.Contains(string(card), want) {
				t.Errorf("model card lacks %q:\n%s", want, card)
			}
		})
	}
}

func formatF(v float64) string { return fmt.Sprintf("%.4f", v) }

// listTree lists every path under root except those under skip.
func listTree(t *testing.T, root, skip string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		if filepath.Base(p) == "cache.db" || filepath.Base(p) == "front.json" || filepath.Base(p) == "run.json" {
			return nil // the run's own state, rewritten by reopening it
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

func TestExportRefuses(t *testing.T) {
	dir := t.TempDir()
	run, f := searched(t, dir, "")
	ctx := context.Background()
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	tampered := *f
	tampered.Members = append([]pipeline.Member(nil), f.Members...)
	bad := *tampered.Members[0].Full
	bad.Accuracy += 0.01
	tampered.Members[0].Full = &bad
	partial := *f
	partial.Members = append([]pipeline.Member(nil), f.Members...)
	partial.Members[1].Full = nil
	other := *f
	other.RunID = "run-0000"
	for _, c := range []struct {
		name  string
		f     *pipeline.Front
		opts  ExportOptions
		want  string
		isErr error
	}{
		{"foreign files in out", f, ExportOptions{Out: foreign}, `holds "notes.txt", which is not an earlier edgenas export`, nil},
		{"out is a file", f, ExportOptions{Out: file}, "not a directory", nil},
		{"unknown key", f, ExportOptions{Out: filepath.Join(dir, "o1"), Select: []string{"v1|nope"}}, `"v1|nope" is not a key of the front`, nil},
		{"select and limits", f, ExportOptions{Out: filepath.Join(dir, "o2"), Select: []string{f.Members[0].Key}, BestUnder: &Limits{Latency: time.Hour}}, "not both", nil},
		{"nothing feasible", f, ExportOptions{Out: filepath.Join(dir, "o3"), BestUnder: &Limits{Latency: time.Nanosecond}}, "no front candidate meets the limits latency=1ns", ErrNoFeasible},
		{"rebuilt student differs", &tampered, ExportOptions{Out: filepath.Join(dir, "o4"), Select: []string{tampered.Members[0].Key}}, "not the student that was evaluated", nil},
		{"not rescored", &partial, ExportOptions{Out: filepath.Join(dir, "o5")}, "not been scored on every example", nil},
		{"another run", &other, ExportOptions{Out: filepath.Join(dir, "o6")}, "is of run run-0000", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Export(ctx, run, c.f, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.isErr != nil && !errors.Is(err, c.isErr)) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if len(got) != 0 {
				t.Errorf("exported %v despite the error", got)
			}
			if entries, _ := os.ReadDir(c.opts.Out); c.opts.Out != foreign && c.opts.Out != file && len(entries) > 0 {
				t.Errorf("%s holds %d entries after a refused export", c.opts.Out, len(entries))
			}
		})
	}
	if data, _ := os.ReadFile(filepath.Join(foreign, "notes.txt")); string(data) != "mine" {
		t.Error("a refused export touched the foreign file")
	}
}

func TestExportSelect(t *testing.T) {
	dir := t.TempDir()
	run, f := searched(t, dir, "")
	rows := FrontTable(f).Rows[1:]
	best := rows[0]
	for _, r := range rows {
		if r.Accuracy > best.Accuracy {
			best = r
		}
	}
	// The fastest row alone fits under its own latency and size.
	fastest := rows[0]
	for _, c := range []struct {
		name string
		opts ExportOptions
		want []string
	}{
		{"all", ExportOptions{Select: []string{"all"}}, keys(rows)},
		{"one key", ExportOptions{Select: []string{rows[len(rows)-1].Key}}, []string{rows[len(rows)-1].Key}},
		{"best under loose limits", ExportOptions{BestUnder: &Limits{Latency: time.Hour, SizeBytes: 1 << 40}}, []string{best.Key}},
		{"best under the fastest's numbers", ExportOptions{BestUnder: &Limits{Latency: time.Duration(fastest.LatencyMS * 1e6), SizeBytes: fastest.SizeBytes}},
			[]string{bestWithin(rows, fastest)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Out = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			got, err := Export(context.Background(), run, f, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var k []string
			for _, e := range got {
				k = append(k, e.Key)
			}
			if strings.Join(k, " ") != strings.Join(c.want, " ") {
				t.Errorf("exported %v, want %v", k, c.want)
			}
		})
	}
}

// bestWithin is the most accurate row no slower and no larger than lim.
func bestWithin(rows []Row, lim Row) string {
	best := ""
	acc := -1.0
	for _, r := range rows {
		if r.LatencyMS <= lim.LatencyMS && r.SizeBytes <= lim.SizeBytes && r.Accuracy > acc {
			best, acc = r.Key, r.Accuracy
		}
	}
	return best
}

func TestDirName(t *testing.T) {
	safe := regexp.MustCompile(`^[0-9]{2,}-[A-Za-z0-9._-]+$`)
	seen := map[string]string{}
	for _, c := range []struct{ name, key string }{
		{"canonical key", "v1|L0:2:32:0:0:8|L1:1:16:0:0:32|E0:32|S16"},
		{"parent", "../../etc/passwd"},
		{"dot dot only", ".."},
		{"absolute", "/abs/path"},
		{"slashes", "a/b\\c"},
		{"NUL", "a\x00b"},
		{"empty", ""},
		{"dots", "a....b"},
		{"unicode", "héllo|wörld"},
		{"very long", strings.Repeat("L0:2:32|", 5000)},
		{"newline", "a\nb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := DirName(3, c.key)
			if !safe.MatchString(n) || strings.Contains(n, "..") || !filepath.IsLocal(n) || len(n) > 3+48+1+8 { // rank, 48 characters of the key (pipeline.SafeName), hash
				t.Errorf("DirName(%q) = %q: not a safe local name", c.key, n)
			}
			if !strings.HasPrefix(n, "03-") {
				t.Errorf("DirName(%q) = %q lacks the rank", c.key, n)
			}
			if k, dup := seen[n]; dup {
				t.Errorf("keys %q and %q share the name %q", k, c.key, n)
			}
			seen[n] = c.key
		})
	}
	if a, b := DirName(1, "x/y"), DirName(1, "x:y"); a == b {
		t.Errorf("different keys, same name %q", a)
	}
}

func FuzzDirName(f *testing.F) {
	for _, s := range []string{"v1|L0:2:32:0:0:8|E0:32|S16", "../x", "\x00", ""} {
		f.Add(s)
	}
	safe := regexp.MustCompile(`^[0-9]{2,}-[A-Za-z0-9._-]+$`)
	f.Fuzz(func(t *testing.T, key string) {
		n := DirName(1, key)
		if !safe.MatchString(n) || strings.Contains(n, "..") || !filepath.IsLocal(n) {
			t.Fatalf("DirName(%q) = %q", key, n)
		}
	})
}

// TestExportDistilled: a distilled member is exported with its distilled
// weights (the very files of its distillation directory), its accuracy
// after distillation (which the saved model reproduces exactly) and
// before, and says so in measurements.json and the model card.
func TestExportDistilled(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	run, f := searched(t, dir, "distill: {steps: 12, checkpoint_every: 6, lr: 3e-3, threads: 1}\n")
	key := f.Members[0].Key
	f, err := run.Distill(ctx, f, pipeline.DistillOptions{Select: key})
	if err != nil {
		t.Fatal(err)
	}
	d := f.DistilledOf(key)
	if d == nil {
		t.Fatal("not distilled")
	}
	out := filepath.Join(dir, "front")
	got, err := Export(ctx, run, f, ExportOptions{Out: out, Select: []string{key, f.Members[1].Key}, Version: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	digest := func(dir string) string {
		m, err := transformer.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		dg, err := m.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return dg
	}
	for _, e := range got {
		t.Run(e.Dir, func(t *testing.T) {
			p := filepath.Join(out, e.Dir)
			var m Measurements
			data, err := os.ReadFile(filepath.Join(p, MeasurementsFile))
			if err != nil || json.Unmarshal(data, &m) != nil {
				t.Fatalf("measurements.json: %v\n%s", err, data)
			}
			card, _ := os.ReadFile(filepath.Join(p, ModelCardFile))
			if e.Key != key {
				if m.Distillation != nil || strings.Contains(string(card), "distilled") {
					t.Fatalf("a member that was not distilled is exported as distilled: %+v", m.Distillation)
				}
				return
			}
			if want := digest(filepath.Join(run.Config.RunDir, d.Dir, pipeline.StudentDir)); digest(p) != want {
				t.Fatal("the exported weights are not the distilled student's")
			}
			if m.Distillation == nil || m.Distillation.Settings != d.Settings || m.Distillation.AccuracyBefore != d.Before ||
				m.Accuracy.Value != d.Result.Accuracy || e.Row.Before == nil || *e.Row.Before != d.Before {
				t.Fatalf("measurements %+v / row %+v, distilled %+v", m, e.Row, d)
			}
			if !strings.Contains(string(card), "distilled from the teacher") || !strings.Contains(string(card), "for 12 steps") {
				t.Errorf("model card does not say distilled:\n%s", card)
			}
			sm, err := transformer.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			res, err := evaluator.ScoreModel(sm, tok, run.Dev, evaluator.Config{MaxLen: m.Scoring.MaxLen, Threads: m.Scoring.Threads})
			if err != nil || res.Accuracy != d.Result.Accuracy {
				t.Errorf("the exported student scores %v (%v), distilled %v", res.Accuracy, err, d.Result.Accuracy)
			}
		})
	}
}
