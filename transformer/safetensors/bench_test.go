package safetensors

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchFile returns a ~10 MB file: a BERT-base-like set of F32, F16 and I64
// tensors.
func benchFile(b *testing.B) []byte {
	rng := rand.New(rand.NewPCG(1, 1))
	var ts []Tensor
	add := func(name string, dt DType, shape ...int) {
		n := (Tensor{Shape: shape}).NumElements() * dt.Size()
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		ts = append(ts, Tensor{Name: name, DType: dt, Shape: shape, Data: data})
	}
	add("embeddings.word_embeddings.weight", F32, 1000, 768)
	add("embeddings.position_embeddings.weight", F32, 512, 768)
	add("embeddings.position_ids", I64, 1, 512)
	for _, n := range []string{"query", "key", "value", "output"} {
		add("encoder.layer.0.attention."+n+".weight", F16, 768, 768)
		add("encoder.layer.0.attention."+n+".bias", F16, 768)
	}
	add("encoder.layer.0.intermediate.dense.weight", F32, 768, 256)
	var buf bytes.Buffer
	if err := Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkParse(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadFile(b *testing.B) {
	data := benchFile(b)
	f, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	if err := WriteFile(path, f.Tensors, f.Metadata); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	data := benchFile(b)
	f, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, f.Tensors, f.Metadata); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFloat32(b *testing.B, dt DType) {
	v := make([]float32, 1<<20)
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	t, err := FromFloat32As("w", []int{len(v)}, v, dt)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(t.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Float32(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloat32F16(b *testing.B)  { benchFloat32(b, F16) }
func BenchmarkFloat32BF16(b *testing.B) { benchFloat32(b, BF16) }
func BenchmarkFloat32F32(b *testing.B)  { benchFloat32(b, F32) }

func BenchmarkFromFloat32AsF16(b *testing.B) {
	v := make([]float32, 1<<20)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	b.SetBytes(int64(4 * len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromFloat32As("w", []int{len(v)}, v, F16); err != nil {
			b.Fatal(err)
		}
	}
}
