package qgemm_test

import (
	"fmt"

	"github.com/edgenas/edgenas/internal/qgemm"
)

// A Linear layer with 2 outputs and 4 inputs, quantized to int8 and run on
// one token.
func Example() {
	w := []float32{ // Out×In, the PyTorch layout
		1, 0, -1, 0.5,
		0.25, 0.25, 0.25, 0.25,
	}
	q, err := qgemm.QuantizeInt8(w, 2, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{1, 2, 3, 4}
	y := make([]float32, 2)
	var ws qgemm.Workspace
	ws.Mul(1, x, 4, q, []float32{0, 1}, y, 2)
	fmt.Printf("%.2f %.2f (%d bytes)\n", y[0], y[1], q.Bytes())
	// The fp32 result is 0.00 3.50: the difference is quantization error.

	// Output: 0.03 3.50 (16 bytes)
}
