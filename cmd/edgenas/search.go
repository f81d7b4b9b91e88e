package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/yamlconf"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// searchConfig is a search's YAML file: the teacher, the data, the space,
// the evaluator, the device and the search itself. The zero value of every
// field means its default.
type searchConfig struct {
	Teacher    teacherConfig    `yaml:"teacher"`
	Data       searchData       `yaml:"data"`
	Importance importanceConfig `yaml:"importance"`
	Space      space.Spec       `yaml:"space"`
	Compress   compressConfig   `yaml:"compress"`
	Evaluator  evaluator.Config `yaml:"evaluator"`
	Device     deviceConfig     `yaml:"device"`
	Search     search.Config    `yaml:"search"`
	Metrics    metricsConfig    `yaml:"metrics"`
	// RunDir holds the candidate cache, the run state, the importance
	// scores and the report (default runs/search).
	RunDir string `yaml:"run_dir"`

	file  string
	lines yamlconf.Lines
}

// teacherConfig says where the teacher is, and how to make it when absent.
type teacherConfig struct {
	// Dir is a Hugging Face model directory (config.json,
	// model.safetensors, vocab.txt). ${VAR} is expanded.
	Dir string `yaml:"dir"`
	// Train is a training config (see edgenas train) run first when Dir
	// holds no model; Dir then defaults to that run's best checkpoint.
	Train string `yaml:"train"`
}

// searchData names the examples candidates are scored on.
type searchData struct {
	// Dev is a TSV or JSONL file (labels optional). ${VAR} is expanded.
	Dev string `yaml:"dev"`
	// Demo scores on the demo task's dev split instead (package demotask).
	Demo *train.DemoData `yaml:"demo"`
	// Calibration is the file importance scores are computed on (default:
	// the training split of the demo task, else Dev).
	Calibration string `yaml:"calibration"`
	// Unlabelled reads the files without labels: candidates are then scored
	// by agreement with the teacher (and importance by the teacher's own
	// predictions).
	Unlabelled bool `yaml:"unlabelled"`
}

// importanceConfig sizes the importance computation.
type importanceConfig struct {
	// Examples is how many calibration examples are used (default 512).
	Examples int `yaml:"examples"`
}

// compressConfig tunes how students are built.
type compressConfig struct {
	// Share is "best" (default) or "mean" (see compress.ShareMode).
	Share compress.ShareMode `yaml:"share"`
}

// deviceConfig chooses where latency is measured.
type deviceConfig struct {
	// Kind is "local" (default): this machine, in process.
	Kind  string       `yaml:"kind"`
	Local local.Config `yaml:"local"`
}

// metricsConfig exposes Prometheus metrics while the search runs.
type metricsConfig struct {
	// Listen is the address of the /metrics endpoint, e.g. ":9090";
	// empty: none.
	Listen string `yaml:"listen"`
}

