// Command benchtable turns the `go test -bench -v` output of the engine
// benchmarks into the tables scripts/bench.sh engine prints:
//
//	go run ./scripts/benchtable [FILE...]
//
// It reads the output of internal/gemm's BenchmarkGEMMCompare (build tag
// openblas) and transformer/onnx's BenchmarkORTMatMul and
// BenchmarkForwardCompare (build tag ort), from the files named or from
// standard input, and prints
//
//   - the notes the benchmarks log (OpenBLAS core and config, ONNX Runtime
//     version) and the cpu line;
//   - the GEMM table: GFLOP/s of each MxKxN shape for edgenas, OpenBLAS and
//     ONNX Runtime, each the median over the repeated runs (-count or rounds)
//     of the same benchmark, with the ratios;
//   - the forward table: median [min–max] ms of edgenas and ONNX Runtime for
//     each model and sequence length (the statistics the benchmark computes
//     over its own timed runs), with the ratio of the medians;
//   - as the last line, `ratio_vs_ort R`: edgenas median / ONNX Runtime
//     median for BERT-mini at seq 128, with 3 decimals.
//
// It exits with status 1 when that ratio cannot be computed, and 2 on a usage
// or read error.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// result is every value of every metric of one benchmark name, one per run
// of it (several with -count), in input order.
type result map[string][]float64

// parsed is what one or more benchmark outputs contain.
type parsed struct {
	results map[string]result // by benchmark name without the -GOMAXPROCS suffix
	order   []string          // benchmark names in first-seen order
	notes   []string          // distinct log lines of the benchmarks, and the cpu line
}

// benchLine matches a result line: name, iteration count, then value/unit
// pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// logLine matches a line a benchmark logged (b.Log), indented under it.
var logLine = regexp.MustCompile(`^\s+\S+_test\.go:\d+: (.*)$`)

// parse reads go test -bench output.
func parse(r io.Reader, p *parsed) error {
	if p.results == nil {
		p.results = map[string]result{}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := logLine.FindStringSubmatch(line); m != nil {
			p.note(m[1])
			continue
		}
		if strings.HasPrefix(line, "cpu: ") {
			p.note(line)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		if len(fields)%2 != 0 {
			continue
		}
		res := p.results[m[1]]
		if res == nil {
			res = result{}
			p.results[m[1]] = res
			p.order = append(p.order, m[1])
		}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			res[fields[i+1]] = append(res[fields[i+1]], v)
		}
	}
	return sc.Err()
}

func (p *parsed) note(s string) {
	if !slices.Contains(p.notes, s) {
		p.notes = append(p.notes, s)
	}
}

// median returns the median of vs (the mean of the middle two for an even
// count) and false when vs is empty.
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2, true
}

// metric returns the median of a metric of a benchmark over its runs.
func (p *parsed) metric(name, unit string) (float64, bool) {
	return median(p.results[name][unit])
}

// count is the number of runs of a benchmark.
func (p *parsed) count(name, unit string) int { return len(p.results[name][unit]) }

const (
	gemmPrefix    = "BenchmarkGEMMCompare/"
	ortMatMul     = "BenchmarkORTMatMul/"
	forwardPrefix = "BenchmarkForwardCompare/"
	ratioCase     = "mini/seq128"
)

// gemmShapes lists the MxKxN shapes present, in first-seen order.
func (p *parsed) gemmShapes() []string {
	var shapes []string
	for _, name := range p.order {
		var shape string
		switch {
		case strings.HasPrefix(name, gemmPrefix):
			shape, _, _ = strings.Cut(strings.TrimPrefix(name, gemmPrefix), "/")
		case strings.HasPrefix(name, ortMatMul):
			shape = strings.TrimPrefix(name, ortMatMul)
		default:
			continue
		}
		if !slices.Contains(shapes, shape) {
			shapes = append(shapes, shape)
		}
	}
	return shapes
}

