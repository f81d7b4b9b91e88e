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
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/agent"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/devices/ort"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/boltfile"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Options tunes Open; the zero value logs nothing and prints no progress.
type Options struct {
	// Log receives warnings (rejected cache entries, retries); nil
	// discards them.
	Log *slog.Logger
	// Progress receives human progress lines (teacher training,
	// importance); nil discards them.
	Progress io.Writer
	// Terminal redraws training progress in place on Progress.
	Terminal bool
	// Device replaces the device the config names (tests use a fake).
	Device devices.Device
	// Registerer receives the run's metrics: its evaluators' (see
	// evaluator.NewMetrics) and its searches' (see search.WithRegisterer);
	// nil registers none.
	Registerer prometheus.Registerer
	// Cache replaces the run's cache file (CacheFile) with c: a cluster
	// worker evaluates into an evaluator.MemCache, since only the process
	// running the search may open the file. A run opened so cannot
	// search.
	Cache evaluator.Cache
}

// Run is one opened run: the teacher, its tokenizer and importance
// scores, the scoring data, the space, the device and the candidate
// cache, ready to evaluate and search. Close releases it. Evaluations may
// run concurrently; the rest is set up once by Open and only read after.
type Run struct {
	// Config is the validated config the run was opened from.
	Config *Config
	// Teacher is the loaded (or freshly trained) teacher.
	Teacher *transformer.Model
	// Tokenizer is the teacher's tokenizer.
	Tokenizer *tokenizer.Tokenizer
	// TeacherDir is the directory the teacher and its tokenizer were
	// loaded from.
	TeacherDir string
	// TeacherDigest is the digest of the teacher's weights and config.
	TeacherDigest string
	// Importance holds the teacher's head, neuron and layer importance.
	Importance *compress.Importance
	// Dev holds the examples candidates are scored on.
	Dev []train.Example
	// Space is the search space bound to the teacher.
	Space *space.Space
	// Device measures latency.
	Device devices.Device
	// ID names the run: a digest of everything a result depends on beyond
	// the search config (the teacher, the data, the evaluator settings and
	// how students are built), so a retrained teacher starts a new run
	// in the same run directory instead of resuming the old one.
	ID string

	log     *slog.Logger
	cache   evaluator.Cache
	bolt    *evaluator.BoltCache // nil when opened with Options.Cache
	ownDev  io.Closer            // the device Open opened, when it needs closing (ort's worker)
	gate    *evaluator.Gate
	reg     prometheus.Registerer // nil: no metrics
	metrics *evaluator.Metrics    // shared by every evaluator of the run
	factors *compress.FactorCache // SVDs of the teacher's pruned matrices, reused by every Build

	mu  sync.Mutex
	evs map[compress.Options]*evaluator.Evaluator
}

// Open prepares a run: it loads the teacher (training it first when the
// config says how and it does not exist yet), reads the data, computes or
// reuses the importance scores, binds the space, opens the cache in the
// run directory and the device. ctx cancels teacher training.
func Open(ctx context.Context, cfg *Config, opts Options) (*Run, error) {
	r := &Run{Config: cfg, log: opts.Log, gate: new(evaluator.Gate), reg: opts.Registerer, evs: map[compress.Options]*evaluator.Evaluator{},
		factors: compress.NewFactorCache(0)}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if r.reg != nil {
		if r.metrics, err = evaluator.NewMetrics(r.reg); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	if r.Teacher, r.Tokenizer, r.TeacherDir, err = loadTeacher(ctx, cfg, progress, opts.Terminal); err != nil {
		return nil, err
	}
	if r.TeacherDigest, err = r.Teacher.Digest(); err != nil {
		return nil, fmt.Errorf("teacher digest: %w", err)
	}
	if r.Space, err = space.New(cfg.Space, compress.TeacherDims(&r.Teacher.Config)); err != nil {
		return nil, cfg.lines.At(cfg.File, "space", "%v", err)
	}
	var calib []train.Example
	if r.Dev, calib, err = readExamples(cfg, r.Teacher); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return nil, err
	}
	if r.Importance, err = importance(ctx, cfg, r.Teacher, r.Tokenizer, r.TeacherDigest, calib, progress); err != nil {
		return nil, err
	}
	if r.Device = opts.Device; r.Device == nil {
		if r.Device, err = openDevice(cfg); err != nil {
			return nil, err
		}
		r.ownDev, _ = r.Device.(io.Closer)
	}
	if r.cache = opts.Cache; r.cache == nil {
		if r.bolt, err = evaluator.OpenBoltCache(filepath.Join(cfg.RunDir, CacheFile), r.log); err != nil {
			r.closeDevice()
			return nil, err
		}
		r.cache = r.bolt
	}
	ev, err := r.Evaluator(ctx, cfg.Compress.Options())
	if err != nil {
		r.Close()
		return nil, err
	}
	r.ID = runID(r.TeacherDigest, ev.DataDigest(), ev.SettingsKey(), cfg.Compress.Options().Key())
	return r, nil
}

