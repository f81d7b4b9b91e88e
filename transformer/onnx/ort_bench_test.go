//go:build ort

// ONNX Runtime as the speed reference of the engine (build tag ort, cgo):
// a one-node MatMul model for the GEMM table and the exported BERT for the
// forward-latency table. scripts/bench.sh engine runs these and tabulates
// them; everything is single-threaded (run with -cpu 1).

package onnx

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// benchSessionOptions are the options of every benchmarked session: one
// intra-op and one inter-op thread, sequential execution, all graph
// optimizations.
func benchSessionOptions(b *testing.B) *ort.SessionOptions {
	b.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	for _, err := range []error{
		opts.SetIntraOpNumThreads(1),
		opts.SetInterOpNumThreads(1),
		opts.SetExecutionMode(ort.ExecutionModeSequential),
		opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return opts
}

// matMulModel encodes a one-node ONNX model Y = MatMul(A, B): A is an m×k
// float input and B the k×n row-major initializer w.
func matMulModel(m, k, n int, w []float32) ([]byte, error) {
	bld := newBuilder()
	bld.values["A"] = true
	wName := bld.weight("B", []int64{int64(k), int64(n)}, w, 0, 0)
	bld.node("MatMul", "MatMul", []string{"A", wName}, "Y")
	g := &message{}
	for _, nd := range bld.nodes {
		g.embed(1, nd)
	}
	g.string(2, "matmul")
	for _, t := range bld.inits {
		g.embed(5, t)
	}
	g.embed(11, valueInfo("A", typeFloat, dim{value: int64(m)}, dim{value: int64(k)}))
	g.embed(12, valueInfo("Y", typeFloat, dim{value: int64(m)}, dim{value: int64(n)}))
	model := modelProto(g)
	var buf bytes.Buffer
	if err := model.writeTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// benchMatMulM is the number of rows of A: 128 tokens.
const benchMatMulM = 128

// benchMatMulShapes are the K×N shapes of the GEMM comparison, the same as
// internal/gemm's BenchmarkGEMMCompare.
var benchMatMulShapes = [][2]int{{128, 128}, {128, 512}, {256, 1024}, {512, 2048}, {768, 3072}, {3072, 768}}

// BenchmarkORTMatMul times ONNX Runtime's MatMul of a 128×K input by a K×N
// initializer (which ORT pre-packs when it creates the session, as the
// engine packs weights at load), with preallocated input and output tensors,
// single-threaded, in GFLOP/s (2·M·K·N per product). Names are MxKxN.
func BenchmarkORTMatMul(b *testing.B) {
	initORT(b)
	b.Logf("ONNX Runtime %s", ort.GetVersion())
	for _, s := range benchMatMulShapes {
		m, k, n := benchMatMulM, s[0], s[1]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(k), uint64(n)))
			a, w := normals(rng, m*k), normals(rng, k*n)
			model, err := matMulModel(m, k, n, w)
			if err != nil {
				b.Fatal(err)
			}
			in, err := ort.NewTensor(ort.NewShape(int64(m), int64(k)), a)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Destroy()
			out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(m), int64(n)))
			if err != nil {
				b.Fatal(err)
			}
			defer out.Destroy()
			opts := benchSessionOptions(b)
			defer opts.Destroy()
			sess, err := ort.NewAdvancedSessionWithONNXData(model, []string{"A"}, []string{"Y"},
				[]ort.Value{in}, []ort.Value{out}, opts)
			if err != nil {
				b.Fatalf("ONNX Runtime rejects the MatMul model: %v", err)
			}
			defer sess.Destroy()
			if err := sess.Run(); err != nil {
				b.Fatal(err)
			}
			// Spot-check some entries against a float64 product.
			c := out.GetData()
			for t := 0; t < 16; t++ {
				i, j := rng.IntN(m), rng.IntN(n)
				var want float64
				for p := 0; p < k; p++ {
					want += float64(a[i*k+p]) * float64(w[p*n+j])
				}
				if d := math.Abs(float64(c[i*n+j]) - want); d > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(want)) {
					b.Fatalf("C[%d,%d] = %g, want %g", i, j, c[i*n+j], want)
				}
			}
			for b.Loop() {
				if err := sess.Run(); err != nil {
					b.Fatal(err)
				}
			}
			flops := 2 * float64(m) * float64(k) * float64(n)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// benchVocab is the vocabulary size of the forward benchmarks (BERT uncased).
const benchVocab = 30522

// benchForwardWarmup is the number of untimed runs of each side before the
// timed ones.
const benchForwardWarmup = 3

