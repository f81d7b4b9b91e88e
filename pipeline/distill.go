package pipeline

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// DistillConfig is the distill section of a run config: how Run.Distill
// trains chosen front students from the teacher (TinyBERT-style knowledge
// distillation, train.Distillation). The zero value of every field means
// its default, given in the field's comment.
type DistillConfig struct {
	// Steps is the number of optimizer steps per student (default 2000).
	Steps int `yaml:"steps"`
	// BatchSize is the number of training examples per step (default 32).
	BatchSize int `yaml:"batch_size"`
	// LR is the peak learning rate (default 5e-4); Warmup the fraction of
	// the steps of linear warm-up before the linear decay (nil: 0.1).
	LR     float64  `yaml:"lr"`
	Warmup *float64 `yaml:"warmup"`
	// Temperature of the soft targets (default 1).
	Temperature float64 `yaml:"temperature"`
	// Weights weigh the loss terms.
	Weights DistillWeights `yaml:"weights"`
	// MaxLen truncates training examples to this many tokens (default
	// evaluator.max_len, else 128).
	MaxLen int `yaml:"max_len"`
	// Seed orders the batches (default 1).
	Seed uint64 `yaml:"seed"`
	// Threads runs the forward and backward passes (default: every CPU).
	Threads int `yaml:"threads"`
	// Select chooses the front members to distil: "all" (default), "top=N"
	// (the N of highest reward) or keys separated by commas.
	Select string `yaml:"select"`
	// CheckpointEvery is the number of steps between checkpoints a killed
	// distillation resumes from (default a tenth of the steps).
	CheckpointEvery int `yaml:"checkpoint_every"`
	// InSearch distils the best students of each search generation
	// briefly before they enter the archive (off by default).
	InSearch InSearchConfig `yaml:"in_search"`
}

// InSearchConfig turns distillation inside the search on: after each
// generation is evaluated, its Top students of highest reward are
// distilled for Steps steps (the other settings those of the distill
// section) into InSearchDir(key), rescored on the search's subsample, and
// enter the archive with that score (search.Refine; marked Refined).
// Both zero (the default) is off.
type InSearchConfig struct {
	Top   int `yaml:"top"`
	Steps int `yaml:"steps"`
}

// On says in-search distillation is on.
func (c InSearchConfig) On() bool { return c.Top > 0 }

// DistillWeights weigh the distillation loss terms (train.KDConfig); nil
// means the default. A weight of 0 drops its term.
type DistillWeights struct {
	// Soft weighs T²·KL of the teacher's soft targets (default 1).
	Soft *float64 `yaml:"soft" json:"soft"`
	// Hidden weighs the mean squared error of hidden states through the
	// layer map (default 1).
	Hidden *float64 `yaml:"hidden" json:"hidden"`
	// Attention weighs the mean squared error of attention maps (default
	// 1).
	Attention *float64 `yaml:"attention" json:"attention"`
	// Hard weighs the cross-entropy with the labels (default 0).
	Hard *float64 `yaml:"hard" json:"hard"`
}

// Defaults of DistillConfig.
const (
	DefaultDistillSteps = 2000
	DefaultDistillLR    = 5e-4
)

// DistillSettings are the resolved settings one student was distilled
// with (DistillConfig after defaults and command-line overrides).
type DistillSettings struct {
	Steps           int     `json:"steps"`
	BatchSize       int     `json:"batch_size"`
	LR              float64 `json:"lr"`
	Warmup          float64 `json:"warmup"`
	Temperature     float64 `json:"temperature"`
	Soft            float64 `json:"soft"`
	Hidden          float64 `json:"hidden"`
	Attention       float64 `json:"attention"`
	Hard            float64 `json:"hard"`
	MaxLen          int     `json:"max_len"`
	Seed            uint64  `json:"seed"`
	CheckpointEvery int     `json:"checkpoint_every"`
}

