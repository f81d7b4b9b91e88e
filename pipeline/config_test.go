package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

func TestShippedConfigsParse(t *testing.T) {
	t.Setenv("EDGENAS_TESTDATA", t.TempDir())
	for _, f := range []string{"sst2-glue/dev.tsv", "sst2-glue/train.tsv"} {
		p := filepath.Join(os.Getenv("EDGENAS_TESTDATA"), f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("sentence\tlabel\ngood\t1\n"), 0o644)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join("..")); err != nil { // configs name each other from the repository root
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	token := filepath.Join(t.TempDir(), "agent.token")
	os.WriteFile(token, []byte("secret\n"), 0o600)
	t.Setenv("EDGENAS_AGENT_TOKEN_FILE", token)
	for _, f := range []string{"demo.yaml", "sst2-mini.yaml", "edge-agent.yaml"} {
		if _, err := LoadConfig(filepath.Join("configs", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestConfigProblemsAllAtOnce: every problem a config has is reported by
// LoadConfig — before any teacher is trained — each with its file, line and
// field.
func TestConfigProblemsAllAtOnce(t *testing.T) {
	dir := t.TempDir()
	os.Unsetenv("EDGENAS_SURELY_UNSET")
	cfg := pipelinetest.WriteConfigs(t, dir, `metrics: {listen: "localhost:99999"}
compress: {int4_group: 48}
`)
	data, _ := os.ReadFile(cfg)
	src := strings.NewReplacer(
		"heads: [1, 2]", "heads: [1, 2, 9]",
		"evaluator: {subsample: 24, max_len: 16}", "evaluator: {subsample: 24, max_len: 16, workload: {runs: 2}}",
		"population_size: 4", "population_size: 1",
		"demo: {seed: 2, train: 64, dev: 48}", "dev: ${EDGENAS_SURELY_UNSET}/dev.tsv\n  calibration: "+filepath.Join(dir, "missing.tsv"),
	).Replace(string(data))
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(cfg)
	if err == nil {
		t.Fatal("accepted")
	}
	lineOf := func(sub string) int {
		for i, l := range strings.Split(src, "\n") {
			if strings.Contains(l, sub) {
				return i + 1
			}
		}
		t.Fatalf("no line has %q", sub)
		return 0
	}
	want := map[string]int{
		"space.heads":             lineOf("heads: [1, 2, 9]"),
		"evaluator.workload.runs": lineOf("workload: {runs: 2}"),
		"search.population_size":  lineOf("population_size: 1"),
		"data.dev":                lineOf("EDGENAS_SURELY_UNSET"),
		"data.calibration":        lineOf("missing.tsv"),
		"metrics.listen":          lineOf("99999"),
		"compress.int4_group":     lineOf("int4_group"),
	}
	got := map[string]*FieldError{}
	for _, fe := range fielderr.All(err) {
		got[fe.Field] = fe
	}
	for field, line := range want {
		fe := got[field]
		if fe == nil {
			t.Errorf("no problem reported for %s in:\n%v", field, err)
			continue
		}
		if fe.File != cfg || fe.Line != line {
			t.Errorf("%s at %s:%d, want %s:%d", field, fe.File, fe.Line, cfg, line)
		}
	}
	if !strings.Contains(err.Error(), "EDGENAS_SURELY_UNSET") {
		t.Errorf("the unset variable is not named: %v", err)
	}
	// Nothing expensive ran: the teacher was not trained.
	if _, err := os.Stat(filepath.Join(dir, "teacher")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the teacher's run directory exists: validation trained it (%v)", err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	pipelinetest.WriteConfigs(t, dir, "")
	teacherYAML := filepath.Join(dir, "teacher.yaml")
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"yaml syntax error names its line", "teacher: {dir: x}\ndata: {dev: [\n  - a\nsearch: x: y\n", []string{"line"}},
		{"unknown key", "teacher: {dir: x}\nserach: {}\n", []string{".yaml:2: field serach not found"}},
		{"tab names its line", "teacher: {dir: x}\ndata:\n\tdev: x\n", []string{".yaml:3: found character that cannot start any token"}},
		{"teacher without a model", "teacher: {dir: " + dir + "}\ndata: {demo: {}}\n", []string{"teacher.dir", "holds no model"}},
		{"many duplicate values stay short", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\nspace: {heads: [" + strings.Repeat("1, ", 50000) + "1]}\n",
			[]string{".yaml:3: space.heads: values [1 1 1 1 1]… (50000 in all) listed more than once"}},
		{"second document", "teacher: {dir: x}\n---\nteacher: {dir: y}\n", []string{"second YAML document"}},
		{"metrics address", "teacher: {dir: x}\ndata: {demo: {}}\nmetrics: {listen: nonsense}\n", []string{"metrics.listen"}},
		{"proxy check", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\nproxy_check: {samples: -1, min_tau: -2}\n",
			[]string{".yaml:3: proxy_check.samples: -1, want 0..", ".yaml:3: proxy_check.min_tau: -2, want a finite τ ≥ −1"}},
		{"noise-aware front", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\nsearch: {front: {latency_epsilon: 2}}\n",
			[]string{".yaml:3: search.front.latency_epsilon: 2"}},
		{"unknown device kind", "teacher: {dir: x}\ndata: {demo: {}}\ndevice: {kind: phone}\n", []string{".yaml:3: device.kind: \"phone\", want \"local\", \"agent\" or \"ort\""}},
		{"agent without url or token", "teacher: {dir: x}\ndata: {demo: {}}\ndevice:\n  kind: agent\n  agent: {timeout: 1s}\n",
			[]string{"device.agent.url: missing", "device.agent.token_file: missing"}},
		{"agent url and files checked", "teacher: {dir: x}\ndata: {demo: {}}\ndevice:\n  kind: agent\n  agent:\n    url: ftp://board\n    token_file: " + filepath.Join(dir, "no-token") + "\n    ca_file: " + teacherYAML + "\n",
			[]string{".yaml:6: device.agent.url: \"ftp://board\": scheme \"ftp\"", ".yaml:7: device.agent.token_file:", "no-token", ".yaml:8: device.agent.ca_file:", "no PEM certificate"}},
		{"ort install checked", "teacher: {dir: x}\ndata: {demo: {}}\ndevice:\n  kind: ort\n  ort:\n    node_modules: " + filepath.Join(dir, "no-such") + "\n    node: " + filepath.Join(dir, "no-node") + "\n",
			[]string{".yaml:6: device.ort.node_modules:", "no-such", "scripts/ort-setup.sh", ".yaml:7: device.ort.node:", "no-node"}},
		{"ort settings without kind ort", "teacher: {dir: x}\ndata: {demo: {}}\ndevice:\n  ort: {node: node}\n", []string{"device.ort: given, but device.kind is \"local\""}},
		{"cluster beyond loopback without auth", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\ncluster:\n  embedded: {listen: \"0.0.0.0:4222\"}\n",
			[]string{".yaml:4: cluster.embedded.listen: \"0.0.0.0:4222\" binds beyond loopback without authentication"}},
		{"cluster fields", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\ncluster:\n  urls: [http://x]\n  device: \"pi 4\"\n  ack_wait: 1ms\n  token_file: a\n  nkey_file: b\n  tls: {cert_file: c}\n  distribute: ftp\n",
			[]string{"cluster.urls[0]: \"http://x\"", "cluster.device: \"pi 4\"", "cluster.ack_wait: 1ms", "cluster.nkey_file: given with token_file", "cluster.tls: want both", "cluster.distribute: \"ftp\", want shared_path or object_store"}},
		{"cluster settings without a server", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\ncluster: {device: pi}\n", []string{"cluster: settings given but neither urls nor embedded"}},
		{"cluster with multi-fidelity", "teacher: {train: " + teacherYAML + "}\ndata: {demo: {}}\ncluster: {urls: [\"nats://h:4222\"]}\nsearch: {fidelity: {levels: [8, 16]}}\n",
			[]string{"search.fidelity: multi-fidelity evaluation is not spread over a cluster"}},
		{"agent settings without kind agent", "teacher: {dir: x}\ndata: {demo: {}}\ndevice:\n  agent: {url: http://board:7070}\n", []string{"device.agent: given, but device.kind is \"local\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(p)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, fielderr.Summarize(err.Error(), 2000))
				}
			}
			if len(err.Error()) > 4000 {
				t.Errorf("error of %d bytes, want a short one", len(err.Error()))
			}
		})
	}
	t.Run("not a regular file", func(t *testing.T) {
		if _, err := LoadConfig("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero") {
			t.Errorf("/dev/zero: %v", err)
		}
	})
	t.Run("huge sparse file", func(t *testing.T) {
		p := filepath.Join(dir, "huge.yaml")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(5 << 30)
		f.Close()
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("5 GB file: %v", err)
		}
	})
}

// FuzzParseConfig: no input makes the run config parser panic or hang, and
// what it accepts has a run directory.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("teacher: {dir: x}\ndata: {demo: {}}\n"))
	f.Add([]byte("search: {strategy: nsga2, population_size: 4, budget: {max_evaluations: 3}}\nspace: {heads: [1, 1]}\n"))
	f.Add([]byte("evaluator: {workload: {runs: 2, batch: -1}}\nmetrics: {listen: ':x'}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("proxy_check: {samples: 4, min_tau: .nan, seed: 2}\nsearch: {front: {exact: true, latency_epsilon: 0.02}}\n"))
	f.Add([]byte("distill: {in_search: {top: 2, steps: -1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "fuzz.yaml")
		if err == nil && c.RunDir == "" {
			t.Fatal("accepted config without a run directory")
		}
	})
}