// BenchmarkForwardCompare times the engine and ONNX Runtime on the same
// model: BERT-tiny and BERT-mini shapes with random weights
// (transformer.NewRandom, PCG(1, 1), std 0.02, vocabulary 30522, with pooler
// and classifier), batch 1, seq 32, 128 and 512, all tokens real.
//
// The engine runs a one-thread transformer.Session (buffers reused, weights
// packed once, as a deployment runs it); ONNX Runtime runs the model Export
// writes, in a session with one intra-op and one inter-op thread, sequential
// execution and all graph optimizations, with int64 inputs and every output
// tensor allocated once. After benchForwardWarmup runs of each and a check
// that the two agree, every loop iteration runs one forward of each, in
// alternating order, timing each on its own, so that machine noise falls on
// both alike. The iteration count is the number of runs: use -benchtime Nx.
//
// Metrics: runs, warmup (runs of each side), and the median, min and max latency of each side in ms
// (edgenas_median_ms, ..., ort_max_ms). ns/op is the time of a pair of runs
// and means little.
func BenchmarkForwardCompare(b *testing.B) {
	initORT(b)
	b.Logf("ONNX Runtime %s", ort.GetVersion())
	for _, shape := range []string{"tiny", "mini"} {
		cfg, err := transformer.ShapeConfig(shape, benchVocab)
		if err != nil {
			b.Fatal(err)
		}
		m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
		if err != nil {
			b.Fatal(err)
		}
		var model bytes.Buffer
		if err := Export(m, &model); err != nil {
			b.Fatal(err)
		}
		for _, seq := range []int{32, 128, 512} {
			b.Run(fmt.Sprintf("%s/seq%d", shape, seq), func(b *testing.B) {
				benchForwardPair(b, m, model.Bytes(), seq)
			})
		}
	}
}

// benchForwardPair is one case of BenchmarkForwardCompare.
func benchForwardPair(b *testing.B, m *transformer.Model, model []byte, seq int) {
	benchForwardSides(b, m, seq, []ortSide{{name: "ort", model: model, tol: 1e-3}})
}

// ortSide is one ONNX Runtime model timed against the engine: its metric
// prefix, its encoding, and the largest difference from the engine's last
// hidden state it may show.
type ortSide struct {
	name  string
	model []byte
	tol   float64
}

// benchForwardSides times the engine's one-thread Session on m against
// ONNX Runtime on each model of sides, batch 1, seq real tokens: after
// benchForwardWarmup runs of each and a check of each ORT model's last
// hidden state against the engine's, every loop iteration runs one forward
// of each side, the order rotating by one each iteration, timing each on
// its own. Metrics: runs, warmup, NAME_median_ms, NAME_min_ms and
// NAME_max_ms for "edgenas" and each side, and for each side NAME_maxdiff
// and edgenas_over_NAME, the median over rounds of the engine's time over
// that side's in the same round.
func benchForwardSides(b *testing.B, m *transformer.Model, seq int, sides []ortSide) {
	batch := benchBatch(m.Config.VocabSize, seq)
	s := m.NewSession(1)

	// ONNX Runtime: inputs and outputs allocated once.
	inShape := ort.NewShape(1, int64(seq))
	var inputs []ort.Value
	for _, v := range [][]int32{batch.IDs, batch.Mask, batch.TypeIDs} {
		t, err := ort.NewTensor(inShape, int64s(v))
		if err != nil {
			b.Fatal(err)
		}
		defer t.Destroy()
		inputs = append(inputs, t)
	}
	H := int64(m.Config.HiddenSize)
	names := OutputNames(m)
	outShapes := map[string]ort.Shape{
		LastHiddenState: ort.NewShape(1, int64(seq), H),
		PoolerOutput:    ort.NewShape(1, H),
	}
	if m.Classifier != nil {
		outShapes[Logits] = ort.NewShape(1, int64(m.Classifier.Out))
	}
	var outputs []ort.Value
	for _, name := range names {
		t, err := ort.NewEmptyTensor[float32](outShapes[name])
		if err != nil {
			b.Fatal(err)
		}
		defer t.Destroy()
		outputs = append(outputs, t)
	}
	opts := benchSessionOptions(b)
	defer opts.Destroy()
	runs := []func(){func() {
		if _, err := s.Run(batch); err != nil {
			b.Fatal(err)
		}
	}}
	for _, side := range sides {
		sess, err := ort.NewAdvancedSessionWithONNXData(side.model, []string{InputIDs, AttentionMask, TokenTypeIDs},
			names, inputs, outputs, opts)
		if err != nil {
			b.Fatalf("ONNX Runtime rejects the %s model: %v", side.name, err)
		}
		defer sess.Destroy()
		runs = append(runs, func() {
			if err := sess.Run(); err != nil {
				b.Fatalf("ONNX Runtime run (%s): %v", side.name, err)
			}
		})
	}
	for range benchForwardWarmup {
		for _, run := range runs {
			run()
		}
	}
	out, err := s.Run(batch)
	if err != nil {
		b.Fatal(err)
	}
	diffs := make([]float64, len(sides))
	for i, side := range sides {
		runs[i+1]()
		diffs[i] = maxDiff(out.LastHidden, outputs[0].(*ort.Tensor[float32]).GetData())
		if diffs[i] > side.tol {
			b.Fatalf("engine and ONNX Runtime (%s) differ by %.3g on the last hidden state (tolerance %g)", side.name, diffs[i], side.tol)
		}
	}

	times := make([][]time.Duration, len(runs))
	for it := 0; b.Loop(); it++ {
		for k := range runs {
			i := (it + k) % len(runs)
			t0 := time.Now()
			runs[i]()
			times[i] = append(times[i], time.Since(t0))
		}
	}
	b.ReportMetric(float64(len(times[0])), "runs")
	b.ReportMetric(benchForwardWarmup, "warmup")
	for i, d := range times {
		name := "edgenas"
		if i > 0 {
			name = sides[i-1].name
		}
		med, lo, hi := durationStats(d)
		b.ReportMetric(med, name+"_median_ms")
		b.ReportMetric(lo, name+"_min_ms")
		b.ReportMetric(hi, name+"_max_ms")
	}
	for i, side := range sides {
		b.ReportMetric(diffs[i], side.name+"_maxdiff")
		// Each round's two times were taken moments apart, so the median of
		// their ratios cancels load that varies over the run.
		ratios := make([]float64, len(times[0]))
		for r := range ratios {
			ratios[r] = float64(times[0][r]) / float64(times[i+1][r])
		}
		med, _, _ := stats(ratios)
		b.ReportMetric(med, "edgenas_over_"+side.name)
	}
}

