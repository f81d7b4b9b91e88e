// Command ortbench compares the ranking of candidates by the engine's
// latency with their ranking by ONNX Runtime's (run by scripts/bench.sh
// ortdevice):
//
//	go run ./scripts/ortbench [-c configs/demo.yaml] [-n 60] [-seed 1] [-runs 15]
//
// It opens the run the config describes (training its teacher the first
// time; the run directory is runs/bench-ortdevice, so no search run is
// touched), samples n distinct architectures of its space, builds each
// student and measures it on the local engine device and on the ort device
// (devices/ort: its ONNX export in onnxruntime-node), interleaved, with the
// evaluator's workload at the architecture's sequence length. It prints
// the CPU, a table of the candidates and, as its last line,
// `ort_engine_kendall_tau X`: Kendall's τ-b between the two latencies.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"text/tabwriter"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/devices/ort"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ortbench:", err)
		os.Exit(1)
	}
}

// row is one candidate's two measurements.
type row struct {
	arch        space.Arch
	engine, ort devices.Measurement
}

func run() error {
	cfgPath := flag.String("c", "configs/demo.yaml", "run config whose space candidates are sampled from")
	n := flag.Int("n", 60, "candidates to measure (at least 50 for the target)")
	seed := flag.Uint64("seed", 1, "sampling seed")
	runs := flag.Int("runs", 15, "timed runs per measurement (0: the config's evaluator.workload)")
	flag.Parse()
	if *n < 2 {
		return fmt.Errorf("-n %d: want at least 2 candidates", *n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := pipeline.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	cfg.RunDir = "runs/bench-ortdevice"
	r, err := pipeline.Open(ctx, cfg, pipeline.Options{Progress: os.Stderr})
	if err != nil {
		return err
	}
	defer r.Close()
	engine := r.Device
	od, err := ort.New(ort.Config{MaxRelSpread: cfg.Device.Local.MaxRelSpread, MaxAttempts: cfg.Device.Local.MaxAttempts})
	if err != nil {
		return err
	}
	defer od.Close()
	engineFP, err := engine.Fingerprint(ctx)
	if err != nil {
		return err
	}
	ortFP, err := od.Fingerprint(ctx)
	if err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(*seed, 0x0e7))
	seen := map[string]bool{}
	var archs []space.Arch
	for tries := 0; len(archs) < *n; tries++ {
		if tries > 100**n {
			return fmt.Errorf("the space of %s yields only %d distinct architectures, want %d", *cfgPath, len(archs), *n)
		}
		a := r.Space.Sample(rng)
		if !seen[a.Key()] {
			seen[a.Key()] = true
			archs = append(archs, a)
		}
	}
	rows := make([]row, len(archs))
	for i, a := range archs {
		m, err := r.Build(a, cfg.Compress.Options())
		if err != nil {
			return fmt.Errorf("build %s: %w", a.Key(), err)
		}
		w := cfg.Evaluator.Workload
		w.SeqLen = a.SeqLen
		if *runs > 0 {
			w.Runs = *runs
		}
		w = w.WithDefaults()
		rows[i].arch = a
		// Interleaved, alternating which device goes first, so a slow
		// spell of the machine falls on both.
		order := []devices.Device{engine, od}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, d := range order {
			res, err := d.Measure(ctx, m, w)
			if err != nil {
				return fmt.Errorf("measure %s on %s: %w", a.Key(), d.Name(), err)
			}
			if d == engine {
				rows[i].engine = res
			} else {
				rows[i].ort = res
			}
		}
		fmt.Fprintf(os.Stderr, "ortbench: %d/%d %s: engine %.3f ms, ort %.3f ms\n", i+1, len(archs), a.Key(), res2ms(rows[i].engine), res2ms(rows[i].ort))
	}

	eng, ortMS := make([]float64, len(rows)), make([]float64, len(rows))
	unstable := 0
	for i, rw := range rows {
		eng[i], ortMS[i] = res2ms(rw.engine), res2ms(rw.ort)
		if rw.engine.Unstable || rw.ort.Unstable {
			unstable++
		}
	}
	tau, ok := pipeline.KendallTauB(eng, ortMS)
	if !ok {
		return fmt.Errorf("Kendall τ undefined: one device measured every candidate alike")
	}
	byBits := map[string][2][]float64{}
	for i, rw := range rows {
		k := bitsClass(rw.arch)
		v := byBits[k]
		v[0], v[1] = append(v[0], eng[i]), append(v[1], ortMS[i])
		byBits[k] = v
	}

	fmt.Println("edgenas ort device benchmark: engine latency vs ONNX Runtime latency of the same candidates")
	fmt.Printf("# CPU: %s, %d CPU(s), %s; %s\n", local.CPUModel(), runtime.NumCPU(), runtime.Version(), *cfgPath)
	fmt.Printf("# engine: %s\n# ort:    %s\n", engineFP, ortFP)
	fmt.Printf("# %d candidates sampled with seed %d, measured interleaved; medians in ms; %d unstable (spread above the threshold in every attempt)\n", len(rows), *seed, unstable)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tengine ms\tort ms\tort/engine\tweights\tarchitecture\t")
	for i, rw := range rows {
		fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.2f\t%s\t%s\t\n", i+1, eng[i], ortMS[i], ortMS[i]/eng[i], bitsClass(rw.arch), rw.arch.Key())
	}
	tw.Flush()
	classes := make([]string, 0, len(byBits))
	for k := range byBits {
		classes = append(classes, k)
	}
	slices.Sort(classes)
	for _, k := range classes {
		v := byBits[k]
		if t, ok := pipeline.KendallTauB(v[0], v[1]); ok && len(v[0]) >= 5 {
			fmt.Printf("kendall_tau_within %-6s %.3f (%d candidates)\n", k, t, len(v[0]))
		}
	}
	fmt.Printf("ort_engine_kendall_tau %.3f\n", tau)
	return nil
}

// res2ms is a measurement's median in milliseconds.
func res2ms(m devices.Measurement) float64 { return m.Median.Seconds() * 1e3 }

// bitsClass names the weight precision of a's layers: "fp32", "int8",
// ... when they share one, else "mixed".
func bitsClass(a space.Arch) string {
	bits := a.Layers[0].Bits
	for _, l := range a.Layers[1:] {
		if l.Bits != bits {
			return "mixed"
		}
	}
	switch bits {
	case 32:
		return "fp32"
	case 16:
		return "fp16"
	default:
		return fmt.Sprintf("int%d", bits)
	}
}
