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

	bolt "go.etcd.io/bbolt"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/internal/boltfile"
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
	t.Run("RejectsCorruptEditedAndOld", func(t *testing.T) {
		var logBuf bytes.Buffer
		c := open(slog.New(slog.NewTextHandler(&logBuf, nil)))
		cases := []struct {
			name string
			data func(k CacheKey) []byte
		}{
			{"corrupt", func(CacheKey) []byte { return []byte("{not json") }},
			{"old evaluator", func(k CacheKey) []byte {
				old := sampleResult("old")
				old.EvaluatorVersion = "evaluator-0"
				data, _ := encodeEntry(k, old)
				return data
			}},
			{"old format", func(CacheKey) []byte { return []byte(`{"v":1,"result":{}}`) }},
			{"edited accuracy", func(k CacheKey) []byte {
				data, _ := encodeEntry(k, sampleResult("edited"))
				return bytes.Replace(data, []byte(`"accuracy":0.875`), []byte(`"accuracy":0.975`), 1)
			}},
			{"under another key", func(CacheKey) []byte {
				data, _ := encodeEntry(NewCacheKey("elsewhere", "", "", "", Version), sampleResult("elsewhere"))
				return data
			}},
		}
		for _, tc := range cases {
			k := NewCacheKey(tc.name, "", "", "", Version)
			c.putRawForTest(k, tc.data(k))
			if _, ok, err := c.Get(k); ok || err != nil {
				t.Errorf("%s entry returned: ok=%v err=%v", tc.name, ok, err)
			}
		}
		n := int64(len(cases))
		if s := c.Stats(); s.Rejected != n || s.Misses != n {
			t.Errorf("stats %+v, want %d rejected misses", s, n)
		}
		if got := strings.Count(logBuf.String(), "cache entry rejected"); got != int(n) {
			t.Errorf("%d rejections logged, want %d:\n%s", got, n, logBuf.String())
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

// TestBoltCacheEditedOnDisk edits the accuracy of a stored entry in the
// bbolt file itself: the entry is a miss, counted, logged and never
// served, and the recomputed Result is.
func TestBoltCacheEditedOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	c, err := OpenBoltCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := NewCacheKey("a1|x", "t", "d", "dev", Version)
	if err := c.Put(k, sampleResult("a1|x")); err != nil {
		t.Fatal(err)
	}
	c.Close()

	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(resultsBucket))
		v := bytes.Clone(b.Get(k[:]))
		edited := bytes.Replace(v, []byte(`"accuracy":0.875`), []byte(`"accuracy":0.999`), 1)
		if bytes.Equal(v, edited) {
			t.Fatalf("accuracy not found in the stored entry %q", v)
		}
		return b.Put(k[:], edited)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var logBuf bytes.Buffer
	c, err = OpenBoltCache(path, slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, ok, err := c.Get(k); ok || err != nil {
		t.Fatalf("edited entry served: accuracy %v, err %v", r.Accuracy, err)
	}
	if s := c.Stats(); s.Rejected != 1 || s.Misses != 1 || s.Hits != 0 {
		t.Errorf("stats %+v, want one rejected miss", s)
	}
	if !strings.Contains(logBuf.String(), "cache entry rejected") || !strings.Contains(logBuf.String(), "checksum mismatch") {
		t.Errorf("rejection not logged with its reason:\n%s", logBuf.String())
	}
	recomputed := sampleResult("a1|x")
	recomputed.Accuracy = 0.5
	if err := c.Put(k, recomputed); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := c.Get(k); !ok || err != nil || r.Accuracy != 0.5 {
		t.Errorf("recomputed entry: ok=%v err=%v accuracy %v", ok, err, r.Accuracy)
	}
}

// TestCacheSalvager offers a salvager good, edited, stale and foreign
// pairs: it keeps exactly the good entries, byte for byte.
func TestCacheSalvager(t *testing.T) {
	good := NewCacheKey("good", "", "", "", Version)
	goodData, _ := encodeEntry(good, sampleResult("good"))
	edited := NewCacheKey("edited", "", "", "", Version)
	editedData, _ := encodeEntry(edited, sampleResult("edited"))
	editedData = bytes.Replace(editedData, []byte("0.875"), []byte("0.975"), 1)
	stale := NewCacheKey("stale", "", "", "", Version)
	old := sampleResult("stale")
	old.EvaluatorVersion = "evaluator-0"
	staleData, _ := encodeEntry(stale, old)

	s := CacheSalvager()
	for _, p := range []struct {
		name string
		k    CacheKey
		v    []byte
	}{
		{"good", good, goodData}, {"good again (a stale page's copy)", good, goodData},
		{"edited", edited, editedData}, {"stale", stale, staleData},
		{"foreign record", NewCacheKey("x", "", "", "", Version), []byte("not ours")},
	} {
		s.Offer(p.k[:], p.v)
	}
	s.Offer([]byte("short key"), goodData)
	f, err := boltfile.Open(filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := s.Restore(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Recovered != 1 || got.Rejected != 3 {
		t.Errorf("salvaged %+v, want 1 recovered, 3 rejected", got)
	}
	if v, _ := f.Bucket(resultsBucket).Get(good[:]); !bytes.Equal(v, goodData) {
		t.Errorf("restored entry differs: %q", v)
	}
	if n, _ := f.Bucket(resultsBucket).Len(); n != 1 {
		t.Errorf("%d entries restored", n)
	}
}

// FuzzDecodeEntry decodes arbitrary stored bytes: never a panic, and a
// Result only from an entry that verifies under its key.
func FuzzDecodeEntry(f *testing.F) {
	k := NewCacheKey("a", "b", "c", "d", Version)
	good, _ := encodeEntry(k, sampleResult("a"))
	f.Add(good)
	f.Add([]byte(`{"v":1,"result":{}}`))
	f.Add(good[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeEntry(k, data)
		if err != nil {
			return
		}
		if _, err := boltfile.Unseal(entryDomain, k[:], data); err != nil {
			t.Fatalf("decoded an entry that does not verify: %v", err)
		}
		if r.EvaluatorVersion != Version {
			t.Fatalf("decoded a stale entry %q", r.EvaluatorVersion)
		}
	})
}
