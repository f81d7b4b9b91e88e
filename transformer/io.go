package transformer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/qgemm"
	"github.com/edgenas/edgenas/transformer/safetensors"
	"github.com/edgenas/edgenas/transformer/tokenizer"
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

// ErrUnusedTensor is returned when a checkpoint holds tensors that the
// config does not use and that belong to no known extra head: weights that
// would be silently dropped, e.g. a layer past num_hidden_layers.
var ErrUnusedTensor = errors.New("tensor not used by config.json")

// ErrNotFinite is returned when a weight tensor holds a NaN or an infinity.
var ErrNotFinite = errors.New("weight is not finite")

// Load reads a model directory holding config.json and model.safetensors, as
// written by Hugging Face transformers for BertModel or
// BertForSequenceClassification (tensor names with or without the "bert."
// prefix, LayerNorm as weight/bias or gamma/beta) or by Save. F32, F16 and
// BF16 tensors are accepted. Tensors of the pretraining heads (cls.*) and
// position_ids or token_type_ids buffers are ignored; any other tensor the
// config does not use (a layer past num_hidden_layers, an unknown name) is
// an error wrapping ErrUnusedTensor, and a NaN or infinite weight one
// wrapping ErrNotFinite, each naming the tensor.
func Load(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	wPath := filepath.Join(dir, WeightsFile)
	if st, err := os.Stat(wPath); err == nil && st.Mode().IsRegular() {
		if limit := maxWeightsBytes(cfg); float64(st.Size()) > limit {
			return nil, fmt.Errorf("%s: file is larger than the %s a model of config.json's shape can take (with F64 weights and the pretraining heads): %w",
				wPath, limitio.Size(int64(limit)), limitio.ErrTooLarge)
		}
	}
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

// maxWeightsBytes bounds the size of a model.safetensors for a valid cfg:
// every weight of the model with a pooler and classifier in F64, the
// pretraining heads (cls.*) and buffers Load ignores, 8 bytes a value, plus
// the largest header safetensors reads. A larger file is refused before it
// is read, so a huge or sparse file cannot exhaust memory. It is a float64
// because a hostile config's bound overflows int64.
func maxWeightsBytes(cfg Config) float64 {
	var n float64
	build(cfg, true, true, false).slots(func(s *slot) {
		k := 1.0
		for _, d := range s.shape {
			k *= float64(d)
		}
		n += 2 * k // a quantized weight's scales take at most one value per value
	})
	v, h := float64(cfg.VocabSize), float64(cfg.HiddenSize)
	n += v*h + v + h*h + 3*h + 2*h + 2          // cls.predictions and cls.seq_relationship
	n += 2 * float64(cfg.MaxPositionEmbeddings) // position_ids and token_type_ids
	return 8*n + float64(safetensors.MaxHeaderSize) + 8
}

// maxReported bounds how many tensor problems one error lists.
const maxReported = 10

// FromTensors builds a model of cfg's shape from the tensors of f. Every
// tensor's presence, dtype and shape is checked against cfg before any
// weight memory is allocated, so a hostile config cannot force a huge
// allocation. Float32 weights may be stored as F32, F16, BF16 or F64;
// half-precision weights (bits 16) are rounded to half precision; int8
// weights need I8 values and an F32 NAME_scale tensor of one scale per row,
// int4 weights U8 packed values and F32 scales per row and group (see
// Save).
func FromTensors(cfg Config, f *safetensors.File) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lookup := func(name string) (safetensors.Tensor, bool) {
		for _, cand := range aliases(name) {
			if t, ok := f.Get(cand); ok {
				return t, true
			}
		}
		return safetensors.Tensor{}, false
	}
	used := make(map[string]bool)
	find := func(name string) (safetensors.Tensor, bool) {
		t, ok := lookup(name)
		if ok {
			used[t.Name] = true
		}
		return t, ok
	}
	_, pooler := lookup("bert.pooler.dense.weight")
	_, classifier := lookup("classifier.weight")
	var errs []error
	more := 0
	report := func(err error) {
		if len(errs) < maxReported {
			errs = append(errs, err)
		} else {
			more++
		}
	}
	m := build(cfg, pooler, classifier, false)
	m.slots(func(s *slot) {
		if err := s.check(find); err != nil {
			report(err)
		}
	})
	if err := unusedTensors(cfg, f, used); err != nil {
		report(err)
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more tensor problems", more))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.slots(func(s *slot) {
		if err := s.fill(find); err != nil {
			report(err)
		}
	})
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more tensor problems", more))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range m.Layers {
		if i > 0 && cfg.Layer(i).SharesPrevious {
			m.Layers[i] = m.Layers[i-1]
		}
	}
	return m, nil
}

