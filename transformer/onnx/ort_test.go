//go:build ort

// ONNX Runtime is the oracle for the exporter: these tests run exported
// models in it (through cgo) and compare the outputs with the engine's. They
// are opt-in (go test -tags ort) and need the ONNX Runtime shared library;
// see ortLibEnv.

package onnx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// ortLibEnv names the environment variable holding the path of
// libonnxruntime.so.1 (scripts/ort-setup.sh installs it and prints it).
const ortLibEnv = "EDGENAS_ORT_LIB"

var (
	ortOnce sync.Once
	ortErr  error
)

// initORT loads ONNX Runtime once per process; a run with -tags ort must
// really run the oracle, so a missing library fails the test.
func initORT(t testing.TB) {
	t.Helper()
	lib := os.Getenv(ortLibEnv)
	if lib == "" {
		t.Fatalf("%s is not set. These tests (build tag ort) run ONNX Runtime and need its shared library:\n"+
			"  %s=$(scripts/ort-setup.sh) CGO_ENABLED=1 go test -tags ort ./transformer/onnx/\n"+
			"(scripts/bench.sh engine sets it up for the benchmarks)\n"+
			"scripts/ort-setup.sh installs onnxruntime-node@1.30.0 with npm (into $HOME/.cache/edgenas/ort or $EDGENAS_ORT_DIR)\n"+
			"and prints the path of libonnxruntime.so.1; any libonnxruntime.so of version 1.24 or later works (onnxruntime_go v1.27.0 needs C API version 24).", ortLibEnv, ortLibEnv)
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("%s=%s: %v (run scripts/ort-setup.sh to install ONNX Runtime)", ortLibEnv, lib, err)
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment()
	})
	if ortErr != nil {
		t.Fatalf("initialize ONNX Runtime from %s: %v", lib, ortErr)
	}
}

// ortLevels are the graph optimization levels every model runs at: all of
// ORT's rewrites (what a deployment uses) and none (the graph as written).
var ortLevels = []struct {
	name  string
	level ort.GraphOptimizationLevel
}{
	{"optimized", ort.GraphOptimizationLevelEnableAll},
	{"unoptimized", ort.GraphOptimizationLevelDisableAll},
}

// newORTSession opens a session on an exported model, from bytes or, when
// path is set, from the file, with one intra-op thread.
func newORTSession(t *testing.T, data []byte, path string, level ort.GraphOptimizationLevel, outputs []string) *ort.DynamicAdvancedSession {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	for _, err := range []error{
		opts.SetIntraOpNumThreads(1),
		opts.SetInterOpNumThreads(1),
		opts.SetGraphOptimizationLevel(level),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	inputs := []string{InputIDs, AttentionMask, TokenTypeIDs}
	var s *ort.DynamicAdvancedSession
	if path != "" {
		s, err = ort.NewDynamicAdvancedSession(path, inputs, outputs, opts)
	} else {
		s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, inputs, outputs, opts)
	}
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the exported model: %v", err)
	}
	t.Cleanup(func() { s.Destroy() })
	return s
}

// runORT runs a session on a batch and returns each output's data and shape.
func runORT(t *testing.T, s *ort.DynamicAdvancedSession, b *tokenizer.Batch, names []string) map[string]*ort.Tensor[float32] {
	t.Helper()
	shape := ort.NewShape(int64(b.Size), int64(b.SeqLen))
	var inputs []ort.Value
	for _, v := range [][]int32{b.IDs, b.Mask, b.TypeIDs} {
		in, err := ort.NewTensor(shape, int64s(v))
		if err != nil {
			t.Fatal(err)
		}
		defer in.Destroy()
		inputs = append(inputs, in)
	}
	outputs := make([]ort.Value, len(names)) // nil: allocated by ORT
	if err := s.Run(inputs, outputs); err != nil {
		t.Fatalf("ONNX Runtime run: %v", err)
	}
	res := map[string]*ort.Tensor[float32]{}
	for i, name := range names {
		o, ok := outputs[i].(*ort.Tensor[float32])
		if !ok {
			t.Fatalf("output %s is a %T, want a float tensor", name, outputs[i])
		}
		t.Cleanup(func() { o.Destroy() })
		res[name] = o
	}
	return res
}

// compareORT runs the model in ORT and checks every output against the
// engine's, returning the largest difference of each output.
func compareORT(t *testing.T, s *ort.DynamicAdvancedSession, m *transformer.Model, b *tokenizer.Batch) map[string]float64 {
	t.Helper()
	want, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	got := runORT(t, s, b, OutputNames(m))
	diffs := map[string]float64{}
	check := func(name string, w []float32, shape ...int64) {
		g := got[name]
		if g == nil {
			t.Errorf("%s: missing from ORT's outputs", name)
			return
		}
		if !slices.Equal([]int64(g.GetShape()), shape) {
			t.Errorf("%s: ORT shape %v, engine %v", name, g.GetShape(), shape)
			return
		}
		d := maxDiff(w, g.GetData())
		diffs[name] = d
		if d > ortTolerance {
			t.Errorf("%s: ONNX Runtime and the engine differ by %.3g > %g", name, d, ortTolerance)
		}
	}
	B, T, H := int64(b.Size), int64(b.SeqLen), int64(want.Hidden)
	check(LastHiddenState, want.LastHidden, B, T, H)
	if want.Pooled != nil {
		check(PoolerOutput, want.Pooled, B, H)
	}
	if want.Logits != nil {
		check(Logits, want.Logits, B, int64(want.Labels))
	}
	return diffs
}

