package evaluator

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/space"
)

func sampleResult(key string) Result {
	return Result{
		Key:      key,
		Arch:     space.Arch{Layers: []space.LayerGene{{Source: 0, Heads: 2, FFN: 512, Bits: 8}}, EmbeddingBits: 32, SeqLen: 64},
		Accuracy: 0.875, Metric: "accuracy", Examples: 256,
		Latency:   devices.Measurement{Stats: devices.Stats{Runs: 7, Median: 3 * time.Millisecond}, Attempts: 1},
		SizeBytes: 1 << 20, Params: 250000, FLOPs: 123456789,
		EvaluatorVersion: Version, Device: "fake/x",
	}
}

// rawPutter is a cache whose stored bytes a test can set directly.
type rawPutter interface {
	Cache
	putRawForTest(k CacheKey, data []byte)
}

func (c *MemCache) putRawForTest(k CacheKey, data []byte) { c.PutRaw(k, data) }
func (c *BoltCache) putRawForTest(k CacheKey, data []byte) {
	if err := c.putRaw(k, data); err != nil {
		panic(err)
	}
}

// cacheConformance is the behaviour every Cache must show.
func cacheConformance(t *testing.T, open func(log *slog.Logger) rawPutter) {
	t.Run("MissPutHit", func(t *testing.T) {
		c := open(nil)
		k := NewCacheKey("a1|x", "t", "d", "dev", Version)
		if _, ok, err := c.Get(k); ok || err != nil {
			t.Fatalf("empty cache: ok=%v err=%v", ok, err)
		}
		want := sampleResult("a1|x")
		if err := c.Put(k, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(k)
		if !ok || err != nil {
			t.Fatalf("after Put: ok=%v err=%v", ok, err)
		}
		if got.Key != want.Key || got.Accuracy != want.Accuracy || got.Latency != want.Latency || !got.Arch.Equal(want.Arch) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if s := c.Stats(); s.Hits != 1 || s.Misses != 1 || s.Entries != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("RejectsCorruptAndOld", func(t *testing.T) {
		var logBuf bytes.Buffer
		c := open(slog.New(slog.NewTextHandler(&logBuf, nil)))
		old := sampleResult("old")
		old.EvaluatorVersion = "evaluator-0"
		oldData, _ := encodeEntry(old)
		for name, data := range map[string][]byte{
			"corrupt":       []byte("{not json"),
			"old evaluator": oldData,
			"old format":    []byte(`{"v":0,"result":{}}`),
		} {
			k := NewCacheKey(name, "", "", "", Version)
			c.putRawForTest(k, data)
			if _, ok, err := c.Get(k); ok || err != nil {
				t.Errorf("%s entry returned: ok=%v err=%v", name, ok, err)
			}
		}
		if s := c.Stats(); s.Rejected != 3 || s.Misses != 3 {
			t.Errorf("stats %+v, want 3 rejected misses", s)
		}
		if n := strings.Count(logBuf.String(), "cache entry rejected"); n != 3 {
			t.Errorf("%d rejections logged, want 3:\n%s", n, logBuf.String())
		}
		k := NewCacheKey("corrupt", "", "", "", Version)
		if err := c.Put(k, sampleResult("new")); err != nil {
			t.Fatal(err)
		}
		if r, ok, _ := c.Get(k); !ok || r.Key != "new" {
			t.Errorf("recomputed entry not served: %v %+v", ok, r)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := open(nil)
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					k := NewCacheKey(fmt.Sprint(i), "", "", "", Version)
					if err := c.Put(k, sampleResult(fmt.Sprint(i))); err != nil {
						t.Error(err)
					}
					if r, ok, err := c.Get(k); err != nil || !ok || r.Key != fmt.Sprint(i) {
						t.Errorf("get %d: %v %v %+v", i, ok, err, r.Key)
					}
				}
			}()
		}
		wg.Wait()
		if s := c.Stats(); s.Entries != 20 || s.Hits != 160 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestMemCacheConformance(t *testing.T) {
	cacheConformance(t, func(log *slog.Logger) rawPutter { return &MemCache{Log: log} })
}

func TestBoltCacheConformance(t *testing.T) {
	cacheConformance(t, func(log *slog.Logger) rawPutter {
		c, err := OpenBoltCache(filepath.Join(t.TempDir(), "cache.db"), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	})
}

func TestBoltCachePersistsAndLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	c, err := OpenBoltCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := NewCacheKey("a", "b", "c", "d", Version)
	if err := c.Put(k, sampleResult("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBoltCache(path, nil); err == nil || !strings.Contains(err.Error(), "another process holds it") {
		t.Errorf("second open: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = OpenBoltCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, ok, err := c.Get(k); !ok || err != nil || r.Key != "a" {
		t.Fatalf("after reopen: %v %v %+v", ok, err, r)
	}
	if _, err := OpenBoltCache(filepath.Join(t.TempDir(), "missing", "dir", "c.db"), nil); err == nil {
		t.Error("opened a cache in a missing directory")
	}
}

func TestCacheKey(t *testing.T) {
	base := NewCacheKey("a", "t", "d", "f", "v")
	for name, k := range map[string]CacheKey{
		"arch": NewCacheKey("b", "t", "d", "f", "v"), "teacher": NewCacheKey("a", "u", "d", "f", "v"),
		"data": NewCacheKey("a", "t", "e", "f", "v"), "device": NewCacheKey("a", "t", "d", "g", "v"),
		"version": NewCacheKey("a", "t", "d", "f", "w"), "boundary": NewCacheKey("at", "", "d", "f", "v"),
	} {
		if k == base {
			t.Errorf("changing the %s does not change the key", name)
		}
	}
	if NewCacheKey("a", "t", "d", "f", "v") != base {
		t.Error("key not deterministic")
	}
}

func BenchmarkBoltCacheGet(b *testing.B) {
	c, err := OpenBoltCache(filepath.Join(b.TempDir(), "cache.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	k := NewCacheKey("a", "b", "c", "d", Version)
	if err := c.Put(k, sampleResult("a")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok, err := c.Get(k); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