// loadSearchConfig reads a search YAML strictly and checks everything that
// can be checked before the teacher is loaded, listing every problem.
func loadSearchConfig(path string) (*searchConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &searchConfig{file: path}
	if c.lines, err = yamlconf.Decode(data, path, c); err != nil {
		return nil, err
	}
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, c.lines.At(path, field, format, a...)) }
	if c.Teacher.Dir == "" && c.Teacher.Train == "" {
		bad("teacher", "want dir (a model directory) or train (a training config that makes one)")
	}
	if (c.Data.Dev == "") == (c.Data.Demo == nil) {
		bad("data", "want exactly one of dev (a TSV or JSONL file) and demo")
	}
	if c.Importance.Examples < 0 {
		bad("importance.examples", "want ≥ 0, got %d", c.Importance.Examples)
	}
	if s := c.Compress.Share; s != "" && s != compress.ShareBest && s != compress.ShareMean {
		bad("compress.share", "want %q or %q, got %q", compress.ShareBest, compress.ShareMean, s)
	}
	if k := c.Device.Kind; k != "" && k != "local" {
		bad("device.kind", "want \"local\" (remote devices come with edgenas agent), got %q", k)
	}
	for _, e := range unjoinErr(c.Evaluator.Validate()) {
		field, msg, _ := strings.Cut(e.Error(), ": ")
		bad("evaluator."+field, "%s", msg)
	}
	var ce *search.ConfigError
	if err := c.Search.Validate(); errors.As(err, &ce) {
		for _, p := range ce.Problems {
			bad("search."+p.Field, "%s", p.Problem)
		}
	} else if err != nil {
		bad("search", "%v", err)
	}
	for _, p := range []*string{&c.Teacher.Dir, &c.Teacher.Train, &c.Data.Dev, &c.Data.Calibration} {
		if *p == "" {
			continue
		}
		v, err := expandVars(*p)
		if err != nil {
			bad("paths", "%v", err)
		}
		*p = v
	}
	if c.RunDir == "" {
		c.RunDir = filepath.Join("runs", "search")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// unjoinErr splits an errors.Join error into its parts.
func unjoinErr(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// expandVars expands ${VAR} and $VAR, failing on a variable that is unset.
func expandVars(s string) (string, error) {
	var missing []string
	out := os.Expand(s, func(k string) string {
		v, ok := os.LookupEnv(k)
		if !ok {
			missing = append(missing, k)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q uses unset environment variable(s) %s", s, strings.Join(missing, ", "))
	}
	return out, nil
}

// runSearch runs a search as a YAML config describes: it loads (or trains)
// the teacher, scores importance once, evaluates candidates and evolves
// them, then prints the Pareto front and the run directory.
func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", stderr)
	cfgPath := fs.String("c", "", "search config YAML (required; see configs/demo.yaml)")
	asJSON := fs.Bool("json", false, "print the front as JSON instead of a table")
	fresh := fs.Bool("fresh", false, "start the run over instead of resuming it (cached evaluations are kept)")
	ctx, cfg, wb, done, err := openRun(fs, cfgPath, args, "edgenas search -c FILE [--json] [--fresh]", stderr)
	if err != nil {
		return err
	}
	defer done()
	sp, err := space.New(cfg.Space, compress.TeacherDims(&wb.teacher.Config))
	if err != nil {
		return cfg.lines.At(cfg.file, "space", "%v", err)
	}
	fmt.Fprintf(stderr, "search space: %s architectures\n", sp.Size())
	cache, ev, gate, log := wb.cache, wb.ev, wb.gate, wb.log

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Metrics.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return cfg.lines.At(cfg.file, "metrics.listen", "%v", err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(stderr, "metrics: http://%s/metrics\n", ln.Addr())
	}
	if *fresh {
		if err := search.DeleteRun(search.NewFileStore(cache.File()), search.DefaultRunID); err != nil && !errors.Is(err, search.ErrNoRun) {
			return err
		}
	}
	out, err := search.Run(ctx, cfg.Search, sp, ev,
		search.WithStore(search.NewFileStore(cache.File())), search.WithGate(gate), search.WithRegisterer(reg), search.WithLogger(log),
		search.WithProgress(func(e search.Event) { printEvent(stderr, e) }))
	if err != nil {
		if out != nil {
			printFront(stdout, out, nil, cfg.RunDir, *asJSON)
		}
		return err
	}
	// The search scored candidates on a subsample; the front is rescored on
	// every example (cached like any evaluation).
	full := make([]evaluator.Result, len(out.Front))
	for i, c := range out.Front {
		if full[i], err = ev.EvaluateFull(ctx, c.Result.Arch); err != nil {
			return fmt.Errorf("rescore the front on every example: %w", err)
		}
	}
	if err := printFront(stdout, out, full, cfg.RunDir, *asJSON); err != nil {
		return err
	}
	s := cache.Stats()
	fmt.Fprintf(stderr, "cache: %d hits, %d misses, %d entries\n", s.Hits, s.Misses, s.Entries)
	return nil
}

// workbench is what evaluating students needs: the teacher and its
// tokenizer and importance scores, the candidate cache and the evaluator.
type workbench struct {
	cfg     *searchConfig
	teacher *transformer.Model
	tok     *tokenizer.Tokenizer
	imp     *compress.Importance
	dev     []train.Example
	device  *local.Local
	cache   *evaluator.BoltCache
	ev      *evaluator.Evaluator // builds with the config's share mode
	gate    *evaluator.Gate
	log     *slog.Logger
	others  map[compress.ShareMode]*evaluator.Evaluator
}

// openRun parses a run command's flags (-c FILE among them), loads the
// config and opens its workbench under a context that SIGINT and SIGTERM
// cancel. done releases everything.
func openRun(fs *flag.FlagSet, cfgPath *string, args []string, usage string, stderr io.Writer) (ctx context.Context, cfg *searchConfig, wb *workbench, done func(), err error) {
	if err := parse(fs, args); err != nil {
		return nil, nil, nil, nil, err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return nil, nil, nil, nil, fmt.Errorf("%w: %s", errUsage, usage)
	}
	if cfg, err = loadSearchConfig(*cfgPath); err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if wb, err = openWorkbench(ctx, cfg, stderr); err != nil {
		stop()
		return nil, nil, nil, nil, err
	}
	return ctx, cfg, wb, func() { wb.close(); stop() }, nil
}

// openWorkbench loads (or trains) the teacher, reads the data, scores
// importance and opens the cache and the evaluator of a run config.
func openWorkbench(ctx context.Context, cfg *searchConfig, stderr io.Writer) (*workbench, error) {
	wb := &workbench{cfg: cfg, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		gate: new(evaluator.Gate), others: map[compress.ShareMode]*evaluator.Evaluator{}}
	var err error
	if wb.teacher, wb.tok, err = searchTeacher(ctx, cfg, stderr); err != nil {
		return nil, err
	}
	var calib []train.Example
	if wb.dev, calib, err = searchExamples(cfg, wb.teacher); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return nil, err
	}
	if wb.imp, err = searchImportance(cfg, wb.teacher, wb.tok, calib, stderr); err != nil {
		return nil, err
	}
	if wb.cache, err = evaluator.OpenBoltCache(filepath.Join(cfg.RunDir, "cache.db"), wb.log); err != nil {
		return nil, err
	}
	if wb.device, err = local.New(cfg.Device.Local); err != nil {
		wb.cache.Close()
		return nil, cfg.lines.At(cfg.file, "device.local", "%v", err)
	}
	if wb.ev, err = wb.newEvaluator(ctx, cfg.Compress.Share); err != nil {
		wb.cache.Close()
		return nil, err
	}
	return wb, nil
}

// newEvaluator returns an evaluator whose students share weights as mode
// says; the mode is part of its cache keys.
func (wb *workbench) newEvaluator(ctx context.Context, mode compress.ShareMode) (*evaluator.Evaluator, error) {
	if mode == "" {
		mode = compress.ShareBest
	}
	build := func(_ context.Context, a space.Arch) (*transformer.Model, error) {
		return compress.Apply(wb.teacher, a, wb.imp, compress.Options{Share: mode})
	}
	return evaluator.New(ctx, wb.teacher, wb.tok, wb.dev, build, wb.device, wb.cache, wb.cfg.Evaluator,
		evaluator.WithGate(wb.gate), evaluator.WithBuilderKey("compress share="+string(mode)))
}

// evaluate scores a on every example with students built with share mode
// mode ("" for the config's).
func (wb *workbench) evaluate(ctx context.Context, a space.Arch, mode compress.ShareMode) (evaluator.Result, error) {
	ev, def := wb.ev, wb.cfg.Compress.Share
	if def == "" {
		def = compress.ShareBest
	}
	if mode != "" && mode != def {
		if ev = wb.others[mode]; ev == nil {
			var err error
			if ev, err = wb.newEvaluator(ctx, mode); err != nil {
				return evaluator.Result{}, err
			}
			wb.others[mode] = ev
		}
	}
	return ev.EvaluateFull(ctx, a)
}

func (wb *workbench) close() { wb.cache.Close() }

// searchTeacher loads the teacher and its tokenizer, training it first when
// the config says how and the directory holds no model.
func searchTeacher(ctx context.Context, cfg *searchConfig, stderr io.Writer) (*transformer.Model, *tokenizer.Tokenizer, error) {
	dir := cfg.Teacher.Dir
	if cfg.Teacher.Train != "" {
		tc, err := train.LoadConfig(cfg.Teacher.Train)
		if err != nil {
			return nil, nil, err
		}
		rc, err := tc.Resolved()
		if err != nil {
			return nil, nil, err
		}
		if dir == "" {
			dir = filepath.Join(rc.RunDir, train.BestDir)
		}
		if _, err := os.Stat(filepath.Join(dir, transformer.ConfigFile)); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "no teacher in %s: training one from scratch with %s\n", dir, cfg.Teacher.Train)
			opts := train.Options{Progress: stderr, Terminal: train.IsTerminal(stderr)}
			if _, err := os.Stat(filepath.Join(rc.RunDir, train.LastDir)); err == nil {
				opts.Resume = true // an interrupted teacher run continues
			}
			if _, err := train.Run(ctx, tc, opts); err != nil {
				return nil, nil, fmt.Errorf("train the teacher: %w", err)
			}
		}
	}
	m, err := transformer.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("teacher: %w", err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("teacher: %w", err)
	}
	if m.Classifier == nil {
		return nil, nil, fmt.Errorf("teacher %s: no classification head (want a BertForSequenceClassification checkpoint)", dir)
	}
	return m, tok, nil
}

