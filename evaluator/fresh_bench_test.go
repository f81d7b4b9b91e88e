package evaluator

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// BenchmarkEvaluateFresh is one uncached evaluation of a BERT-mini-sized
// student (half the heads and FFN of a BERT-mini-shaped teacher, the real
// uncased vocabulary) on 256 SST-2 dev sentences at seq 64, measured on the
// local device (target ≤ 3 s). It reports the time of each stage. The
// teacher's weights are random: the benchmark is about time, not accuracy.
func BenchmarkEvaluateFresh(b *testing.B) {
	b.StopTimer() // only Evaluate is timed
	dir := os.Getenv("EDGENAS_TESTDATA")
	if dir == "" {
		b.Skip("EDGENAS_TESTDATA is not set: this benchmark reads the BERT vocabulary and SST-2 dev set from it")
	}
	tok, err := tokenizer.LoadVocab(filepath.Join(dir, "bert-base-uncased-vocab", "vocab.txt"), tokenizer.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	ex, err := train.ReadTSV(filepath.Join(dir, "sst2-glue", "dev.tsv"), 2)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := transformer.ShapeConfig("mini", tok.VocabSize())
	if err != nil {
		b.Fatal(err)
	}
	teacher, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
	if err != nil {
		b.Fatal(err)
	}
	imp := &compress.Importance{}
	for _, l := range teacher.Layers {
		h, n := make([]float64, l.Heads), make([]float64, l.FFN)
		for i := range n {
			n[i] = float64(i % 13)
		}
		imp.Heads, imp.Neurons, imp.Layers = append(imp.Heads, h), append(imp.Neurons, n), append(imp.Layers, 1)
	}
	dev, err := local.New(local.Config{})
	if err != nil {
		b.Fatal(err)
	}
	build := func(_ context.Context, a space.Arch) (*transformer.Model, error) {
		return compress.Apply(teacher, a, imp, compress.Options{})
	}
	var st Stages
	n := 0
	for i := 0; i < b.N; i++ {
		e, err := New(context.Background(), teacher, tok, ex, build, dev, &MemCache{}, Config{Subsample: 256, MaxLen: 64})
		if err != nil {
			b.Fatal(err)
		}
		a := space.Arch{EmbeddingBits: 32, SeqLen: 64}
		for i := 0; i < 4; i++ {
			a.Layers = append(a.Layers, space.LayerGene{Source: i, Heads: 2, FFN: 512, Bits: 32})
		}
		b.StartTimer()
		r, err := e.Evaluate(context.Background(), a)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		st.Build += r.Stages.Build
		st.Accuracy += r.Stages.Accuracy
		st.Latency += r.Stages.Latency
		st.Size += r.Stages.Size
		n++
	}
	ms := func(d int64) float64 { return float64(d) / float64(n) / 1e6 }
	b.ReportMetric(ms(int64(st.Build)), "build_ms")
	b.ReportMetric(ms(int64(st.Accuracy)), "accuracy_ms")
	b.ReportMetric(ms(int64(st.Latency)), "latency_ms")
	b.ReportMetric(ms(int64(st.Size)), "size_ms")
}
