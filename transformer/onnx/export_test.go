package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// exportParse exports m and decodes the result.
func exportParse(t testing.TB, m *transformer.Model) ([]byte, *pModel) {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(m, &buf); err != nil {
		t.Fatal(err)
	}
	pm, err := parseModel(buf.Bytes())
	if err != nil {
		t.Fatalf("decode exported model: %v", err)
	}
	return buf.Bytes(), pm
}

// opset17 lists the operators the graph may use, all in the default domain
// at opset 17, with the number of inputs each node may have at most (see
// minInputs for fewer).
var opset17 = map[string]int{
	"Add": 2, "Cast": 1, "Constant": 0, "Div": 2, "Erf": 1, "Gather": 2,
	"LayerNormalization": 3, "MatMul": 2, "Mul": 2, "Range": 3, "Relu": 1,
	"Reshape": 2, "Shape": 1, "Softmax": 1, "Sub": 2, "Tanh": 1,
	"Transpose": 1, "Unsqueeze": 2,
	// Those of int8 attention.
	"Abs": 1, "ReduceMax": 1, "ReduceSum": 2, "Less": 2,
	"Where": 3, "Exp": 1, "Reciprocal": 1,
	// Those of int8 and int4 products.
	"MatMulInteger": 4, "Pad": 3, "Slice": 5, "QuantizeLinear": 3,
}

// minInputs holds the fewest inputs of the operators of opset17 whose last
// inputs are optional.
var minInputs = map[string]int{"MatMulInteger": 2, "Pad": 2, "Slice": 3, "QuantizeLinear": 2}

// inOpset17 reports whether op is an operator of opset17 and n a number
// of inputs its nodes may have.
func inOpset17(op string, n int) bool {
	most, ok := opset17[op]
	least, optional := minInputs[op]
	if !optional {
		least = most
	}
	return ok && n >= least && n <= most
}

// sc is a structure case: a config and which head parts the model keeps.
type sc struct {
	name   string
	cfg    transformer.Config
	pooler bool // keep the pooler
	head   bool // keep the classifier
}

// structureCases adds edge shapes to the oracle cases.
func structureCases() []sc {
	var cs []sc
	for _, c := range oracleCases() {
		cs = append(cs, sc{c.name, c.cfg, true, true})
	}
	noLayers := bertConfig(0, 32, 2, 64, transformer.ActGELU)
	return append(cs,
		sc{"no-layers", noLayers, true, true},
		sc{"encoder-only", bertConfig(1, 32, 2, 64, transformer.ActGELU), false, false},
		sc{"pooler-no-classifier", bertConfig(1, 32, 2, 64, transformer.ActGELU), true, false},
		sc{"classifier-without-pooler", bertConfig(1, 32, 2, 64, transformer.ActGELU), false, true},
	)
}

// model builds the case's random model without the parts it lacks.
func (tc sc) model(t *testing.T, seed uint64) *transformer.Model {
	m := randomModel(t, tc.cfg, seed)
	if !tc.pooler {
		m.Pooler = nil
	}
	if !tc.head {
		m.Classifier = nil
	}
	return m
}

func TestExportStructure(t *testing.T) {
	for i, tc := range structureCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model(t, uint64(i))
			_, pm := exportParse(t, m)
			checkModel(t, m, pm)
		})
	}
}

