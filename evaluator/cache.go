package evaluator

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Cache stores evaluation Results by CacheKey. Implementations are safe for
// concurrent use. Get never returns a Result it cannot vouch for: a corrupt
// or old-version entry is a miss.
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
	// Rejected counts entries found but not returned (corrupt or of an old
	// version); each is also a miss.
	Rejected int64
	// Entries is the number of stored Results.
	Entries int
}

// entryVersion is the version of the stored entry format; entries of any
// other version are recomputed.
const entryVersion = 1

// entry is what the cache stores per key.
type entry struct {
	V      int    `json:"v"`
	Result Result `json:"result"`
}

// encodeEntry and decodeEntry are the one stored form shared by every cache.
func encodeEntry(r Result) ([]byte, error) { return json.Marshal(entry{V: entryVersion, Result: r}) }

// errStale marks an entry that decodes but may not be returned.
var errStale = errors.New("stale cache entry")

func decodeEntry(data []byte) (Result, error) {
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
	r, err := decodeEntry(data)
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
	data, err := encodeEntry(r)
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

// resultsBucket is the bbolt bucket of cached Results.
var resultsBucket = []byte("results")

// BoltCache is a Cache in a bbolt file. bbolt locks the file to one
// process: only the process running a search opens its cache.
type BoltCache struct {
	db  *bolt.DB
	log *slog.Logger
	counters
}

var _ Cache = (*BoltCache)(nil)

// OpenBoltCache opens (creating if needed) the cache file at path. It
// waits at most a second for another process's lock and then fails saying
// so. log receives rejected entries; nil discards.
func OpenBoltCache(path string, log *slog.Logger) (*BoltCache, error) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open cache %s: another process holds it (only the process running a search may open its cache)", path)
		}
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(resultsBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	return &BoltCache{db: db, log: logger(log)}, nil
}

// DB returns the underlying database, so the search can keep its run state
// in the same file under its own buckets.
func (c *BoltCache) DB() *bolt.DB { return c.db }

// Get implements Cache.
func (c *BoltCache) Get(k CacheKey) (Result, bool, error) {
	var data []byte
	err := c.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(resultsBucket).Get(k[:]); v != nil {
			data = append([]byte(nil), v...) // v is valid only inside the transaction
		}
		return nil
	})
	if err != nil {
		return Result{}, false, fmt.Errorf("cache get: %w", err)
	}
	r, ok := c.lookup(c.log, k, data)
	return r, ok, nil
}

// Put implements Cache; the write is durable when Put returns.
func (c *BoltCache) Put(k CacheKey, r Result) error {
	data, err := encodeEntry(r)
	if err != nil {
		return err
	}
	return c.putRaw(k, data)
}

func (c *BoltCache) putRaw(k CacheKey, data []byte) error {
	return c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(resultsBucket).Put(k[:], data) })
}

// Stats implements Cache.
func (c *BoltCache) Stats() CacheStats {
	n := 0
	_ = c.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(resultsBucket).Stats().KeyN
		return nil
	})
	return c.stats(n)
}

// Close closes the file.
func (c *BoltCache) Close() error { return c.db.Close() }