// openDevice opens the device cfg names: the local one, a client of an
// agent, or ONNX Runtime through Node.js.
func openDevice(cfg *Config) (devices.Device, error) {
	switch cfg.Device.Kind {
	case "agent":
		d, err := agent.New(cfg.Device.Agent)
		if err != nil {
			return nil, cfg.lines.At(cfg.File, "device.agent", "%v", err)
		}
		return d, nil
	case "ort":
		d, err := ort.New(cfg.Device.ORT)
		if err != nil {
			return nil, cfg.lines.At(cfg.File, "device.ort", "%v", err)
		}
		return d, nil
	}
	d, err := local.New(cfg.Device.Local)
	if err != nil {
		return nil, cfg.lines.At(cfg.File, "device.local", "%v", err)
	}
	return d, nil
}

// CacheFile is the name of the candidate cache (and run state) in the run
// directory.
const CacheFile = "cache.db"

// runID derives a run's ID from what its results depend on.
func runID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return "run-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Evaluator returns the run's evaluator for students built with o (one per
// distinct options, created on first use; o is part of its cache keys).
func (r *Run) Evaluator(ctx context.Context, o compress.Options) (*evaluator.Evaluator, error) {
	o = o.WithDefaults()
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev := r.evs[o]; ev != nil {
		return ev, nil
	}
	build := func(_ context.Context, a space.Arch) (*transformer.Model, error) { return r.Build(a, o) }
	ev, err := evaluator.New(ctx, r.Teacher, r.Tokenizer, r.Dev, build, r.Device, r.cache, r.Config.Evaluator,
		evaluator.WithGate(r.gate), evaluator.WithBuilderKey(o.Key()), evaluator.WithLogger(r.log), evaluator.WithMetrics(r.metrics))
	if err != nil {
		return nil, err
	}
	r.evs[o] = ev
	return ev, nil
}

// Build builds the student a describes from the run's teacher and
// importance scores, with students' options o (the run's own:
// Config.Compress.Options()): the model evaluations score and measure. a
// may lie outside the run's space (baselines do) but must be a student
// the teacher can yield. The SVDs of low-rank factorizations are kept for
// the run's later builds (compress.FactorCache).
func (r *Run) Build(a space.Arch, o compress.Options) (*transformer.Model, error) {
	return r.factors.Apply(r.Teacher, a, r.Importance, o)
}

// CacheStats reports the traffic and entries of the run's cache.
func (r *Run) CacheStats() evaluator.CacheStats { return r.cache.Stats() }

// Close releases the cache file (none when opened with Options.Cache) and
// the device Open opened (an ort device's worker); a device given in
// Options is the caller's to close.
func (r *Run) Close() error {
	var err error
	if r.bolt != nil {
		err = r.bolt.Close()
	}
	return errors.Join(err, r.closeDevice())
}