// checkFinite fails on the first NaN or infinity of v, naming its index.
func checkFinite(v []float32) error {
	for i, x := range v {
		if x-x != 0 { // NaN for NaN and ±Inf, 0 for every finite x
			return fmt.Errorf("value %d is %v: %w", i, x, ErrNotFinite)
		}
	}
	return nil
}

// unusedTensors fails when f holds tensors that were not used and are not
// of a known extra head, naming the first few and counting the rest; when
// some belong to layers past the config's, the error says so.
func unusedTensors(cfg Config, f *safetensors.File, used map[string]bool) error {
	var names []string
	deepest := -1
	for _, t := range f.Tensors {
		if used[t.Name] || ignoredTensor(t.Name) {
			continue
		}
		names = append(names, t.Name)
		if i, ok := layerIndex(t.Name); ok && i >= cfg.NumHiddenLayers {
			deepest = max(deepest, i)
		}
	}
	if len(names) == 0 {
		return nil
	}
	list := make([]string, 0, min(len(names), maxNamed))
	for _, n := range names[:min(len(names), maxNamed)] {
		list = append(list, strconv.Quote(n))
	}
	msg := strings.Join(list, ", ")
	if len(names) > maxNamed {
		msg += fmt.Sprintf(" and %d more", len(names)-maxNamed)
	}
	hint := "want only the tensors of the model config.json describes"
	if deepest >= 0 {
		hint = fmt.Sprintf("config.json has num_hidden_layers %d but the weights hold %d layers (encoder.layer.0 to encoder.layer.%d)",
			cfg.NumHiddenLayers, deepest+1, deepest)
	}
	return fmt.Errorf("%d tensors %s: %s: %w", len(names), msg, hint, ErrUnusedTensor)
}

// maxNamed bounds how many unused tensors an error names.
const maxNamed = 5

// ignoredTensor reports whether a tensor the model does not use is
// expected in a Hugging Face checkpoint: the pretraining heads of
// BertForMaskedLM and BertForPreTraining (cls.*) and the position_ids and
// token_type_ids buffers of older transformers versions.
func ignoredTensor(name string) bool {
	base := strings.TrimPrefix(name, "bert.")
	return strings.HasPrefix(name, "cls.") ||
		base == "embeddings.position_ids" || base == "embeddings.token_type_ids"
}

// layerIndex returns N of a tensor name holding "encoder.layer.N.".
func layerIndex(name string) (int, bool) {
	_, rest, ok := strings.Cut(name, "encoder.layer.")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil
}

// scaleSuffix ends the name of the F32 scales tensor of a quantized weight.
const scaleSuffix = "_scale"

// storedShape returns the shape a slot's data tensor has in a file and the
// shape of its scales (nil for float slots).
func (s *slot) storedShape() (data, scales []int) {
	rows, cols := s.shape[0], 0
	if len(s.shape) > 1 {
		cols = s.shape[1]
	}
	switch s.bits {
	case 8:
		return s.shape, []int{rows}
	case 4:
		return []int{rows, (cols + 1) / 2}, []int{rows, (cols + s.group - 1) / s.group}
	}
	return s.shape, nil
}