// validate returns the problems of d, fields relative to the section.
func (d *DistillConfig) validate() []error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, fielderr.New(field, format, a...)) }
	for _, f := range []struct {
		field string
		v     int
		def   string
	}{{"steps", d.Steps, "0: 2000"}, {"batch_size", d.BatchSize, "0: 32"}, {"threads", d.Threads, "0: every CPU"},
		{"checkpoint_every", d.CheckpointEvery, "0: a tenth of the steps"}} {
		if f.v < 0 {
			bad(f.field, "%d, want ≥ 0 (%s)", f.v, f.def)
		}
	}
	if d.MaxLen < 0 || d.MaxLen == 1 {
		bad("max_len", "%d, want ≥ 2 (0: evaluator.max_len)", d.MaxLen)
	}
	finite := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) } // NaN fails v >= 0
	if !finite(d.LR) {
		bad("lr", "%v, want a finite number ≥ 0 (0: %g)", d.LR, DefaultDistillLR)
	}
	if w := d.Warmup; w != nil && !(*w >= 0 && *w <= 1) {
		bad("warmup", "%v, want a fraction in [0, 1]", *w)
	}
	if !finite(d.Temperature) {
		bad("temperature", "%v, want a finite number ≥ 0 (0: 1)", d.Temperature)
	}
	total := 0.0
	for _, w := range []struct {
		field string
		v     *float64
		def   float64
	}{{"weights.soft", d.Weights.Soft, 1}, {"weights.hidden", d.Weights.Hidden, 1}, {"weights.attention", d.Weights.Attention, 1},
		{"weights.hard", d.Weights.Hard, 0}} {
		v := w.def
		if w.v != nil {
			v = *w.v
		}
		if !finite(v) {
			bad(w.field, "%v, want a finite number ≥ 0", v)
			continue
		}
		total += v
	}
	if total == 0 && len(errs) == 0 {
		bad("weights", "every loss weight is 0: nothing would be distilled")
	}
	if _, err := ParseSelect(d.Select); err != nil {
		bad("select", "%v", err)
	}
	switch in := d.InSearch; {
	case in.Top < 0:
		bad("in_search.top", "%d, want ≥ 0 (0: off)", in.Top)
	case in.Steps < 0:
		bad("in_search.steps", "%d, want ≥ 0 (0: off)", in.Steps)
	case in.Top > 0 && in.Steps == 0:
		bad("in_search.steps", "0, want ≥ 1 when in_search.top is set (%d)", in.Top)
	case in.Top == 0 && in.Steps > 0:
		bad("in_search.top", "0, want ≥ 1 when in_search.steps is set (%d)", in.Steps)
	}
	return errs
}

// settings resolves c's distill section with the steps override (0: none).
func (c *Config) distillSettings(steps int) DistillSettings {
	d := c.Distill
	w := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}
	s := DistillSettings{Steps: cmp.Or(steps, d.Steps, DefaultDistillSteps), BatchSize: cmp.Or(d.BatchSize, train.DefaultBatchSize),
		LR: cmp.Or(d.LR, DefaultDistillLR), Warmup: w(d.Warmup, train.DefaultWarmup), Temperature: cmp.Or(d.Temperature, 1),
		Soft: w(d.Weights.Soft, 1), Hidden: w(d.Weights.Hidden, 1), Attention: w(d.Weights.Attention, 1), Hard: w(d.Weights.Hard, 0),
		MaxLen: cmp.Or(d.MaxLen, c.Evaluator.MaxLen, 128), Seed: cmp.Or(d.Seed, 1)}
	s.CheckpointEvery = cmp.Or(d.CheckpointEvery, max(1, s.Steps/10))
	return s
}

// Selection is a parsed choice of front members: all of them, the Top of
// highest reward, or the members with the given Keys.
type Selection struct {
	All  bool
	Top  int
	Keys []string
}

