package onnx_test

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/onnx"
)

// ExampleExportFile exports a small random-weight BERT to model.onnx, ready
// for ONNX Runtime.
func ExampleExportFile() {
	cfg := transformer.DefaultConfig()
	cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = 100, 32, 2, 2, 64
	cfg.NumLabels = 2
	m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(1, 2)), 0.02)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "edgenas-onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	path := filepath.Join(dir, "model.onnx")
	if err := onnx.ExportFile(m, path); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", filepath.Base(path), "with outputs", onnx.LastHiddenState, onnx.PoolerOutput, onnx.Logits)
	// Output: wrote model.onnx with outputs last_hidden_state pooler_output logits
}
