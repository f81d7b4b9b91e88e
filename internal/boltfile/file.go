package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged marks a file whose structure is damaged (cut short, pages
// overwritten): bbolt cannot read it safely. Repair moves it aside and
// keeps every record that still verifies.
var ErrDamaged = errors.New("damaged")

// ErrLocked marks a file another process holds open.
var ErrLocked = errors.New("another process holds it (only the process running a search may open its cache)")

// File is an open bbolt file.
type File struct {
	db   *bolt.DB
	path string
}

// Open opens the bbolt file at path, creating it if needed. It checks an
// existing file completely first (see the package doc); a damaged file
// fails with an error wrapping ErrDamaged that says how to repair it. It
// waits at most a second for another process's lock, then fails with
// ErrLocked.
func Open(path string) (*File, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	return &File{db: db, path: path}, nil
}

// checkFile checks the file at path, if there is one, holding its lock so
// that no other process writes it meanwhile. The lock is dropped before
// bbolt takes it again: a process that takes it in between makes bbolt
// fail with ErrLocked, so nobody writes the file between the check and
// bbolt reading it.
func checkFile(path string) error {
	release, err := lockFile(path, lockWait)
	if errors.Is(err, os.ErrNotExist) {
		return nil // bbolt creates it
	}
	if err != nil {
		return err
	}
	defer release()
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if len(data) > 0 {
		if _, err := check(data); err != nil {
			return damagedError(path, err)
		}
	}
	return nil
}

// lockWait is how long Open waits for another process's lock.
const lockWait = time.Second

// openBolt opens path with bbolt, turning a panic into ErrDamaged.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, damagedError(path, fmt.Errorf("%v", p))
		}
	}()
	db, err = bolt.Open(path, 0o644, &bolt.Options{Timeout: lockWait})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrChecksum), errors.Is(err, bolt.ErrVersionMismatch):
		return nil, damagedError(path, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func damagedError(path string, why error) error {
	return fmt.Errorf("%s is %w (%v): run 'edgenas repair %s' to move it aside as %s.damaged-<time> and keep every entry that still verifies",
		path, ErrDamaged, why, filepath.Dir(path), filepath.Base(path))
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Close closes the file.
func (f *File) Close() error { return f.db.Close() }

// Bucket returns the named bucket of f; it is created by its first Put.
func (f *File) Bucket(name string) *Bucket { return &Bucket{db: f.db, name: []byte(name)} }

// Bucket is a named set of key/value pairs in a File.
type Bucket struct {
	db   *bolt.DB
	name []byte
}

// Get returns a copy of the value stored under key, or nil if there is none.
func (b *Bucket) Get(key []byte) ([]byte, error) {
	var v []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(b.name); bk != nil {
			if d := bk.Get(key); d != nil {
				v = bytes.Clone(d) // d is valid only inside the transaction
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read bucket %s: %w", b.name, err)
	}
	return v, nil
}

// Put stores every pair of kv (key to value) in one write, durable when
// Put returns: all or none of them are stored.
func (b *Bucket) Put(kv map[string][]byte) error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(b.name)
		if err != nil {
			return err
		}
		for k, v := range kv {
			if err := bk.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write bucket %s: %w", b.name, err)
	}
	return nil
}

// Scan calls fn with every key that starts with prefix and its value, in
// key order; the slices are valid only during the call. An error from fn
// stops the scan and is returned.
func (b *Bucket) Scan(prefix []byte, fn func(key, value []byte) error) error {
	return b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if v == nil {
				continue // a nested bucket: not written by this package
			}
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeletePrefix deletes every key that starts with prefix, in one write.
func (b *Bucket) DeletePrefix(prefix []byte) error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete from bucket %s: %w", b.name, err)
	}
	return nil
}

// Len returns the number of keys in the bucket.
func (b *Bucket) Len() (int, error) {
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(b.name); bk != nil {
			n = bk.Stats().KeyN
		}
		return nil
	})
	return n, err
}