// ParseSelect parses a selection: "" or "all", "top=N" (N ≥ 1) or keys
// separated by commas.
func ParseSelect(s string) (Selection, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "all":
		return Selection{All: true}, nil
	case strings.HasPrefix(s, "top="):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "top="))
		if err != nil || n < 1 {
			return Selection{}, fmt.Errorf("%q: want top=N with N a whole number ≥ 1", s)
		}
		return Selection{Top: n}, nil
	}
	var keys []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k == "" {
			return Selection{}, fmt.Errorf("%q: an empty key (want all, top=N or keys separated by commas)", s)
		}
		keys = append(keys, k)
	}
	return Selection{Keys: keys}, nil
}

// pick returns the members of f that sel chooses (each rescored on every
// example), in front order.
func (sel Selection) pick(f *Front) ([]Member, error) {
	var out []Member
	switch {
	case sel.All:
		out = slices.Clone(f.Members)
	case sel.Top > 0:
		out = slices.Clone(f.Members)
		slices.SortStableFunc(out, func(a, b Member) int {
			return cmp.Or(cmp.Compare(b.Reward, a.Reward), strings.Compare(a.Key, b.Key))
		})
		out = out[:min(sel.Top, len(out))]
	default:
		// A key names a front member or any other evaluated candidate (a
		// student distillation may lift onto the distilled front).
		for _, k := range sel.Keys {
			if slices.ContainsFunc(out, func(m Member) bool { return m.Key == k }) {
				continue
			}
			if i := slices.IndexFunc(f.Members, func(m Member) bool { return m.Key == k }); i >= 0 {
				out = append(out, f.Members[i])
				continue
			}
			i := slices.IndexFunc(f.All, func(c search.Candidate) bool { return c.Key == k })
			if i < 0 {
				return nil, fmt.Errorf("%q is not the key of a candidate the search of %s evaluated (the front's keys: %s)", k, f.RunDir, strings.Join(frontKeys(f), ", "))
			}
			out = append(out, Member{Candidate: f.All[i]})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the front of %s is empty: nothing to distil", f.RunDir)
	}
	return out, nil
}

func frontKeys(f *Front) []string {
	var keys []string
	for _, m := range f.Members {
		keys = append(keys, m.Key)
	}
	return keys
}

// Distilled is one front member distilled from the teacher.
type Distilled struct {
	// Key is the member's architecture key.
	Key string `json:"key"`
	// Result is the distilled student's: its accuracy fields scored on
	// every dev example, its size and parameters those of its saved file,
	// its latency, peak memory and FLOPs the member's (distillation changes
	// weights, not shapes; latency is not measured again).
	Result evaluator.Result `json:"result"`
	// Before is the member's accuracy on every dev example before
	// distillation.
	Before float64 `json:"before"`
	// Score is the member's score in the search.
	search.Score
	// Settings are what it was distilled with.
	Settings DistillSettings `json:"settings"`
	// Loss is the smoothed distillation loss at the end; Seconds the
	// training time over all sessions.
	Loss    float64 `json:"loss"`
	Seconds float64 `json:"seconds"`
	// Dir is its directory relative to the run directory (DistillDir); the
	// distilled student is in its StudentDir.
	Dir string `json:"dir"`
	// OnFront says it is on the distilled front: the Pareto front of the
	// distilled students over (accuracy ↑, latency ↓, size ↓).
	OnFront bool `json:"on_front"`
}

// DistillDir is the directory, relative to the run directory, where the
// member of architecture key key is distilled: distill/ and SafeName(key).
func DistillDir(key string) string { return filepath.Join("distill", SafeName(key)) }

// StudentDir is the directory, inside a DistillDir, holding the distilled
// student (in the edgenas format, stored at its architecture's bits).
const StudentDir = "student"

// settingsFile records, in a DistillDir, the settings its checkpoints were
// made with.
const settingsFile = "settings.json"

// maxSafeKey bounds the part of SafeName taken from the key.
const maxSafeKey = 48

// SafeName is a file name for key: the key with every character outside
// [A-Za-z0-9._-] replaced by '-' (runs of '-' and of '.' collapsed, at
// most 48 characters of it) and 8 hex digits of the key's SHA-256. It is
// never empty, never holds a path separator or "..", and different keys
// give different names.
func SafeName(key string) string {
	var b strings.Builder
	var last rune
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			r = '-'
		}
		if (r == '-' || r == '.') && r == last {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	part := strings.Trim(b.String(), "-.")
	if len(part) > maxSafeKey {
		part = strings.TrimRight(part[:maxSafeKey], "-.")
	}
	sum := sha256.Sum256([]byte(key))
	if part == "" {
		return hex.EncodeToString(sum[:4])
	}
	return part + "-" + hex.EncodeToString(sum[:4])
}

// DistillOptions tunes Run.Distill.
type DistillOptions struct {
	// Select overrides the config's distill.select ("" keeps it).
	Select string
	// Steps overrides distill.steps (0 keeps it).
	Steps int
	// Progress receives progress (nil: none); Terminal redraws one line.
	Progress io.Writer
	Terminal bool
}

// Distill distils the members of f (the run's saved front) that the
// selection chooses from the run's teacher, each for the configured steps
// on the training split (the demo task's, or data.calibration), into
// DistillDir(key) under the run directory, checkpointing as it goes; then
// stores each at its architecture's bits, rescores it on every dev example
// and records it in f.Distilled, marking the distilled front, and saves f
// (FrontFile) after every student. A student already distilled with the
// same settings is kept; an interrupted one resumes from its last
// checkpoint and ends with the weights an uninterrupted run gives. When
// ctx ends, it returns f as saved so far and an error wrapping
// train.ErrInterrupted.
func (r *Run) Distill(ctx context.Context, f *Front, o DistillOptions) (*Front, error) {
	if f.RunID != r.ID {
		return nil, fmt.Errorf("the front in %s is of run %s, but the run directory now opens run %s (the config, teacher or data changed since)", f.RunDir, f.RunID, r.ID)
	}
	selText := cmp.Or(o.Select, r.Config.Distill.Select)
	sel, err := ParseSelect(selText)
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	members, err := sel.pick(f)
	if err != nil {
		return nil, err
	}
	s := r.Config.distillSettings(o.Steps)
	data, err := r.distillData()
	if err != nil {
		return nil, err
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	ev, err := r.Evaluator(ctx, r.Config.Compress.Options())
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		if m.Full == nil { // not on the front, or the search was interrupted before its rescoring
			full, err := r.rescore(ctx, ev, m.Key, m.Result.Arch)
			if err != nil {
				return f, fmt.Errorf("rescore %s on every example: %w", m.Key, err)
			}
			m.Full = &full
		}
		if j := slices.IndexFunc(f.Distilled, func(d Distilled) bool { return d.Key == m.Key }); j >= 0 && f.Distilled[j].Settings == s {
			if _, err := os.Stat(filepath.Join(r.Config.RunDir, f.Distilled[j].Dir, StudentDir, transformer.ConfigFile)); err == nil {
				fmt.Fprintf(progress, "student %d/%d %s: distilled already (%d steps)\n", i+1, len(members), m.Key, s.Steps)
				continue
			}
		}
		fmt.Fprintf(progress, "student %d/%d %s (%s): distilling for %d steps\n", i+1, len(members), m.Key, m.Result.Arch.Describe(), s.Steps)
		d, err := r.distilOne(ctx, ev, m, s, data, progress, o.Terminal)
		if err != nil {
			if errors.Is(err, train.ErrInterrupted) {
				return f, err
			}
			return f, fmt.Errorf("distil %s: %w", m.Key, err)
		}
		fmt.Fprintf(progress, "student %d/%d %s: %s %.4f → %.4f after distillation\n", i+1, len(members), m.Key, d.Result.Metric, d.Before, d.Result.Accuracy)
		f.setDistilled(d)
		if err := r.saveFront(f); err != nil {
			return f, err
		}
	}
	return f, nil
}

// distillData returns the data section of the training config students
// are distilled on.
func (r *Run) distillData() (train.DataConfig, error) {
	c := r.Config
	if c.Data.Demo != nil {
		return train.DataConfig{Demo: c.Data.Demo}, nil
	}
	if c.Data.Unlabelled {
		return train.DataConfig{}, c.lines.At(c.File, "data.unlabelled", "distillation reads labelled TSV files; unlabelled data is not supported")
	}
	if c.Data.Calibration == "" {
		return train.DataConfig{}, c.lines.At(c.File, "data.calibration", "distillation trains on data.calibration (a labelled TSV training file); none is set")
	}
	return train.DataConfig{Train: c.Data.Calibration, Dev: c.Data.Dev, NumLabels: r.Teacher.Classifier.Out}, nil
}

// distilOne distils member m with settings s and scores the result.
func (r *Run) distilOne(ctx context.Context, ev *evaluator.Evaluator, m Member, s DistillSettings, data train.DataConfig,
	progress io.Writer, terminal bool) (Distilled, error) {
	rel := DistillDir(m.Key)
	student, res, err := r.distilStudent(ctx, m.Result.Arch, rel, s, data, progress, terminal)
	if err != nil {
		return Distilled{}, err
	}
	score, err := ev.ScoreFull(ctx, student)
	if err != nil {
		return Distilled{}, fmt.Errorf("rescore the distilled student: %w", err)
	}
	d := Distilled{Key: m.Key, Before: m.Full.Accuracy, Score: m.Score, Settings: s, Loss: res.Loss, Seconds: res.TrainSeconds, Dir: rel}
	if d.Result, err = distilledResult(m.Result, student, score); err != nil {
		return Distilled{}, err
	}
	return d, nil
}

// distilledResult is res (a Result of the distilled student's
// architecture) with the accuracy fields of score and the size and
// parameters of the saved student: distillation changes weights, not
// shapes, so latency, peak memory and FLOPs stay.
func distilledResult(res evaluator.Result, student *transformer.Model, score evaluator.Result) (evaluator.Result, error) {
	res.Accuracy, res.Metric, res.Examples, res.TeacherKL = score.Accuracy, score.Metric, score.Examples, score.TeacherKL
	var err error
	if res.SizeBytes, err = student.FileBytes(); err != nil {
		return evaluator.Result{}, err
	}
	res.Params = int64(student.NumParams())
	return res, nil
}

// distilStudent distils the student of architecture a with settings s in
// the directory rel of the run directory, resuming its last checkpoint
// when it holds one made with s, stores it at a's bits in rel/StudentDir
// and returns it, loaded from there, with the training's result.
func (r *Run) distilStudent(ctx context.Context, a space.Arch, rel string, s DistillSettings, data train.DataConfig,
	progress io.Writer, terminal bool) (*transformer.Model, *train.Result, error) {
	dir := filepath.Join(r.Config.RunDir, rel)
	resume := false
	if _, err := os.Stat(filepath.Join(dir, train.LastDir, train.StateFile)); err == nil {
		var got DistillSettings
		if data, err := os.ReadFile(filepath.Join(dir, settingsFile)); err == nil && json.Unmarshal(data, &got) == nil && got == s {
			resume = true
		}
	}
	if !resume {
		if _, err := os.Stat(dir); err == nil {
			fmt.Fprintf(progress, "%s holds a distillation with other settings: starting over\n", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		if err := writeJSON(filepath.Join(dir, settingsFile), s); err != nil {
			return nil, nil, err
		}
	}
	o := r.Config.Compress.Options()
	// The float student is trained; its encoder runs under fake
	// quantization at the member's bit widths, and it is stored at them
	// afterwards.
	init, err := r.Build(compress.FloatArch(a), o)
	if err != nil {
		return nil, nil, fmt.Errorf("build the float student: %w", err)
	}
	provenance := init.Config.Edgenas.Provenance // train.Run changes init's
	bits := make([]int, len(a.Layers))
	quant := false
	for i, g := range a.Layers {
		if g.Bits != 32 {
			bits[i], quant = g.Bits, true
		}
	}
	kd := train.KDConfig{Temperature: s.Temperature, SoftWeight: s.Soft, HardWeight: s.Hard, HiddenWeight: s.Hidden, AttnWeight: s.Attention}
	warmup := s.Warmup
	tc := train.Config{Data: data, MaxSeqLen: s.MaxLen, BatchSize: s.BatchSize, MaxSteps: s.Steps, LR: s.LR, Warmup: &warmup,
		EvalEvery: s.Steps, CheckpointEvery: s.CheckpointEvery, LogEvery: min(train.DefaultLogEvery, s.CheckpointEvery),
		Seed: s.Seed, Threads: r.Config.Distill.Threads, RunDir: dir}
	if data.Demo == nil {
		tc.Model.Vocab = filepath.Join(r.TeacherDir, tokenizer.VocabFile)
	}
	res, err := train.Run(ctx, tc, train.Options{Resume: resume, Init: init, Progress: progress, Terminal: terminal,
		Objective: func(m *transformer.Model, threads int) (train.Objective, error) {
			d := train.NewDistillation(m, r.Teacher, kd, threads)
			if quant {
				if err := d.Student.SetFakeQuant(bits); err != nil {
					return nil, err
				}
			}
			return d, nil
		}})
	if err != nil {
		return nil, nil, err
	}
	trained, err := transformer.Load(filepath.Join(dir, train.LastDir))
	if err != nil {
		return nil, nil, err
	}
	if quant {
		if err := train.QuantizeWeights(trained, bits); err != nil {
			return nil, nil, err
		}
	}
	stored, err := compress.Store(trained, a, o)
	if err != nil {
		return nil, nil, err
	}
	stored.Config.Edgenas.Provenance = provenance + fmt.Sprintf("; distilled from it by edgenas for %d steps", s.Steps)
	studentDir := filepath.Join(dir, StudentDir)
	if err := saveModelDir(stored, studentDir); err != nil {
		return nil, nil, err
	}
	student, err := transformer.Load(studentDir)
	if err != nil {
		return nil, nil, err
	}
	return student, res, nil
}

// saveModelDir saves m into dir through a temporary directory beside it,
// replacing what dir held.
func saveModelDir(m *transformer.Model, dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := m.Save(tmp); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// setDistilled records d (replacing an earlier distillation of its key)
// and marks the distilled front.
func (f *Front) setDistilled(d Distilled) {
	if i := slices.IndexFunc(f.Distilled, func(x Distilled) bool { return x.Key == d.Key }); i >= 0 {
		f.Distilled[i] = d
	} else {
		f.Distilled = append(f.Distilled, d)
	}
	f.markDistilledFront()
}

// markDistilledFront sets OnFront on the distilled students on the Pareto
// front of the distilled students (search.Archive's, feasibility as in the
// search).
func (f *Front) markDistilledFront() {
	a := search.NewArchive()
	for _, d := range f.Distilled {
		a.Insert(search.Candidate{Key: d.Key, Result: d.Result, Score: d.Score})
	}
	on := map[string]bool{}
	for _, c := range a.Front() {
		on[c.Key] = true
	}
	for i := range f.Distilled {
		f.Distilled[i].OnFront = on[f.Distilled[i].Key]
	}
}

// DistilledFront returns the distilled students on the distilled front,
// by accuracy, highest first.
func (f *Front) DistilledFront() []Distilled {
	var out []Distilled
	for _, d := range f.Distilled {
		if d.OnFront {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Distilled) int { return cmp.Compare(b.Result.Accuracy, a.Result.Accuracy) })
	return out
}

// DistilledOf returns the distillation of the member of key key, or nil.
func (f *Front) DistilledOf(key string) *Distilled {
	for i := range f.Distilled {
		if f.Distilled[i].Key == key {
			return &f.Distilled[i]
		}
	}
	return nil
}

// adoptDistilled keeps the distillations of old whose members are still
// on f's front.
func (f *Front) adoptDistilled(old *Front) {
	for _, d := range old.Distilled {
		if slices.ContainsFunc(f.Members, func(m Member) bool { return m.Key == d.Key }) && f.DistilledOf(d.Key) == nil {
			f.Distilled = append(f.Distilled, d)
		}
	}
	f.markDistilledFront()
}
