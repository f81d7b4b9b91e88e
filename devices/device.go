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
// device never overlap (a device serializes them), and each brackets its
// timed work with StartMeasure while it holds that serialization, so a
// caller can watch them (see Trace). A device that cannot be reached or
// does not answer in time returns an error wrapping ErrUnavailable. A
// device whose measurements need the machine quiet says so by
// implementing Exclusive.
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

// ErrUnavailable marks a measurement that failed because the device is
// gone or unreachable (a remote agent down, a timeout): the same
// measurement may succeed later, so callers may retry it. Devices return
// it wrapped with what failed.
var ErrUnavailable = errors.New("device unavailable")

// Exclusive is implemented by a device that declares whether its
// measurements need the machine they run on to be quiet: the local device
// times models on the CPUs the rest of the process uses, so nothing else
// of the process may run while it measures; a remote device measures
// elsewhere and does not.
type Exclusive interface {
	// MeasuresAlone reports whether nothing else of this process may run
	// while the device measures.
	MeasuresAlone() bool
}

// MeasuresAlone reports whether d declares, through Exclusive, that it
// measures alone; a device that does not implement Exclusive does not.
func MeasuresAlone(d Device) bool {
	e, ok := d.(Exclusive)
	return ok && e.MeasuresAlone()
}

// Trace holds hooks a device calls around the timed work of every
// measurement (for the local device its reference and timed runs; for a
// remote one, from sending the request to receiving the answer), in the
// manner of net/http/httptrace. Either hook may be nil. Hooks run on the
// measuring goroutine while the device holds its serialization, so they
// must not call back into the device.
type Trace struct {
	// MeasureStart is called when a measurement's timed work begins.
	MeasureStart func()
	// MeasureDone is called when it ends, whether or not it succeeded.
	MeasureDone func()
}

type traceKey struct{}

// WithTrace returns a copy of ctx carrying t: measurements made with it
// report to t's hooks.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// ContextTrace returns the Trace ctx carries, or nil.
func ContextTrace(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// StartMeasure calls the MeasureStart hook of ctx's Trace, if any, and
// returns the function that calls its MeasureDone hook. A device brackets
// the timed work of each measurement with it:
//
//	defer devices.StartMeasure(ctx)()
func StartMeasure(ctx context.Context) (done func()) {
	t := ContextTrace(ctx)
	if t == nil {
		return func() {}
	}
	if t.MeasureStart != nil {
		t.MeasureStart()
	}
	if t.MeasureDone == nil {
		return func() {}
	}
	return t.MeasureDone
}

// MinRuns is the smallest number of timed runs a measurement may take.
const MinRuns = 7

// Upper bounds of a Workload: far above any useful value, low enough that
// a typo cannot exhaust memory or run for days.
const (
	MaxBatch   = 1024
	MaxThreads = 256
	MaxWarmup  = 1000
	MaxRuns    = 10000
)

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
	if w.Batch < 1 || w.Batch > MaxBatch {
		bad("batch", "%d, want 1..%d", w.Batch, MaxBatch)
	}
	switch {
	case c != nil && (w.SeqLen < 1 || w.SeqLen > c.MaxPositionEmbeddings):
		bad("seq_len", "%d, want 1..%d (the model's max_position_embeddings)", w.SeqLen, c.MaxPositionEmbeddings)
	case w.SeqLen < 1:
		bad("seq_len", "%d, want ≥ 1", w.SeqLen)
	}
	if w.Threads < 1 || w.Threads > MaxThreads {
		bad("threads", "%d, want 1..%d", w.Threads, MaxThreads)
	}
	if w.Warmup < 0 || w.Warmup > MaxWarmup {
		bad("warmup", "%d, want 0..%d", w.Warmup, MaxWarmup)
	}
	if w.Runs < MinRuns || w.Runs > MaxRuns {
		bad("runs", "%d, want %d..%d (latency is the median of at least %d timed runs)", w.Runs, MinRuns, MaxRuns, MinRuns)
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
