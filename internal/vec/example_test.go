package vec_test

import (
	"fmt"

	"github.com/edgenas/edgenas/internal/vec"
)

func ExampleSoftmaxMasked() {
	// One attention row over 4 keys; the last key is padding.
	scores := []float32{2, 1, 0.5, 9}
	mask := []int32{1, 1, 1, 0}
	vec.SoftmaxMasked(scores, mask, 1)
	fmt.Printf("%.4f\n", scores)
	// Output: [0.6285 0.2312 0.1402 0.0000]
}

func ExampleAddLayerNorm() {
	// Two tokens, hidden size 4: x = LayerNorm(x + delta + bias).
	x := []float32{1, 2, 3, 4, 10, 10, 10, 14}
	delta := []float32{0, 0, 0, 0, 0, 0, 0, -4}
	bias := []float32{0, 0, 0, 0}
	gamma := []float32{1, 1, 1, 1}
	beta := []float32{0, 0, 0, 0}
	vec.AddLayerNorm(x, delta, bias, gamma, beta, 1e-12)
	fmt.Printf("%.4f\n", x)
	// Output: [-1.3416 -0.4472 0.4472 1.3416 0.0000 0.0000 0.0000 0.0000]
}
