package reports

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes t as an aligned table for a terminal: the teacher row
// first, each candidate with its accuracy and relative change, latency
// with its spread (≈ marks a latency tied with another row's: within
// the larger spread or the front's latency_epsilon), speed-up,
// size and size reduction, and its architecture in words.
func (t Table) WriteText(w io.Writer) error {
	front := len(t.Rows)
	if front > 0 && t.Rows[0].Teacher {
		front--
	}
	state := ""
	if t.Partial {
		state = " — PARTIAL: the run was interrupted; resume it for the final front"
	}
	if t.Distilled {
		fmt.Fprintf(w, "Distilled front: %d of %d distilled students, fastest first (accuracy before → after distillation)%s\n", front, t.Evaluations, state)
	} else {
		fmt.Fprintf(w, "Pareto front: %d of %d candidates, fastest first%s\n", front, t.Evaluations, state)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\taccuracy\tvs teacher\tlatency ms\tspeed-up\tsize MB\tsmaller\tarchitecture")
	for _, r := range t.Rows {
		name, change, speed, small := "", "", "", ""
		if r.Teacher {
			name = "teacher"
		} else if r.SpeedUp > 0 {
			change = fmt.Sprintf("%+.1f%%", 100*r.AccuracyChange)
			speed = fmt.Sprintf("%.1f×", r.SpeedUp)
			small = fmt.Sprintf("%.1f×", r.SizeReduction)
		}
		lat := fmt.Sprintf("%.3f ±%.2g", r.LatencyMS, r.SpreadMS)
		if len(r.TiedWith) > 0 {
			lat += " ≈"
		}
		if r.Unstable {
			lat += " (unstable)"
		}
		acc := fmt.Sprintf("%.4f", r.Accuracy)
		if r.Before != nil {
			acc = fmt.Sprintf("%.4f → %.4f", *r.Before, r.Accuracy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s\n", name, acc, change, lat, speed,
			float64(r.SizeBytes)/1e6, small, r.Architecture)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(t.Rows) > 0 {
		r := t.Rows[len(t.Rows)-1]
		fmt.Fprintf(w, "accuracy: %s on %d examples; latency: median ±MAD of single-threaded runs at seq %d on %s; ≈: within the spread of another row or %g%% of it\n",
			r.Metric, r.Examples, r.SeqLen, r.Device, 100*t.LatencyEpsilon)
	}
	if t.ExactFrontSize > front {
		fmt.Fprintf(w, "noise-aware front: %d of the %d candidates of the exact front (latencies within the spread or latency_epsilon tied)\n", front, t.ExactFrontSize)
	}
	if p := t.Proxy; p != nil {
		tau := fmt.Sprintf("Kendall τ %.3f", p.KendallTau)
		if p.TauUndefined {
			tau = "Kendall τ undefined"
		}
		state := ""
		if p.Partial {
			state = " (interrupted)"
		}
		fmt.Fprintf(w, "proxy check%s: %s between %s on %d and on all %d examples over %d candidates; largest difference %.4f\n",
			state, tau, p.Metric, p.Subsample, p.Examples, len(p.Points), p.MaxAbsError)
	}
	fmt.Fprintf(w, "run directory: %s\n", t.RunDir)
	return nil
}

// WriteJSON writes t as one JSON document.
func (t Table) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// csvHeader is the header row of WriteCSV.
var csvHeader = []string{"key", "teacher", "architecture", "accuracy", "metric", "examples", "subsample_accuracy",
	"accuracy_change", "latency_ms", "latency_p90_ms", "latency_spread_ms", "latency_unstable", "tied_with", "seq_len",
	"speed_up", "size_bytes", "size_reduction", "params", "peak_bytes", "reward", "device"}

// WriteCSV writes t as CSV with a header row, one row per table row.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range t.Rows {
		rec := []string{r.Key, strconv.FormatBool(r.Teacher), r.Architecture, f(r.Accuracy), r.Metric, strconv.Itoa(r.Examples),
			f(r.SubsampleAccuracy), f(r.AccuracyChange), f(r.LatencyMS), f(r.P90MS), f(r.SpreadMS), strconv.FormatBool(r.Unstable),
			strings.Join(r.TiedWith, " "), strconv.Itoa(r.SeqLen), f(r.SpeedUp), strconv.FormatInt(r.SizeBytes, 10),
			f(r.SizeReduction), strconv.FormatInt(r.Params, 10), strconv.FormatInt(r.PeakBytes, 10), f(r.Reward), r.Device}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
