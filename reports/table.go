package reports

import (
	"cmp"
	"slices"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

// Row is one row of a front table: the teacher (the reference) or one
// front candidate, with its numbers against the teacher.
type Row struct {
	// Key is the architecture's canonical key; "teacher" for the reference.
	Key string `json:"key"`
	// Teacher marks the reference row.
	Teacher bool `json:"teacher,omitempty"`
	// Architecture is the architecture in words (space.Arch.Describe).
	Architecture string `json:"architecture"`
	// Accuracy is the score on every example when the candidate was
	// rescored (Examples says on how many), else on the search's
	// subsample; Metric names it.
	Accuracy float64 `json:"accuracy"`
	Metric   string  `json:"metric"`
	Examples int     `json:"examples"`
	// SubsampleAccuracy is the score the search saw (on its subsample).
	SubsampleAccuracy float64 `json:"subsample_accuracy"`
	// LatencyMS is the median latency, P90MS its 90th percentile and
	// SpreadMS the median absolute deviation of the timed runs; SeqLen is
	// the sequence length it was measured at.
	LatencyMS float64 `json:"latency_ms"`
	P90MS     float64 `json:"latency_p90_ms"`
	SpreadMS  float64 `json:"latency_spread_ms"`
	SeqLen    int     `json:"seq_len"`
	// Unstable says the device found the measurement's spread too large
	// to trust.
	Unstable bool `json:"latency_unstable,omitempty"`
	// SizeBytes is the saved student's size, Params its parameters and
	// PeakBytes the peak memory of one forward pass.
	SizeBytes int64 `json:"size_bytes"`
	Params    int64 `json:"params"`
	PeakBytes int64 `json:"peak_bytes"`
	// SpeedUp is the teacher's latency (at the same sequence length)
	// divided by this row's; SizeReduction the teacher's size divided by
	// this row's; AccuracyChange the relative change of accuracy against
	// the teacher ((acc − teacher) / teacher). All 1, 1 and 0 for the
	// teacher, and 0 when there is no teacher to compare with.
	SpeedUp        float64 `json:"speed_up"`
	SizeReduction  float64 `json:"size_reduction"`
	AccuracyChange float64 `json:"accuracy_change"`
	// TiedWith lists the keys of the other rows whose latency differs from
	// this one's by less than the measured spread of either (or the
	// front's latency_epsilon; search.LatencyTied): their latencies are
	// not distinguishable.
	TiedWith []string `json:"tied_with,omitempty"`
	// Reward is the search's reward of the candidate (0 for the teacher).
	Reward float64 `json:"reward"`
	// Before is the accuracy on every example before distillation, set on
	// the rows of a distilled front (Accuracy is then after it).
	Before *float64 `json:"accuracy_before_distillation,omitempty"`
	// Arch is the architecture.
	Arch space.Arch `json:"arch"`
	// Device is the fingerprint of the device that measured the latency.
	Device string `json:"device"`
}

// Table is a front as people read it: the teacher first, then the front
// candidates, fastest first.
type Table struct {
	// RunID and RunDir name the run.
	RunID  string `json:"run_id"`
	RunDir string `json:"run_dir"`
	// Partial says the run was interrupted: the front is the best known so
	// far.
	Partial bool `json:"partial"`
	// Evaluations is how many candidates the search evaluated.
	Evaluations int `json:"evaluations"`
	// Distilled says the rows are the distilled front (DistilledTable);
	// Evaluations then counts the distilled students.
	Distilled bool `json:"distilled,omitempty"`
	// Rows holds the teacher's row (when known) and then the front.
	Rows []Row `json:"rows"`
	// ExactFrontSize is the size of the exact Pareto front; the front in
	// Rows is noise-aware unless the run asked for the exact one (see
	// pipeline.Front.FrontRule).
	ExactFrontSize int `json:"exact_front_size"`
	// LatencyEpsilon is the relative latency difference below which rows
	// are tied even when their spreads are smaller (the front's rule,
	// search.FrontConfig.Epsilon).
	LatencyEpsilon float64 `json:"latency_epsilon"`
	// Proxy is the run's proxy check (nil when it has none).
	Proxy *pipeline.ProxyCheck `json:"proxy_check,omitempty"`
}

// FrontTable builds the table of a saved front: the teacher's row (its
// rescoring at the largest sequence length) and every front member's,
// with speed-up against the teacher at the member's own sequence length,
// size reduction, relative accuracy change and latency ties.
func FrontTable(f *pipeline.Front) Table {
	t, teacherAt := teacherTable(f)
	t.Evaluations = f.Evaluations
	var front []Row
	for _, m := range f.Members {
		row := newRow(m.Result, m.Full, teacherAt(m.Result.Arch.SeqLen))
		row.Key, row.Reward = m.Key, m.Reward
		front = append(front, row)
	}
	return t.withFront(front)
}

// DistilledTable builds the table of a front's distilled front
// (pipeline.Front.Distilled, the students on it): the teacher's row, then
// every distilled student on the distilled front with its accuracy before
// distillation (Before) and after it (Accuracy), its latency the
// compressed student's (distillation changes weights, not shapes).
func DistilledTable(f *pipeline.Front) Table {
	t, teacherAt := teacherTable(f)
	t.Distilled, t.Evaluations = true, len(f.Distilled)
	var front []Row
	for _, d := range f.DistilledFront() {
		row := newRow(d.Result, nil, teacherAt(d.Result.Arch.SeqLen))
		row.Key, row.Reward = d.Key, d.Reward
		row.SubsampleAccuracy = d.Before
		before := d.Before
		row.Before = &before
		front = append(front, row)
	}
	return t.withFront(front)
}

// withFront appends the front rows, fastest first, and marks ties.
func (t Table) withFront(front []Row) Table {
	slices.SortStableFunc(front, func(a, b Row) int { return cmp.Compare(a.LatencyMS, b.LatencyMS) })
	t.Rows = append(t.Rows, front...)
	markTies(t.Rows, t.LatencyEpsilon)
	return t
}

// teacherTable returns a table of f holding the teacher's row (its
// rescoring at the largest sequence length) and the teacher's rescoring
// at a sequence length (nil: none).
func teacherTable(f *pipeline.Front) (Table, func(seq int) *evaluator.Result) {
	t := Table{RunID: f.RunID, RunDir: f.RunDir, Partial: f.Partial, ExactFrontSize: f.ExactFrontSize,
		LatencyEpsilon: f.FrontRule.Epsilon(), Proxy: f.Proxy}
	teacherAt := func(seq int) *evaluator.Result {
		for i := range f.Teachers {
			if f.Teachers[i].Arch.SeqLen == seq {
				return &f.Teachers[i]
			}
		}
		return nil
	}
	if n := len(f.Teachers); n > 0 {
		tr := f.Teachers[n-1]
		row := newRow(tr, nil, &tr)
		row.Key, row.Teacher = "teacher", true
		row.SubsampleAccuracy = tr.Accuracy
		if f.Teacher != nil {
			row.SubsampleAccuracy = f.Teacher.Accuracy
		}
		t.Rows = append(t.Rows, row)
	}
	return t, teacherAt
}

// newRow is the row of a result searched on the subsample (sub), rescored
// on every example (full, nil when not yet), against teacher (nil: none).
func newRow(sub evaluator.Result, full, teacher *evaluator.Result) Row {
	r := Row{Architecture: sub.Arch.Describe(), Accuracy: sub.Accuracy, Metric: sub.Metric, Examples: sub.Examples,
		SubsampleAccuracy: sub.Accuracy, LatencyMS: ms(sub.Latency.Median), P90MS: ms(sub.Latency.P90),
		SpreadMS: ms(sub.Latency.MAD), SeqLen: sub.Arch.SeqLen, Unstable: sub.Latency.Unstable, SizeBytes: sub.SizeBytes,
		Params: sub.Params, PeakBytes: sub.PeakBytes, Arch: sub.Arch, Device: sub.Device}
	if full != nil {
		r.Accuracy, r.Metric, r.Examples = full.Accuracy, full.Metric, full.Examples
	}
	if teacher != nil {
		r.SpeedUp = ratio(ms(teacher.Latency.Median), r.LatencyMS)
		r.SizeReduction = ratio(float64(teacher.SizeBytes), float64(r.SizeBytes))
		if teacher.Accuracy != 0 {
			r.AccuracyChange = (r.Accuracy - teacher.Accuracy) / teacher.Accuracy
		}
	}
	return r
}

// markTies records, for every pair of rows measured at the same sequence
// length, whether their latencies are tied by the rule of the
// noise-aware front (search.LatencyTied): medians closer than the larger
// of their spreads (median absolute deviations) or than eps (relative).
func markTies(rows []Row, eps float64) {
	for i := range rows {
		for j := range rows {
			a, b := &rows[i], &rows[j]
			if i == j || a.SeqLen != b.SeqLen {
				continue
			}
			if search.LatencyTied(a.LatencyMS, a.SpreadMS, b.LatencyMS, b.SpreadMS, eps) {
				a.TiedWith = append(a.TiedWith, b.Key)
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
