package onnx

import (
	"bytes"
	"math"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

// TestExportORTDynamicStructure checks the graph ExportORTDynamic writes:
// the com.microsoft opset imported; one DynamicQuantizeMatMul per Linear
// product (two for a low-rank Linear; the pooler's and classifier's too),
// in that domain, with the Linear's bias as fifth input on its last
// product; no float MatMul left but attention's two per layer; and int8
// weights that dequantize to the float weights within half a step of the
// per-tensor scale max|W|/127.
func TestExportORTDynamicStructure(t *testing.T) {
	for name, cfg := range dynamicCases() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 7)
			var buf bytes.Buffer
			if err := ExportORTDynamic(m, &buf); err != nil {
				t.Fatal(err)
			}
			pm, err := parseModel(buf.Bytes())
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if pm.Opsets[""] != Opset || pm.Opsets[DomainMicrosoft] != 1 || len(pm.Opsets) != 2 {
				t.Errorf("opsets %v, want ai.onnx %d and %s 1", pm.Opsets, Opset, DomainMicrosoft)
			}
			// Products the model computes with constant weights.
			products := 2 // pooler, classifier
			for i := range m.Layers {
				for _, l := range []*transformer.Linear{&m.Layers[i].Query, &m.Layers[i].Key, &m.Layers[i].Value,
					&m.Layers[i].AttnOut, &m.Layers[i].Inter, &m.Layers[i].Out} {
					products += map[bool]int{true: 2, false: 1}[l.Rank > 0]
				}
			}
			inits := map[string]pTensor{}
			for _, it := range pm.Graph.Inits {
				inits[it.Name] = it
			}
			dqmm, matmul, withBias := 0, 0, 0
			for _, n := range pm.Graph.Nodes {
				switch n.Op {
				case "MatMul":
					matmul++
				case "DynamicQuantizeMatMul":
					dqmm++
					if n.Domain != DomainMicrosoft {
						t.Errorf("%s: domain %q, want %s", n.Name, n.Domain, DomainMicrosoft)
					}
					if len(n.In) == 5 {
						withBias++
					}
					q, s := inits[n.In[1]], inits[n.In[2]]
					if q.Type != typeInt8 || len(q.Dims) != 2 || s.Type != typeFloat || len(s.Dims) != 0 {
						t.Errorf("%s: weight %v type %d, scale %v type %d", n.Name, q.Dims, q.Type, s.Dims, s.Type)
					}
				}
			}
			if dqmm != products {
				t.Errorf("%d DynamicQuantizeMatMul nodes, want %d", dqmm, products)
			}
			linears := 2 + 6*len(m.Layers)
			if withBias != linears {
				t.Errorf("%d products with a bias, want one per Linear (%d)", withBias, linears)
			}
			if matmul != 2*len(m.Layers) {
				t.Errorf("%d float MatMuls, want attention's %d", matmul, 2*len(m.Layers))
			}
			// The first layer's query weight, dequantized.
			l := &m.Layers[0].Query
			if l.Rank == 0 {
				name := "bert.encoder.layer.0.attention.self.query.weight" + TransposedSuffix
				q, s := inits[name+"_quantized"], inits[name+"_scale"]
				scale := s.floats()[0]
				w := l.Dense()
				var amax float64
				for _, v := range w {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				if math.Abs(float64(scale)-amax/127) > 1e-6*amax {
					t.Errorf("scale %v, want max|W|/127 = %v", scale, amax/127)
				}
				for i := 0; i < l.Out; i++ {
					for j := 0; j < l.In; j++ {
						got := float64(int8(q.Raw[j*l.Out+i])) * float64(scale)
						if d := math.Abs(got - float64(w[i*l.In+j])); d > 0.5001*float64(scale) {
							t.Fatalf("W[%d,%d] = %v dequantizes to %v", i, j, w[i*l.In+j], got)
						}
					}
				}
			}
		})
	}
}

// dynamicCases are the models ExportORTDynamic is checked on: float, int8,
// low-rank int8 with shared layers.
func dynamicCases() map[string]transformer.Config {
	student := func(edit func(ls []transformer.LayerConfig)) transformer.Config {
		c := bertConfig(3, 128, 4, 512, transformer.ActGELU)
		ls := []transformer.LayerConfig{
			{NumAttentionHeads: 4, IntermediateSize: 512},
			{NumAttentionHeads: 2, IntermediateSize: 300},
			{NumAttentionHeads: 3, IntermediateSize: 100},
		}
		edit(ls)
		c.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: 32, Layers: ls}
		return c
	}
	return map[string]transformer.Config{
		"float": bertConfig(2, 128, 2, 512, transformer.ActGELU),
		"int8": student(func(ls []transformer.LayerConfig) {
			for i := range ls {
				ls[i].Bits = 8
			}
		}),
		"shared int8 low-rank": student(func(ls []transformer.LayerConfig) {
			ls[1].AttentionRank, ls[1].Bits = 16, 8
			ls[2] = ls[1]
			ls[2].SharesPrevious = true
			ls[0].FFNRank = 64
		}),
	}
}
