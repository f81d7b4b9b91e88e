package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/space"
)

// Stream and subject names.
const (
	// JobsStream is the work-queue stream of evaluation jobs.
	JobsStream = "EDGENAS_JOBS"
	// ResultsStream is the work-queue stream of workers' replies.
	ResultsStream = "EDGENAS_RESULTS"
	// JobsAccuracy is the subject of accuracy jobs, which any worker
	// started without a device name takes.
	JobsAccuracy      = "edgenas.jobs.accuracy"
	jobsLatency       = "edgenas.jobs.latency"
	resultsPrefix     = "edgenas.results."
	fingerprintPrefix = "edgenas.devices."
)

// JobsLatency is the subject of the latency jobs of the named device,
// taken only by workers started with that device name; name "" is the
// run's own device, whose latency jobs workers without a device name
// take.
func JobsLatency(name string) string {
	if name == "" {
		return jobsLatency
	}
	return jobsLatency + "." + name
}

// DeviceFingerprint is the subject on which the workers of the named
// device answer a request with their device's fingerprint (core NATS
// request-reply, one worker answers).
func DeviceFingerprint(name string) string { return fingerprintPrefix + name + ".fingerprint" }

// Results is the subject a run's replies are published on.
func Results(runID string) string { return resultsPrefix + runID }

// Kinds of jobs: an evaluation is split into an accuracy job (build,
// score, size) and a latency job (build, measure).
const (
	KindAccuracy = "accuracy"
	KindLatency  = "latency"
)

// Job is one half of an evaluation a Coordinator asks of a worker. The
// digests say which run it belongs to: a worker whose run differs
// rejects it, and a latency job names the device fingerprint it must be
// measured on.
type Job struct {
	// RunID names the coordinator's run; replies go to Results(RunID).
	RunID string `json:"run_id"`
	// Kind is KindAccuracy or KindLatency.
	Kind string `json:"kind"`
	// Key is the hex cache key the coordinator files the combined Result
	// under.
	Key string `json:"key"`
	// Attempt counts publications of this job (from 1) per key and kind.
	Attempt int `json:"attempt"`
	// Arch is the architecture to evaluate.
	Arch space.Arch `json:"arch"`
	// Full asks for the accuracy on every example (EvaluateFull); the
	// latency is measured the same either way, but Key differs.
	Full bool `json:"full,omitempty"`
	// Teacher, Data, Settings and Builder are the coordinator evaluator's
	// TeacherDigest, DataDigest, SettingsKey and BuilderKey.
	Teacher  string `json:"teacher"`
	Data     string `json:"data"`
	Settings string `json:"settings"`
	Builder  string `json:"builder"`
	// Device is the fingerprint of the device a latency job must be
	// measured on (part of Key); a worker whose device differs rejects it.
	Device string `json:"device,omitempty"`
}

// Kinds of failed replies.
const (
	// FailRejected: the worker's run differs from the job's (digests).
	FailRejected = "rejected"
	// FailBuild: building the student failed (evaluator.ErrBuild).
	FailBuild = "build"
	// FailMeasure: measuring failed (evaluator.ErrMeasure).
	FailMeasure = "measure"
	// FailOther: any other failure.
	FailOther = "other"
)

// Reply is a worker's answer to a Job: its Result, or why it failed. The
// Result of an accuracy job holds no latency and the Result of a latency
// job no accuracy (see evaluator.Evaluator's EvaluateAccuracy and
// EvaluateLatency); its Device is the measuring device's fingerprint.
type Reply struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Attempt int    `json:"attempt"`
	// Full is the job's Full.
	Full bool `json:"full,omitempty"`
	// Worker names the worker that answered.
	Worker string            `json:"worker"`
	Result *evaluator.Result `json:"result,omitempty"`
	// Fail is the kind of failure (Fail…) and Error its message, when
	// Result is nil.
	Fail  string `json:"fail,omitempty"`
	Error string `json:"error,omitempty"`
}

// Evaluations is what a Coordinator and a Worker need of an evaluator:
// cache keys and lookups, the digests that identify a run, and the two
// halves of an evaluation. *evaluator.Evaluator is one.
type Evaluations interface {
	KeyOn(a space.Arch, full bool, fingerprint string) evaluator.CacheKey
	Lookup(k evaluator.CacheKey) (evaluator.Result, bool, error)
	Store(k evaluator.CacheKey, r evaluator.Result)
	TeacherDigest() string
	DataDigest() string
	SettingsKey() string
	BuilderKey() string
	Fingerprint() string
	EvaluateAccuracy(ctx context.Context, a space.Arch, full bool) (evaluator.Result, error)
	EvaluateLatency(ctx context.Context, a space.Arch) (evaluator.Result, error)
}

