// Package evaluator turns an architecture into measured numbers: it builds
// the student, scores it on the evaluation data, measures its latency on a
// device and its size, and caches the Result so the same evaluation is never
// run twice.
//
// The cache (Cache; BoltCache on disk, MemCache in memory) is keyed by
// CacheKey: the architecture's canonical key, the digests of the teacher and
// of the data, the device fingerprint and the evaluator Version. Every
// entry is sealed with a checksum over its key and content: an entry that
// fails it (edited, damaged, copied under another key), is corrupt or is of
// another version is a miss, logged, never returned. Caches are safe for
// concurrent use; a BoltCache file (internal/boltfile) belongs to one
// process, which shares it with the search's run state (BoltCache.File);
// CacheSalvager keeps the entries that verify when a damaged file is
// repaired.
package evaluator
