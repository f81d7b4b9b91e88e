package safetensors_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/edgenas/edgenas/transformer/safetensors"
)

func ExampleWrite() {
	w := safetensors.FromFloat32("dense.weight", []int{2, 2}, []float32{1, 2, 3, 4})
	b, err := safetensors.FromFloat32As("dense.bias", []int{2}, []float32{0.5, -1}, safetensors.F16)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, []safetensors.Tensor{w, b}, map[string]string{"format": "pt"}); err != nil {
		log.Fatal(err)
	}
	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range f.Tensors {
		v, err := t.Float32()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.Name, t.DType, t.Shape, v)
	}
	fmt.Println(f.Metadata)
	// Output:
	// dense.weight F32 [2 2] [1 2 3 4]
	// dense.bias F16 [2] [0.5 -1]
	// map[format:pt]
}

func ExampleReadFile() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	ids := safetensors.Tensor{Name: "position_ids", DType: safetensors.I64, Shape: []int{1, 2},
		Data: []byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}}
	if err := safetensors.WriteFile(path, []safetensors.Tensor{ids}, nil); err != nil {
		log.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	t, err := f.Tensor("position_ids")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.DType, t.Shape, t.NumElements(), len(t.Data))
	_, err = t.Float32()
	fmt.Println(err)
	// Output:
	// I64 [1 2] 2 16
	// tensor "position_ids": safetensors: not a float dtype: I64
}