// checkModel checks everything about a decoded export that does not need
// running it.
func checkModel(t *testing.T, m *transformer.Model, pm *pModel) {
	t.Helper()
	if pm.IRVersion != 8 || pm.Producer != "edgenas" {
		t.Errorf("ir_version %d, producer %q", pm.IRVersion, pm.Producer)
	}
	if len(pm.Opsets) != 1 || pm.Opsets[""] != 17 {
		t.Errorf("opsets %v, want only ai.onnx 17", pm.Opsets)
	}
	cfg, err := transformer.ParseConfig([]byte(pm.Meta[MetadataConfig]))
	if err != nil {
		t.Errorf("metadata config: %v", err)
	} else if cfg.HiddenSize != m.Config.HiddenSize || cfg.NumHiddenLayers != m.Config.NumHiddenLayers || cfg.HiddenAct != m.Config.HiddenAct {
		t.Errorf("metadata config %+v differs from the model's", cfg)
	}
	g := &pm.Graph
	H := int64(m.Config.HiddenSize)

	// Inputs and outputs.
	bs := []pDim{{Param: "batch"}, {Param: "sequence"}}
	wantIn := []pValue{{"input_ids", 7, bs}, {"attention_mask", 7, bs}, {"token_type_ids", 7, bs}}
	wantOut := []pValue{{"last_hidden_state", 1, append(slices.Clone(bs), pDim{Value: H})}}
	if m.Pooler != nil {
		wantOut = append(wantOut, pValue{"pooler_output", 1, []pDim{{Param: "batch"}, {Value: H}}})
		if m.Classifier != nil {
			wantOut = append(wantOut, pValue{"logits", 1, []pDim{{Param: "batch"}, {Value: int64(m.Classifier.Out)}}})
		}
	}
	if fmt.Sprint(g.Inputs) != fmt.Sprint(wantIn) {
		t.Errorf("inputs %v, want %v", g.Inputs, wantIn)
	}
	if fmt.Sprint(g.Outputs) != fmt.Sprint(wantOut) {
		t.Errorf("outputs %v, want %v", g.Outputs, wantOut)
	}

	// Initializers: exactly the parameters the graph uses, in Params order,
	// with their data (Linear weights transposed).
	inits := map[string]*pTensor{}
	for i := range g.Inits {
		it := &g.Inits[i]
		if inits[it.Name] != nil {
			t.Errorf("initializer %q twice", it.Name)
		}
		inits[it.Name] = it
	}
	var names []string
	m.Params(func(name string, shape []int, p []float32, kind transformer.ParamKind) {
		if m.Pooler == nil && strings.HasPrefix(name, "classifier.") {
			return // the engine ignores a classifier without a pooler
		}
		dims := []int64{int64(shape[0])}
		want := p
		if kind == transformer.ParamWeight && !strings.Contains(name, "embeddings") {
			name += TransposedSuffix
			rows, cols := shape[0], shape[1]
			dims = []int64{int64(cols), int64(rows)}
			want = make([]float32, len(p))
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					want[c*rows+r] = p[r*cols+c]
				}
			}
		} else if len(shape) == 2 {
			dims = append(dims, int64(shape[1]))
		}
		names = append(names, name)
		it := inits[name]
		if it == nil {
			t.Errorf("no initializer %q", name)
			return
		}
		if it.Type != typeFloat || !slices.Equal(it.Dims, dims) || len(it.Raw) != 4*len(p) {
			t.Errorf("initializer %q: type %d dims %v, %d bytes; want float %v, %d bytes", name, it.Type, it.Dims, len(it.Raw), dims, 4*len(p))
			return
		}
		got := it.floats()
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("initializer %q[%d] = %v, want %v", name, i, got[i], want[i])
				return
			}
		}
	})
	var gotNames []string
	for _, it := range g.Inits {
		gotNames = append(gotNames, it.Name)
	}
	if !slices.Equal(gotNames, names) {
		t.Errorf("initializers %v,\nwant %v", gotNames, names)
	}

	// Nodes: known operators, unique names, single assignment, topological
	// order, nothing dead.
	defined := map[string]bool{}
	for _, v := range g.Inputs {
		defined[v.Name] = true
	}
	for name := range inits {
		if defined[name] {
			t.Errorf("initializer %q shadows a graph input", name)
		}
		defined[name] = true
	}
	used := map[string]bool{}
	nodeNames := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Name == "" || nodeNames[n.Name] {
			t.Errorf("node name %q empty or repeated", n.Name)
		}
		nodeNames[n.Name] = true
		if _, ok := opset17[n.Op]; !ok || n.Domain != "" {
			t.Errorf("node %s: operator %q in domain %q", n.Name, n.Op, n.Domain)
		}
		if !inOpset17(n.Op, len(n.In)) || len(n.Out) != 1 {
			t.Errorf("node %s (%s): %d inputs and %d outputs, want %d and 1", n.Name, n.Op, len(n.In), len(n.Out), opset17[n.Op])
		}
		for _, in := range n.In {
			if !defined[in] {
				t.Errorf("node %s reads %q before it is defined", n.Name, in)
			}
			used[in] = true
		}
		for _, out := range n.Out {
			if defined[out] {
				t.Errorf("node %s redefines %q", n.Name, out)
			}
			defined[out] = true
		}
		checkAttrs(t, m, &n)
	}
	for _, o := range g.Outputs {
		used[o.Name] = true
		if !defined[o.Name] {
			t.Errorf("graph output %q is never computed", o.Name)
		}
	}
	for name := range defined {
		if !used[name] && (name != AttentionMask || len(m.Layers) > 0) {
			t.Errorf("value %q is never used", name)
		}
	}
}

