package transformer

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer/safetensors"
)

func TestSaveLoadBitIdentical(t *testing.T) {
	for _, cfg := range []struct {
		name string
		cfg  Config
	}{{"uniform", tinyConfig()}, {"heterogeneous", heteroConfig()}} {
		t.Run(cfg.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			m, err := NewRandom(cfg.cfg, rng, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			b := testBatch(randomRows(rng, cfg.cfg.VocabSize, 9, 3))
			o1, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			o2, err := back.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "after save/load", o1, o2)
			if back.Config.Edgenas == nil || back.Config.Layer(cfg.cfg.NumHiddenLayers-1) != cfg.cfg.Layer(cfg.cfg.NumHiddenLayers-1) {
				t.Fatal("per-layer shapes not preserved")
			}
		})
	}
}

// writeCheckpoint saves tensors under transformed names, as other tools do.
func writeCheckpoint(t *testing.T, m *Model, rename func(string) string, dtype safetensors.DType, skip string) string {
	t.Helper()
	dir := t.TempDir()
	var ts []safetensors.Tensor
	m.Params(func(name string, shape []int, p []float32, _ ParamKind) {
		if name == skip {
			return
		}
		tt, err := safetensors.FromFloat32As(rename(name), shape, p, dtype)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
	})
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	data, err := m.Config.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadHFNamingVariants(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(7, 8)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	noPrefix := func(n string) string { return strings.TrimPrefix(n, "bert.") }
	legacyNorm := func(n string) string {
		n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
		return strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
	}
	same := func(n string) string { return n }
	cases := []struct {
		name       string
		rename     func(string) string
		dtype      safetensors.DType
		skip       string
		tol        float64
		classifier bool
	}{
		{"BertForSequenceClassification f32", same, safetensors.F32, "", 0, true},
		{"BertModel without prefix", noPrefix, safetensors.F32, "classifier.weight", 0, false},
		{"legacy gamma/beta", legacyNorm, safetensors.F32, "", 0, true},
		{"f16 weights", same, safetensors.F16, "", 2e-3, true},
		{"bf16 weights", same, safetensors.BF16, "", 2e-2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			skip := tc.skip
			dir := writeCheckpoint(t, m, tc.rename, tc.dtype, skip)
			if skip == "classifier.weight" {
				// BertModel has no classifier at all: drop its bias too.
				f, err := safetensors.ReadFile(filepath.Join(dir, WeightsFile))
				if err != nil {
					t.Fatal(err)
				}
				var keep []safetensors.Tensor
				for _, tt := range f.Tensors {
					if tt.Name != "classifier.bias" {
						keep = append(keep, tt)
					}
				}
				if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), keep, nil); err != nil {
					t.Fatal(err)
				}
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if (back.Classifier != nil) != tc.classifier {
				t.Fatalf("classifier present = %v, want %v", back.Classifier != nil, tc.classifier)
			}
			worst := 0.0
			for i := range back.Layers {
				for j, w := range back.Layers[i].Query.W {
					worst = math.Max(worst, math.Abs(float64(w-m.Layers[i].Query.W[j])))
				}
			}
			if worst > tc.tol {
				t.Fatalf("weights differ by %g > %g", worst, tc.tol)
			}
		})
	}
}

func TestLoadErrorsNameFileAndTensor(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(9, 10)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	same := func(n string) string { return n }
	t.Run("missing tensor", func(t *testing.T) {
		dir := writeCheckpoint(t, m, same, safetensors.F32, "bert.encoder.layer.1.output.dense.bias")
		_, err := Load(dir)
		if !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "bert.encoder.layer.1.output.dense.bias") ||
			!strings.Contains(err.Error(), filepath.Join(dir, WeightsFile)) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("shape disagrees with config", func(t *testing.T) {
		dir := writeCheckpoint(t, m, same, safetensors.F32, "")
		cfg := m.Config
		cfg.IntermediateSize = 48
		cfg.Edgenas = nil
		data, _ := cfg.Marshal()
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "intermediate.dense.weight") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("hostile config does not allocate", func(t *testing.T) {
		dir := writeCheckpoint(t, m, same, safetensors.F32, "")
		huge := `{"vocab_size":16777216,"hidden_size":16777216,"num_attention_heads":1,"intermediate_size":16777216,"num_hidden_layers":1024}`
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(huge), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); !errors.Is(err, ErrShape) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "config.json") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("corrupt weights", func(t *testing.T) {
		dir := writeCheckpoint(t, m, same, safetensors.F32, "")
		p := filepath.Join(dir, WeightsFile)
		if err := os.Truncate(p, 100); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestFileBytesAndDigest(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(8, 8)), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.FileBytes()
	if err != nil || n != fi.Size() {
		t.Fatalf("FileBytes() = %d, %v; the saved file has %d bytes", n, err, fi.Size())
	}
	d1, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := back.Digest(); d2 != d1 {
		t.Errorf("digest changed through save and load: %s vs %s", d1, d2)
	}
	m.Layers[1].Out.B[3] += 1e-3
	if d3, _ := m.Digest(); d3 == d1 {
		t.Error("digest ignores a weight change")
	}
}

// TestEncodedFilesMatchSave checks that ConfigJSON and WriteWeights give
// exactly the bytes Save writes, so a model sent without the disk loads
// as the saved one does.
func TestEncodedFilesMatchSave(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(8, 9)), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := m.ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if err := m.WriteWeights(&w); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got string }{{ConfigFile, string(cfg)}, {WeightsFile, w.String()}} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if tc.got != string(want) {
				t.Fatalf("encoded %s (%d bytes) differs from the saved file (%d bytes)", tc.name, len(tc.got), len(want))
			}
		})
	}
}
