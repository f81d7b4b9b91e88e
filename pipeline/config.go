package pipeline

import (
	"cmp"
	"errors"
	"math"
	"os"
	"path/filepath"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/devices/agent"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/devices/ort"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/metricsserver"
	"github.com/edgenas/edgenas/internal/yamlconf"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
)

// FieldError is one problem of a run config: file, line, field and what
// was expected. It is the one validation error type of edgenas.
type FieldError = fielderr.FieldError

// Config is a run's YAML file: the teacher, the data, the space, the
// evaluator, the device, the search, the proxy check and the metrics
// endpoint. The zero
// value of every field means its default. Use LoadConfig (or ParseConfig),
// which validates everything that can be checked before the teacher is
// loaded or trained.
type Config struct {
	Teacher    TeacherConfig    `yaml:"teacher"`
	Data       DataConfig       `yaml:"data"`
	Importance ImportanceConfig `yaml:"importance"`
	Space      space.Spec       `yaml:"space"`
	Compress   CompressConfig   `yaml:"compress"`
	Evaluator  evaluator.Config `yaml:"evaluator"`
	Device     DeviceConfig     `yaml:"device"`
	Search     search.Config    `yaml:"search"`
	ProxyCheck ProxyCheckConfig `yaml:"proxy_check"`
	Metrics    MetricsConfig    `yaml:"metrics"`
	// Distill says how Run.Distill distils front students (DistillConfig).
	Distill DistillConfig `yaml:"distill"`
	// Cluster spreads evaluations over workers (ClusterConfig).
	Cluster ClusterConfig `yaml:"cluster"`
	// RunDir holds the candidate cache, the run state, the importance
	// scores and the front (default runs/search).
	RunDir string `yaml:"run_dir"`

	// File is the file the config was read from ("" when parsed from
	// bytes without a name).
	File  string         `yaml:"-"`
	text  []byte         // the file's text
	lines yamlconf.Lines // the line of every key
	// dims is the teacher's shape as known before loading it (from its
	// config.json or its training config).
	dims space.Teacher
}

// TeacherConfig says where the teacher is, and how to make it when absent.
type TeacherConfig struct {
	// Dir is a Hugging Face model directory (config.json,
	// model.safetensors, vocab.txt). ${VAR} is expanded.
	Dir string `yaml:"dir"`
	// Train is a training config (see edgenas train) run first when Dir
	// holds no model; Dir then defaults to that run's best checkpoint.
	Train string `yaml:"train"`
}

