package transformer

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer/safetensors"
)

// editCheckpoint rewrites the weights of the model directory dir through
// edit.
func editCheckpoint(t *testing.T, dir string, edit func([]safetensors.Tensor) []safetensors.Tensor) {
	t.Helper()
	p := filepath.Join(dir, WeightsFile)
	f, err := safetensors.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(p, edit(f.Tensors), nil); err != nil {
		t.Fatal(err)
	}
}

// setHalf sets value i of the 16-bit tensor name to the raw bits.
func setHalf(name string, i int, bits uint16) func([]safetensors.Tensor) []safetensors.Tensor {
	return func(ts []safetensors.Tensor) []safetensors.Tensor {
		for k := range ts {
			if ts[k].Name == name {
				binary.LittleEndian.PutUint16(ts[k].Data[2*i:], bits)
			}
		}
		return ts
	}
}

func TestLoadRejectsNonFiniteWeights(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(11, 12)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	same := func(n string) string { return n }
	const query = "bert.encoder.layer.0.attention.self.query.weight"
	const key = "bert.encoder.layer.1.attention.self.key.weight"
	for _, tc := range []struct {
		name   string
		dir    func(t *testing.T) string
		tensor string
		value  string
	}{
		{"NaN in an F32 query weight", func(t *testing.T) string {
			bad, err := m.ToDense()
			if err != nil {
				t.Fatal(err)
			}
			bad.Layers[0].Query.W = append([]float32(nil), bad.Layers[0].Query.W...)
			bad.Layers[0].Query.W[3] = float32(math.NaN())
			return writeCheckpoint(t, bad, same, safetensors.F32, "")
		}, query, "value 3 is NaN"},
		{"+Inf in an F16 key weight", func(t *testing.T) string {
			dir := writeCheckpoint(t, m, same, safetensors.F16, "")
			editCheckpoint(t, dir, setHalf(key, 5, 0x7c00))
			return dir
		}, key, "value 5 is +Inf"},
		{"NaN in a BF16 LayerNorm gain", func(t *testing.T) string {
			dir := writeCheckpoint(t, m, same, safetensors.BF16, "")
			editCheckpoint(t, dir, setHalf("bert.embeddings.LayerNorm.weight", 0, 0x7fc0))
			return dir
		}, "bert.embeddings.LayerNorm.weight", "value 0 is NaN"},
		{"-Inf in an F64 classifier after conversion", func(t *testing.T) string {
			dir := writeCheckpoint(t, m, same, safetensors.F64, "")
			editCheckpoint(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				for k := range ts {
					if ts[k].Name == "classifier.weight" {
						binary.LittleEndian.PutUint64(ts[k].Data[8:], math.Float64bits(-1e300)) // -Inf as float32
					}
				}
				return ts
			})
			return dir
		}, "classifier.weight", "value 1 is -Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.dir(t))
			if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), `"`+tc.tensor+`"`) || !strings.Contains(err.Error(), tc.value) {
				t.Fatalf("got %v, want ErrNotFinite naming %q and %q", err, tc.tensor, tc.value)
			}
		})
	}
}

