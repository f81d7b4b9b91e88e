package transformer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/transformer/safetensors"
)

// File names of a model directory in the Hugging Face layout.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// ErrMissingTensor is returned when a checkpoint lacks a tensor the config
// requires.
var ErrMissingTensor = errors.New("missing tensor")

// ErrShape is returned when a tensor's shape disagrees with config.json.
var ErrShape = errors.New("tensor shape disagrees with config.json")

// Load reads a model directory holding config.json and model.safetensors, as
// written by Hugging Face transformers for BertModel or
// BertForSequenceClassification (tensor names with or without the "bert."
// prefix, LayerNorm as weight/bias or gamma/beta) or by Save. F32, F16 and
// BF16 tensors are accepted. Tensors of other heads (cls.*, position_ids)
// are ignored.
func Load(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	wPath := filepath.Join(dir, WeightsFile)
	f, err := safetensors.ReadFile(wPath)
	if err != nil {
		return nil, err
	}
	m, err := FromTensors(cfg, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wPath, err)
	}
	return m, nil
}

// maxReported bounds how many tensor problems one error lists.
const maxReported = 10

// FromTensors builds a model of cfg's shape from the tensors of f. Every
// tensor's presence and shape is checked against cfg before any weight memory
// is allocated, so a hostile config cannot force a huge allocation.
func FromTensors(cfg Config, f *safetensors.File) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	find := func(name string) (safetensors.Tensor, bool) {
		for _, cand := range aliases(name) {
			if t, ok := f.Get(cand); ok {
				return t, true
			}
		}
		return safetensors.Tensor{}, false
	}
	_, pooler := find("bert.pooler.dense.weight")
	_, classifier := find("classifier.weight")
	var errs []error
	more := 0
	report := func(err error) {
		if len(errs) < maxReported {
			errs = append(errs, err)
		} else {
			more++
		}
	}
	build(cfg, pooler, classifier, false).Params(func(name string, shape []int, _ []float32, _ ParamKind) {
		t, ok := find(name)
		switch {
		case !ok:
			report(fmt.Errorf("tensor %q: %w", name, ErrMissingTensor))
		case !slices.Equal(t.Shape, shape):
			report(fmt.Errorf("tensor %q: shape %v, config.json wants %v: %w", t.Name, t.Shape, shape, ErrShape))
		}
	})
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more tensor problems", more))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := build(cfg, pooler, classifier, true)
	m.Params(func(name string, _ []int, p []float32, _ ParamKind) {
		t, _ := find(name)
		v, err := t.Float32()
		if err != nil {
			errs = append(errs, err)
			return
		}
		copy(p, v)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// aliases lists the names under which checkpoints store the parameter that
// Params calls name: with and without "bert.", and LayerNorm gamma/beta.
func aliases(name string) []string {
	names := []string{name}
	if rest, ok := strings.CutPrefix(name, "bert."); ok {
		names = append(names, rest)
	}
	if strings.Contains(name, "LayerNorm.") {
		for _, n := range names {
			n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
			n = strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
			names = append(names, n)
		}
	}
	return names
}

// Tensors returns m's parameters as F32 safetensors tensors under their
// Hugging Face names. The data is copied.
func (m *Model) Tensors() []safetensors.Tensor {
	var ts []safetensors.Tensor
	m.Params(func(name string, shape []int, p []float32, _ ParamKind) {
		ts = append(ts, safetensors.FromFloat32(name, shape, p))
	})
	return ts
}

// Save writes m to dir (created if needed) as config.json and
// model.safetensors in F32, each file replaced atomically. Reading it back
// with Load gives a model with bit-identical outputs.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := m.savedConfig()
	data, err := cfg.Marshal()
	if err != nil {
		return err
	}
	wPath := filepath.Join(dir, WeightsFile)
	if err := safetensors.WriteFile(wPath, m.Tensors(), weightsMetadata); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ConfigFile), data)
}

// savedConfig is m's config as Save writes it.
func (m *Model) savedConfig() Config {
	cfg := m.Config
	cfg.Architectures = []string{"BertModel"}
	if m.Classifier != nil {
		cfg.Architectures = []string{"BertForSequenceClassification"}
	}
	return cfg
}

// weightsMetadata is the safetensors metadata Save writes.
var weightsMetadata = map[string]string{"format": "pt"}

// countingWriter counts the bytes written through it and hashes them.
type countingWriter struct {
	n int64
	h hash.Hash
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.h != nil {
		c.h.Write(p)
	}
	return len(p), nil
}

// FileBytes is the exact size in bytes of the model.safetensors file Save
// writes for m, computed by serializing it without touching the disk.
func (m *Model) FileBytes() (int64, error) {
	var c countingWriter
	if err := safetensors.Write(&c, m.Tensors(), weightsMetadata); err != nil {
		return 0, err
	}
	return c.n, nil
}

// Digest identifies m's weights and config: the hex SHA-256 of its config
// JSON followed by its safetensors serialization. Equal models have equal
// digests across runs.
func (m *Model) Digest() (string, error) {
	saved := m.savedConfig()
	cfg, err := saved.Marshal()
	if err != nil {
		return "", err
	}
	c := countingWriter{h: sha256.New()}
	c.h.Write(cfg)
	if err := safetensors.Write(&c, m.Tensors(), weightsMetadata); err != nil {
		return "", err
	}
	return hex.EncodeToString(c.h.Sum(nil)), nil
}
