// Package boltfile owns the bbolt file of a run directory (cache.db): the
// one package that imports go.etcd.io/bbolt. The evaluator's cache and the
// search's run state share one open File, because bbolt locks its file to
// one process.
//
// Open reads and checks the whole file, holding its lock, before bbolt
// touches it (bbolt panics, or faults on unmapped memory, on some damaged
// pages; its own Tx.Check reads pages the same way): a damaged file is an
// error wrapping ErrDamaged that names the damage and the way out, never a
// crash. The check is a walk of the tree as bbolt reads it, written
// against the file layout of bbolt v1.5.0 (layout.go) with every offset
// bounds-checked. Repair moves a damaged file aside and salvages, page by page and
// without trusting the file's tree or freelist, every record that still
// verifies: records are sealed (Seal) with a checksum over their domain,
// key and payload, so a raw scan can tell a good record from garbage.
//
// A File and its Buckets are safe for concurrent use by the goroutines of
// one process; writes are serialised and durable when they return.
package boltfile
