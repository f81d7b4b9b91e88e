// Command screeningbench compares a search with latency-predictor
// screening against the same search without it (run by scripts/bench.sh
// screening):
//
//	go run ./scripts/screeningbench [-c configs/demo.yaml] [-evals 150] [-seeds 1,2,3] [-margin 0.05] [-min 20] [-min-gain 0.001]
//
// For each seed it runs the config's search twice with a budget of evals
// evaluations and no patience, in run directories of their own under
// runs/bench-screening (so neither reuses the other's cached
// measurements; an interrupted benchmark resumes): once as configured
// without screening, once with search.screening {predictor: true, margin,
// min_gain,
// min_measurements} and the hypervolume reference of the first (the
// teacher's latency as it measured it, and size), so both hypervolumes
// share one reference point. It prints, with the CPU, each pair's final
// hypervolume (the search's: subsample accuracy, measured latency, size),
// number of latency measurements and wall time (search and front
// rescoring, in this invocation: a resumed search shows only what was
// left), and as its last line
// `screening_hv_ratio R measurement_reduction X` (means over the seeds of
// the hypervolume with screening over without, and of the measurements
// without over with).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/search"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "screeningbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("c", "configs/demo.yaml", "search config compared with and without screening")
	evals := flag.Int("evals", 150, "evaluations per search")
	seedList := flag.String("seeds", "1,2,3", "search seeds, comma-separated")
	margin := flag.Float64("margin", 0.05, "screening margin (relative latency)")
	minMeas := flag.Int("min", 20, "measurements before the first fit")
	minGain := flag.Float64("min-gain", 0.001, "screening min_gain: the least share of the front's hypervolume a measured candidate's predicted point adds (0: off)")
	flag.Parse()
	var seeds []uint64
	for _, f := range strings.Split(*seedList, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return fmt.Errorf("-seeds %q: want comma-separated non-negative integers", *seedList)
		}
		seeds = append(seeds, s)
	}
	if *evals < 1 {
		return fmt.Errorf("-evals %d: want at least 1", *evals)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	type pair struct {
		seed            uint64
		hv              [2]float64
		measured, evals [2]int
		dur             [2]time.Duration
	}
	var pairs []pair
	for _, seed := range seeds {
		p := pair{seed: seed}
		var ref search.Reference // the search without screening's, for both
		for i, on := range []bool{false, true} {
			cfg, err := pipeline.LoadConfig(*cfgPath)
			if err != nil {
				return err
			}
			mode := "off"
			cfg.Search.Seed = seed
			cfg.Search.Budget = search.Budget{MaxEvaluations: *evals, Patience: -1}
			if on {
				mode = "on"
				cfg.Search.Screening = search.Screening{Predictor: true, Margin: *margin, MinMeasurements: *minMeas, MinGain: *minGain}
				cfg.Search.Reference = ref
				cfg.RunDir = filepath.Join("runs", "bench-screening", fmt.Sprintf("on-seed%d-m%g-min%d-g%g-e%d", seed, *margin, *minMeas, *minGain, *evals))
			} else {
				// One search without screening per seed and budget, whatever the
				// screening settings compared with it.
				cfg.RunDir = filepath.Join("runs", "bench-screening", fmt.Sprintf("off-seed%d-e%d", seed, *evals))
			}
			fmt.Fprintf(os.Stderr, "screeningbench: seed %d, screening %s: %s\n", seed, mode, cfg.RunDir)
			r, err := pipeline.Open(ctx, cfg, pipeline.Options{Progress: io.Discard})
			if err != nil {
				return err
			}
			t0 := time.Now()
			front, err := r.Search(ctx, pipeline.SearchOptions{})
			r.Close()
			if err != nil {
				return err
			}
			p.dur[i] = time.Since(t0)
			if !on {
				if front.Teacher == nil {
					return fmt.Errorf("%s: the front holds no teacher result for the hypervolume reference", cfg.RunDir)
				}
				ref = search.Reference{Latency: front.Teacher.Latency.Median, SizeBytes: front.Teacher.SizeBytes}
			}
			if len(front.History) == 0 {
				return fmt.Errorf("%s: no history", cfg.RunDir)
			}
			p.hv[i] = front.History[len(front.History)-1].Hypervolume
			p.evals[i] = len(front.All)
			for _, c := range front.All {
				if !c.Predicted {
					p.measured[i]++
				}
			}
		}
		pairs = append(pairs, p)
	}
	fmt.Printf("edgenas predictor screening benchmark (%s, %d evaluations per search, margin %g, first fit after %d measurements, min_gain %g)\n", *cfgPath, *evals, *margin, *minMeas, *minGain)
	fmt.Printf("# %s, %s, %d CPU(s): %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), local.CPUModel())
	fmt.Println("# hypervolume: the search's own (subsample accuracy, measured latency, size; reference: the teacher as the search without screening measured it); measured: candidates whose latency was measured")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "seed\twithout: hv\tmeasured\ttime\twith: hv\tmeasured\tpredicted\ttime\thv ratio\tfewer measurements\t")
	var hvSum, redSum float64
	for _, p := range pairs {
		ratio, red := p.hv[1]/p.hv[0], float64(p.measured[0])/float64(p.measured[1])
		hvSum, redSum = hvSum+ratio, redSum+red
		fmt.Fprintf(tw, "%d\t%.4f\t%d\t%.0f s\t%.4f\t%d\t%d\t%.0f s\t%.3f\t%.2f×\t\n", p.seed, p.hv[0], p.measured[0], p.dur[0].Seconds(),
			p.hv[1], p.measured[1], p.evals[1]-p.measured[1], p.dur[1].Seconds(), ratio, red)
	}
	tw.Flush()
	n := float64(len(pairs))
	fmt.Printf("screening_hv_ratio %.3f measurement_reduction %.2f\n", hvSum/n, redSum/n)
	return nil
}
