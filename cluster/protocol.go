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
	// JobsAny is the subject of jobs any worker may take.
	JobsAny          = "edgenas.jobs.any"
	jobsDevicePrefix = "edgenas.jobs.device."
	resultsPrefix    = "edgenas.results."
)

// JobsDevice is the subject of jobs for workers of the named device.
func JobsDevice(name string) string { return jobsDevicePrefix + name }

// Results is the subject a run's replies are published on.
func Results(runID string) string { return resultsPrefix + runID }

// Job is one evaluation a Coordinator asks of a worker. The digests say
// which run it belongs to: a worker whose run differs rejects it.
type Job struct {
	// RunID names the coordinator's run; replies go to Results(RunID).
	RunID string `json:"run_id"`
	// Key is the hex cache key the coordinator files the Result under.
	Key string `json:"key"`
	// Attempt counts publications of this evaluation (from 1).
	Attempt int `json:"attempt"`
	// Arch is the architecture to evaluate.
	Arch space.Arch `json:"arch"`
	// Full asks for the evaluation on every example (EvaluateFull).
	Full bool `json:"full,omitempty"`
	// Teacher, Data, Settings and Builder are the coordinator evaluator's
	// TeacherDigest, DataDigest, SettingsKey and BuilderKey.
	Teacher  string `json:"teacher"`
	Data     string `json:"data"`
	Settings string `json:"settings"`
	Builder  string `json:"builder"`
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

// Reply is a worker's answer to a Job: its Result, or why it failed.
type Reply struct {
	Key     string `json:"key"`
	Attempt int    `json:"attempt"`
	// Worker names the worker that answered.
	Worker string            `json:"worker"`
	Result *evaluator.Result `json:"result,omitempty"`
	// Fail is the kind of failure (Fail…) and Error its message, when
	// Result is nil.
	Fail  string `json:"fail,omitempty"`
	Error string `json:"error,omitempty"`
}

// Evaluations is what a Coordinator and a Worker need of an evaluator:
// cache keys and lookups, the digests that identify a run, and
// evaluation. *evaluator.Evaluator is one.
type Evaluations interface {
	Key(a space.Arch, full bool) evaluator.CacheKey
	Lookup(k evaluator.CacheKey) (evaluator.Result, bool, error)
	Store(k evaluator.CacheKey, r evaluator.Result)
	TeacherDigest() string
	DataDigest() string
	SettingsKey() string
	BuilderKey() string
	Fingerprint() string
	Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error)
	EvaluateFull(ctx context.Context, a space.Arch) (evaluator.Result, error)
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
	if b, err := hex.DecodeString(j.Key); err != nil || len(b) != len(evaluator.CacheKey{}) {
		errs = append(errs, fmt.Errorf("key %q, want %d hex digits", j.Key, 2*len(evaluator.CacheKey{})))
	}
	if j.RunID == "" {
		errs = append(errs, errors.New("no run_id"))
	}
	if j.Attempt < 1 {
		errs = append(errs, fmt.Errorf("attempt %d, want ≥ 1", j.Attempt))
	}
	if len(j.Arch.Layers) == 0 {
		errs = append(errs, errors.New("arch: no layers"))
	}
	return errors.Join(errs...)
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
