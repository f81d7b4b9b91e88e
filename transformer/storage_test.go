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

// storageCase is a student config exercising one storage technique, and
// how far its outputs may be from its dense equivalent (ToDense): float
// rounding for float forms, activation quantization for int8 and int4.
type storageCase struct {
	name string
	cfg  Config
	tol  float64
}

// studentConfig is heteroConfig with the given edits to its edgenas
// section.
func studentConfig(edit func(e *EdgenasConfig)) Config {
	c := heteroConfig()
	c.Edgenas.Layers[2] = LayerConfig{NumAttentionHeads: 2, IntermediateSize: 17, SharesPrevious: true}
	edit(c.Edgenas)
	return c
}

func storageCases() []storageCase {
	all := func(f func(l *LayerConfig)) func(e *EdgenasConfig) {
		return func(e *EdgenasConfig) {
			for i := range e.Layers {
				f(&e.Layers[i])
			}
		}
	}
	return []storageCase{
		{"low-rank", studentConfig(all(func(l *LayerConfig) { l.AttentionRank, l.FFNRank = 5, 3 })), 1e-5},
		{"fp16", studentConfig(all(func(l *LayerConfig) { l.Bits = 16 })), 1e-5},
		{"int8", studentConfig(all(func(l *LayerConfig) { l.Bits = 8 })), 0.1},
		{"int4 group 32", studentConfig(func(e *EdgenasConfig) {
			e.Int4Group = 32
			for i := range e.Layers {
				e.Layers[i].Bits = 4
			}
		}), 0.1},
		{"low-rank int8", studentConfig(all(func(l *LayerConfig) { l.AttentionRank, l.FFNRank, l.Bits = 6, 4, 8 })), 0.1},
		{"low-rank int4", studentConfig(all(func(l *LayerConfig) { l.AttentionRank, l.FFNRank, l.Bits = 6, 4, 4 })), 0.1},
		{"mixed", studentConfig(func(e *EdgenasConfig) {
			e.Layers[0].Bits, e.Layers[0].FFNRank = 4, 7
			e.Layers[1].Bits, e.Layers[1].AttentionRank = 16, 9
			e.Layers[2].Bits, e.Layers[2].AttentionRank = 16, 9
		}), 0.1},
		{"factorized embeddings", studentConfig(func(e *EdgenasConfig) { e.EmbeddingRank = 12 }), 1e-5},
		{"factorized fp16 embeddings", studentConfig(func(e *EdgenasConfig) { e.EmbeddingRank, e.EmbeddingBits = 12, 16 }), 1e-5},
		{"int8 embeddings", studentConfig(func(e *EdgenasConfig) { e.EmbeddingBits = 8 }), 1e-5},
		{"factorized int4 embeddings", studentConfig(func(e *EdgenasConfig) { e.EmbeddingRank, e.EmbeddingBits, e.Int4Group = 12, 4, 32 }), 1e-5},
	}
}

func outputsOf(t *testing.T, m *Model, threads int) *Output {
	t.Helper()
	b := testBatch(randomRows(rand.New(rand.NewPCG(3, 4)), m.Config.VocabSize, 13, 5, 1, 9))
	o, err := m.NewSession(threads).Run(b)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func sameBits(t *testing.T, what string, a, b *Output) {
	t.Helper()
	for name, pair := range map[string][2][]float32{
		"last_hidden": {a.LastHidden, b.LastHidden}, "pooled": {a.Pooled, b.Pooled}, "logits": {a.Logits, b.Logits},
	} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("%s: %s has %d values, want %d", what, name, len(pair[1]), len(pair[0]))
		}
		for i := range pair[0] {
			if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
				t.Fatalf("%s: %s[%d] = %v, want %v", what, name, i, pair[1][i], pair[0][i])
			}
		}
	}
}