// DataConfig names the examples candidates are scored on.
type DataConfig struct {
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

// ImportanceConfig sizes the importance computation.
type ImportanceConfig struct {
	// Examples is how many calibration examples are used (default 512).
	Examples int `yaml:"examples"`
	// Batch is the number of examples per gradient pass (default 32).
	Batch int `yaml:"batch"`
	// MaxLen truncates calibration examples to this many tokens (default:
	// evaluator.max_len, so importance sees what candidates are scored on).
	MaxLen int `yaml:"max_len"`
}

// CompressConfig tunes how students are built (compress.Options).
type CompressConfig struct {
	// Share is "best" (default) or "mean" (see compress.ShareMode).
	Share compress.ShareMode `yaml:"share"`
	// Int4Group is the number of input features sharing one scale in 4-bit
	// weights: 32, 64 or 128 (0: transformer.DefaultInt4Group).
	Int4Group int `yaml:"int4_group"`
}

// Options returns the compress options c describes.
func (c CompressConfig) Options() compress.Options {
	return compress.Options{Share: c.Share, Int4Group: c.Int4Group}
}

// DeviceConfig chooses where latency is measured.
type DeviceConfig struct {
	// Kind is "local" (default: this machine, in process), "agent" (a
	// remote device running edgenas agent, reached as Agent says) or "ort"
	// (ONNX Runtime on this machine, through Node.js as ORT says).
	Kind  string       `yaml:"kind"`
	Local local.Config `yaml:"local"`
	// Agent is the agent's URL, token file, CA file, timeout and retries
	// (kind: agent).
	Agent agent.Config `yaml:"agent"`
	// ORT is where Node.js and onnxruntime-node are (kind: ort).
	ORT ort.Config `yaml:"ort"`
}

// MetricsConfig exposes Prometheus metrics while the search runs: listen
// (a port alone, ":9090", binds loopback only; empty: no endpoint) and
// web_config (the Prometheus web configuration file: TLS and basic auth).
type MetricsConfig = metricsserver.Config

// LoadConfig reads a run config file (at most limitio.ConfigLimit bytes)
// and parses it (see ParseConfig).
func LoadConfig(path string) (*Config, error) {
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a search config")
	if err != nil {
		return nil, err
	}
	return ParseConfig(data, path)
}

// ParseConfig decodes a run config strictly (an unknown key, a wrong type
// or a second document is an error with its line) and validates
// everything that can be checked without loading or training the teacher:
// every field's value, the search space against the teacher's shape (read
// from its config.json, or from its training config when it is still to
// be trained), the files it names, ${VAR} references and the metrics
// address. Every problem is reported at once, each a *FieldError with its
// line. name is the file name errors carry.
func ParseConfig(data []byte, name string) (*Config, error) {
	return ParseConfigEdited(data, name, nil)
}

// ParseConfigEdited parses a run config like ParseConfig, with edit
// (when not nil) applied to the decoded config before it is validated: a
// cluster worker that received the run's files points the config's paths
// at them. Text still returns data.
func ParseConfigEdited(data []byte, name string, edit func(*Config)) (*Config, error) {
	c := &Config{File: name, text: data}
	var err error
	if c.lines, err = yamlconf.Decode(data, name, c); err != nil {
		return nil, err
	}
	if edit != nil {
		edit(c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Text is the YAML text the config was parsed from.
func (c *Config) Text() []byte { return c.text }

func (c *Config) validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, fielderr.New(field, format, a...)) }
	// Paths first: later checks read the files they name.
	for _, p := range []struct {
		field string
		v     *string
	}{{"teacher.dir", &c.Teacher.Dir}, {"teacher.train", &c.Teacher.Train}, {"data.dev", &c.Data.Dev},
		{"data.calibration", &c.Data.Calibration}, {"run_dir", &c.RunDir},
		{"device.agent.token_file", &c.Device.Agent.TokenFile}, {"device.agent.ca_file", &c.Device.Agent.CAFile},
		{"device.ort.node_modules", &c.Device.ORT.NodeModules}, {"device.ort.node", &c.Device.ORT.Node}} {
		if *p.v == "" {
			continue
		}
		v, err := yamlconf.ExpandEnv(*p.v)
		if err != nil {
			bad(p.field, "%v", err)
			*p.v = ""
			continue
		}
		*p.v = v
	}
	if c.Teacher.Dir == "" && c.Teacher.Train == "" {
		bad("teacher", "want dir (a model directory) or train (a training config that makes one)")
	}
	if (c.Data.Dev == "") == (c.Data.Demo == nil) {
		bad("data", "want exactly one of dev (a TSV or JSONL file) and demo")
	}
	for _, f := range []struct{ field, path string }{{"data.dev", c.Data.Dev}, {"data.calibration", c.Data.Calibration}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err != nil {
			bad(f.field, "%v", err)
		} else if !st.Mode().IsRegular() {
			bad(f.field, "%s is not a regular file", f.path)
		}
	}
	errs = append(errs, c.teacherDims()...)
	if c.Importance.Examples < 0 {
		bad("importance.examples", "%d, want ≥ 0 (0: 512)", c.Importance.Examples)
	}
	if c.Importance.Batch < 0 {
		bad("importance.batch", "%d, want ≥ 0 (0: 32)", c.Importance.Batch)
	}
	if c.Importance.MaxLen < 0 || c.Importance.MaxLen == 1 {
		bad("importance.max_len", "%d, want ≥ 2 (0: evaluator.max_len)", c.Importance.MaxLen)
	}
	if s := c.Compress.Share; s != "" && s != compress.ShareBest && s != compress.ShareMean {
		bad("compress.share", "%q, want %q or %q", s, compress.ShareBest, compress.ShareMean)
	}
	switch c.Compress.Int4Group {
	case 0, 32, 64, 128:
	default:
		bad("compress.int4_group", "%d, want 32, 64 or 128 (0: %d)", c.Compress.Int4Group, transformer.DefaultInt4Group)
	}
	k := c.Device.Kind
	if k != "agent" && c.Device.Agent != (agent.Config{}) {
		bad("device.agent", "given, but device.kind is %q; want kind: agent to measure on an agent", cmp.Or(k, "local"))
	}
	if k != "ort" && c.Device.ORT != (ort.Config{}) {
		bad("device.ort", "given, but device.kind is %q; want kind: ort to measure in ONNX Runtime", cmp.Or(k, "local"))
	}
	switch k {
	case "", "local":
	case "agent":
		errs = append(errs, fielderr.Prefix("device.agent", c.Device.Agent.Validate())...)
	case "ort":
		errs = append(errs, fielderr.Prefix("device.ort", c.Device.ORT.Validate())...)
	default:
		bad("device.kind", "%q, want \"local\", \"agent\" or \"ort\"", k)
	}
	errs = append(errs, fielderr.Prefix("device.local", c.Device.Local.Validate())...)
	errs = append(errs, fielderr.Prefix("evaluator", c.Evaluator.Validate())...)
	errs = append(errs, fielderr.Prefix("search", c.Search.Validate())...)
	if n := c.ProxyCheck.Samples; n < 0 || n > search.MaxPopulationSize {
		bad("proxy_check.samples", "%d, want 0..%d (0: %d)", n, search.MaxPopulationSize, DefaultProxySamples)
	}
	if t := c.ProxyCheck.MinTau; !(t >= -1) || math.IsInf(t, 0) {
		bad("proxy_check.min_tau", "%v, want a finite τ ≥ −1 (0: %g; −1: never warn)", t, DefaultProxyMinTau)
	}
	if c.dims.Layers > 0 {
		if _, err := space.New(c.Space, c.dims); err != nil {
			errs = append(errs, fielderr.Prefix("space", err)...)
		}
		if ml := c.Evaluator.MaxLen; ml > c.dims.MaxSeq {
			bad("evaluator.max_len", "%d, the teacher has %d positions", ml, c.dims.MaxSeq)
		}
	}
	errs = append(errs, fielderr.Prefix("metrics", c.Metrics.Validate())...)
	errs = append(errs, fielderr.Prefix("distill", errors.Join(c.Distill.validate()...))...)
	errs = append(errs, fielderr.Prefix("cluster", c.Cluster.Validate())...)
	if c.Cluster.On() && c.Search.Fidelity.On() {
		bad("search.fidelity", "multi-fidelity evaluation is not spread over a cluster; remove search.fidelity or cluster")
	}
	if c.RunDir == "" {
		c.RunDir = filepath.Join("runs", "search")
	}
	if st, err := os.Stat(c.RunDir); err == nil && !st.IsDir() {
		bad("run_dir", "%s exists and is not a directory", c.RunDir)
	}
	return fielderr.Locate(c.File, c.lines, errs...)
}

// teacherDims reads the teacher's shape without loading its weights: from
// teacher.dir's config.json when there is one, else from the training
// config that makes it. It checks that the files exist.
func (c *Config) teacherDims() []error {
	dims := func(m *transformer.Config) {
		c.dims = compress.TeacherDims(m)
		if c.dims.Vocab == 0 {
			c.dims.Vocab = 1 << 30 // not known before training; checked again at Open
		}
	}
	if c.Teacher.Dir != "" {
		path := filepath.Join(c.Teacher.Dir, transformer.ConfigFile)
		if _, err := os.Stat(path); err == nil {
			m, err := transformer.LoadConfig(path)
			if err != nil {
				return []error{fielderr.New("teacher.dir", "%s: %v", path, err)}
			}
			dims(&m)
			return nil
		}
		if c.Teacher.Train == "" {
			return []error{fielderr.New("teacher.dir", "%s holds no model (no %s) and teacher.train does not say how to make one", c.Teacher.Dir, transformer.ConfigFile)}
		}
	}
	if c.Teacher.Train == "" {
		return nil
	}
	tc, err := train.LoadConfig(c.Teacher.Train)
	if err != nil {
		return []error{fielderr.New("teacher.train", "%v", err)}
	}
	rc, err := tc.Resolved()
	if err != nil {
		return []error{fielderr.New("teacher.train", "%v", err)}
	}
	m, err := rc.ModelConfig(0)
	for _, p := range fielderr.All(err) {
		if p.Field != "vocab_size" { // the vocabulary is known once the data is read
			return []error{fielderr.New("teacher.train", "%s: model: %v", c.Teacher.Train, p)}
		}
	}
	dims(&m)
	return nil
}
