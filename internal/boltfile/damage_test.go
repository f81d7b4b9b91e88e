package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testDomain = "boltfile-test"

// testSalvager keeps the verified testDomain records, as the evaluator's
// and the search's salvagers do theirs.
type testSalvager struct {
	kept     map[string][]byte
	rejected map[string]bool
}

func (s *testSalvager) Offer(k, v []byte) {
	if !Sealed(testDomain, v) {
		return
	}
	if s.kept == nil {
		s.kept, s.rejected = map[string][]byte{}, map[string]bool{}
	}
	if _, err := Unseal(testDomain, k, v); err != nil {
		s.rejected[string(k)] = true
		return
	}
	s.kept[string(k)] = bytes.Clone(v)
}

func (s *testSalvager) Restore(f *File) (Salvaged, error) {
	out := Salvaged{What: "test records", Recovered: len(s.kept)}
	for k := range s.rejected {
		if s.kept[k] == nil {
			out.Rejected++
		}
	}
	return out, f.Bucket("t").Put(s.kept)
}

// buildFile writes n records of about 300 B (and one spanning overflow
// pages, and an inline bucket) in several transactions, so the file has
// branch pages, freed pages and overflow, and returns every record.
func buildFile(t *testing.T, path string, n int) map[string][]byte {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all := map[string][]byte{}
	batch := map[string][]byte{}
	for i := range n {
		k := fmt.Sprintf("key-%05d", i)
		payload := []byte(strings.Repeat(fmt.Sprintf("payload %d ", i), 25))
		if i == n/2 {
			payload = bytes.Repeat([]byte("big"), 4000) // three pages of overflow
		}
		batch[k] = Seal(testDomain, []byte(k), payload)
		all[k] = batch[k]
		if len(batch) == 20 || i == n-1 {
			if err := f.Bucket("t").Put(batch); err != nil {
				t.Fatal(err)
			}
			batch = map[string][]byte{}
		}
	}
	if err := f.Bucket("small").Put(map[string][]byte{"inline": Seal(testDomain, []byte("inline"), []byte("in an inline bucket"))}); err != nil {
		t.Fatal(err)
	}
	all["inline"] = Seal(testDomain, []byte("inline"), []byte("in an inline bucket"))
	return all
}

// copies maps every record key to the pages (with their overflow) that
// hold a copy of it, live or stale, in the undamaged file data.
func copies(data []byte, ps int) map[string][][2]uint64 {
	out := map[string][][2]uint64{}
	scan(data, ps, func(id uint64, k, _ []byte) {
		span := [2]uint64{id, id + 1 + uint64(readHeader(data[id*uint64(ps):]).overflow)}
		out[string(k)] = append(out[string(k)], span)
	})
	return out
}

// openNoPanic opens path, failing the test (not crashing it) on a panic.
func openNoPanic(t *testing.T, path string) (f *File, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Open panicked: %v", p)
		}
	}()
	return Open(path)
}