// closeDevice closes the device Open opened, if it needs closing.
func (r *Run) closeDevice() error {
	if r.ownDev == nil {
		return nil
	}
	return r.ownDev.Close()
}

// loadTeacher loads the teacher and its tokenizer, training it first when
// the config says how and the directory holds no model; it returns the
// directory too.
func loadTeacher(ctx context.Context, cfg *Config, progress io.Writer, terminal bool) (*transformer.Model, *tokenizer.Tokenizer, string, error) {
	dir := cfg.Teacher.Dir
	if cfg.Teacher.Train != "" {
		tc, err := train.LoadConfig(cfg.Teacher.Train)
		if err != nil {
			return nil, nil, "", err
		}
		rc, err := tc.Resolved()
		if err != nil {
			return nil, nil, "", err
		}
		if dir == "" {
			dir = filepath.Join(rc.RunDir, train.BestDir)
		}
		if _, err := os.Stat(filepath.Join(dir, transformer.ConfigFile)); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(progress, "no teacher in %s: training one from scratch with %s\n", dir, cfg.Teacher.Train)
			opts := train.Options{Progress: progress, Terminal: terminal}
			if _, err := os.Stat(filepath.Join(rc.RunDir, train.LastDir)); err == nil {
				opts.Resume = true // an interrupted teacher run continues
			}
			if _, err := train.Run(ctx, tc, opts); err != nil {
				return nil, nil, "", fmt.Errorf("train the teacher: %w", err)
			}
		}
	}
	m, err := transformer.Load(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("teacher: %w", err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("teacher: %w", err)
	}
	if err := m.Config.CheckTokenizer(tok.VocabSize()); err != nil {
		return nil, nil, "", fmt.Errorf("teacher %s: %w", dir, err)
	}
	if m.Classifier == nil {
		return nil, nil, "", fmt.Errorf("teacher %s: no classification head (want a BertForSequenceClassification checkpoint)", dir)
	}
	return m, tok, dir, nil
}

// readExamples reads the scoring examples and the calibration examples.
func readExamples(cfg *Config, teacher *transformer.Model) (dev, calib []train.Example, err error) {
	labels := teacher.Classifier.Out
	if cfg.Data.Unlabelled {
		labels = 0
	}
	if cfg.Data.Demo != nil {
		var tr []train.Example
		tr, dev, err = train.DemoExamples(cfg.Data.Demo.Generator())
		if err != nil {
			return nil, nil, cfg.lines.At(cfg.File, "data.demo", "%v", err)
		}
		calib = tr
	} else {
		if dev, err = train.ReadExamples(cfg.Data.Dev, labels); err != nil {
			return nil, nil, err
		}
		calib = dev
	}
	if cfg.Data.Calibration != "" {
		if calib, err = train.ReadExamples(cfg.Data.Calibration, labels); err != nil {
			return nil, nil, err
		}
	}
	if len(dev) == 0 {
		return nil, nil, cfg.lines.At(cfg.File, "data.dev", "%s holds no examples to score candidates on", cfg.Data.Dev)
	}
	if len(calib) == 0 {
		return nil, nil, cfg.lines.At(cfg.File, "data.calibration", "%s holds no examples to compute importance on", cmp.Or(cfg.Data.Calibration, cfg.Data.Dev))
	}
	return dev, calib, nil
}

// importanceSettings returns the examples, max length and batch the
// importance scores are computed with.
func (c *Config) importanceSettings() (examples, maxLen, batch int) {
	examples, maxLen, batch = c.Importance.Examples, c.Importance.MaxLen, c.Importance.Batch
	if examples == 0 {
		examples = 512
	}
	if maxLen == 0 {
		if maxLen = c.Evaluator.MaxLen; maxLen == 0 {
			maxLen = 128
		}
	}
	if batch == 0 {
		batch = 32
	}
	return examples, maxLen, batch
}