// check verifies that the tensors of slot s are present with the right
// dtype and shape, without decoding them.
func (s *slot) check(find func(string) (safetensors.Tensor, bool)) error {
	dataShape, scaleShape := s.storedShape()
	t, ok := find(s.name)
	if !ok {
		return fmt.Errorf("tensor %q: %w", s.name, ErrMissingTensor)
	}
	want := "a float dtype"
	okType := t.DType.IsFloat()
	switch s.bits {
	case 8:
		want, okType = "I8", t.DType == safetensors.I8
	case 4:
		want, okType = "U8", t.DType == safetensors.U8
	}
	if !okType {
		return fmt.Errorf("tensor %q: dtype %s, config.json's %d-bit storage wants %s: %w", t.Name, t.DType, s.bits, want, ErrShape)
	}
	if !slices.Equal(t.Shape, dataShape) {
		return fmt.Errorf("tensor %q: shape %v, config.json wants %v: %w", t.Name, t.Shape, dataShape, ErrShape)
	}
	if scaleShape == nil {
		return nil
	}
	name := s.name + scaleSuffix
	sc, ok := find(name)
	if !ok {
		return fmt.Errorf("tensor %q: %w", name, ErrMissingTensor)
	}
	if sc.DType != safetensors.F32 || !slices.Equal(sc.Shape, scaleShape) {
		return fmt.Errorf("tensor %q: %s %v, want F32 %v (the scales of a %d×%d %d-bit weight): %w", name, sc.DType, sc.Shape, scaleShape,
			s.shape[0], s.shape[1], s.bits, ErrShape)
	}
	return nil
}

// fill decodes the checked tensors of slot s into the model.
func (s *slot) fill(find func(string) (safetensors.Tensor, bool)) error {
	t, _ := find(s.name)
	wrap := func(err error) error { return fmt.Errorf("tensor %q: %w", t.Name, err) }
	if s.bits == 32 || s.bits == 16 {
		v, err := t.Float32()
		if err != nil {
			return err
		}
		if err := checkFinite(v); err != nil {
			return wrap(err)
		}
		if s.bits == 16 {
			if v, err = roundHalf(v); err != nil {
				return wrap(err)
			}
		}
		*s.f = v
		return nil
	}
	sc, _ := find(s.name + scaleSuffix)
	scales, err := sc.Float32()
	if err != nil {
		return err
	}
	if s.t != nil {
		q := &QuantTable{Rows: s.shape[0], Cols: s.shape[1], Bits: s.bits, Group: s.group, Data: t.Data, Scales: scales}
		if s.bits == 8 {
			q.Group = s.shape[1]
		}
		if err := q.Validate(); err != nil {
			return fmt.Errorf("tensor %q: %w", sc.Name, err)
		}
		q.Data = slices.Clone(t.Data)
		*s.t = q
		return nil
	}
	var w qgemm.Weights
	if s.bits == 8 {
		v := make([]int8, len(t.Data))
		for i, b := range t.Data {
			v[i] = int8(b)
		}
		w, err = qgemm.Int8FromRaw(v, t.Shape, scales, sc.Shape)
	} else {
		w, err = qgemm.Int4FromRaw(s.shape[1], s.group, t.Data, t.Shape, scales, sc.Shape)
	}
	if err != nil {
		return fmt.Errorf("tensors %q and %q: %w", t.Name, sc.Name, err)
	}
	*s.q = w
	return nil
}

