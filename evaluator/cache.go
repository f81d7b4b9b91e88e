package evaluator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/edgenas/edgenas/internal/boltfile"
)

// Cache stores evaluation Results by CacheKey. Implementations are safe for
// concurrent use. Get never returns a Result it cannot vouch for: an
// entry whose checksum does not verify (edited, damaged, or stored under
// another key), or of an old version, is a miss.
type Cache interface {
	// Get returns the Result stored under k and whether there was one.
	Get(k CacheKey) (Result, bool, error)
	// Put stores r under k, replacing any earlier entry.
	Put(k CacheKey, r Result) error
	// Stats reports hits, misses and entries.
	Stats() CacheStats
}

// CacheStats counts cache traffic since the cache was opened.
type CacheStats struct {
	Hits, Misses int64
	// Rejected counts entries found but not returned (failing their
	// checksum, corrupt or of an old version); each is also a miss.
	Rejected int64
	// Entries is the number of stored Results.
	Entries int
}

// entryVersion is the version of the stored entry format; entries of any
// other version are recomputed. Version 2 seals every entry with a
// checksum over its key and content.
const entryVersion = 2

// entryDomain names cache entries in their seal (see boltfile.Seal).
const entryDomain = "edgenas/evaluator-result"

// entry is what the cache stores per key, sealed under the key.
type entry struct {
	V      int    `json:"v"`
	Result Result `json:"result"`
}

// encodeEntry and decodeEntry are the one stored form shared by every
// cache and by the salvage of a damaged file.
func encodeEntry(k CacheKey, r Result) ([]byte, error) {
	data, err := json.Marshal(entry{V: entryVersion, Result: r})
	if err != nil {
		return nil, err
	}
	return boltfile.Seal(entryDomain, k[:], data), nil
}

// errStale marks an entry that decodes but may not be returned.
var errStale = errors.New("stale cache entry")

func decodeEntry(k CacheKey, stored []byte) (Result, error) {
	data, err := boltfile.Unseal(entryDomain, k[:], stored)
	if err != nil {
		return Result{}, fmt.Errorf("corrupt cache entry: %w", err)
	}
	var e entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Result{}, fmt.Errorf("corrupt cache entry: %w", err)
	}
	if e.V != entryVersion {
		return Result{}, fmt.Errorf("%w: entry format %d, want %d", errStale, e.V, entryVersion)
	}
	if e.Result.EvaluatorVersion != Version {
		return Result{}, fmt.Errorf("%w: evaluator %q, want %q", errStale, e.Result.EvaluatorVersion, Version)
	}
	return e.Result, nil
}

// counters is the traffic accounting every cache shares.
type counters struct{ hits, misses, rejected atomic.Int64 }

func (c *counters) stats(entries int) CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Rejected: c.rejected.Load(), Entries: entries}
}

// lookup turns a stored value (nil when absent) into Get's answer, counting
// and logging.
func (c *counters) lookup(log *slog.Logger, k CacheKey, data []byte) (Result, bool) {
	if data == nil {
		c.misses.Add(1)
		return Result{}, false
	}
	r, err := decodeEntry(k, data)
	if err != nil {
		c.misses.Add(1)
		c.rejected.Add(1)
		log.Warn("cache entry rejected, recomputing", "key", fmt.Sprintf("%x", k[:8]), "reason", err)
		return Result{}, false
	}
	c.hits.Add(1)
	return r, true
}

// MemCache is an in-memory Cache (the fake the tests use, and a cache for
// runs that need none on disk). The zero value is ready to use.
type MemCache struct {
	// Log receives rejected entries; nil discards.
	Log *slog.Logger

	mu sync.Mutex
	m  map[CacheKey][]byte
	counters
}

var _ Cache = (*MemCache)(nil)

// Get implements Cache.
func (c *MemCache) Get(k CacheKey) (Result, bool, error) {
	c.mu.Lock()
	data := c.m[k]
	c.mu.Unlock()
	r, ok := c.lookup(logger(c.Log), k, data)
	return r, ok, nil
}