func TestLoadTensorsTheConfigDoesNotUse(t *testing.T) {
	cfg3 := tinyConfig()
	cfg3.NumHiddenLayers = 3
	m3, err := NewRandom(cfg3, rand.New(rand.NewPCG(13, 14)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	same := func(n string) string { return n }
	add := func(ts ...safetensors.Tensor) func([]safetensors.Tensor) []safetensors.Tensor {
		return func(old []safetensors.Tensor) []safetensors.Tensor { return append(old, ts...) }
	}
	vec := func(name string, n int) safetensors.Tensor {
		return safetensors.FromFloat32(name, []int{n}, make([]float32, n))
	}
	positionIDs := safetensors.Tensor{Name: "bert.embeddings.position_ids", DType: safetensors.I64, Shape: []int{1, 2}, Data: make([]byte, 16)}
	h := cfg3.HiddenSize
	for _, tc := range []struct {
		name   string
		layers int // num_hidden_layers written to config.json
		edit   func([]safetensors.Tensor) []safetensors.Tensor
		want   []string // substrings of the error; nil: loads
	}{
		{"config with fewer layers", 2, nil, []string{
			"16 tensors", `"bert.encoder.layer.2.attention.self.query.weight"`, "and 11 more",
			"config.json has num_hidden_layers 2 but the weights hold 3 layers (encoder.layer.0 to encoder.layer.2)"}},
		{"unknown tensor", 3, add(vec("lm_head.bias", 4)), []string{
			"1 tensors", `"lm_head.bias"`, "want only the tensors of the model config.json describes"}},
		{"MLM and NSP heads and buffers are known", 3, add(
			vec("cls.predictions.bias", cfg3.VocabSize),
			safetensors.FromFloat32("cls.predictions.transform.dense.weight", []int{h, h}, make([]float32, h*h)),
			vec("cls.predictions.transform.LayerNorm.gamma", h),
			safetensors.FromFloat32("cls.seq_relationship.weight", []int{2, h}, make([]float32, 2*h)),
			positionIDs,
		), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCheckpoint(t, m3, same, safetensors.F32, "")
			if tc.edit != nil {
				editCheckpoint(t, dir, tc.edit)
			}
			cfg := cfg3
			cfg.NumHiddenLayers = tc.layers
			data, err := cfg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if tc.want == nil {
				if err != nil || len(back.Layers) != tc.layers {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnusedTensor) {
				t.Fatalf("got %v, want ErrUnusedTensor", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadLimits(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(15, 16)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	same := func(n string) string { return n }
	sparse := func(t *testing.T, path string) {
		if err := os.Truncate(path, 5<<30); err != nil { // a hole: costs no disk
			t.Skip("no sparse files:", err)
		}
	}
	for _, tc := range []struct {
		name string
		load func(t *testing.T, dir string) error
		want string
		is   error
	}{
		{"sparse 5 GB config.json", func(t *testing.T, dir string) error {
			sparse(t, filepath.Join(dir, ConfigFile))
			_, err := Load(dir)
			return err
		}, "config.json: file is larger than the 16 MiB limit for a model config", limitio.ErrTooLarge},
		{"dev zero as config", func(t *testing.T, dir string) error {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			_, err := LoadConfig("/dev/zero")
			return err
		}, "/dev/zero: file is larger than the 16 MiB limit for a model config", limitio.ErrTooLarge},
		{"sparse 5 GB model.safetensors", func(t *testing.T, dir string) error {
			sparse(t, filepath.Join(dir, WeightsFile))
			_, err := Load(dir)
			return err
		}, "model.safetensors: file is larger than the", limitio.ErrTooLarge},
		{"valid header claiming a 5 GB tensor", func(t *testing.T, dir string) error {
			p := filepath.Join(dir, WeightsFile)
			hdr := []byte(`{"extra":{"dtype":"F32","shape":[1342177280],"data_offsets":[0,5368709120]}}`)
			var prefix [8]byte
			binary.LittleEndian.PutUint64(prefix[:], uint64(len(hdr)))
			if err := os.WriteFile(p, append(prefix[:], hdr...), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, int64(8+len(hdr))+5368709120); err != nil {
				t.Skip("no sparse files:", err)
			}
			_, err := Load(dir)
			return err
		}, "model.safetensors: file is larger than the", limitio.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load(t, writeCheckpoint(t, m, same, safetensors.F32, ""))
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSaveDestinations(t *testing.T) {
	m, err := NewRandom(tinyConfig(), rand.New(rand.NewPCG(17, 18)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T, root string) string // returns the directory to save to
		want string                                 // error substring, "" when Save must succeed
		is   error
	}{
		{"new directory", func(t *testing.T, root string) string { return filepath.Join(root, "new", "m") }, "", nil},
		{"empty directory", func(t *testing.T, root string) string { return root }, "", nil},
		{"existing model directory", func(t *testing.T, root string) string {
			if err := m.Save(root); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(root, "vocab.txt"), "[PAD]\n")
			write(t, filepath.Join(root, "training.json"), "{}")
			return root
		}, "", nil},
		{"directory with other files", func(t *testing.T, root string) string {
			write(t, filepath.Join(root, "config.json"), "{}")
			write(t, filepath.Join(root, "thesis.tex"), "precious")
			return root
		}, `exists and is not a model directory written by edgenas (it holds "thesis.tex"); choose another directory or remove it`, ErrNotModelDir},
		{"symlink to a model directory", func(t *testing.T, root string) string {
			real := filepath.Join(root, "real")
			if err := m.Save(real); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(root, "link")
			if err := os.Symlink(real, link); err != nil {
				t.Skip("no symlinks:", err)
			}
			return link
		}, "link is a symbolic link, not a directory: refusing to replace it", atomicfile.ErrRefused},
		{"regular file", func(t *testing.T, root string) string {
			p := filepath.Join(root, "model")
			write(t, p, "not a directory")
			return p
		}, "model is a regular file, not a directory", atomicfile.ErrRefused},
		{"named pipe as config.json", func(t *testing.T, root string) string {
			if err := syscall.Mkfifo(filepath.Join(root, ConfigFile), 0o600); err != nil {
				t.Skip("no FIFOs:", err)
			}
			return root
		}, `it holds "config.json"`, ErrNotModelDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.make(t, t.TempDir())
			err := m.Save(dir)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Load(dir); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error wrapping %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}
