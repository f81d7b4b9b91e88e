package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/edgenas/edgenas/compress"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/space"
	"github.com/edgenas/edgenas/transformer"
)

// BaselinesFile is the file in the run directory that holds the rows of
// the last completed Run.Baselines, read back by LoadBaselines.
const BaselinesFile = "baselines.json"

// baselineArch is one single-technique student of the baselines table.
type baselineArch struct {
	Technique string `json:"technique"`
	Strength  string `json:"strength"`
	arch      space.Arch
	share     compress.ShareMode
}

// Baseline is one row of the baselines table: one technique alone at one
// strength, scored on every example and measured at every sequence length
// of the run's space.
type Baseline struct {
	Technique string  `json:"technique"`
	Strength  string  `json:"strength"`
	Accuracy  float64 `json:"accuracy"`
	Metric    string  `json:"metric"`
	Examples  int     `json:"examples"`
	// Latency holds one measurement per sequence length, in the order of
	// the space's seq_len.
	Latency   []SeqLatency `json:"latency"`
	SizeBytes int64        `json:"size_bytes"`
	Params    int64        `json:"params"`
	// Key is the architecture's key at the first sequence length.
	Key string `json:"key"`
}

// SeqLatency is a latency median at one sequence length.
type SeqLatency struct {
	SeqLen   int     `json:"seq_len"`
	MS       float64 `json:"ms"`
	Unstable bool    `json:"unstable,omitempty"`
}

// baselines lists each compression technique alone at three strengths for
// a teacher of config c, scored by imp where layers must be chosen, plus
// the teacher itself and both ways of building shared weights.
func baselineArchs(c *transformer.Config, imp *compress.Importance) []baselineArch {
	L, H, F, hidden := c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenSize
	full := func() space.Arch {
		a := space.Arch{EmbeddingBits: 32}
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
	var out []baselineArch
	add := func(tech, strength string, a space.Arch, share compress.ShareMode) {
		out = append(out, baselineArch{Technique: tech, Strength: strength, arch: a, share: share})
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

// Baselines evaluates each compression technique alone at three strengths
// (and both ways of building shared weights) on every example, measured
// at each sequence length of the run's space: the table a search must
// beat. row, when not nil, is called with each row as it completes. The
// rows are saved as BaselinesFile in the run directory once all are done.
func (r *Run) Baselines(ctx context.Context, row func(Baseline)) ([]Baseline, error) {
	seqs := r.Space.Spec().SeqLen
	var rows []Baseline
	for _, b := range baselineArchs(&r.Teacher.Config, r.Importance) {
		o := r.Config.Compress.Options()
		if b.share != "" {
			o.Share = b.share
		}
		ev, err := r.Evaluator(ctx, o)
		if err != nil {
			return rows, err
		}
		out := Baseline{Technique: b.Technique, Strength: b.Strength}
		for _, seq := range seqs {
			a := b.arch.Clone()
			a.SeqLen = seq
			res, err := ev.EvaluateFull(ctx, a)
			if err != nil {
				return rows, fmt.Errorf("baseline %s, %s: %w", b.Technique, b.Strength, err)
			}
			if out.Key == "" {
				out.Key = a.Key()
			}
			out.Latency = append(out.Latency, SeqLatency{SeqLen: seq, MS: float64(res.Latency.Median) / 1e6, Unstable: res.Latency.Unstable})
			out.Accuracy, out.Metric, out.Examples, out.SizeBytes, out.Params = res.Accuracy, res.Metric, res.Examples, res.SizeBytes, res.Params
		}
		if row != nil {
			row(out)
		}
		rows = append(rows, out)
	}
	if err := writeJSON(filepath.Join(r.Config.RunDir, BaselinesFile), rows); err != nil {
		return rows, fmt.Errorf("save baselines: %w", err)
	}
	return rows, nil
}

// LoadBaselines reads the baselines saved in runDir (BaselinesFile); nil
// and no error when none were computed there.
func LoadBaselines(runDir string) ([]Baseline, error) {
	path := filepath.Join(runDir, BaselinesFile)
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "baselines file")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rows []Baseline
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, b := range rows {
		if b.Technique == "" || len(b.Latency) == 0 {
			return nil, fmt.Errorf("%s: row %d: want a technique and at least one latency, got %q with %d", path, i, b.Technique, len(b.Latency))
		}
	}
	return rows, nil
}