// BenchmarkInt8Compare times an int8 BERT-mini student (random weights as
// BenchmarkForwardCompare's, every Linear of every layer stored int8;
// pooler and classifier float) on the engine against two int8 models in
// ONNX Runtime, interleaved, batch 1, seq 128, one thread everywhere:
// "ort_dynamic", ONNX Runtime's dynamic quantization of the student's
// float model (ExportORTDynamic: DynamicQuantizeMatMul, weights per
// tensor), and "ort_export", the student as Export writes it (activations
// quantized per row and MatMulInteger, as the engine computes). Metrics as benchForwardSides's;
// scripts/bench.sh compress prints edgenas_median_ms over the lower ORT
// median as int8_vs_ort_int8. Use -benchtime Nx for N rounds.
func BenchmarkInt8Compare(b *testing.B) {
	initORT(b)
	b.Logf("ONNX Runtime %s", ort.GetVersion())
	cfg, err := transformer.ShapeConfig("mini", benchVocab)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: cfg.HeadSize()}
	for range cfg.NumHiddenLayers {
		cfg.Edgenas.Layers = append(cfg.Edgenas.Layers, transformer.LayerConfig{NumAttentionHeads: cfg.NumAttentionHeads,
			IntermediateSize: cfg.IntermediateSize, Bits: 8})
	}
	m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(1, 1)), 0.02)
	if err != nil {
		b.Fatal(err)
	}
	var dyn, exp bytes.Buffer
	if err := ExportORTDynamic(m, &dyn); err != nil {
		b.Fatal(err)
	}
	if err := Export(m, &exp); err != nil {
		b.Fatal(err)
	}
	b.Run("mini/seq128", func(b *testing.B) {
		// ORT's dynamic quantization quantizes activations per tensor:
		// a loose agreement check; the export quantizes as the engine
		// does, all but a few values that round the other way
		// (studentCase).
		benchForwardSides(b, m, 128, []ortSide{
			{name: "ort_dynamic", model: dyn.Bytes(), tol: 0.25},
			{name: "ort_export", model: exp.Bytes(), tol: quantTol},
		})
	})
}

// durationStats returns the median, min and max of d in milliseconds.
func durationStats(d []time.Duration) (median, lo, hi float64) {
	ms := make([]float64, len(d))
	for i, v := range d {
		ms[i] = float64(v) / float64(time.Millisecond)
	}
	return stats(ms)
}

// stats returns the median, min and max of v (sorted in place); the median
// of an even count is the mean of the middle two.
func stats(v []float64) (median, lo, hi float64) {
	slices.Sort(v)
	n := len(v)
	return (v[(n-1)/2] + v[n/2]) / 2, v[0], v[n-1]
}

// benchBatch is a batch of one sequence of seq real tokens, random ids
// (token type 0).
func benchBatch(vocab, seq int) *tokenizer.Batch {
	rng := rand.New(rand.NewPCG(uint64(seq), 3))
	b := &tokenizer.Batch{Size: 1, SeqLen: seq, Lengths: []int{seq},
		IDs: make([]int32, seq), TypeIDs: make([]int32, seq), Mask: make([]int32, seq)}
	for i := range b.IDs {
		b.IDs[i] = int32(rng.IntN(vocab))
		b.Mask[i] = 1
	}
	return b
}

// normals returns n values drawn from N(0, 1).
func normals(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}