// searchExamples reads the scoring examples and the calibration examples.
func searchExamples(cfg *searchConfig, teacher *transformer.Model) (dev, calib []train.Example, err error) {
	labels := teacher.Classifier.Out
	if cfg.Data.Unlabelled {
		labels = 0
	}
	if cfg.Data.Demo != nil {
		var tr []train.Example
		tr, dev, err = train.DemoExamples(cfg.Data.Demo.Generator())
		if err != nil {
			return nil, nil, cfg.lines.At(cfg.file, "data.demo", "%v", err)
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
	return dev, calib, nil
}

// searchImportance returns the teacher's importance scores on the
// calibration examples: those saved in the run directory when they were
// computed from the same teacher and data (their digests say so), else
// freshly computed and saved.
func searchImportance(cfg *searchConfig, teacher *transformer.Model, tok *tokenizer.Tokenizer, calib []train.Example, stderr io.Writer) (*compress.Importance, error) {
	const maxLen = 128
	n := cfg.Importance.Examples
	if n == 0 {
		n = 512
	}
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
		td, err := teacher.Digest()
		if err == nil && old.Teacher == td && old.Data == compress.DataDigest([]*tokenizer.Batch{&all}, labels) {
			fmt.Fprintf(stderr, "importance of heads and neurons: reusing %s (same teacher and data)\n", path)
			return old, nil
		}
	}
	t0 := time.Now()
	imp, err := compress.ComputeImportance(teacher, tok, texts, labels, maxLen, 32, 0)
	if err != nil {
		return nil, fmt.Errorf("importance scores: %w", err)
	}
	if err := imp.Save(path); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "importance of heads and neurons on %d examples: %.1fs (%s)\n", imp.Examples, time.Since(t0).Seconds(), path)
	return imp, nil
}