// TestMatchesONNXRuntime exports random models of several shapes, runs them
// in ONNX Runtime on a padded batch and compares every output value, padded
// positions included, with Model.Forward.
func TestMatchesONNXRuntime(t *testing.T) {
	initORT(t)
	t.Logf("ONNX Runtime %s", ort.GetVersion())
	for i, tc := range oracleCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg, uint64(100+i))
			var buf bytes.Buffer
			if err := Export(m, &buf); err != nil {
				t.Fatal(err)
			}
			// Rows of 17, 9 and 1 real tokens, padded to 17; the second
			// half of the first row has token type 1.
			b := testBatch(tc.cfg.VocabSize, tc.cfg.TypeVocabSize, uint64(i), 17, 9, 1)
			for _, lv := range ortLevels {
				t.Run(lv.name, func(t *testing.T) {
					s := newORTSession(t, buf.Bytes(), "", lv.level, OutputNames(m))
					d := compareORT(t, s, m, b)
					t.Logf("max abs diff:%s", formatDiffs(d))
					// A second, shorter batch through the same session checks
					// that the sequence dimension really is dynamic.
					b2 := testBatch(tc.cfg.VocabSize, tc.cfg.TypeVocabSize, uint64(i+50), 4, 5)
					d2 := compareORT(t, s, m, b2)
					t.Logf("max abs diff, batch of 2×5:%s", formatDiffs(d2))
				})
			}
		})
	}
}

// TestMatchesONNXRuntimeFile exports with ExportFile and has ONNX Runtime
// read the file, its declared inputs and outputs and its metadata.
func TestMatchesONNXRuntimeFile(t *testing.T) {
	initORT(t)
	cfg := oracleCases()[2].cfg // heterogeneous
	m := randomModel(t, cfg, 7)
	path := filepath.Join(t.TempDir(), "student.onnx")
	if err := ExportFile(m, path); err != nil {
		t.Fatal(err)
	}

	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		t.Fatalf("ONNX Runtime cannot read %s: %v", path, err)
	}
	for i, name := range []string{InputIDs, AttentionMask, TokenTypeIDs} {
		if i >= len(ins) || ins[i].Name != name || ins[i].DataType != ort.TensorElementDataTypeInt64 ||
			!slices.Equal([]int64(ins[i].Dimensions), []int64{-1, -1}) {
			t.Errorf("input %d: %+v, want %s int64 [-1 -1]", i, ins, name)
		}
	}
	H := int64(cfg.HiddenSize)
	wantOuts := map[string][]int64{LastHiddenState: {-1, -1, H}, PoolerOutput: {-1, H}, Logits: {-1, int64(cfg.NumLabels)}}
	if len(outs) != len(wantOuts) {
		t.Errorf("outputs %+v, want %v", outs, wantOuts)
	}
	for _, o := range outs {
		if !slices.Equal([]int64(o.Dimensions), wantOuts[o.Name]) || o.DataType != ort.TensorElementDataTypeFloat {
			t.Errorf("output %s: %v %v, want float %v", o.Name, o.DataType, o.Dimensions, wantOuts[o.Name])
		}
	}

	meta, err := ort.GetModelMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Destroy()
	if p, err := meta.GetProducerName(); err != nil || p != ProducerName {
		t.Errorf("producer %q (%v), want %q", p, err, ProducerName)
	}
	if c, ok, err := meta.LookupCustomMetadataMap(MetadataConfig); err != nil || !ok {
		t.Errorf("metadata %q missing (%v)", MetadataConfig, err)
	} else if back, err := transformer.ParseConfig([]byte(c)); err != nil || back.Layer(1) != cfg.Layer(1) {
		t.Errorf("metadata config does not parse back to the model's: %v", err)
	}

	s := newORTSession(t, nil, path, ort.GraphOptimizationLevelEnableAll, OutputNames(m))
	b := testBatch(cfg.VocabSize, cfg.TypeVocabSize, 11, 3, 17, 8)
	d := compareORT(t, s, m, b)
	t.Logf("max abs diff:%s", formatDiffs(d))
}

