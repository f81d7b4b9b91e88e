//go:build ort

package onnx

import (
	"bytes"
	"testing"
)

// ortDynamicTolerance bounds the difference between ONNX Runtime running
// ExportORTDynamic's graph and the engine's float forward pass of the same
// weights: int8 weights per tensor and uint8 activations per tensor
// (steps of range/255) carried through the layers.
const ortDynamicTolerance = 0.3

// TestORTDynamicRuns has ONNX Runtime load and run ExportORTDynamic's
// graph, with all graph optimizations and with none (the contrib operator
// as written), and compares every output with the engine's forward pass of
// the model's float equivalent (Model.ToDense).
func TestORTDynamicRuns(t *testing.T) {
	initORT(t)
	for name, cfg := range dynamicCases() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 300)
			dense, err := m.ToDense()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := ExportORTDynamic(m, &buf); err != nil {
				t.Fatal(err)
			}
			b := testBatch(cfg.VocabSize, cfg.TypeVocabSize, 3, 17, 9, 1)
			want, err := dense.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, lv := range ortLevels {
				t.Run(lv.name, func(t *testing.T) {
					s := newORTSession(t, buf.Bytes(), "", lv.level, OutputNames(m))
					got := runORT(t, s, b, OutputNames(m))
					d := map[string]float64{
						LastHiddenState: maxDiff(want.LastHidden, got[LastHiddenState].GetData()),
						PoolerOutput:    maxDiff(want.Pooled, got[PoolerOutput].GetData()),
						Logits:          maxDiff(want.Logits, got[Logits].GetData()),
					}
					t.Logf("max abs diff to the float engine:%s", formatDiffs(d))
					for out, v := range d {
						if v > ortDynamicTolerance {
							t.Errorf("%s: ONNX Runtime (dynamic int8) and the engine differ by %.3g > %g", out, v, ortDynamicTolerance)
						}
					}
				})
			}
		})
	}
}