// checkAttrs checks the attributes of one node against what its operator
// requires.
func checkAttrs(t *testing.T, m *transformer.Model, n *pNode) {
	t.Helper()
	want := map[string]int64{} // attribute name → type
	switch n.Op {
	case "Constant":
		want["value"] = attrTensor
	case "Gather":
		if _, ok := n.Attrs["axis"]; ok {
			want["axis"] = attrInt
		}
	case "Softmax":
		want["axis"] = attrInt
		if n.Attrs["axis"].I != -1 {
			t.Errorf("node %s: Softmax axis %d", n.Name, n.Attrs["axis"].I)
		}
	case "Cast":
		want["to"] = attrInt
	case "LayerNormalization":
		want["axis"], want["epsilon"] = attrInt, attrFloat
		if n.Attrs["axis"].I != -1 || n.Attrs["epsilon"].F != float32(m.Config.LayerNormEps) {
			t.Errorf("node %s: axis %d epsilon %g", n.Name, n.Attrs["axis"].I, n.Attrs["epsilon"].F)
		}
	case "Transpose":
		want["perm"] = attrInts
	case "ReduceMax":
		want["axes"], want["keepdims"] = attrInts, attrInt
	case "ReduceSum":
		want["keepdims"] = attrInt
	}
	if len(n.Attrs) != len(want) {
		t.Errorf("node %s (%s): attributes %v, want %v", n.Name, n.Op, n.Attrs, want)
	}
	for name, typ := range want {
		if a, ok := n.Attrs[name]; !ok || a.Type != typ {
			t.Errorf("node %s (%s): attribute %q missing or of type %d, want %d", n.Name, n.Op, name, a.Type, typ)
		}
	}
}

// TestGraphMatchesEngine runs the exported graph in the float64 interpreter
// of interp_test.go and compares every output with Model.Forward, padded
// positions included.
func TestGraphMatchesEngine(t *testing.T) {
	for i, tc := range structureCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model(t, uint64(i))
			b := testBatch(tc.cfg.VocabSize, tc.cfg.TypeVocabSize, uint64(i), 17, 9, 1)
			want, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			_, pm := exportParse(t, m)
			got, err := runBatch(&pm.Graph, b)
			if err != nil {
				t.Fatal(err)
			}
			compare := func(name string, w []float32, shape ...int) {
				t.Helper()
				v := got[name]
				if w == nil {
					if v != nil {
						t.Errorf("%s: exported but the engine has none", name)
					}
					return
				}
				if v == nil || !slices.Equal(v.shape, shape) {
					t.Fatalf("%s: got %v, want shape %v", name, v, shape)
				}
				d := maxDiff(w, v.f)
				t.Logf("%s: max abs diff %.3g", name, d)
				if d > 1e-4 {
					t.Errorf("%s differs from the engine by %g", name, d)
				}
			}
			compare(LastHiddenState, want.LastHidden, b.Size, b.SeqLen, want.Hidden)
			compare(PoolerOutput, want.Pooled, b.Size, want.Hidden)
			compare(Logits, want.Logits, b.Size, want.Labels)
		})
	}
}

