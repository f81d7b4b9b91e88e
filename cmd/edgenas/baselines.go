package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// baseline is one single-technique student of the baselines table.
type baseline struct {
	Technique string `json:"technique"`
	Strength  string `json:"strength"`
	arch      space.Arch
	share     compress.ShareMode
}

// baselineRow is one row of the table as --json prints it.
type baselineRow struct {
	Technique     string  `json:"technique"`
	Strength      string  `json:"strength"`
	Accuracy      float64 `json:"accuracy"`
	Metric        string  `json:"metric"`
	Examples      int     `json:"examples"`
	LatencyMS     float64 `json:"latency_ms"`       // seq 128
	LatencyMS64   float64 `json:"latency_ms_seq64"` // seq 64
	SizeBytes     int64   `json:"size_bytes"`
	Params        int64   `json:"params"`
	Key           string  `json:"key"`
	LatencyUnsure bool    `json:"latency_unstable,omitempty"`
}

// baselines lists each compression technique alone at three strengths for
// a teacher of config c, scored by imp where layers must be chosen, plus
// the teacher itself and both ways of building shared weights.
func baselines(c *transformer.Config, imp *compress.Importance) []baseline {
	L, H, F, hidden := c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenSize
	full := func() space.Arch {
		a := space.Arch{EmbeddingBits: 32, SeqLen: 128}
		for i := 0; i < L; i++ {
			a.Layers = append(a.Layers, space.LayerGene{Source: i, Heads: H, FFN: F, Bits: 32})
		}
		return a
	}
	each := func(a space.Arch, f func(g *space.LayerGene)) space.Arch {
		for i := range a.Layers {
			f(&a.Layers[i])
		}
		return a
	}
	var out []baseline
	add := func(tech, strength string, a space.Arch, share compress.ShareMode) {
		out = append(out, baseline{Technique: tech, Strength: strength, arch: a, share: share})
	}
	add("teacher", "-", full(), "")
	three := func(n int) []int { // n·3/4, n/2, n/4, at least 1, distinct
		var s []int
		for _, v := range []int{n * 3 / 4, n / 2, n / 4} {
			if v >= 1 && !slices.Contains(s, v) {
				s = append(s, v)
			}
		}
		return s
	}
	for _, h := range three(H) {
		add("heads", fmt.Sprintf("%d of %d heads per layer", h, H), each(full(), func(g *space.LayerGene) { g.Heads = h }), "")
	}
	for _, k := range three(L) {
		order := make([]int, L)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return imp.Layers[order[i]] > imp.Layers[order[j]] })
		keep := slices.Clone(order[:k])
		slices.Sort(keep)
		a := full()
		var kept []space.LayerGene
		for _, src := range keep {
			kept = append(kept, a.Layers[src])
		}
		a.Layers = kept
		add("layers", fmt.Sprintf("%d of %d layers (most important: %v)", k, L, keep), a, "")
	}
	for _, f := range three(F) {
		add("ffn", fmt.Sprintf("%d of %d neurons per layer", f, F), each(full(), func(g *space.LayerGene) { g.FFN = f }), "")
	}
	for _, r := range []int{hidden / 2, hidden / 4, hidden / 8} {
		add("low-rank", fmt.Sprintf("rank %d (attention and FFN)", r), each(full(), func(g *space.LayerGene) { g.AttentionRank, g.FFNRank = r, r }), "")
	}
	for _, b := range []int{16, 8, 4} {
		add("quantization", fmt.Sprintf("%d-bit weights", b), each(full(), func(g *space.LayerGene) { g.Bits = b }), "")
	}
	sizes := []int{2}
	if L > 2 {
		sizes = append(sizes, L)
	}
	for _, size := range sizes {
		if size > L {
			continue
		}
		for _, mode := range []compress.ShareMode{compress.ShareBest, compress.ShareMean} {
			a := full()
			for i := range a.Layers {
				a.Layers[i].SharePrev = i%size != 0
			}
			add("sharing", fmt.Sprintf("groups of %d, %s", size, mode), a, mode)
		}
	}
	return out
}

// runBaselines evaluates each compression technique alone at three
// strengths on the full evaluation data and prints the table the search
// must beat.
func runBaselines(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("baselines", stderr)
	cfgPath := fs.String("c", "", "run config YAML, as for edgenas search (required; see configs/sst2-mini.yaml)")
	asJSON := fs.Bool("json", false, "print one JSON object per row instead of a table")
	ctx, _, wb, done, err := openRun(fs, cfgPath, args, "edgenas baselines -c FILE [--json]", stderr)
	if err != nil {
		return err
	}
	defer done()
	var rows []baselineRow
	for _, b := range baselines(&wb.teacher.Config, wb.imp) {
		row := baselineRow{Technique: b.Technique, Strength: b.Strength, Key: b.arch.Key()}
		for _, seq := range []int{64, 128} {
			a := b.arch.Clone()
			a.SeqLen = seq
			r, err := wb.evaluate(ctx, a, b.share)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", b.Technique, b.Strength, err)
			}
			ms := float64(r.Latency.Median) / 1e6
			if seq == 64 {
				row.LatencyMS64 = ms
			} else {
				row.LatencyMS = ms
			}
			row.Accuracy, row.Metric, row.Examples, row.SizeBytes, row.Params = r.Accuracy, r.Metric, r.Examples, r.SizeBytes, r.Params
			row.LatencyUnsure = row.LatencyUnsure || r.Latency.Unstable
		}
		fmt.Fprintf(stderr, "%-12s %-40s %s %.4f  %.3f ms (seq 128)\n", row.Technique, row.Strength, row.Metric, row.Accuracy, row.LatencyMS)
		rows = append(rows, row)
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
	fmt.Fprintln(tw, "technique\tstrength\taccuracy\tlatency ms (seq 64)\tlatency ms (seq 128)\tsize MB\tparams")
	for _, r := range rows {
		unsure := ""
		if r.LatencyUnsure {
			unsure = " (unstable)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.3f\t%.3f%s\t%.2f\t%d\n", r.Technique, r.Strength, r.Accuracy, r.LatencyMS64, r.LatencyMS, unsure, float64(r.SizeBytes)/1e6, r.Params)
	}
	return tw.Flush()
}
