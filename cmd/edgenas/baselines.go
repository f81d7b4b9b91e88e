package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/edgenas/edgenas/pipeline"
)

// runBaselines evaluates each compression technique alone at three
// strengths on the full evaluation data, at every sequence length of the
// config's space, and prints the table the search must beat.
func runBaselines(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("baselines", stderr)
	cfgPath := fs.String("c", "", "run config YAML, as for edgenas search (required; see configs/sst2-mini.yaml)")
	asJSON := fs.Bool("json", false, "print one JSON object per row instead of a table")
	ctx, run, done, err := openRun(fs, cfgPath, args, "edgenas baselines -c FILE [--json]", nil, stderr)
	if err != nil {
		return err
	}
	defer done()
	rows, err := run.Baselines(ctx, func(b pipeline.Baseline) {
		fmt.Fprintf(stderr, "%-12s %-40s %s %.4f  %s\n", b.Technique, b.Strength, b.Metric, b.Accuracy, latencies(b, true))
	})
	if err != nil {
		if ctx.Err() != nil {
			return errInterrupted
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	head := []string{"technique", "strength", "accuracy"}
	if len(rows) > 0 {
		for _, l := range rows[0].Latency {
			head = append(head, fmt.Sprintf("latency ms (seq %d)", l.SeqLen))
		}
	}
	fmt.Fprintln(tw, strings.Join(append(head, "size MB", "params"), "\t"))
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%s\t%.2f\t%d\n", r.Technique, r.Strength, r.Accuracy, latencies(r, false), float64(r.SizeBytes)/1e6, r.Params)
	}
	return tw.Flush()
}

// latencies formats a row's latency medians in ms, tab-separated, each
// with its sequence length when withSeq, marking unstable ones.
func latencies(b pipeline.Baseline, withSeq bool) string {
	var s []string
	for _, l := range b.Latency {
		v := fmt.Sprintf("%.3f", l.MS)
		if withSeq {
			v += fmt.Sprintf(" ms (seq %d)", l.SeqLen)
		}
		if l.Unstable {
			v += " (unstable)"
		}
		s = append(s, v)
	}
	return strings.Join(s, "\t")
}
