// Command searchbench is the exhaustive search benchmark (run by
// scripts/bench.sh search):
//
//	go run ./scripts/searchbench [-c configs/bench-exhaustive.yaml] [-levels 64,125,250,500,2000] [-fidelity-levels 64,500] [-seeds 5]
//
// It opens the run the config describes (training the demo teacher the
// first time), evaluates every architecture of its space once (accuracy
// on the first 64, 125, 250, 500 and all dev examples of the evaluator's
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
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgenas/edgenas/internal/searchbench"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/search"
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
	levelList := flag.String("levels", "64,125,250,500,2000", "numbers of dev examples the table holds accuracies for, increasing (the last: all)")
	seeds := flag.Int("seeds", 5, "seeds per strategy")
	mfList := flag.String("fidelity-levels", "64,500", "multi-fidelity levels (numbers of dev examples, each a level of the table)")
	share := flag.Float64("budget", 0.05, "share of the space each strategy evaluates for the hypervolume ratio")
	mfMargin := flag.Float64("fidelity-margin", search.DefaultFidelityMargin, "multi-fidelity promotion margin, in standard errors")
	accRef := flag.Float64("acc-ref", 0.5, "accuracy reference of the second set of tables (0.5: chance on the two-class demo task)")
	flag.Parse()
	levels, err := counts("-levels", *levelList)
	if err != nil {
		return err
	}
	mfLevels, err := counts("-fidelity-levels", *mfList)
	if err != nil {
		return err
	}
	if !(*share > 0 && *share <= 1) || *seeds < 1 {
		return fmt.Errorf("-budget %v, -seeds %d: want a share in (0, 1] and at least one seed", *share, *seeds)
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
	cfg.Search.Fidelity.Margin = *mfMargin
	return report(ctx, cfg, r.Space, tab, *seeds, *share, *accRef, mfLevels)
}

// counts parses a comma-separated list of increasing positive counts.
func counts(flagName, list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("%s %q: want increasing positive counts", flagName, list)
		}
		out = append(out, n)
	}
	return out, nil
}

