package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/reports"
	"github.com/edgenas/edgenas/train"
)

// runDistill distils front students of a run directory from the teacher
// (see pipeline.Run.Distill) and prints the distilled front.
func runDistill(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("distill", stderr)
	sel := fs.String("select", "", "which front students: all, top=N (highest reward) or comma-separated keys (default: the config's distill.select, else all)")
	steps := fs.Int("steps", 0, "optimizer steps per student (default: the config's distill.steps, else 2000)")
	asJSON := fs.Bool("json", false, "print the distilled front table as JSON")
	const use = "edgenas distill RUN_DIR [--select all|top=N|KEY,KEY...] [--steps N] [--json]"
	runDir, err := parseRunDir(fs, args, use)
	if err != nil {
		return err
	}
	if runDir == "" || *steps < 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	if _, err := pipeline.ParseSelect(*sel); err != nil {
		return fmt.Errorf("%w: --select: %v", errUsage, err)
	}
	f, err := pipeline.LoadFront(runDir)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	tty := train.IsTerminal(stderr)
	run, err := pipeline.OpenDir(ctx, runDir, pipeline.Options{Progress: stderr, Terminal: tty,
		Log: warnLog(stderr)})
	if err != nil {
		return err
	}
	defer run.Close()
	f, err = run.Distill(ctx, f, pipeline.DistillOptions{Select: *sel, Steps: *steps, Progress: stderr, Terminal: tty})
	switch {
	case errors.Is(err, train.ErrInterrupted) || err != nil && ctx.Err() != nil:
		fmt.Fprintf(stderr, "edgenas distill: interrupted; run the same command again to resume\n")
		return errInterrupted
	case err != nil:
		return err
	}
	tab := reports.DistilledTable(f)
	if *asJSON {
		return tab.WriteJSON(stdout)
	}
	return tab.WriteText(stdout)
}
