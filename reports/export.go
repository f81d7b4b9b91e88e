package reports

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/onnx"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Files of an exported candidate's directory besides the model's own
// (config.json, model.safetensors) and its tokenizer's.
const (
	ONNXFile         = "model.onnx"
	MeasurementsFile = "measurements.json"
	ModelCardFile    = "README.md"
	// DevFile holds, in JSONL (train.ReadExamples), the dev examples an
	// exported student was scored on when the run generated them itself
	// (the demo task); a run on a user's data file references that file
	// instead of copying it.
	DevFile = "dev.jsonl"
	// IndexFile, in the export directory itself, lists what was exported.
	IndexFile = "export.json"
)

// ErrNoFeasible is returned by Export when no front candidate is within
// the BestUnder limits.
var ErrNoFeasible = errors.New("no front candidate meets the limits")

// ExportOptions chooses what Export exports and where.
type ExportOptions struct {
	// Select lists the keys (as in the front table) of the candidates to
	// export; empty (or the single word "all") exports the whole front.
	Select []string
	// BestUnder, when set, exports only the most accurate candidate within
	// the limits (ErrNoFeasible when there is none); Select must then be
	// empty.
	BestUnder *Limits
	// Out is the export directory: missing, empty or holding earlier
	// exports only. Nothing is written outside it.
	Out string
	// Version is the edgenas version recorded in measurements.json.
	Version string
}

// Exported is one exported candidate.
type Exported struct {
	// Key is the candidate's architecture key; Dir its directory in Out.
	Key string `json:"key"`
	Dir string `json:"dir"`
	// Row is the candidate's row of the front table.
	Row Row `json:"row"`
}

// Measurements is measurements.json: what was measured of an exported
// student, against its teacher, and how.
type Measurements struct {
	// EdgenasVersion wrote the export; RunID names the run it comes from.
	EdgenasVersion string `json:"edgenas_version"`
	RunID          string `json:"run_id"`
	// Key is the architecture's key; Architecture the architecture in
	// words; Arch the architecture.
	Key          string     `json:"key"`
	Architecture string     `json:"architecture"`
	Arch         space.Arch `json:"arch"`
	// Accuracy is the score on every dev example.
	Accuracy AccuracyNumbers `json:"accuracy"`
	// Latency is the measured forward latency on Device with Workload.
	Latency LatencyNumbers `json:"latency"`
	// SizeBytes is the size of model.safetensors; Params the parameters;
	// PeakBytes the peak memory of one forward pass.
	SizeBytes int64 `json:"size_bytes"`
	Params    int64 `json:"params"`
	PeakBytes int64 `json:"peak_bytes"`
	// Device is the fingerprint of the device that measured the latency.
	Device string `json:"device"`
	// Workload is what the latency was measured on.
	Workload devices.Workload `json:"workload"`
	// Scoring is how the accuracy was computed (edgenas eval defaults to
	// it).
	Scoring Scoring `json:"scoring"`
	// Teacher is the teacher's numbers at the same sequence length.
	Teacher TeacherNumbers `json:"teacher"`
	// SpeedUp, SizeReduction and AccuracyChange compare with the teacher
	// (as in the front table).
	SpeedUp        float64 `json:"speed_up"`
	SizeReduction  float64 `json:"size_reduction"`
	AccuracyChange float64 `json:"accuracy_change"`
	// Data says where the dev examples come from.
	Data string `json:"data"`
	// DevFile is the file of exactly the examples Accuracy was scored on,
	// for edgenas eval --data: DevFile ("dev.jsonl", in this directory)
	// when export wrote them (data the run generated), else the run's
	// data.dev file, referenced and not copied.
	DevFile string `json:"dev_file"`
	// Distillation says how the student was distilled from the teacher
	// after compression (nil: it was not; Accuracy is then after it).
	Distillation *DistillationInfo `json:"distillation,omitempty"`
	// Provenance is what the student's config.json says of its weights.
	Provenance string `json:"provenance,omitempty"`
	// ONNX describes model.onnx.
	ONNX ONNXInfo `json:"onnx"`
}

