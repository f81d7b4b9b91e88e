// Package evaluator turns an architecture into measured numbers: it builds
// the student, scores it on the evaluation data, measures its latency on a
// device and its size, and caches the Result so the same evaluation is never
// run twice.
//
// The cache (Cache; BoltCache on disk, MemCache in memory) is keyed by
// CacheKey: the architecture's canonical key, the digests of the teacher and
// of the data, the device fingerprint and the evaluator Version. An entry
// that is corrupt or of another version is a miss, logged, never returned.
// Caches are safe for concurrent use; a BoltCache file belongs to one
// process.
package evaluator