var _ Evaluations = (*evaluator.Evaluator)(nil)

// DecodeJob decodes and checks a job message.
func DecodeJob(data []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return Job{}, fmt.Errorf("job: %w", err)
	}
	if err := j.validate(); err != nil {
		return Job{}, fmt.Errorf("job: %w", err)
	}
	return j, nil
}

// validate checks a decoded Job.
func (j *Job) validate() error {
	var errs []error
	if _, err := parseKey(j.Key); err != nil {
		errs = append(errs, err)
	}
	if j.RunID == "" {
		errs = append(errs, errors.New("no run_id"))
	}
	switch j.Kind {
	case KindAccuracy:
	case KindLatency:
		if j.Device == "" {
			errs = append(errs, errors.New("latency job without the device fingerprint to measure on"))
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q, want %s or %s", j.Kind, KindAccuracy, KindLatency))
	}
	if j.Attempt < 1 {
		errs = append(errs, fmt.Errorf("attempt %d, want ≥ 1", j.Attempt))
	}
	if len(j.Arch.Layers) == 0 {
		errs = append(errs, errors.New("arch: no layers"))
	}
	return errors.Join(errs...)
}

// DecodeReply decodes and checks a reply message: its key and kind, and
// that it holds a Result of the current evaluator version for the
// architecture it names, or a failure.
func DecodeReply(data []byte) (Reply, evaluator.CacheKey, error) {
	var rep Reply
	if err := json.Unmarshal(data, &rep); err != nil {
		return Reply{}, evaluator.CacheKey{}, fmt.Errorf("reply: %w", err)
	}
	var errs []error
	key, err := parseKey(rep.Key)
	if err != nil {
		errs = append(errs, err)
	}
	if rep.Kind != KindAccuracy && rep.Kind != KindLatency {
		errs = append(errs, fmt.Errorf("kind %q, want %s or %s", rep.Kind, KindAccuracy, KindLatency))
	}
	if rep.Attempt < 1 {
		errs = append(errs, fmt.Errorf("attempt %d, want ≥ 1", rep.Attempt))
	}
	switch r := rep.Result; {
	case r == nil && rep.Fail == "":
		errs = append(errs, errors.New("neither result nor fail"))
	case r == nil:
	case r.EvaluatorVersion != evaluator.Version:
		errs = append(errs, fmt.Errorf("result of evaluator version %q, want %q", r.EvaluatorVersion, evaluator.Version))
	case len(r.Arch.Layers) == 0 || r.Key != r.Arch.Key():
		errs = append(errs, fmt.Errorf("result key %q does not name its architecture", r.Key))
	case rep.Kind == KindLatency && r.Device == "":
		errs = append(errs, errors.New("latency result without the measuring device's fingerprint"))
	}
	if err := errors.Join(errs...); err != nil {
		return Reply{}, evaluator.CacheKey{}, fmt.Errorf("reply: %w", err)
	}
	return rep, key, nil
}

// parseKey parses a hex cache key.
func parseKey(k string) (evaluator.CacheKey, error) {
	var key evaluator.CacheKey
	b, err := hex.DecodeString(k)
	if err != nil || len(b) != len(key) {
		return key, fmt.Errorf("key %q, want %d hex digits", k, 2*len(key))
	}
	copy(key[:], b)
	return key, nil
}

// combine merges the Results of a's accuracy and latency jobs into the
// Result one evaluation on a single machine would give: the accuracy
// fields, size and parameters of acc, the measurement of lat (Device
// names the device that measured it), and the stages of both (Build the
// sum of the two builds).
func combine(acc, lat evaluator.Result) evaluator.Result {
	r := acc
	r.Latency, r.PeakBytes, r.FLOPs, r.Device = lat.Latency, lat.PeakBytes, lat.FLOPs, lat.Device
	r.Stages.Build += lat.Stages.Build
	r.Stages.Latency = lat.Stages.Latency
	return r
}

// ensureStreams creates (or updates) the jobs and results streams;
// dedupe is their duplicate window.
func ensureStreams(ctx context.Context, js jetstream.JetStream, dedupe time.Duration) error {
	for _, sc := range []jetstream.StreamConfig{
		{Name: JobsStream, Subjects: []string{"edgenas.jobs.>"}},
		{Name: ResultsStream, Subjects: []string{resultsPrefix + ">"}},
	} {
		sc.Retention = jetstream.WorkQueuePolicy
		sc.Storage = jetstream.FileStorage
		sc.Duplicates = dedupe
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
	}
	return nil
}