// TestStudentsMatchONNXRuntime exports one student per storage technique
// (low-rank, fp16, int8, int4, factorized and quantized embeddings, shared
// layers) and compares ONNX Runtime's outputs, with and without its graph
// rewrites, with the engine's dense equivalent (Model.ToDense: the stored
// values multiplied out and dequantized) and with the engine itself, within
// the case's denseTol and engineTol (see studentCase); for int8 students,
// checkExactShare also requires most values to match the engine's within
// float32 rounding.
func TestStudentsMatchONNXRuntime(t *testing.T) {
	initORT(t)
	for i, tc := range studentCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg, uint64(200+i))
			dense, err := m.ToDense()
			if err != nil {
				t.Fatal(err)
			}
			var buf, full bytes.Buffer
			if err := Export(m, &buf); err != nil {
				t.Fatal(err)
			}
			if err := Export(dense, &full); err != nil {
				t.Fatal(err)
			}
			t.Logf("ONNX file %d bytes, dense equivalent %d", buf.Len(), full.Len())
			b := testBatch(tc.cfg.VocabSize, tc.cfg.TypeVocabSize, uint64(i), 17, 9, 1)
			for _, lv := range ortLevels {
				t.Run(lv.name, func(t *testing.T) {
					s := newORTSession(t, buf.Bytes(), "", lv.level, OutputNames(m))
					got := runORT(t, s, b, OutputNames(m))
					for _, ref := range []struct {
						name string
						m    *transformer.Model
						tol  float64
					}{
						{"the dense equivalent", dense, tc.denseTol},
						{"the engine", m, tc.engineTol},
					} {
						want, err := ref.m.Forward(b)
						if err != nil {
							t.Fatal(err)
						}
						d := map[string]float64{
							LastHiddenState: maxDiff(want.LastHidden, got[LastHiddenState].GetData()),
							PoolerOutput:    maxDiff(want.Pooled, got[PoolerOutput].GetData()),
							Logits:          maxDiff(want.Logits, got[Logits].GetData()),
						}
						t.Logf("max abs diff to %s:%s (tolerance %g)", ref.name, formatDiffs(d), ref.tol)
						for name, v := range d {
							if v > ref.tol {
								t.Errorf("%s: ONNX Runtime and %s differ by %.3g > %g", name, ref.name, v, ref.tol)
							}
						}
						if ref.m == m && tc.quantized() {
							checkExactShare(t, want.LastHidden, got[LastHiddenState].GetData())
						}
					}
				})
			}
		})
	}
}

// TestInt8AttentionMatchesONNXRuntime runs the attention the exporter
// writes for an int8 or int4 layer alone (attentionModel) in ONNX Runtime, with
// and without its rewrites, and compares the context with the engine's
// kernels (engineAttention) within int8AttentionTol, as
// TestInt8AttentionMatchesEngine does with the interpreter: ORT's
// QuantizeLinear, reductions and MatMulIntegers give the engine's
// quantization.
// Float attention is checked to be far outside that tolerance.
func TestInt8AttentionMatchesONNXRuntime(t *testing.T) {
	initORT(t)
	for _, tc := range attentionCases {
		t.Run(tc.name, func(t *testing.T) {
			batch, seq, q, k, v, mask, additive := tc.inputs()
			want := engineAttention(q, k, v, mask, batch, seq, attentionHeads, attentionHeadSize)
			shape := ort.NewShape(int64(batch), int64(seq), attentionHeads*attentionHeadSize)
			var inputs []ort.Value
			for _, in := range []struct {
				shape ort.Shape
				data  []float32
			}{{shape, q}, {shape, k}, {shape, v}, {ort.NewShape(int64(batch), 1, 1, int64(seq)), additive}} {
				x, err := ort.NewTensor(in.shape, in.data)
				if err != nil {
					t.Fatal(err)
				}
				defer x.Destroy()
				inputs = append(inputs, x)
			}
			for _, bits := range []int{8, 4, 32} {
				l := &transformer.Layer{Heads: attentionHeads, HeadSize: attentionHeadSize, Query: transformer.Linear{Bits: bits}}
				data, out := attentionModel(t, l)
				for _, lv := range ortLevels {
					t.Run(fmt.Sprintf("%d-bit/%s", bits, lv.name), func(t *testing.T) {
						opts, err := ort.NewSessionOptions()
						if err != nil {
							t.Fatal(err)
						}
						defer opts.Destroy()
						if err := opts.SetIntraOpNumThreads(1); err != nil {
							t.Fatal(err)
						}
						if err := opts.SetGraphOptimizationLevel(lv.level); err != nil {
							t.Fatal(err)
						}
						s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"q", "k", "v", "mask"}, []string{out}, opts)
						if err != nil {
							t.Fatalf("ONNX Runtime rejects the attention graph: %v", err)
						}
						defer s.Destroy()
						outputs := []ort.Value{nil}
						if err := s.Run(inputs, outputs); err != nil {
							t.Fatalf("ONNX Runtime run: %v", err)
						}
						defer outputs[0].Destroy()
						ctx, ok := outputs[0].(*ort.Tensor[float32])
						if !ok {
							t.Fatalf("output is a %T, want a float tensor", outputs[0])
						}
						checkAttention(t, l, maxDiff(want, ctx.GetData()))
					})
				}
			}
		})
	}
}