// importance returns the teacher's importance scores on the calibration
// examples: those saved in the run directory when they were computed from
// the same teacher and data (their digests say so), else freshly computed
// and saved.
func importance(ctx context.Context, cfg *Config, teacher *transformer.Model, tok *tokenizer.Tokenizer, teacherDigest string,
	calib []train.Example, progress io.Writer) (*compress.Importance, error) {
	n, maxLen, batch := cfg.importanceSettings()
	calib = calib[:min(n, len(calib))]
	texts := make([]string, len(calib))
	var labels []int // nil: unlabelled, scored against the teacher's own predictions
	for i, e := range calib {
		texts[i] = e.Text
		if e.Label != train.Unlabelled {
			labels = append(labels, e.Label)
		}
	}
	if len(labels) != len(texts) {
		labels = nil
	}
	path := filepath.Join(cfg.RunDir, "importance.json")
	if old, err := compress.LoadImportance(path, teacher); err == nil {
		all := tok.EncodeBatch(texts, nil, maxLen)
		if old.Teacher == teacherDigest && old.Data == compress.DataDigest([]*tokenizer.Batch{&all}, labels) {
			fmt.Fprintf(progress, "importance of heads and neurons: reusing %s (same teacher and data)\n", path)
			return old, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	threads := max(cfg.Evaluator.Threads, 1)
	t0 := time.Now()
	imp, err := compress.ComputeImportance(teacher, tok, texts, labels, maxLen, batch, threads)
	if err != nil {
		return nil, fmt.Errorf("importance scores: %w", err)
	}
	if err := imp.Save(path); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "importance of heads and neurons on %d examples (max %d tokens, batches of %d): %.1fs (%s)\n",
		imp.Examples, maxLen, batch, time.Since(t0).Seconds(), path)
	return imp, nil
}

// runInfo is run.json in the run directory: which run the directory's
// latest search is, and what it was made from.
type runInfo struct {
	RunID         string           `json:"run_id"`
	Config        string           `json:"config"`
	TeacherDigest string           `json:"teacher_digest"`
	Evaluator     evaluator.Config `json:"evaluator"`
	Builder       string           `json:"builder"`
	Updated       time.Time        `json:"updated"`
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(data, '\n'))
}

// Repair repairs the candidate cache and run state of runDir (CacheFile):
// a damaged file is moved aside, never deleted, and every cache entry and
// run state that still verifies is copied into a fresh one; a healthy file
// is left alone. A file a running search holds is refused.
func Repair(runDir string, log *slog.Logger) (boltfile.RepairReport, error) {
	return boltfile.Repair(filepath.Join(runDir, CacheFile), log, evaluator.CacheSalvager(), search.RunSalvager())
}

// OpenDir reopens the run whose directory is runDir, from the config its
// run.json names (see Open). It fails when the run the config now
// describes is not that run (the config, the teacher or the data changed
// since): its results would not be the ones saved.
func OpenDir(ctx context.Context, runDir string, opts Options) (*Run, error) {
	path := filepath.Join(runDir, RunFile)
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "run file")
	if err != nil {
		return nil, fmt.Errorf("%s: not a run directory (run a search first): %w", runDir, err)
	}
	var info runInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg, err := LoadConfig(info.Config)
	if err != nil {
		return nil, fmt.Errorf("run %s: its config: %w", runDir, err)
	}
	if a, b := filepath.Clean(cfg.RunDir), filepath.Clean(runDir); a != b {
		if sa, err1 := os.Stat(a); err1 != nil || !sameDir(sa, b) {
			return nil, fmt.Errorf("run %s: its config %s now names run_dir %s", runDir, info.Config, cfg.RunDir)
		}
	}
	r, err := Open(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	if r.ID != info.RunID {
		r.Close()
		return nil, fmt.Errorf("run %s is %s, but its config %s now describes run %s (the config, teacher or data changed since)", runDir, info.RunID, info.Config, r.ID)
	}
	return r, nil
}

// sameDir reports whether directory b is the one st describes.
func sameDir(st os.FileInfo, b string) bool {
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(st, sb)
}