// Put implements Cache.
func (c *MemCache) Put(k CacheKey, r Result) error {
	data, err := encodeEntry(k, r)
	if err != nil {
		return err
	}
	c.PutRaw(k, data)
	return nil
}

// PutRaw stores raw bytes under k, as a damaged or old file would hold them;
// tests use it.
func (c *MemCache) PutRaw(k CacheKey, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[CacheKey][]byte{}
	}
	c.m[k] = data
}

// Stats implements Cache.
func (c *MemCache) Stats() CacheStats {
	c.mu.Lock()
	n := len(c.m)
	c.mu.Unlock()
	return c.stats(n)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// resultsBucket is the bucket of cached Results in the bbolt file.
const resultsBucket = "results"

// BoltCache is a Cache in a bbolt file (see internal/boltfile). bbolt
// locks the file to one process: only the process running a search opens
// its cache.
type BoltCache struct {
	file    *boltfile.File
	results *boltfile.Bucket
	log     *slog.Logger
	counters
}

var _ Cache = (*BoltCache)(nil)

// OpenBoltCache opens (creating if needed) the cache file at path. It
// waits at most a second for another process's lock and then fails saying
// so; a damaged file fails with an error wrapping boltfile.ErrDamaged that
// says how to repair it. log receives rejected entries; nil discards.
func OpenBoltCache(path string, log *slog.Logger) (*BoltCache, error) {
	f, err := boltfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	return &BoltCache{file: f, results: f.Bucket(resultsBucket), log: logger(log)}, nil
}

// File returns the open bbolt file, so the search can keep its run state
// in it (search.NewFileStore): one process, one open handle.
func (c *BoltCache) File() *boltfile.File { return c.file }

// Get implements Cache.
func (c *BoltCache) Get(k CacheKey) (Result, bool, error) {
	data, err := c.results.Get(k[:])
	if err != nil {
		return Result{}, false, fmt.Errorf("cache get: %w", err)
	}
	r, ok := c.lookup(c.log, k, data)
	return r, ok, nil
}

// Put implements Cache; the write is durable when Put returns.
func (c *BoltCache) Put(k CacheKey, r Result) error {
	data, err := encodeEntry(k, r)
	if err != nil {
		return err
	}
	return c.putRaw(k, data)
}

func (c *BoltCache) putRaw(k CacheKey, data []byte) error {
	return c.results.Put(map[string][]byte{string(k[:]): data})
}

// Stats implements Cache.
func (c *BoltCache) Stats() CacheStats {
	n, _ := c.results.Len() // a read error leaves the count at 0; Get reports it
	return c.stats(n)
}

// Close closes the file, and with it anything else built on it.
func (c *BoltCache) Close() error { return c.file.Close() }

// CacheSalvager returns the boltfile.Salvager of cache entries: a repair
// keeps every entry whose checksum verifies and whose version is current,
// and writes them back under their keys.
func CacheSalvager() boltfile.Salvager {
	return &cacheSalvager{kept: map[string][]byte{}, bad: map[string]bool{}}
}

type cacheSalvager struct {
	kept map[string][]byte
	bad  map[string]bool
}

func (s *cacheSalvager) Offer(key, value []byte) {
	if !boltfile.Sealed(entryDomain, value) {
		return
	}
	var k CacheKey
	if len(key) != len(k) {
		s.bad[string(key)] = true
		return
	}
	copy(k[:], key)
	if _, err := decodeEntry(k, value); err != nil {
		s.bad[string(key)] = true
		return
	}
	s.kept[string(key)] = bytes.Clone(value)
}

func (s *cacheSalvager) Restore(f *boltfile.File) (boltfile.Salvaged, error) {
	out := boltfile.Salvaged{What: "cache entries", Recovered: len(s.kept)}
	for k := range s.bad {
		if s.kept[k] == nil {
			out.Rejected++
		}
	}
	if out.Rejected > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d entries did not verify and will be recomputed when needed", out.Rejected))
	}
	if len(s.kept) == 0 {
		return out, nil
	}
	return out, f.Bucket(resultsBucket).Put(s.kept)
}
