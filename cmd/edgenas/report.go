package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/reports"
)

// runReport writes the report of a run directory's saved front (and its
// baselines, when computed): pareto.json, pareto.csv and report.html.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	out := fs.String("out", "", "directory to write the report into (default: the run directory; created if missing)")
	asJSON := fs.Bool("json", false, `print the written paths as one JSON object {"report", "pareto_json", "pareto_csv"}`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgenas report RUN_DIR [--out DIR] [--json]")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	// Flags may also follow the run directory.
	var runDir string
	if fs.NArg() > 0 {
		runDir = fs.Arg(0)
		if err := parse(fs, fs.Args()[1:]); err != nil {
			return err
		}
	}
	if runDir == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: want one run directory (usage: edgenas report RUN_DIR [--out DIR] [--json])", errUsage)
	}
	front, err := pipeline.LoadFront(runDir)
	if err != nil {
		return err
	}
	baselines, err := pipeline.LoadBaselines(runDir)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = runDir
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths, err := reports.WriteReport(dir, reports.Input{Front: front, Baselines: baselines})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(paths)
	}
	fmt.Fprintf(stdout, "%s\n%s\n%s\n", paths.Report, paths.ParetoJSON, paths.ParetoCSV)
	return nil
}