// forwardCases lists the model/seqN cases present, in first-seen order.
func (p *parsed) forwardCases() []string {
	var cases []string
	for _, name := range p.order {
		if c, ok := strings.CutPrefix(name, forwardPrefix); ok && !slices.Contains(cases, c) {
			cases = append(cases, c)
		}
	}
	return cases
}

func fmtNum(v float64, ok bool, prec int) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func fmtRatio(a float64, aok bool, b float64, bok bool) string {
	if !aok || !bok || b == 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

// write prints the tables and the ratio line, and returns an error when the
// ratio cannot be computed.
func (p *parsed) write(w io.Writer) error {
	for _, n := range p.notes {
		fmt.Fprintf(w, "# %s\n", n)
	}

	if shapes := p.gemmShapes(); len(shapes) > 0 {
		runs := 0
		for _, s := range shapes {
			runs = max(runs, p.count(gemmPrefix+s+"/edgenas", "GFLOP/s"), p.count(ortMatMul+s, "GFLOP/s"))
		}
		fmt.Fprintf(w, "\nGEMM C = A·Wᵀ, single thread, GFLOP/s (median of %d run(s) each; shape MxKxN)\n", runs)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "shape\tedgenas\tOpenBLAS\tORT\tedgenas/OpenBLAS\tedgenas/ORT\t")
		for _, s := range shapes {
			e, eok := p.metric(gemmPrefix+s+"/edgenas", "GFLOP/s")
			o, ook := p.metric(gemmPrefix+s+"/openblas", "GFLOP/s")
			r, rok := p.metric(ortMatMul+s, "GFLOP/s")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s,
				fmtNum(e, eok, 1), fmtNum(o, ook, 1), fmtNum(r, rok, 1),
				fmtRatio(e, eok, o, ook), fmtRatio(e, eok, r, rok))
		}
		tw.Flush()
		fmt.Fprintln(w, "(edgenas and ORT multiply by a W packed once, as at model load; OpenBLAS packs W inside every call)")
	}

	cases := p.forwardCases()
	if len(cases) > 0 {
		runs, warmup := 0, 0
		for _, c := range cases {
			if v, ok := p.metric(forwardPrefix+c, "runs"); ok {
				runs = max(runs, int(v))
			}
			if v, ok := p.metric(forwardPrefix+c, "warmup"); ok {
				warmup = max(warmup, int(v))
			}
		}
		fmt.Fprintf(w, "\nForward, batch 1, single thread, ms: median [min–max] of %d interleaved runs each, after %d warm-up runs\n", runs, warmup)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tseq\tedgenas ms\tORT ms\tedgenas/ORT\t")
		for _, c := range cases {
			name := forwardPrefix + c
			model, seq, _ := strings.Cut(c, "/")
			cell := func(side string) (string, float64, bool) {
				med, ok := p.metric(name, side+"_median_ms")
				lo, lok := p.metric(name, side+"_min_ms")
				hi, hok := p.metric(name, side+"_max_ms")
				if !ok || !lok || !hok {
					return "-", 0, false
				}
				return fmt.Sprintf("%.2f [%.2f–%.2f]", med, lo, hi), med, true
			}
			es, e, eok := cell("edgenas")
			rs, o, ook := cell("ort")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", model, strings.TrimPrefix(seq, "seq"), es, rs, fmtRatio(e, eok, o, ook))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)

	e, eok := p.metric(forwardPrefix+ratioCase, "edgenas_median_ms")
	o, ook := p.metric(forwardPrefix+ratioCase, "ort_median_ms")
	if !eok || !ook || o <= 0 {
		return errors.New("no BenchmarkForwardCompare/" + ratioCase + " result with edgenas_median_ms and ort_median_ms in the input")
	}
	fmt.Fprintf(w, "ratio_vs_ort %.3f\n", e/o)
	return nil
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchtable [FILE...]  (go test -bench -v output; standard input without FILE)")
	}
	flag.Parse()
	var p parsed
	if flag.NArg() == 0 {
		if err := parse(os.Stdin, &p); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(2)
		}
	}
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err == nil {
			err = parse(f, &p)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(2)
		}
	}
	if err := p.write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}
