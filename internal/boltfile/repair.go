package boltfile

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Salvager recognises one kind of record among the key/value pairs Repair
// finds in a damaged file, keeps those that verify and writes them into
// the repaired file.
type Salvager interface {
	// Offer is called with every key/value pair found on a leaf page,
	// live or stale, intact or not; the slices are valid only during the
	// call. Pairs that are not the salvager's are ignored.
	Offer(key, value []byte)
	// Restore writes what was kept into the repaired file and says what
	// it kept.
	Restore(f *File) (Salvaged, error)
}

// Salvaged is what one Salvager kept.
type Salvaged struct {
	// What names the records ("cache entries", "run states").
	What string `json:"what"`
	// Recovered counts the records written to the repaired file; Rejected
	// those found that did not verify and had no good copy.
	Recovered int `json:"recovered"`
	Rejected  int `json:"rejected"`
	// Notes says what could not be recovered and what follows from it.
	Notes []string `json:"notes,omitempty"`
}

// RepairReport is what Repair did.
type RepairReport struct {
	// Path is the repaired file; Damage what Open found wrong with it.
	Path   string `json:"path"`
	Damage string `json:"damage,omitempty"`
	// Healthy is set when the file was not damaged: Repair left it alone.
	Healthy bool `json:"healthy"`
	// MovedTo is where the damaged file was moved (never deleted).
	MovedTo string `json:"moved_to,omitempty"`
	// PageSize is the page size the scan assumed; Pages the pages
	// scanned, LeafPages those that read as leaf pages, Pairs the
	// key/value pairs found on them.
	PageSize  int `json:"page_size"`
	Pages     int `json:"pages"`
	LeafPages int `json:"leaf_pages"`
	Pairs     int `json:"pairs"`
	// Salvaged says what each salvager kept.
	Salvaged []Salvaged `json:"salvaged"`
}

// Repair repairs the bbolt file at path; it fails with ErrLocked while a
// process holds the file (a search using it). A
// file that Open accepts is left alone (Healthy). Otherwise Repair scans
// the file page by page for leaf pages, without trusting its meta pages,
// tree or freelist, offers every key/value pair found to every salvager,
// writes what they keep into a fresh file, moves the damaged file aside as
// path.damaged-<time> and puts the fresh file in its place.
func Repair(path string, log *slog.Logger, salvagers ...Salvager) (RepairReport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := RepairReport{Path: path}
	release, err := lockFile(path, 0)
	if err != nil {
		return rep, fmt.Errorf("repair %s: %w", path, err)
	}
	defer release()
	data, err := os.ReadFile(path)
	if err != nil {
		return rep, fmt.Errorf("repair %s: %w", path, err)
	}
	_, err = check(data)
	if err == nil {
		rep.Healthy = true
		return rep, nil
	}
	rep.Damage = err.Error()
	rep.PageSize = scanPageSize(data)
	rep.Pages, rep.LeafPages = scan(data, rep.PageSize, func(_ uint64, k, v []byte) {
		rep.Pairs++
		for _, s := range salvagers {
			s.Offer(k, v)
		}
	})
	tmp := path + ".repair"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return rep, fmt.Errorf("repair %s: %w", path, err)
	}
	f, err := Open(tmp)
	if err != nil {
		return rep, fmt.Errorf("repair %s: %w", path, err)
	}
	for _, s := range salvagers {
		got, err := s.Restore(f)
		if err != nil {
			f.Close()
			os.Remove(tmp)
			return rep, fmt.Errorf("repair %s: write %s: %w", path, got.What, err)
		}
		rep.Salvaged = append(rep.Salvaged, got)
	}
	if err := f.Close(); err != nil { // bbolt syncs every write; Close releases the lock
		os.Remove(tmp)
		return rep, fmt.Errorf("repair %s: %w", path, err)
	}
	rep.MovedTo = fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(path, rep.MovedTo); err != nil {
		os.Remove(tmp)
		rep.MovedTo = ""
		return rep, fmt.Errorf("repair %s: move the damaged file aside: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return rep, fmt.Errorf("repair %s: the damaged file is at %s; put the repaired %s in place: %w", path, rep.MovedTo, tmp, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // make the renames durable where the platform allows
		d.Close()
	}
	log.Info("repaired", "file", path, "damaged_copy", rep.MovedTo, "salvaged", rep.Salvaged)
	return rep, nil
}

// scanPageSize is the page size of the meta pages of data, or the
// smallest page size under which data holds a self-identifying leaf page,
// or the machine's page size.
func scanPageSize(data []byte) int {
	if m, err := chooseMeta(data); err == nil {
		return int(m.pageSize)
	}
	for ps := minPageSize; ps <= maxPageSize; ps *= 2 {
		for id := 2; (id+1)*ps <= len(data); id++ {
			if h := readHeader(data[id*ps:]); h.id == uint64(id) && h.flags == leafPageFlag && h.count > 0 {
				return ps
			}
		}
	}
	return os.Getpagesize()
}

// scan reads data as pages of size ps and calls fn with every key/value
// pair on every self-identifying leaf page (and the inline buckets on
// them), with the page's id; elements outside their page are skipped. It
// returns the number of pages and of leaf pages.
func scan(data []byte, ps int, fn func(page uint64, k, v []byte)) (pages, leaves int) {
	n := len(data) / ps
	if len(data)%ps != 0 {
		n++ // the cut-short last page may still hold whole elements
	}
	for id := 0; id < n; id++ {
		p := data[id*ps:]
		if len(p) < pageHeaderSize {
			continue
		}
		h := readHeader(p)
		if h.id != uint64(id) || h.flags != leafPageFlag {
			continue
		}
		end := uint64(id+1+int(h.overflow)) * uint64(ps)
		if h.overflow > uint32(n) || end > uint64(len(data)) {
			end = uint64(len(data)) // elements beyond the file are skipped
		}
		leaves++
		scanLeaf(data[uint64(id)*uint64(ps):end], uint64(id), 0, fn)
	}
	return n, leaves
}

// scanLeaf reports the pairs of leaf page p and of the inline buckets on
// it; an element that does not fit in p is skipped with the rest.
func scanLeaf(p []byte, id uint64, depth int, fn func(page uint64, k, v []byte)) {
	if depth > maxDepth {
		return
	}
	// Each element is bounds-checked in turn; a bad one ends the page.
	_ = leafElements(p, func(flags uint32, k, v []byte) error {
		if flags&bucketLeafFlag == 0 {
			fn(id, k, v)
			return nil
		}
		if len(v) >= bucketHeader+pageHeaderSize && ne.Uint64(v) == 0 {
			if inline := v[bucketHeader:]; readHeader(inline).flags == leafPageFlag {
				scanLeaf(inline, id, depth+1, fn)
			}
		}
		return nil
	})
}
