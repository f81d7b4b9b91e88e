package evaluator

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/space"
)

// Version names the revision of the evaluation procedure: how a student is
// built, scored and measured. It is part of every cache key and stored in
// every Result; raise it whenever a change makes old Results incomparable.
const Version = "evaluator-1"

// Result is everything one evaluation measured about an architecture.
type Result struct {
	// Key is the architecture's canonical key (space.Arch.Key).
	Key string `json:"key"`
	// Arch is the evaluated architecture.
	Arch space.Arch `json:"arch"`
	// Accuracy is the score on the evaluation data under Metric.
	Accuracy float64 `json:"accuracy"`
	// Metric names the score: "accuracy", "f1", "mcc", or, without labels,
	// "teacher_agreement".
	Metric string `json:"metric"`
	// Examples is how many examples the score was computed on.
	Examples int `json:"examples"`
	// TeacherKL is the mean KL divergence of the student's predictions from
	// the teacher's, when computed.
	TeacherKL float64 `json:"teacher_kl,omitempty"`
	// Latency is the device's measurement of the student.
	Latency devices.Measurement `json:"latency"`
	// SizeBytes is the size of the student's saved model file.
	SizeBytes int64 `json:"size_bytes"`
	// Params is the student's number of parameters.
	Params int64 `json:"params"`
	// PeakBytes is the measured peak memory of one forward pass.
	PeakBytes int64 `json:"peak_bytes"`
	// FLOPs of one forward pass at the measured workload.
	FLOPs int64 `json:"flops"`
	// Stages is the wall time spent per stage of the evaluation.
	Stages Stages `json:"stages"`
	// EvaluatorVersion is Version when the Result was computed.
	EvaluatorVersion string `json:"evaluator_version"`
	// Device is the fingerprint of the device that measured the latency.
	Device string `json:"device"`
}

// Stages is the wall time of each stage of one evaluation.
type Stages struct {
	Build    time.Duration `json:"build_ns"`
	Accuracy time.Duration `json:"accuracy_ns"`
	Latency  time.Duration `json:"latency_ns"`
	Size     time.Duration `json:"size_ns"`
}

// CacheKey is the identity of one evaluation: the SHA-256 of the
// architecture key, the teacher's and the data's digests, the device
// fingerprint and the evaluator version, each length-prefixed so no two
// different tuples hash the same input.
type CacheKey [sha256.Size]byte

// NewCacheKey computes the CacheKey of an evaluation.
func NewCacheKey(archKey, teacherDigest, dataDigest, deviceFingerprint, version string) CacheKey {
	h := sha256.New()
	for _, s := range []string{archKey, teacherDigest, dataDigest, deviceFingerprint, version} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var k CacheKey
	h.Sum(k[:0])
	return k
}