// TestMaskSemantics checks that the graph treats any non-zero mask value as
// "attend", as the engine does, and that a padded key has no influence:
// changing the id at a padded position leaves the real rows unchanged.
func TestMaskSemantics(t *testing.T) {
	cfg := bertConfig(2, 32, 2, 64, transformer.ActGELU)
	m := randomModel(t, cfg, 5)
	_, pm := exportParse(t, m)
	b := testBatch(cfg.VocabSize, 2, 3, 6, 3)
	runIt := func(ids, mask []int32) []float64 {
		shape := []int{b.Size, b.SeqLen}
		out, err := run(&pm.Graph, map[string]*value{
			InputIDs:      intValue(shape, int64s(ids)),
			AttentionMask: intValue(shape, int64s(mask)),
			TokenTypeIDs:  intValue(shape, int64s(b.TypeIDs)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return out[LastHiddenState].f
	}
	base := runIt(b.IDs, b.Mask)
	mask2 := slices.Clone(b.Mask)
	for i := range mask2 {
		mask2[i] *= 2
	}
	if d := maxDiffF64(base, runIt(b.IDs, mask2)); d != 0 {
		t.Errorf("mask value 2 changes the output by %g", d)
	}
	ids := slices.Clone(b.IDs)
	ids[b.SeqLen+4] = (ids[b.SeqLen+4] + 1) % int32(cfg.VocabSize) // row 1 is padded from 3 on
	other := runIt(ids, b.Mask)
	H := cfg.HiddenSize
	for _, r := range [][2]int{{0, b.SeqLen}, {b.SeqLen, b.SeqLen + 3}} {
		if d := maxDiffF64(base[r[0]*H:r[1]*H], other[r[0]*H:r[1]*H]); d != 0 {
			t.Errorf("a padded token changes real positions %v by %g", r, d)
		}
	}
}

func maxDiffF64(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestExportDeterministic(t *testing.T) {
	m := randomModel(t, oracleCases()[2].cfg, 1)
	a, _ := exportParse(t, m)
	b, _ := exportParse(t, m)
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of one model differ")
	}
}

func TestExportRejectsInvalidModels(t *testing.T) {
	cfg := bertConfig(2, 32, 2, 64, transformer.ActGELU)
	cases := []struct {
		name    string
		corrupt func(m *transformer.Model)
	}{
		{"short weight", func(m *transformer.Model) { m.Layers[1].Query.W = m.Layers[1].Query.W[1:] }},
		{"short embeddings", func(m *transformer.Model) { m.Embeddings.Word = m.Embeddings.Word[:10] }},
		{"layer count", func(m *transformer.Model) { m.Layers = m.Layers[:1] }},
		{"heads disagree with query", func(m *transformer.Model) { m.Layers[0].Heads = 3 }},
		{"zero head size", func(m *transformer.Model) { m.Layers[0].HeadSize = 0 }},
		{"short norm", func(m *transformer.Model) { m.Layers[0].OutNorm.Beta = m.Layers[0].OutNorm.Beta[:3] }},
		{"pooler shape", func(m *transformer.Model) { m.Pooler.Out, m.Pooler.In = 16, 64 }},
		{"config disagrees with layer", func(m *transformer.Model) { m.Config.Edgenas.Layers[1].IntermediateSize = 65 }},
		{"config disagrees with classifier", func(m *transformer.Model) { m.Config.NumLabels = 5 }},
		{"bad config", func(m *transformer.Model) { m.Config.HiddenAct = "swish" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, cfg, 1)
			tc.corrupt(m)
			var buf bytes.Buffer
			err := Export(m, &buf)
			if !errors.Is(err, ErrInvalidModel) {
				t.Fatalf("want ErrInvalidModel, got %v", err)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written for an invalid model", buf.Len())
			}
			t.Log(err)
		})
	}
	if err := Export(nil, io.Discard); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("nil model: %v", err)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestExportWriterError(t *testing.T) {
	m := randomModel(t, bertConfig(1, 32, 2, 64, transformer.ActGELU), 1)
	if err := Export(m, &failWriter{n: 100 << 10}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("want the writer's error, got %v", err)
	}
}

func TestExportFile(t *testing.T) {
	m := randomModel(t, bertConfig(1, 32, 2, 64, transformer.ActGELU), 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := ExportFile(m, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := exportParse(t, m)
	if !bytes.Equal(data, want) {
		t.Fatal("file differs from Export's output")
	}

	// A failed export leaves the old file alone and no temporary behind.
	bad := randomModel(t, bertConfig(1, 32, 2, 64, transformer.ActGELU), 2)
	bad.Layers[0].Out.B = nil
	if err := ExportFile(bad, path); !errors.Is(err, ErrInvalidModel) || !strings.Contains(err.Error(), path) {
		t.Fatalf("want ErrInvalidModel naming the path, got %v", err)
	}
	if data2, _ := os.ReadFile(path); !bytes.Equal(data2, want) {
		t.Fatal("failed export changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed export", len(entries))
	}
	if err := ExportFile(m, filepath.Join(dir, "missing", "model.onnx")); err == nil {
		t.Fatal("export into a missing directory succeeded")
	}
}

func TestWriteTransposed(t *testing.T) {
	for _, tc := range []struct{ rows, cols, scratch int }{
		{1, 1, 4}, {3, 5, 4}, {3, 5, 12}, {7, 4, 64}, {5, 9, 1 << 10}, {64, 3, 8},
	} {
		t.Run(fmt.Sprintf("%dx%d/%d", tc.rows, tc.cols, tc.scratch), func(t *testing.T) {
			f := make([]float32, tc.rows*tc.cols)
			for i := range f {
				f[i] = float32(i) + 0.5
			}
			var buf bytes.Buffer
			if err := writeTransposed(&buf, make([]byte, tc.scratch), f, tc.rows, tc.cols); err != nil {
				t.Fatal(err)
			}
			got := (&pTensor{Raw: buf.Bytes()}).floats()
			if len(got) != len(f) {
				t.Fatalf("%d values, want %d", len(got), len(f))
			}
			for r := 0; r < tc.rows; r++ {
				for c := 0; c < tc.cols; c++ {
					if got[c*tc.rows+r] != f[r*tc.cols+c] {
						t.Fatalf("[%d,%d] = %v, want %v", c, r, got[c*tc.rows+r], f[r*tc.cols+c])
					}
				}
			}
		})
	}
}

// BenchmarkExport exports a BERT-mini shaped model (L=4, H=256, A=4,
// F=1024, full 30522-token vocabulary) to io.Discard.
func BenchmarkExport(b *testing.B) {
	cfg := bertConfig(4, 256, 4, 1024, transformer.ActGELU)
	cfg.VocabSize = 30522
	m := randomModel(b, cfg, 1)
	b.SetBytes(int64(4 * m.NumParams()))
	b.ReportAllocs()
	for b.Loop() {
		if err := Export(m, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQuantizedGraphMatchesEngine runs the exported graphs of the int8
// and int4 students of studentCases (dense, low-rank, int4 groups of 32
// with In padded to whole groups, shared layers with float ones) in the
// interpreter and compares them with the engine's Session
// and with its dense equivalent (Model.ToDense). The graph quantizes
// activations and multiplies integers as the engine does, so it matches
// the engine within quantTol, and within ortTolerance on most values
// (checkExactShare; measured: all values of three students, and in the
// other two all but the sequence reached by an early key rounded the
// other way, 67%, max diff 1.4e-6 elsewhere); and it differs from the
// dense equivalent by far more, so it does not compute the float product
// of the dequantized weights (which the graph did before, 0.07 from the
// engine).
func TestQuantizedGraphMatchesEngine(t *testing.T) {
	for i, tc := range studentCases() {
		if tc.quantized() != (tc.engineTol == quantTol) {
			t.Errorf("%s: quantized %v but engine tolerance %g (quantTol %g)", tc.name, tc.quantized(), tc.engineTol, quantTol)
		}
		if !tc.quantized() {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg, uint64(200+i))
			dense, err := m.ToDense()
			if err != nil {
				t.Fatal(err)
			}
			b := testBatch(tc.cfg.VocabSize, tc.cfg.TypeVocabSize, uint64(i), 17, 9, 1)
			_, pm := exportParse(t, m)
			matMulIntegers := 0
			for i := range pm.Graph.Nodes {
				n := &pm.Graph.Nodes[i]
				if !inOpset17(n.Op, len(n.In)) || n.Domain != "" {
					t.Errorf("node %s: operator %q in domain %q with %d inputs: not in opset17", n.Name, n.Op, n.Domain, len(n.In))
				}
				checkAttrs(t, m, n)
				if n.Op == "MatMulInteger" {
					matMulIntegers++
				}
			}
			got, err := runBatch(&pm.Graph, b)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			d := map[string]float64{
				LastHiddenState: maxDiff(want.LastHidden, got[LastHiddenState].f),
				PoolerOutput:    maxDiff(want.Pooled, got[PoolerOutput].f),
				Logits:          maxDiff(want.Logits, got[Logits].f),
			}
			t.Logf("%d MatMulInteger nodes; max abs diff to the engine:%s (tolerance %g)", matMulIntegers, formatDiffs(d), quantTol)
			for name, v := range d {
				if v > quantTol {
					t.Errorf("%s differs from the engine's by %.3g > %g", name, v, quantTol)
				}
			}
			checkExactShare(t, want.LastHidden, got[LastHiddenState].f)
			wantDense, err := dense.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			dd := maxDiff(wantDense.LastHidden, got[LastHiddenState].f)
			t.Logf("max abs diff to the dense equivalent: last_hidden_state %.3g", dd)
			if dd < 100*ortTolerance {
				t.Errorf("last_hidden_state within %.3g of the dense equivalent: the graph does not quantize as the engine", dd)
			}
		})
	}
}

// runBatch runs graph g in the interpreter on batch b's ids, mask and
// token types.
func runBatch(g *pGraph, b *tokenizer.Batch) (map[string]*value, error) {
	shape := []int{b.Size, b.SeqLen}
	return run(g, map[string]*value{
		InputIDs:      intValue(shape, int64s(b.IDs)),
		AttentionMask: intValue(shape, int64s(b.Mask)),
		TokenTypeIDs:  intValue(shape, int64s(b.TypeIDs)),
	})
}
