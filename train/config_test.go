package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	in := `
model:
  shape: custom
  layers: 2
  hidden: 64
  heads: 2
data:
  demo: {seed: 4, train: 1000, dev: 100}
max_seq_len: 32
batch_size: 16
epochs: 2
lr: 1e-3
warmup: 0
clip: 0
run_dir: runs/x
`
	c, err := ParseConfig([]byte(in), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.FFN != 256 || r.Model.MaxPosition != 512 || r.Data.Demo.Train != 1000 || r.Data.Demo.MaxWords != 24 ||
		*r.Warmup != 0 || *r.Clip != 0 || *r.WeightDecay != DefaultWeightDecay || r.LR != 1e-3 || r.Seed != 1 ||
		r.Threads < 1 || r.Data.NumLabels != 2 {
		t.Fatalf("resolved %+v", r)
	}
	mc, err := r.ModelConfig(100)
	if err != nil || mc.NumHiddenLayers != 2 || mc.IntermediateSize != 256 || mc.Edgenas.Provenance != Provenance {
		t.Fatalf("model config %+v, %v", mc, err)
	}
}

func TestZeroConfigIsDefault(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "{}"} {
		c, err := ParseConfig([]byte(in), "empty.yaml")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		r, err := c.Resolved()
		if err != nil {
			t.Fatal(err)
		}
		if r.Model.Shape != "tiny" || r.Data.Demo == nil || r.Data.Demo.Train != 20000 || r.BatchSize != DefaultBatchSize ||
			r.Epochs != DefaultEpochs || r.MaxSeqLen != DefaultMaxSeqLen || r.RunDir != DefaultRunDir || *r.Warmup != DefaultWarmup {
			t.Fatalf("%q resolves to %+v", in, r)
		}
	}
}

func TestParseConfigStrict(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"unknown key", "model:\n  shape: tiny\n  layer: 3\n", []string{"c.yaml:3", "layer"}},
		{"unknown top key", "batch_size: 4\nbatchsize: 3\n", []string{"c.yaml:2", "batchsize"}},
		{"wrong type", "lr: fast\n", []string{"c.yaml:1", "fast"}},
		{"two documents", "lr: 1e-3\n---\nlr: 2e-3\n", []string{"c.yaml:2", "second YAML document"}},
		{"bad yaml", "model: [\n", []string{"c.yaml:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in), "c.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	in := `model:
  shape: tiny
  hidden: 100
  init_std: -1
data:
  train: a.tsv
  demo: {train: -5}
  num_labels: 3
max_seq_len: 2
batch_size: -1
lr: -0.1
warmup: 1.5
weight_decay: -1
clip: -2
threads: -3
max_loss: -1
`
	_, err := ParseConfig([]byte(in), "bad.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"bad.yaml:2: model.shape",
		"bad.yaml:4: model.init_std",
		"bad.yaml:7: data.demo: give either",
		"data.dev: missing",
		"bad.yaml:1: model.vocab: required",
		"bad.yaml:7: data.demo.train: -5 is negative",
		"bad.yaml:8: data.num_labels: the demo task has 2",
		"bad.yaml:9: max_seq_len",
		"bad.yaml:10: batch_size",
		"bad.yaml:11: lr",
		"bad.yaml:12: warmup",
		"bad.yaml:13: weight_decay",
		"bad.yaml:14: clip",
		"bad.yaml:15: threads",
		"bad.yaml:16: max_loss",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Error("not a *ConfigError")
	}
}

func TestValidateCustomShape(t *testing.T) {
	cases := []struct {
		m    ModelConfig
		want string
	}{
		{ModelConfig{Shape: "custom"}, "custom needs"},
		{ModelConfig{Layers: 2, Hidden: 10, Heads: 3}, "not a multiple"},
		{ModelConfig{Layers: 0, Hidden: 8, Heads: 2}, "model.layers"},
		{ModelConfig{Shape: "huge"}, `got "huge"`},
	}
	for _, tc := range cases {
		err := Config{Model: tc.m}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.m, err, tc.want)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("EDGENAS_TEST_DIR", "/data")
	os.Unsetenv("EDGENAS_SURELY_UNSET")
	c := Config{
		Model: ModelConfig{Vocab: "${EDGENAS_TEST_DIR}/vocab.txt"},
		Data:  DataConfig{Train: "${EDGENAS_TEST_DIR}/train.tsv", Dev: "$EDGENAS_TEST_DIR/dev.tsv"},
	}
	r, err := c.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.Vocab != "/data/vocab.txt" || r.Data.Train != "/data/train.tsv" || r.Data.Dev != "/data/dev.tsv" || r.Data.Demo != nil {
		t.Fatalf("%+v", r)
	}
	c.Data.Dev = "${EDGENAS_SURELY_UNSET}/dev.tsv"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "data.dev: environment variable EDGENAS_SURELY_UNSET is not set") {
		t.Fatalf("got %v", err)
	}
}

// TestShippedConfigs parses every YAML file in configs/ that trains.
func TestShippedConfigs(t *testing.T) {
	t.Setenv("EDGENAS_TESTDATA", cmpOrString(os.Getenv("EDGENAS_TESTDATA"), "/testdata"))
	for _, name := range []string{"demo-teacher.yaml", "sst2-teacher.yaml", "sst2-teacher-mlm.yaml"} {
		c, err := LoadConfig(filepath.Join("..", "configs", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Resolved(); err != nil {
			t.Fatal(err)
		}
	}
}

func cmpOrString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("model:\n  shape: tiny\nlr: 1e-3\n"))
	f.Add([]byte("data:\n  demo: {seed: 1, train: 10, dev: 5}\nwarmup: 0.2\n"))
	f.Add([]byte("data:\n  train: ${X}/a.tsv\n  dev: b.tsv\nmodel: {vocab: v.txt}\n"))
	f.Add([]byte("model: {shape: custom, layers: 1, hidden: 8, heads: 2}\nclip: .nan\n"))
	f.Add([]byte("a: &x [*x]\n"))
	if data, err := os.ReadFile(filepath.Join("..", "configs", "demo-teacher.yaml")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config fails Validate: %v", err)
		}
	})
}
