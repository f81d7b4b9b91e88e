package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
cpu: AMD EPYC
BenchmarkGEMMCompare
    openblas_bench_test.go:42: OpenBLAS core Haswell, 1 thread(s), config: OpenBLAS 0.3.21
BenchmarkGEMMCompare/128x128x128/edgenas
BenchmarkGEMMCompare/128x128x128/edgenas         	   22395	     55277 ns/op	        70.00 GFLOP/s
BenchmarkGEMMCompare/128x128x128/openblas        	   23829	     50274 ns/op	        80.00 GFLOP/s
BenchmarkGEMMCompare/128x128x128/edgenas-2       	   22395	     55277 ns/op	        90.00 GFLOP/s
BenchmarkGEMMCompare/128x128x128/edgenas         	   22395	     55277 ns/op	        75.00 GFLOP/s
BenchmarkORTMatMul
    ort_bench_test.go:120: ONNX Runtime 1.30.0
BenchmarkORTMatMul/128x128x128   	   22395	     55277 ns/op	        60.00 GFLOP/s
BenchmarkForwardCompare/mini/seq128     	      15	   9000000 ns/op	  15.00 runs	3.000 warmup	4.000 edgenas_median_ms	3.500 edgenas_min_ms	6.000 edgenas_max_ms	5.000 ort_median_ms	4.800 ort_min_ms	7.000 ort_max_ms
PASS
`

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []string // substrings of the output
		last    string   // the last line
		wantErr bool
	}{
		{
			name:  "full",
			input: sample,
			want: []string{
				"# OpenBLAS core Haswell, 1 thread(s), config: OpenBLAS 0.3.21",
				"# ONNX Runtime 1.30.0",
				"# cpu: AMD EPYC",
				"median of 3 run(s)",
				// edgenas median of 70, 90, 75 is 75; 75/80 and 75/60.
				"128x128x128 75.0 80.0 60.0 0.94 1.25",
				"of 15 interleaved runs each, after 3 warm-up runs",
				"mini 128 4.00 [3.50–6.00] 5.00 [4.80–7.00] 0.80",
			},
			last: "ratio_vs_ort 0.800",
		},
		{
			name:    "no forward result",
			input:   strings.Split(sample, "BenchmarkForwardCompare")[0],
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p parsed
			if err := parse(strings.NewReader(tc.input), &p); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := p.write(&out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("write error %v, want error %v", err, tc.wantErr)
			}
			got := out.String()
			squeezed := strings.Join(strings.Fields(got), " ")
			for _, w := range tc.want {
				if !strings.Contains(squeezed, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
			if tc.last != "" && lines[len(lines)-1] != tc.last {
				t.Errorf("last line %q, want %q", lines[len(lines)-1], tc.last)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{3}, 3, true},
		{[]float64{4, 1, 3}, 3, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
	}
	for _, tc := range tests {
		got, ok := median(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("median(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