func TestDamagedFile(t *testing.T) {
	dir := t.TempDir()
	pristine := filepath.Join(dir, "pristine.db")
	records := buildFile(t, pristine, 240)
	data, err := os.ReadFile(pristine)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	if m, err := check(data); err != nil {
		t.Fatalf("pristine file fails the check: %v", err)
	} else {
		ps = int(m.pageSize)
	}
	where := copies(data, ps)
	for k := range records {
		if len(where[k]) == 0 {
			t.Fatalf("the scan does not find %s in the undamaged file", k)
		}
	}
	pages := len(data) / ps
	rng := rand.New(rand.NewPCG(11, 4))
	randomPages := func(n int) []int {
		var out []int
		for range n {
			out = append(out, 2+rng.IntN(pages-2))
		}
		return out
	}

	type damageCase struct {
		name    string
		damage  func([]byte) []byte
		damaged func(page uint64) bool
		mustErr bool
	}
	mustErr := func(c damageCase) damageCase { c.mustErr = true; return c }
	truncate := func(size int) damageCase {
		return damageCase{
			name:    fmt.Sprintf("Truncate%d", size),
			damage:  func(d []byte) []byte { return d[:size] },
			damaged: func(p uint64) bool { return (p+1)*uint64(ps) > uint64(size) },
			mustErr: size < len(data) && size%ps != 0,
		}
	}
	overwrite := func(name string, ids []int, fill func(page []byte)) damageCase {
		hit := map[uint64]bool{}
		for _, id := range ids {
			hit[uint64(id)] = true
		}
		return damageCase{
			name: name,
			damage: func(d []byte) []byte {
				for _, id := range ids {
					fill(d[id*ps : (id+1)*ps])
				}
				return d
			},
			damaged: func(p uint64) bool { return hit[p] },
		}
	}
	randomBytes := func(p []byte) {
		for range 48 {
			p[rng.IntN(len(p))] = byte(rng.Uint32())
		}
	}
	zero := func(p []byte) { clear(p) }
	m, _ := chooseMeta(data)
	cases := []damageCase{
		mustErr(overwrite("FreelistPage", []int{int(m.freelist)}, randomBytes)),
		truncate(ps), truncate(2 * ps), truncate(3 * ps), truncate(100000), truncate(len(data) / 2), truncate(len(data) - 1),
		overwrite("RandomBytesA", randomPages(3), randomBytes),
		overwrite("RandomBytesB", randomPages(5), randomBytes),
		overwrite("RandomBytesC", randomPages(8), randomBytes),
		overwrite("RandomPagesWhole", randomPages(3), func(p []byte) {
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
		}),
		mustErr(overwrite("ZeroMetaPages", []int{0, 1}, zero)),
		mustErr(overwrite("ZeroOneMetaPage", []int{0}, zero)),
		overwrite("ZeroPages", randomPages(4), zero),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache.db")
			bad := tc.damage(bytes.Clone(data))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := openNoPanic(t, path)
			switch {
			case err == nil && tc.mustErr:
				f.Close()
				t.Fatal("Open accepted the damaged file")
			case err != nil && !errors.Is(err, ErrDamaged):
				t.Fatalf("Open: %v, want ErrDamaged", err)
			case err != nil:
				if !strings.Contains(err.Error(), "edgenas repair") {
					t.Errorf("the error does not say how to repair: %v", err)
				}
				s := &testSalvager{}
				rep, err := Repair(path, nil, s)
				if err != nil {
					t.Fatalf("Repair: %v", err)
				}
				if rep.Healthy || rep.MovedTo == "" || len(rep.Salvaged) != 1 {
					t.Fatalf("report %+v", rep)
				}
				if moved, err := os.ReadFile(rep.MovedTo); err != nil || !bytes.Equal(moved, bad) {
					t.Errorf("damaged file not kept as it was at %s: %v", rep.MovedTo, err)
				}
				t.Logf("damage: %s; %d pages, %d leaves, %d pairs, %+v", rep.Damage, rep.Pages, rep.LeafPages, rep.Pairs, rep.Salvaged[0])
				if f, err = openNoPanic(t, path); err != nil {
					t.Fatalf("the repaired file does not open: %v", err)
				}
			}
			defer f.Close()
			served := map[string]bool{}
			for k, want := range records {
				bucket := "t"
				if k == "inline" {
					bucket = "small"
				}
				if err == nil && k == "inline" && tc.mustErr {
					bucket = "t" // Repair puts every record in "t"
				}
				got := readAny(t, f, k, bucket)
				if got == nil {
					continue
				}
				if _, err := Unseal(testDomain, []byte(k), got); err != nil {
					continue // damaged in place: a miss
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: served bytes differ from the stored ones", k)
				}
				served[k] = true
			}
			lost, onDamaged := 0, 0
			for k := range records {
				hit := false
				for _, span := range where[k] {
					for p := span[0]; p < span[1]; p++ {
						hit = hit || tc.damaged(p)
					}
				}
				if hit {
					onDamaged++
				}
				if !served[k] {
					lost++
					if !hit {
						t.Errorf("%s lost though every copy of it is on an intact page %v", k, where[k])
					}
				}
			}
			if lost > onDamaged {
				t.Errorf("%d records lost, only %d had a copy on a damaged page", lost, onDamaged)
			}
			t.Logf("%d of %d records served, %d had a copy on a damaged page", len(served), len(records), onDamaged)
		})
	}
}

// readAny reads key from bucket, or from bucket "t" where Repair puts
// every test record.
func readAny(t *testing.T, f *File, key, bucket string) []byte {
	t.Helper()
	for _, b := range []string{bucket, "t"} {
		v, err := f.Bucket(b).Get([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			return v
		}
	}
	return nil
}

// FuzzSalvage feeds arbitrary bytes to the check and the raw-page scan:
// neither panics, and only records that verify come out of a salvage.
func FuzzSalvage(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	buildFileF(f, path)
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:3*4096+100])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = check(data)
		s := &testSalvager{}
		for _, ps := range []int{minPageSize, 4096} {
			scan(data, ps, func(_ uint64, k, v []byte) { s.Offer(k, v) })
		}
		_ = scanPageSize(data)
		for k, v := range s.kept {
			if _, err := Unseal(testDomain, []byte(k), v); err != nil {
				t.Fatalf("salvaged %q does not verify: %v", k, err)
			}
		}
	})
}

// buildFileF is buildFile for a fuzz target's seed: a few records.
func buildFileF(tb testing.TB, path string) {
	f, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.Bucket("t").Put(map[string][]byte{"a": Seal(testDomain, []byte("a"), []byte("one")), "b": Seal(testDomain, []byte("b"), []byte("two"))}); err != nil {
		tb.Fatal(err)
	}
}
