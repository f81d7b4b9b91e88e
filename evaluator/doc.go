// Package evaluator turns an architecture into measured numbers: it builds
// the student, scores it on the evaluation data, measures its latency on a
// device and its size, and caches the Result so the same evaluation is never
// run twice.
//
// The cache (Cache; BoltCache on disk, MemCache in memory) is keyed by
// CacheKey: the architecture's canonical key, the digests of the teacher and
// of the data, the builder's options, the evaluator settings and the
// measurement workload (SettingsKey), the device fingerprint and the
// evaluator Version. Every
// entry is sealed with a checksum over its key and content: an entry that
// fails it (edited, damaged, copied under another key), is corrupt or is of
// another version is a miss, logged, never returned. Caches are safe for
// concurrent use; a BoltCache file (internal/boltfile) belongs to one
// process, which shares it with the search's run state (BoltCache.File);
// CacheSalvager keeps the entries that verify when a damaged file is
// repaired.
//
// A failed evaluation says why: ErrBuild (building the student failed; not
// worth retrying) or ErrMeasure (the device failed; the device's error is
// wrapped too, so errors.Is(err, devices.ErrUnavailable) tells a transient
// outage a caller may retry). A Result the cache fails to store is logged
// and kept in memory, and the evaluation succeeds.
//
// A cluster splits an evaluation in two halves done on different
// machines: EvaluateAccuracy (build, score, size) and EvaluateLatency
// (build, measure; the Result names the measuring device's fingerprint),
// neither cached; the coordinator files their combination under KeyOn,
// the cache key naming the device that measured the latency.
//
// NewMetrics creates the evaluator's Prometheus collectors on an injected
// Registerer (evaluations by outcome and source, stage durations, measured
// latencies, measurement errors, device drift); WithMetrics hands one set
// to every Evaluator of a run.
//
// An Evaluator is safe for concurrent use. Building and scoring hold its
// Gate shared; a measurement holds it exclusively only when the device
// measures alone (devices.MeasuresAlone), so measurements on a remote
// device run beside other work.
package evaluator
