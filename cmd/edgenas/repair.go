package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/edgenas/edgenas/pipeline"
)

// runRepair repairs the bbolt file of a run directory (cache.db, as
// runSearch opens it): a damaged file is moved aside and every cache entry
// and run state that still verifies is kept in a fresh one.
func runRepair(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("repair", stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgenas repair [--json] RUN_DIR")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want one run directory, got %d arguments", errUsage, fs.NArg())
	}
	rep, err := pipeline.Repair(fs.Arg(0), nil)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if rep.Healthy {
		fmt.Fprintf(stdout, "%s is not damaged: nothing to do\n", rep.Path)
		return nil
	}
	fmt.Fprintf(stdout, "%s was damaged: %s\n", rep.Path, rep.Damage)
	fmt.Fprintf(stdout, "damaged file kept as %s\n", rep.MovedTo)
	fmt.Fprintf(stdout, "scanned %d pages of %d B: %d leaf pages, %d records\n", rep.Pages, rep.PageSize, rep.LeafPages, rep.Pairs)
	for _, s := range rep.Salvaged {
		fmt.Fprintf(stdout, "%s: %d recovered, %d rejected\n", s.What, s.Recovered, s.Rejected)
		for _, n := range s.Notes {
			fmt.Fprintf(stdout, "  %s\n", n)
		}
	}
	return nil
}