// printEvent writes one progress line per evaluation and generation.
func printEvent(w io.Writer, e search.Event) {
	switch e.Kind {
	case search.EventEvaluation:
		c := e.Candidate
		r := c.Result
		feas := ""
		if !c.Feasible {
			feas = "  infeasible: " + strings.Join(c.Violations, "; ")
		}
		fmt.Fprintf(w, "eval %4d  %s %.4f  %7.3f ms  %8.2f MB  reward %.4f%s  %s\n", e.Evaluations, r.Metric, r.Accuracy,
			float64(r.Latency.Median)/1e6, float64(r.SizeBytes)/1e6, c.Reward, feas, c.Key)
	case search.EventGeneration:
		fmt.Fprintf(w, "generation %d: %d evaluations, front of %d, hypervolume %.4f\n", e.Generation, e.Evaluations, e.FrontSize, e.Hypervolume)
	}
}

// frontRow is one Pareto-front member as --json prints it.
type frontRow struct {
	Key      string  `json:"key"`
	Accuracy float64 `json:"accuracy"`
	// FullAccuracy is the score on every example (Accuracy is on the
	// evaluator's subsample); absent when the run ended in an error.
	FullAccuracy *float64   `json:"accuracy_full,omitempty"`
	FullExamples int        `json:"examples_full,omitempty"`
	Metric       string     `json:"metric"`
	LatencyMS    float64    `json:"latency_ms"`
	P90MS        float64    `json:"latency_p90_ms"`
	SizeBytes    int64      `json:"size_bytes"`
	Params       int64      `json:"params"`
	Reward       float64    `json:"reward"`
	Arch         space.Arch `json:"arch"`
}

// printFront prints the front, fastest first, and where the run lives;
// full holds the front's rescoring on every example (nil: none).
func printFront(w io.Writer, out *search.Outcome, full []evaluator.Result, runDir string, asJSON bool) error {
	rows := make([]frontRow, 0, len(out.Front))
	for i, c := range out.Front {
		r := c.Result
		row := frontRow{Key: c.Key, Accuracy: r.Accuracy, Metric: r.Metric, LatencyMS: float64(r.Latency.Median) / 1e6,
			P90MS: float64(r.Latency.P90) / 1e6, SizeBytes: r.SizeBytes, Params: r.Params, Reward: c.Reward, Arch: r.Arch}
		if full != nil {
			row.FullAccuracy, row.FullExamples = &full[i].Accuracy, full[i].Examples
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].LatencyMS < rows[j].LatencyMS })
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"front": rows, "run_dir": runDir, "stop": out.Stop,
			"evaluations": out.Evaluations, "generations": out.Generations})
	}
	fmt.Fprintf(w, "Pareto front (%d of %d candidates; stopped: %s after %d generations):\n", len(rows), len(out.Candidates), out.Stop, out.Generations)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "accuracy\tall examples\tlatency ms\tp90 ms\tsize MB\tparams\treward\tarchitecture")
	for _, r := range rows {
		all := "-"
		if r.FullAccuracy != nil {
			all = fmt.Sprintf("%.4f (%d)", *r.FullAccuracy, r.FullExamples)
		}
		fmt.Fprintf(tw, "%.4f\t%s\t%.3f\t%.3f\t%.2f\t%d\t%.4f\t%s\n", r.Accuracy, all, r.LatencyMS, r.P90MS, float64(r.SizeBytes)/1e6, r.Params, r.Reward, r.Key)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "run directory: %s\n", runDir)
	return nil
}