// tensors encodes slot s as the safetensors tensors Save writes.
func (s *slot) tensors() ([]safetensors.Tensor, error) {
	switch s.bits {
	case 32:
		return []safetensors.Tensor{safetensors.FromFloat32(s.name, s.shape, *s.f)}, nil
	case 16:
		t, err := safetensors.FromFloat32As(s.name, s.shape, *s.f, safetensors.F16)
		return []safetensors.Tensor{t}, err
	}
	dataShape, scaleShape := s.storedShape()
	var data []byte
	var scales []float32
	switch {
	case s.t != nil && *s.t != nil:
		data, scales = (*s.t).Data, (*s.t).Scales
	case s.q != nil && *s.q != nil:
		switch w := (*s.q).(type) {
		case *qgemm.Int8:
			q, _, sc, _ := w.Raw()
			data, scales = make([]byte, len(q)), sc
			for i, v := range q {
				data[i] = byte(v)
			}
		case *qgemm.Int4:
			if w.Group() != s.group {
				return nil, fmt.Errorf("tensor %q: int4 group %d, config.json says %d: %w", s.name, w.Group(), s.group, ErrShape)
			}
			data, _, scales, _ = w.Raw()
		}
	}
	if data == nil {
		return nil, fmt.Errorf("tensor %q: %d-bit weight missing: %w", s.name, s.bits, ErrMissingTensor)
	}
	dt := safetensors.I8
	if s.bits == 4 {
		dt = safetensors.U8
	}
	return []safetensors.Tensor{
		{Name: s.name, DType: dt, Shape: dataShape, Data: slices.Clone(data)},
		safetensors.FromFloat32(s.name+scaleSuffix, scaleShape, scales),
	}, nil
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

// Tensors returns m's parameters as safetensors tensors under their Hugging
// Face names (see Params for low-rank and factorized names), in their
// storage form: F32 for float32 weights, F16 for 16-bit ones, I8 values
// plus an F32 NAME_scale tensor (one scale per row) for 8-bit ones, U8
// packed values (two per byte, the even column in the low nibble) plus an
// F32 NAME_scale tensor (rows × groups) for 4-bit ones. The data is copied.
// It fails when a weight's storage disagrees with the model's config.
func (m *Model) Tensors() ([]safetensors.Tensor, error) {
	var ts []safetensors.Tensor
	var err error
	m.slots(func(s *slot) {
		if err != nil {
			return
		}
		var t []safetensors.Tensor
		t, err = s.tensors()
		ts = append(ts, t...)
	})
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// ErrNotModelDir is returned by Save for an existing directory that is not
// a model directory: one holding files a model directory does not hold.
var ErrNotModelDir = errors.New("not a model directory")

// modelDirFiles are the files a model directory written by edgenas holds:
// the model, its tokenizer, train's checkpoint files and an ONNX export.
var modelDirFiles = map[string]bool{
	ConfigFile: true, WeightsFile: true,
	tokenizer.VocabFile: true, tokenizer.TokenizerJSONFile: true, tokenizer.TokenizerConfigFile: true,
	"training.json": true, "optimizer.safetensors": true, "state.json": true,
	"model.onnx": true,
}

// checkModelDir fails unless dir is missing, empty or a model directory:
// every entry one of modelDirFiles or a temporary file atomicfile left.
// Anything but a directory at dir (a file, a symbolic link) is refused.
func checkModelDir(dir string) error {
	exists, err := atomicfile.CheckDir(dir)
	if err != nil || !exists {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if (modelDirFiles[name] && e.Type().IsRegular()) || (strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")) {
			continue
		}
		return fmt.Errorf("%s exists and is not a model directory written by edgenas (it holds %q); choose another directory or remove it: %w",
			dir, name, ErrNotModelDir)
	}
	return nil
}

// Save writes m to dir as config.json and model.safetensors in F32, each
// file replaced atomically. dir is created if needed; an existing dir must
// be a model directory (holding only a model's, its tokenizer's and
// train's checkpoint files, or nothing) and is refused otherwise with an
// error wrapping ErrNotModelDir, so Save never mixes a model into
// unrelated files. Reading it back with Load gives a model with
// bit-identical outputs.
func (m *Model) Save(dir string) error {
	if err := checkModelDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := m.ConfigJSON()
	if err != nil {
		return err
	}
	ts, err := m.Tensors()
	if err != nil {
		return err
	}
	wPath := filepath.Join(dir, WeightsFile)
	if err := safetensors.WriteFile(wPath, ts, weightsMetadata); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ConfigFile), data)
}

// ConfigJSON returns the config.json Save writes for m.
func (m *Model) ConfigJSON() ([]byte, error) {
	cfg := m.savedConfig()
	return cfg.Marshal()
}

// WriteWeights writes the model.safetensors Save writes for m to w, so a
// model can be sent (to a remote agent) without touching the disk; Load
// of a directory holding ConfigJSON and these bytes gives m back.
func (m *Model) WriteWeights(w io.Writer) error {
	ts, err := m.Tensors()
	if err != nil {
		return err
	}
	return safetensors.Write(w, ts, weightsMetadata)
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
	if err := m.WriteWeights(&c); err != nil {
		return 0, err
	}
	return c.n, nil
}

// Digest identifies m's weights and config: the hex SHA-256 of its config
// JSON followed by its safetensors serialization. Equal models have equal
// digests across runs.
func (m *Model) Digest() (string, error) {
	cfg, err := m.ConfigJSON()
	if err != nil {
		return "", err
	}
	c := countingWriter{h: sha256.New()}
	c.h.Write(cfg)
	if err := m.WriteWeights(&c); err != nil {
		return "", err
	}
	return hex.EncodeToString(c.h.Sum(nil)), nil
}