func maxDiff32(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestStorageForms runs every storage technique: it matches its dense
// equivalent, gives the same bits on any thread count, survives Save and
// Load bit for bit, and FileBytes is the saved file's size.
func TestStorageForms(t *testing.T) {
	for i, tc := range storageCases() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewRandom(tc.cfg, rand.New(rand.NewPCG(uint64(i), 9)), 0.2)
			if err != nil {
				t.Fatal(err)
			}
			if m.IsDense() {
				t.Fatal("student reports dense storage")
			}
			ref := outputsOf(t, m, 1)
			d, err := m.ToDense()
			if err != nil {
				t.Fatal(err)
			}
			if !d.IsDense() {
				t.Fatal("ToDense is not dense")
			}
			dense := outputsOf(t, d, 1)
			diff := max(maxDiff32(ref.LastHidden, dense.LastHidden), maxDiff32(ref.Logits, dense.Logits))
			t.Logf("max diff to the dense equivalent: %.3g", diff)
			if diff > tc.tol {
				t.Errorf("differs from its dense equivalent by %.3g > %g", diff, tc.tol)
			}
			for _, threads := range []int{2, 3} {
				sameBits(t, "threads", ref, outputsOf(t, m, threads))
			}
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "after save and load", ref, outputsOf(t, back, 1))
			if back.NumParams() != m.NumParams() {
				t.Errorf("NumParams %d after load, %d before", back.NumParams(), m.NumParams())
			}
			fi, err := os.Stat(filepath.Join(dir, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			if n, err := m.FileBytes(); err != nil || n != fi.Size() {
				t.Errorf("FileBytes = %d, %v; file has %d bytes", n, err, fi.Size())
			}
			d1, err1 := m.Digest()
			d2, err2 := back.Digest()
			if err1 != nil || err2 != nil || d1 != d2 {
				t.Errorf("digest changed by save and load: %s %v, %s %v", d1, err1, d2, err2)
			}
		})
	}
}

func TestStorageAllocatesNothingInSteadyState(t *testing.T) {
	for _, tc := range storageCases() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewRandom(tc.cfg, rand.New(rand.NewPCG(1, 1)), 0.2)
			if err != nil {
				t.Fatal(err)
			}
			s := m.NewSession(1)
			b := fullBatch(2, 24, tc.cfg.VocabSize)
			if _, err := s.Run(b); err != nil {
				t.Fatal(err)
			}
			if allocs := testing.AllocsPerRun(5, func() {
				if _, err := s.Run(b); err != nil {
					t.Fatal(err)
				}
			}); allocs != 0 {
				t.Fatalf("%v allocations per forward pass", allocs)
			}
		})
	}
}

