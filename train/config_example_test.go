package train_test

import (
	"fmt"

	"github.com/edgenas/edgenas/train"
)

// ExampleParseConfig reads a training config; unset fields take their
// defaults in Resolved.
func ExampleParseConfig() {
	cfg, err := train.ParseConfig([]byte(`
model: {shape: custom, layers: 2, hidden: 64, heads: 2}
data:
  demo: {seed: 1, train: 2000, dev: 200}
lr: 1e-3
`), "demo.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := cfg.Resolved()
	fmt.Println(r.Model.Layers, r.Model.Hidden, r.Model.FFN, r.BatchSize, r.Epochs, *r.Warmup, r.RunDir)

	_, err = train.ParseConfig([]byte("model:\n  shape: tiny\nbatch_size: -4\nlr: 2\n"), "bad.yaml")
	fmt.Println(err)
	// Output:
	// 2 64 256 32 3 0.1 runs/train
	// bad.yaml:3: batch_size: want an integer in [0, 65536], got -4
	// bad.yaml:4: lr: want a number in (0, 1], got 2
}
