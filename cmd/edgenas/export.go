package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/reports"
)

// runExport exports front candidates of a run directory (see
// reports.Export).
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	sel := fs.String("select", "all", "which front candidates: all, or comma-separated keys as in the front table")
	best := fs.String("best-under", "", "export only the most accurate candidate within limits, e.g. latency=2ms,size=5MB (exit 3 when none)")
	out := fs.String("out", "", "export directory (required): new, empty or holding earlier exports only")
	asJSON := fs.Bool("json", false, "print what was exported as JSON")
	const use = "edgenas export RUN_DIR --out DIR [--select all|KEY,KEY...] [--best-under latency=2ms,size=5MB] [--json]"
	runDir, err := parseRunDir(fs, args, use)
	if err != nil {
		return err
	}
	if runDir == "" || *out == "" {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	opts := reports.ExportOptions{Out: *out, Version: Version}
	if flagSet(fs, "best-under") {
		if flagSet(fs, "select") {
			return fmt.Errorf("%w: give --select or --best-under, not both", errUsage)
		}
		l, err := reports.ParseLimits(*best)
		if err != nil {
			return fmt.Errorf("%w: --best-under: %v", errUsage, err)
		}
		opts.BestUnder = &l
	} else {
		for k := range strings.SplitSeq(*sel, ",") {
			if k = strings.TrimSpace(k); k != "" {
				opts.Select = append(opts.Select, k)
			}
		}
	}
	f, err := pipeline.LoadFront(runDir)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	run, err := pipeline.OpenDir(ctx, runDir, pipeline.Options{Progress: stderr,
		Log: warnLog(stderr)})
	if err != nil {
		return err
	}
	defer run.Close()
	got, err := reports.Export(ctx, run, f, opts)
	for _, e := range got {
		if !*asJSON {
			fmt.Fprintf(stdout, "exported %s: %s %.4f, %.3f ms, %.3f MB (%s)\n", e.Dir, e.Row.Metric, e.Row.Accuracy, e.Row.LatencyMS,
				float64(e.Row.SizeBytes)/1e6, e.Row.Architecture)
		}
	}
	if *asJSON && err == nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(got); jerr != nil {
			return jerr
		}
	}
	switch {
	case errors.Is(err, reports.ErrNoFeasible):
		return fmt.Errorf("%w: %w", errNoFeasible, err)
	case err != nil && ctx.Err() != nil:
		return errInterrupted
	case err != nil:
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "export directory: %s\n", *out)
	}
	return nil
}