// TestStorageSizes checks what each form stores: parameter counts, the
// bytes of the saved tensors and RuntimeBytes.
func TestStorageSizes(t *testing.T) {
	c := tinyConfig()
	c.Edgenas = &EdgenasConfig{Version: ConfigVersion, AttentionHeadSize: 8,
		Layers: []LayerConfig{{NumAttentionHeads: 4, IntermediateSize: 64}, {NumAttentionHeads: 4, IntermediateSize: 64}}}
	dense, err := NewRandom(c, rand.New(rand.NewPCG(1, 2)), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	encoderBytes := func(m *Model) (weights int) {
		ts, err := m.Tensors()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			if strings.Contains(x.Name, "encoder") && !strings.Contains(x.Name, "LayerNorm") && !strings.HasSuffix(x.Name, ".bias") {
				weights += len(x.Data)
			}
		}
		return weights
	}
	full := encoderBytes(dense)
	H, F := 32, 64
	perLayer := 4*H*H + 2*H*F // values of the six matrices
	if full != 4*2*perLayer {
		t.Fatalf("fp32 encoder weights take %d bytes, want %d", full, 4*2*perLayer)
	}
	for _, tc := range []struct {
		name string
		edit func(l *LayerConfig)
		want int // bytes of one layer's six matrices (values and scales)
	}{
		{"fp16", func(l *LayerConfig) { l.Bits = 16 }, 2 * perLayer},
		{"int8", func(l *LayerConfig) { l.Bits = 8 }, perLayer + 4*(3*H+H+F+H)},
		{"int4", func(l *LayerConfig) { l.Bits = 4 }, perLayer/2 + 4*(4*H+F+H)},
		{"rank 4", func(l *LayerConfig) { l.AttentionRank, l.FFNRank = 4, 4 }, 4 * 4 * (4*(H+H) + 2*(H+F))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := c.Clone()
			for i := range cc.Edgenas.Layers {
				tc.edit(&cc.Edgenas.Layers[i])
			}
			m, err := NewRandom(cc, rand.New(rand.NewPCG(1, 2)), 0.1)
			if err != nil {
				t.Fatal(err)
			}
			if got := encoderBytes(m); got != 2*tc.want {
				t.Errorf("encoder weights take %d bytes, want %d (fp32: %d)", got, 2*tc.want, full)
			}
			fb, _ := m.FileBytes()
			db, _ := dense.FileBytes()
			if fb >= db {
				t.Errorf("file of %d bytes, not below fp32's %d", fb, db)
			}
			if tc.name != "fp16" && m.RuntimeBytes() >= dense.RuntimeBytes() {
				t.Errorf("RuntimeBytes %d, not below fp32's %d", m.RuntimeBytes(), dense.RuntimeBytes())
			}
		})
	}
}

// TestLoadRejectsHostileStorage corrupts one tensor of a saved quantized,
// low-rank student at a time: every load fails with an error naming the
// tensor, never a panic.
func TestLoadRejectsHostileStorage(t *testing.T) {
	cfg := studentConfig(func(e *EdgenasConfig) {
		e.EmbeddingRank, e.EmbeddingBits = 12, 8
		e.Layers[0].Bits, e.Layers[0].AttentionRank = 8, 5
		e.Layers[1].Bits, e.Layers[1].FFNRank = 4, 3
		e.Layers[2].Bits, e.Layers[2].FFNRank = 4, 3
	})
	m, err := NewRandom(cfg, rand.New(rand.NewPCG(4, 4)), 0.2)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := m.Tensors()
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Config.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(name string, f func(x *safetensors.Tensor)) error {
		var out []safetensors.Tensor
		for _, x := range ts {
			x.Shape = append([]int(nil), x.Shape...)
			x.Data = append([]byte(nil), x.Data...)
			if x.Name == name {
				f(&x)
				if x.Name == "" {
					continue
				}
			}
			out = append(out, x)
		}
		dir := t.TempDir()
		if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), out, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		return err
	}
	if err := edit("", nil); err != nil {
		t.Fatalf("unmodified student: %v", err)
	}
	const q = "bert.encoder.layer.0.attention.self.query.weight_u"
	const q4 = "bert.encoder.layer.1.intermediate.dense.weight_v"
	const w = "bert.embeddings.word_embeddings.weight"
	for _, tc := range []struct {
		name, tensor string
		f            func(x *safetensors.Tensor)
	}{
		{"missing scales", q + "_scale", func(x *safetensors.Tensor) { x.Name = "" }},
		{"scales of the wrong length", q + "_scale", func(x *safetensors.Tensor) { x.Shape[0]--; x.Data = x.Data[4:] }},
		{"negative scale", q + "_scale", func(x *safetensors.Tensor) { x.Data[3] |= 0x80 }},
		{"NaN scale", q4 + "_scale", func(x *safetensors.Tensor) { copy(x.Data, []byte{0, 0, 0xc0, 0x7f}) }},
		{"int8 stored as float", q, func(x *safetensors.Tensor) {
			*x = safetensors.FromFloat32(x.Name, x.Shape, make([]float32, len(x.Data)))
		}},
		{"rank mismatch", q, func(x *safetensors.Tensor) { x.Shape[1]++; x.Data = append(x.Data, make([]byte, x.Shape[0])...) }},
		{"int4 packed width", q4, func(x *safetensors.Tensor) { x.Shape[1]++; x.Data = append(x.Data, make([]byte, x.Shape[0])...) }},
		{"int4 group mismatch", q4 + "_scale", func(x *safetensors.Tensor) { x.Shape[1]++; x.Data = append(x.Data, make([]byte, 4*x.Shape[0])...) }},
		{"word table rank", w, func(x *safetensors.Tensor) { x.Shape[1]--; x.Data = x.Data[:x.Shape[0]*x.Shape[1]] }},
		{"word scales", w + "_scale", func(x *safetensors.Tensor) { copy(x.Data, []byte{0, 0, 0x80, 0x7f}) }},
		{"missing projection", "bert.embeddings.word_projection.weight", func(x *safetensors.Tensor) { x.Name = "" }},
		{"low-rank as dense", q, func(x *safetensors.Tensor) { x.Name = "bert.encoder.layer.0.attention.self.query.weight" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := edit(tc.tensor, tc.f)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), strings.TrimSuffix(tc.tensor, "_scale")) {
				t.Errorf("error does not name tensor %s: %v", tc.tensor, err)
			}
			t.Log(err)
		})
	}
}

func TestStorageConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(e *EdgenasConfig)
	}{
		{"edgenas.layers[0].attention_rank", func(e *EdgenasConfig) { e.Layers[0].AttentionRank = 33 }},
		{"edgenas.layers[1].ffn_rank", func(e *EdgenasConfig) { e.Layers[1].FFNRank = 18 }},
		{"edgenas.layers[0].bits", func(e *EdgenasConfig) { e.Layers[0].Bits = 6 }},
		{"edgenas.layers[2].shares_previous", func(e *EdgenasConfig) { e.Layers[2].Bits = 8 }},
		{"edgenas.embedding_rank", func(e *EdgenasConfig) { e.EmbeddingRank = 33 }},
		{"edgenas.embedding_bits", func(e *EdgenasConfig) { e.EmbeddingBits = 2 }},
		{"edgenas.int4_group", func(e *EdgenasConfig) { e.Int4Group = 48 }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c := studentConfig(tc.edit)
			err := c.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want a field error on %s", err, tc.field)
			}
		})
	}
}

// FuzzFromTensors loads arbitrary safetensors bytes against the config of a
// low-rank, quantized, factorized student (and a plain model): loading
// must fail with an error or give a model that runs, never panic.
func FuzzFromTensors(f *testing.F) {
	cfg := studentConfig(func(e *EdgenasConfig) {
		e.EmbeddingRank, e.EmbeddingBits, e.Int4Group = 12, 4, 32
		e.Layers[0].Bits, e.Layers[0].AttentionRank = 8, 5
		e.Layers[1].Bits, e.Layers[1].FFNRank = 4, 3
		e.Layers[2].Bits, e.Layers[2].FFNRank = 4, 3
	})
	for _, c := range []Config{cfg, tinyConfig()} {
		m, err := NewRandom(c, rand.New(rand.NewPCG(1, 1)), 0.2)
		if err != nil {
			f.Fatal(err)
		}
		ts, err := m.Tensors()
		if err != nil {
			f.Fatal(err)
		}
		var buf strings.Builder
		if err := safetensors.Write(&buf, ts, nil); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(buf.String()), c.Edgenas != nil && c.Edgenas.EmbeddingRank > 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, student bool) {
		file, err := safetensors.Parse(data)
		if err != nil {
			return
		}
		c := tinyConfig()
		if student {
			c = cfg
		}
		m, err := FromTensors(c, file)
		if err != nil {
			return
		}
		if _, err := m.Forward(testBatch([][]int32{{1, 2, 3}})); err != nil {
			t.Fatalf("loaded model does not run: %v", err)
		}
	})
}
