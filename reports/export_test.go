package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// searched runs the tiny search in dir (fake device) and returns the run
// reopened from its directory, as edgenas export opens it, and its front.
func searched(t *testing.T, dir, extra string) (*pipeline.Run, *pipeline.Front) {
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
	src := strings.NewReplacer("max_evaluations: 5", "max_evaluations: 16", "  strategy: regularized-evolution", "  strategy: regularized-evolution\n  front: {exact: true}").Replace(string(data))
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
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
			for _, file := range []string{transformer.ConfigFile, transformer.WeightsFile, ONNXFile, tokenizer.VocabFile, MeasurementsFile, ModelCardFile} {
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
			card, _ := os.ReadFile(filepath.Join(d, ModelCardFile))
			for _, want := range []string{e.Row.Architecture, run.TeacherDigest, "trained from scratch by edgenas", run.ID,
				"edgenas eval --model " + e.Dir, "edgenas encode -model " + e.Dir, "onnxruntime", `"token_type_ids"`,
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
			if !safe.MatchString(n) || strings.Contains(n, "..") || !filepath.IsLocal(n) || len(n) > 3+maxNameKey+1+8 {
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
