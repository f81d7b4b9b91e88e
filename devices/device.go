package devices

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/transformer"
)

// Device is where latency comes from: it runs a model and measures it.
// Implementations must be safe for concurrent use; measurements on one
// device never overlap (a device serializes them).
type Device interface {
	// Name is a short human name of the device, e.g. "local".
	Name() string
	// Fingerprint identifies the hardware and engine the measurements come
	// from; it is part of every cache key, so two devices whose timings are
	// not interchangeable must have different fingerprints.
	Fingerprint(ctx context.Context) (string, error)
	// Measure runs m on the workload and returns its latency statistics.
	Measure(ctx context.Context, m *transformer.Model, w Workload) (Measurement, error)
}

// ErrWorkload marks a Workload that cannot be measured.
var ErrWorkload = errors.New("invalid workload")

// MinRuns is the smallest number of timed runs a measurement may take.
const MinRuns = 7

// Workload is what one measurement runs: a batch of Batch sequences of
// SeqLen tokens, Warmup untimed runs, then Runs timed runs on Threads
// intra-op threads. The zero value of each field takes its default.
type Workload struct {
	Batch   int `json:"batch" yaml:"batch"`     // default 1
	SeqLen  int `json:"seq_len" yaml:"seq_len"` // default 128
	Threads int `json:"threads" yaml:"threads"` // default 1 (latency is single-threaded unless configured)
	Warmup  int `json:"warmup" yaml:"warmup"`   // default 3
	Runs    int `json:"runs" yaml:"runs"`       // default and minimum MinRuns
}

// WithDefaults returns w with every zero field set to its default.
func (w Workload) WithDefaults() Workload {
	if w.Batch == 0 {
		w.Batch = 1
	}
	if w.SeqLen == 0 {
		w.SeqLen = 128
	}
	if w.Threads == 0 {
		w.Threads = 1
	}
	if w.Warmup == 0 {
		w.Warmup = 3
	}
	if w.Runs == 0 {
		w.Runs = MinRuns
	}
	return w
}

// Validate checks w (after defaults) against model config c (nil: no
// model, so seq_len is only checked to be positive) and returns every
// problem at once, each a *fielderr.FieldError naming the field and
// wrapping ErrWorkload.
func (w Workload) Validate(c *transformer.Config) error {
	var p []error
	bad := func(field, format string, a ...any) {
		p = append(p, &fielderr.FieldError{Field: field, Msg: fmt.Sprintf(format, a...), Err: ErrWorkload})
	}
	if w.Batch < 1 {
		bad("batch", "%d, want ≥ 1", w.Batch)
	}
	switch {
	case c != nil && (w.SeqLen < 1 || w.SeqLen > c.MaxPositionEmbeddings):
		bad("seq_len", "%d, want 1..%d (the model's max_position_embeddings)", w.SeqLen, c.MaxPositionEmbeddings)
	case w.SeqLen < 1:
		bad("seq_len", "%d, want ≥ 1", w.SeqLen)
	}
	if w.Threads < 1 {
		bad("threads", "%d, want ≥ 1", w.Threads)
	}
	if w.Warmup < 0 {
		bad("warmup", "%d, want ≥ 0", w.Warmup)
	}
	if w.Runs < MinRuns {
		bad("runs", "%d, want ≥ %d (latency is the median of at least %d timed runs)", w.Runs, MinRuns, MinRuns)
	}
	return errors.Join(p...)
}

// Measurement is the result of measuring one model on one device.
type Measurement struct {
	// Stats are the timed runs of the final attempt.
	Stats
	// Attempts is how many times the workload was measured: more than one
	// when the spread of an attempt was above the device's threshold.
	Attempts int `json:"attempts"`
	// Unstable says the spread stayed above the threshold in every attempt:
	// the numbers are reported but not to be trusted.
	Unstable bool `json:"unstable,omitempty"`
	// DriftPercent is how much slower (positive) or faster the device ran
	// a fixed reference model just before this measurement than it did at
	// its first measurement; 0 when the device has no reference.
	DriftPercent float64 `json:"drift_percent"`
	// PeakBytes is the memory one forward pass holds at its peak (weights
	// in their run-time form plus activations), measured; 0 if the device
	// cannot measure it.
	PeakBytes int64 `json:"peak_bytes"`
}