// DistillationInfo is how an exported student was distilled: the
// settings, and its accuracy on every dev example before distillation
// (Measurements.Accuracy is after it).
type DistillationInfo struct {
	Settings       pipeline.DistillSettings `json:"settings"`
	AccuracyBefore float64                  `json:"accuracy_before"`
}

// ONNXInfo names the inputs and outputs of an exported model.onnx.
type ONNXInfo struct {
	Opset   int      `json:"opset"`
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

// AccuracyNumbers is a score on a number of examples.
type AccuracyNumbers struct {
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Examples int     `json:"examples"`
}

// LatencyNumbers are latency statistics in milliseconds, with how they
// were obtained.
type LatencyNumbers struct {
	MedianMS     float64 `json:"median_ms"`
	P90MS        float64 `json:"p90_ms"`
	MinMS        float64 `json:"min_ms"`
	MaxMS        float64 `json:"max_ms"`
	MADMS        float64 `json:"mad_ms"`
	Runs         int     `json:"runs"`
	Attempts     int     `json:"attempts"`
	Unstable     bool    `json:"unstable"`
	DriftPercent float64 `json:"drift_percent"`
}

// Scoring is how accuracy was scored: the maximum tokens per example and
// the threads of the forward passes.
type Scoring struct {
	MaxLen  int    `json:"max_len"`
	Threads int    `json:"threads"`
	Metric  string `json:"metric"`
}

// TeacherNumbers are the teacher's numbers at the student's sequence
// length, and where it comes from.
type TeacherNumbers struct {
	Digest     string          `json:"digest"`
	Provenance string          `json:"provenance,omitempty"`
	Layers     int             `json:"layers"`
	Hidden     int             `json:"hidden"`
	Accuracy   AccuracyNumbers `json:"accuracy"`
	Latency    LatencyNumbers  `json:"latency"`
	SizeBytes  int64           `json:"size_bytes"`
	Params     int64           `json:"params"`
	PeakBytes  int64           `json:"peak_bytes"`
}

// Export writes the chosen candidates of f, the front of run (reopened
// from its directory), into opts.Out: one directory each (DirName) with
// the student in the edgenas format (config.json with its edgenas section,
// model.safetensors), model.onnx, the teacher's tokenizer files,
// measurements.json, a model card README.md and, when the run generated its
// dev examples (the demo task), those examples as DevFile; and an index,
// export.json.
// Each student is rebuilt from the run's teacher and rescored on every dev
// example; a score that differs from the one the front records is an
// error (the rebuilt student is not the one evaluated), never an export.
// A candidate's directory is written beside its final place and renamed
// into it, replacing an earlier export of the same candidate.
func Export(ctx context.Context, run *pipeline.Run, f *pipeline.Front, opts ExportOptions) ([]Exported, error) {
	if f.RunID != run.ID {
		return nil, fmt.Errorf("the front in %s is of run %s, but the run directory now opens run %s (the config, teacher or data changed since)", f.RunDir, f.RunID, run.ID)
	}
	rows, err := choose(f, opts)
	if err != nil {
		return nil, err
	}
	if opts.Out == "" {
		return nil, errors.New("export: no output directory")
	}
	if err := checkOut(opts.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	full := map[string]*evaluator.Result{}
	for _, m := range f.Members {
		full[m.Key] = m.Full
	}
	bo := run.Config.Compress.Options()
	ev, err := run.Evaluator(ctx, bo)
	if err != nil {
		return nil, err
	}
	var out []Exported
	for i, r := range rows {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		name := DirName(i+1, r.Key)
		dir, err := inside(opts.Out, name)
		if err != nil {
			return out, err
		}
		// A distilled student is loaded from its distillation directory;
		// any other is rebuilt from the teacher.
		d := f.DistilledOf(r.Key)
		var student *transformer.Model
		what := "rebuilt"
		if d != nil {
			what = "distilled"
			student, err = transformer.Load(filepath.Join(f.RunDir, d.Dir, pipeline.StudentDir))
		} else {
			student, err = run.Build(r.Arch, bo)
		}
		if err != nil {
			return out, fmt.Errorf("%s %s: %w", what, r.Key, err)
		}
		got, err := ev.ScoreFull(ctx, student)
		if err != nil {
			return out, fmt.Errorf("rescore the %s %s: %w", what, r.Key, err)
		}
		want := *full[r.Key]
		if d != nil {
			want = d.Result
		}
		if got.Accuracy != want.Accuracy || got.Examples != want.Examples || got.Metric != want.Metric {
			return out, fmt.Errorf("the %s student %s scores %s %v on %d examples, but the front records %s %v on %d: it is not the student that was evaluated (was the teacher or the builder changed?); nothing exported for it",
				what, r.Key, got.Metric, got.Accuracy, got.Examples, want.Metric, want.Accuracy, want.Examples)
		}
		meas := measurements(run, f, r, want, opts.Version)
		if d != nil {
			meas.Distillation = &DistillationInfo{Settings: d.Settings, AccuracyBefore: d.Before}
			meas.SizeBytes, meas.Params = d.Result.SizeBytes, d.Result.Params
			if meas.Teacher.Accuracy.Value != 0 {
				meas.AccuracyChange = (want.Accuracy - meas.Teacher.Accuracy.Value) / meas.Teacher.Accuracy.Value
			}
			if d.Result.SizeBytes > 0 {
				meas.SizeReduction = float64(meas.Teacher.SizeBytes) / float64(d.Result.SizeBytes)
			}
			r.Accuracy, r.AccuracyChange, r.SizeBytes, r.SizeReduction, r.Params = want.Accuracy, meas.AccuracyChange, meas.SizeBytes, meas.SizeReduction, meas.Params
			before := d.Before
			r.Before = &before
		}
		meas.ONNX = ONNXInfo{Opset: onnx.Opset, Inputs: onnx.InputNames, Outputs: onnx.OutputNames(student)}
		if e := student.Config.Edgenas; e != nil {
			meas.Provenance = e.Provenance
		}
		if err := writeCandidate(opts.Out, dir, student, run, meas); err != nil {
			return out, fmt.Errorf("export %s into %s: %w", r.Key, dir, err)
		}
		out = append(out, Exported{Key: r.Key, Dir: name, Row: r})
		if err := writeIndex(opts.Out, f, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// choose returns the front table rows opts selects, fastest first.
func choose(f *pipeline.Front, opts ExportOptions) ([]Row, error) {
	var rows []Row
	for _, r := range FrontTable(f).Rows {
		if !r.Teacher {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("the front of %s is empty: nothing to export", f.RunDir)
	}
	sel := opts.Select
	if len(sel) == 1 && sel[0] == "all" {
		sel = nil
	}
	switch {
	case opts.BestUnder != nil && len(sel) > 0:
		return nil, errors.New("choose either the keys to export or the limits to export the best candidate under, not both")
	case opts.BestUnder != nil:
		var best *Row
		for i, r := range rows {
			if opts.BestUnder.allows(r) && (best == nil || r.Accuracy > best.Accuracy) {
				best = &rows[i]
			}
		}
		if best == nil {
			return nil, fmt.Errorf("%w %s: the front's %d candidates run in %.3f ms or more and take %d bytes or more", ErrNoFeasible, opts.BestUnder,
				len(rows), slices.MinFunc(rows, func(a, b Row) int { return cmp.Compare(a.LatencyMS, b.LatencyMS) }).LatencyMS,
				slices.MinFunc(rows, func(a, b Row) int { return cmp.Compare(a.SizeBytes, b.SizeBytes) }).SizeBytes)
		}
		rows = []Row{*best}
	case len(sel) > 0:
		var picked []Row
		for _, k := range sel {
			i := slices.IndexFunc(rows, func(r Row) bool { return r.Key == k })
			if i < 0 {
				return nil, fmt.Errorf("%q is not a key of the front of %s (its keys: %s)", k, f.RunDir, strings.Join(keys(rows), ", "))
			}
			if !slices.ContainsFunc(picked, func(r Row) bool { return r.Key == k }) {
				picked = append(picked, rows[i])
			}
		}
		rows = picked
	}
	full := map[string]bool{}
	for _, m := range f.Members {
		full[m.Key] = m.Full != nil
	}
	for _, r := range rows {
		if !full[r.Key] {
			return nil, fmt.Errorf("%s has not been scored on every example yet (the run was interrupted): resume the search to finish it, then export", r.Key)
		}
	}
	return rows, nil
}

func keys(rows []Row) []string {
	var k []string
	for _, r := range rows {
		k = append(k, r.Key)
	}
	return k
}

// DirName is the directory name of the rank-th exported candidate (from 1)
// whose key is key: the rank and pipeline.SafeName(key), e.g.
// 01-a1-L0-2-32-0-0-8-E0-32-S16-1a2b3c4d. It is never absolute, never
// holds a path separator or "..", and different keys give different names.
func DirName(rank int, key string) string {
	return fmt.Sprintf("%02d-%s", rank, pipeline.SafeName(key))
}

// inside returns out/name after checking that it lies inside out.
func inside(out, name string) (string, error) {
	p := filepath.Join(out, name)
	rel, err := filepath.Rel(out, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("export: %q would be written outside %s: refused", name, out)
	}
	return p, nil
}

// tmpPrefix starts the names of the directories Export writes before
// renaming them into place.
const tmpPrefix = ".export-"

// checkOut fails unless out is missing, an empty directory or one holding
// only what Export writes: the index, candidate directories (each with a
// measurements.json) and leftovers of an interrupted export.
func checkOut(out string) error {
	exists, err := atomicfile.CheckDir(out)
	if err != nil || !exists {
		return err
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == IndexFile && e.Type().IsRegular(), strings.HasPrefix(name, tmpPrefix) && e.IsDir():
			continue
		case e.IsDir():
			if st, err := os.Lstat(filepath.Join(out, name, MeasurementsFile)); err == nil && st.Mode().IsRegular() {
				continue
			}
		}
		return fmt.Errorf("%s holds %q, which is not an earlier edgenas export: export into a new or empty directory (or one holding earlier exports only)", out, name)
	}
	return nil
}

// measurements builds measurements.json of a front row r rescored as full.
func measurements(run *pipeline.Run, f *pipeline.Front, r Row, full evaluator.Result, version string) Measurements {
	var sub evaluator.Result
	for _, m := range f.Members {
		if m.Key == r.Key {
			sub = m.Result
		}
	}
	cfg := run.Config.Evaluator
	w := cfg.Workload
	w.SeqLen = r.SeqLen
	scoring := Scoring{MaxLen: cmp.Or(cfg.MaxLen, 128), Threads: cmp.Or(cfg.Threads, 1), Metric: full.Metric}
	tc := run.Teacher.Config
	m := Measurements{EdgenasVersion: version, RunID: f.RunID, Key: r.Key, Architecture: r.Architecture, Arch: r.Arch,
		Accuracy:  AccuracyNumbers{Metric: full.Metric, Value: full.Accuracy, Examples: full.Examples},
		Latency:   latency(sub.Latency),
		SizeBytes: r.SizeBytes, Params: r.Params, PeakBytes: r.PeakBytes, Device: r.Device, Workload: w.WithDefaults(),
		Scoring: scoring, SpeedUp: r.SpeedUp, SizeReduction: r.SizeReduction, AccuracyChange: r.AccuracyChange,
		Data: dataSource(run.Config), DevFile: devFile(run.Config),
		Teacher: TeacherNumbers{Digest: run.TeacherDigest, Layers: tc.NumHiddenLayers, Hidden: tc.HiddenSize}}
	if tc.Edgenas != nil {
		m.Teacher.Provenance = tc.Edgenas.Provenance
	}
	for _, t := range f.Teachers {
		if t.Arch.SeqLen == r.SeqLen {
			m.Teacher.Accuracy = AccuracyNumbers{Metric: t.Metric, Value: t.Accuracy, Examples: t.Examples}
			m.Teacher.Latency = latency(t.Latency)
			m.Teacher.SizeBytes, m.Teacher.Params, m.Teacher.PeakBytes = t.SizeBytes, t.Params, t.PeakBytes
		}
	}
	return m
}

func latency(l devices.Measurement) LatencyNumbers {
	return LatencyNumbers{MedianMS: ms(l.Median), P90MS: ms(l.P90), MinMS: ms(l.Min), MaxMS: ms(l.Max), MADMS: ms(l.MAD),
		Runs: l.Runs, Attempts: l.Attempts, Unstable: l.Unstable, DriftPercent: l.DriftPercent}
}

// dataSource says in words where a run's dev examples come from.
func dataSource(c *pipeline.Config) string {
	if d := c.Data.Demo; d != nil {
		return fmt.Sprintf("the built-in demo task's dev split (data.demo: seed %d, train %d, dev %d, max_words %d)", d.Seed, d.Train, d.Dev, d.MaxWords)
	}
	return c.Data.Dev
}

// devFile is Measurements.DevFile of a run: DevFile when export writes the
// examples (the run generated them), else the run's data.dev file, made
// absolute so that it names the file from anywhere.
func devFile(c *pipeline.Config) string {
	if c.Data.Dev == "" {
		return DevFile
	}
	if abs, err := filepath.Abs(c.Data.Dev); err == nil {
		return abs
	}
	return c.Data.Dev
}

// tokenizerFiles are the teacher's files that make up its tokenizer.
var tokenizerFiles = []string{tokenizer.VocabFile, tokenizer.TokenizerJSONFile, tokenizer.TokenizerConfigFile}

// writeCandidate writes one candidate's directory dir inside out: first
// into a temporary directory in out, then renamed into place (an earlier
// export at dir, which checkOut accepted, is replaced).
func writeCandidate(out, dir string, student *transformer.Model, run *pipeline.Run, meas Measurements) error {
	tmp, err := os.MkdirTemp(out, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := inside(out, filepath.Base(tmp)); err != nil {
		return err
	}
	if err := student.Save(tmp); err != nil {
		return err
	}
	if err := onnx.ExportFile(student, filepath.Join(tmp, ONNXFile)); err != nil {
		return err
	}
	copied := 0
	for _, name := range tokenizerFiles {
		data, err := limitio.ReadFile(filepath.Join(run.TeacherDir, name), limitio.VocabLimit, "a tokenizer file")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("the teacher's tokenizer: %w", err)
		}
		if err := atomicfile.WriteBytes(filepath.Join(tmp, name), data); err != nil {
			return err
		}
		copied++
	}
	if copied == 0 {
		return fmt.Errorf("the teacher directory %s holds no tokenizer (%s)", run.TeacherDir, strings.Join(tokenizerFiles, ", "))
	}
	if meas.DevFile == DevFile {
		var dev bytes.Buffer
		if err := train.WriteJSONL(&dev, run.Dev); err != nil {
			return fmt.Errorf("the dev examples: %w", err)
		}
		if err := atomicfile.WriteBytes(filepath.Join(tmp, DevFile), dev.Bytes()); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(meas, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(tmp, MeasurementsFile), append(data, '\n')); err != nil {
		return err
	}
	card, err := ModelCard(meas, filepath.Base(dir))
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(tmp, ModelCardFile), card); err != nil {
		return err
	}
	// Replace an earlier export: move it aside, move the new one in.
	if exists, err := atomicfile.CheckDir(dir); err != nil {
		return err
	} else if exists {
		old := tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	return os.Rename(tmp, dir)
}

// index is export.json: which run was exported when, and into which
// directories.
type index struct {
	RunID    string     `json:"run_id"`
	RunDir   string     `json:"run_dir"`
	Exported []Exported `json:"exported"`
	Written  time.Time  `json:"written"`
}

func writeIndex(out string, f *pipeline.Front, ex []Exported) error {
	data, err := json.MarshalIndent(index{RunID: f.RunID, RunDir: f.RunDir, Exported: ex, Written: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(out, IndexFile), append(data, '\n'))
}