// report replays the table and prints the benchmark's tables, the last
// line being hv_ratio_default: once with search's hypervolume (accuracy
// reference 0: what the targets are stated in), once with accuracy
// reference accRef (only accuracy above it counts).
func report(ctx context.Context, cfg *pipeline.Config, sp *space.Space, tab *searchbench.Table, seeds int, share, accRef float64, mfLevels []int) error {
	n := int(sp.Size().Int64())
	budget := int(math.Ceil(share * float64(n)))
	build, measure, score := tab.StageMeans()
	var scores []string
	for i, l := range tab.Rows[0].Levels {
		scores = append(scores, fmt.Sprintf("%d ex %.1f ms", l.Examples, ms(score[i])))
	}
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	ref := tab.Reference()
	fmt.Printf("edgenas search benchmark: strategies against exhaustive evaluation (%s)\n", cfg.File)
	fmt.Printf("# %s, %s, %d CPU(s): %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), cpu)
	fmt.Printf("# space: %d architectures, every one evaluated once: accuracy on all %d dev examples, latency measured here; exhaustive front: %d architectures\n",
		n, tab.Teacher.Levels[len(tab.Teacher.Levels)-1].Examples, tab.FrontSize())
	fmt.Printf("# hypervolume reference: the teacher's latency %v and size %d B\n", ref.Latency, ref.SizeBytes)
	fmt.Printf("# mean stage times per architecture: build %.1f ms, measure %.1f ms, score %s\n", ms(build), ms(measure), strings.Join(scores, ", "))
	fmt.Printf("# hv_ratio: hypervolume after %d evaluations (%.0f %% of the space) / exhaustive; %d seeds each; evals to 0.9 / 0.95: mean ± sd over the seeds that reached it\n", budget, 100*share, seeds)
	var defMean float64
	for k, ar := range []float64{0, accRef} {
		fmt.Println()
		if k == 0 {
			fmt.Printf("# == accuracy reference 0 (search's hypervolume; the targets): exhaustive hypervolume %.4f\n", tab.ExhaustiveHV(ar))
		} else {
			fmt.Printf("# == accuracy reference %.2f (only accuracy above it counts): exhaustive hypervolume %.4f\n", ar, tab.ExhaustiveHV(ar))
		}
		m, err := section(ctx, cfg, sp, tab, seeds, budget, ar, mfLevels)
		if err != nil {
			return err
		}
		if k == 0 {
			defMean = m
		}
	}
	fmt.Printf("hv_ratio_default %.3f\n", defMean)
	return nil
}

// section prints the strategy and the fidelity tables with accuracy
// reference accRef and returns the default strategy's mean hv_ratio.
func section(ctx context.Context, cfg *pipeline.Config, sp *space.Space, tab *searchbench.Table, seeds, budget int, accRef float64, mfLevels []int) (float64, error) {
	base := cfg.Search
	def := base.WithDefaults().Strategy
	strategies := []string{def}
	for _, s := range search.Strategies {
		if s != def {
			strategies = append(strategies, s)
		}
	}
	res, err := searchbench.CompareStrategies(ctx, tab, sp, base, strategies, seeds, budget, accRef)
	if err != nil {
		return 0, err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "strategy\thv_ratio mean ± sd\tmin–max\tevals to 0.90\tevals to 0.95\t")
	var defMean float64
	for _, r := range res {
		m, sd := searchbench.MeanSD(r.Ratios)
		name := r.Strategy
		if name == def {
			name += " (default)"
			defMean = m
		}
		fmt.Fprintf(tw, "%s\t%.3f ± %.3f\t%.3f–%.3f\t%s\t%s\t\n", name, m, sd, slices.Min(r.Ratios), slices.Max(r.Ratios), reach(r.Reach[0]), reach(r.Reach[1]))
	}
	tw.Flush()

	fixed := cfg.Evaluator.Subsample
	if fixed == 0 {
		fixed = 256
	}
	th := searchbench.Thresholds[1]
	runs, err := searchbench.CompareFidelity(ctx, tab, sp, base, []int{fixed, 0}, mfLevels, seeds, th, accRef)
	if err != nil {
		return 0, err
	}
	sub, all, mf := runs[0], runs[1], runs[2]
	margin := base.Fidelity.Margin
	if margin == 0 {
		margin = search.DefaultFidelityMargin
	}
	fmt.Printf("# time to reach %.2f of the exhaustive hypervolume (%s; the table's build + measure + scoring times of what each search evaluated):\n", th, def)
	fmt.Printf("# fixed subsample of %d examples (+ rescoring its front on all examples, which its hypervolume assumes), all examples, multi-fidelity (levels %v, margin %.1f standard errors)\n", fixed, mfLevels, margin)
	// The floor: an oracle that scores the fixed search's candidates on
	// the first level only and still rescores its front, the least any
	// multi-fidelity schedule pays to find the same front.
	build, measure, score := tab.StageMeans()
	first := time.Duration(-1)
	for i, l := range tab.Rows[0].Levels {
		if l.Examples == mfLevels[0] {
			first = build + measure + score[i]
		}
	}
	fmt.Printf("# multi-fidelity time includes rescoring its front on all examples when its last level is not all of them; floor: the fixed search's evaluations at the first level's cost (%.1f ms each) + its rescoring\n", ms(first))
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "seed\tfixed %d: evals\ttime\t+ rescoring\tall: evals\ttime\tmulti-fidelity: evals\tscreened\ttime\tmf / fixed %d\tfloor / fixed %d\t\n", fixed, fixed, fixed)
	var st, at, mt, ft []float64
	for i := range mf {
		f, a, m := sub[i], all[i], mf[i]
		ratio := "—"
		if f.Reached && m.Reached {
			withRescore := (f.Time + f.Rescore).Seconds()
			mfTime := (m.Time + m.Rescore).Seconds()
			ratio = fmt.Sprintf("%.2f", mfTime/withRescore)
			floor := (time.Duration(f.Evals)*first + f.Rescore).Seconds()
			st, mt, ft = append(st, withRescore), append(mt, mfTime), append(ft, floor)
			if a.Reached {
				at = append(at, a.Time.Seconds())
			}
		}
		rescore := "—"
		if f.Reached {
			rescore = fmt.Sprintf("%.1f s", (f.Time + f.Rescore).Seconds())
		}
		floor := "—"
		if f.Reached && first >= 0 {
			floor = fmt.Sprintf("%.2f", (time.Duration(f.Evals)*first+f.Rescore).Seconds()/(f.Time+f.Rescore).Seconds())
		}
		mtime := "not reached"
		if m.Reached {
			mtime = fmt.Sprintf("%.1f s", (m.Time + m.Rescore).Seconds())
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", f.Seed, evals(f), dur(f), rescore, evals(a), dur(a), evals(m), m.Screened, mtime, ratio, floor)
	}
	tw.Flush()
	if len(st) > 0 {
		sm, _ := searchbench.MeanSD(st)
		mm, _ := searchbench.MeanSD(mt)
		fmt.Printf("mf_time_ratio %.3f (accuracy reference %.2f: mean multi-fidelity time %.1f s / mean fixed-%d time with rescoring %.1f s, %d seeds where both reached %.2f)\n", mm/sm, accRef, mm, fixed, sm, len(st), th)
		if fm, _ := searchbench.MeanSD(ft); first >= 0 {
			fmt.Printf("mf_time_ratio_floor %.3f (the oracle floor above, same seeds)\n", fm/sm)
		}
		if len(at) == len(st) {
			am, _ := searchbench.MeanSD(at)
			fmt.Printf("mf_time_ratio_vs_all_examples %.3f\n", mm/am)
		}
	} else {
		fmt.Printf("mf_time_ratio — (accuracy reference %.2f: no seed where both reached %.2f)\n", accRef, th)
	}
	return defMean, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func dur(r searchbench.FidelityRun) string {
	if !r.Reached {
		return "not reached"
	}
	return fmt.Sprintf("%.1f s", r.Time.Seconds())
}

func evals(r searchbench.FidelityRun) string {
	if !r.Reached {
		return "—"
	}
	return strconv.Itoa(r.Evals)
}

// reach says the mean evaluations over the seeds that reached a
// threshold, and how many did.
func reach(e []int) string {
	var got []float64
	for _, v := range e {
		if v > 0 {
			got = append(got, float64(v))
		}
	}
	if len(got) == 0 {
		return fmt.Sprintf("— (0/%d)", len(e))
	}
	m, sd := searchbench.MeanSD(got)
	return fmt.Sprintf("%.0f ± %.0f (%d/%d)", m, sd, len(got), len(e))
}
