// Package boltfile owns the bbolt file of a run directory (cache.db): the
// one package that imports go.etcd.io/bbolt. The evaluator's cache and the
// search's run state share one open File, because bbolt locks its file to
// one process.
//
// Open checks the whole file before bbolt touches it (bbolt panics, or
// faults on unmapped memory, on some damaged pages): a damaged file is an
// error wrapping ErrDamaged that names the damage and the way out, never a
// crash. Repair moves a damaged file aside and salvages, page by page and
// without trusting the file's tree or freelist, every record that still
// verifies: records are sealed (Seal) with a checksum over their domain,
// key and payload, so a raw scan can tell a good record from garbage.
//
// A File and its Buckets are safe for concurrent use by the goroutines of
// one process; writes are serialised and durable when they return.
package boltfile
