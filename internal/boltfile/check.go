package boltfile

import (
	"bytes"
	"errors"
	"fmt"
)

// maxDepth bounds the tree walk: a real file is a few levels deep, a
// damaged one may loop.
const maxDepth = 64

// damage is what check found wrong, for ErrDamaged's message.
type damage struct{ what string }

func (d *damage) Error() string { return d.what }

func damaged(format string, args ...any) error {
	return &damage{what: fmt.Sprintf(format, args...)}
}

// chooseMeta returns the meta bbolt would use: the one with the higher
// transaction id. Both must be valid: bbolt would silently fall back to
// the older one and lose the last write, so one invalid meta page is
// damage too.
func chooseMeta(data []byte) (meta, error) {
	m0, err := readMeta(data, 0)
	if err != nil {
		return meta{}, damaged("invalid meta page 0: %v", err)
	}
	m1, err := readMeta(data, int(m0.pageSize))
	switch {
	case err != nil:
		return meta{}, damaged("invalid meta page 1: %v", err)
	case m1.pageSize != m0.pageSize:
		return meta{}, damaged("meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
	case m1.txid > m0.txid:
		return m1, nil
	}
	return m0, nil
}

// checker walks the tree of one meta, as bbolt will read it.
type checker struct {
	data      []byte
	ps        uint64
	hwm       uint64
	reachable map[uint64]bool
}

// check verifies everything bbolt reads of the file data: a meta page, the
// freelist, and every branch, leaf and bucket reachable from the root,
// each page within the file, self-identifying, of the expected kind, its
// elements inside it, keys in order and within the range their parent
// branch gives (so a lookup finds them), no page used twice or both used and free, and every
// page below the high water mark either used or free. It returns the meta
// used, or an error of type *damage.
func check(data []byte) (meta, error) {
	m, err := chooseMeta(data)
	if err != nil {
		return meta{}, err
	}
	c := &checker{data: data, ps: uint64(m.pageSize), hwm: m.hwm, reachable: map[uint64]bool{}}
	if uint64(len(data))%c.ps != 0 {
		return meta{}, damaged("size %d B is not a multiple of the page size %d", len(data), c.ps)
	}
	if m.hwm < 2 || m.hwm > uint64(len(data))/c.ps {
		return meta{}, damaged("file cut short: %d pages in use, %d in the file", m.hwm, uint64(len(data))/c.ps)
	}
	c.reachable[0], c.reachable[1] = true, true
	var free []uint64
	if m.freelist != noFreelist {
		p, err := c.page(m.freelist, freelistPageFlag)
		if err != nil {
			return meta{}, damaged("invalid freelist page %d: %v", m.freelist, err)
		}
		if free, err = freelistIDs(p); err != nil {
			return meta{}, damaged("invalid freelist page %d: %v", m.freelist, err)
		}
	}
	if err := c.bucket(m.root, nil, 0); err != nil {
		return meta{}, err
	}
	seen := map[uint64]bool{}
	for _, id := range free {
		switch {
		case id < 2 || id >= m.hwm:
			return meta{}, damaged("invalid freelist page %d: lists page %d outside [2, %d)", m.freelist, id, m.hwm)
		case seen[id]:
			return meta{}, damaged("invalid freelist page %d: page %d freed twice", m.freelist, id)
		case c.reachable[id]:
			return meta{}, damaged("page %d is both in use and free", id)
		}
		seen[id] = true
	}
	for id := uint64(2); id < m.hwm; id++ {
		if !c.reachable[id] && !seen[id] {
			return meta{}, damaged("page %d is neither in use nor free", id)
		}
	}
	return m, nil
}

// page returns page id with its overflow, marking it reachable, after
// checking it lies in the file below the high water mark, identifies
// itself as id and has the flags want.
func (c *checker) page(id uint64, want uint16) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("page id %d outside [2, %d)", id, c.hwm)
	}
	h := readHeader(c.data[id*c.ps:])
	if h.id != id {
		return nil, fmt.Errorf("page %d identifies itself as %d", id, h.id)
	}
	if h.flags != want {
		return nil, fmt.Errorf("page %d has flags %#x, want %#x", id, h.flags, want)
	}
	end := id + 1 + uint64(h.overflow)
	if end > c.hwm {
		return nil, fmt.Errorf("page %d overflows past the last page in use", id)
	}
	for i := id; i < end; i++ {
		if c.reachable[i] {
			return nil, fmt.Errorf("page %d is used twice", i)
		}
		c.reachable[i] = true
	}
	return c.data[id*c.ps : end*c.ps], nil
}

// bucket checks a bucket: its root page, or its inline page when root is 0.
func (c *checker) bucket(root uint64, inline []byte, depth int) error {
	if depth > maxDepth {
		return damaged("buckets nested deeper than %d", maxDepth)
	}
	if root == 0 {
		if len(inline) < pageHeaderSize {
			return damaged("inline bucket cut short")
		}
		if h := readHeader(inline); h.flags != leafPageFlag {
			return damaged("inline bucket page has flags %#x", h.flags)
		}
		return c.leaf(inline, depth, nil, nil)
	}
	return c.node(root, depth, nil, nil)
}

// inRange checks that key is above the previous key of its page and in
// [lo, hi) (nil: unbounded).
func inRange(key, prev, lo, hi []byte, first bool) error {
	switch {
	case !first && bytes.Compare(key, prev) <= 0:
		return errors.New("keys out of order")
	case lo != nil && bytes.Compare(key, lo) < 0, hi != nil && bytes.Compare(key, hi) >= 0:
		return errors.New("key outside the range its parent gives")
	}
	return nil
}

// node checks the branch or leaf page id, whose keys must lie in [lo, hi).
func (c *checker) node(id uint64, depth int, lo, hi []byte) error {
	if depth > maxDepth {
		return damaged("tree deeper than %d", maxDepth)
	}
	if id < 2 || id >= c.hwm {
		return damaged("page id %d outside [2, %d)", id, c.hwm)
	}
	flags := readHeader(c.data[id*c.ps:]).flags
	if flags != branchPageFlag && flags != leafPageFlag {
		return damaged("page %d has flags %#x, want a branch or leaf page", id, flags)
	}
	p, err := c.page(id, flags)
	if err != nil {
		return damaged("%v", err)
	}
	if flags == leafPageFlag {
		return c.leaf(p, depth, lo, hi)
	}
	// Child i holds the keys in [key i, key i+1): collect the keys first.
	var keys [][]byte
	var kids []uint64
	err = branchElements(p, func(k []byte, child uint64) error {
		if err := inRange(k, lastOf(keys), lo, hi, len(keys) == 0); err != nil {
			return err
		}
		keys, kids = append(keys, k), append(kids, child)
		return nil
	})
	for i := 0; err == nil && i < len(kids); i++ {
		next := hi
		if i+1 < len(keys) {
			next = keys[i+1]
		}
		err = c.node(kids[i], depth+1, keys[i], next)
	}
	if err != nil {
		var d *damage
		if errors.As(err, &d) {
			return err
		}
		return damaged("branch page %d: %v", id, err)
	}
	return nil
}

// lastOf returns the last of keys, or nil.
func lastOf(keys [][]byte) []byte {
	if len(keys) == 0 {
		return nil
	}
	return keys[len(keys)-1]
}

// leaf checks the leaf page p, whose keys must lie in [lo, hi), and the
// buckets on it.
func (c *checker) leaf(p []byte, depth int, lo, hi []byte) error {
	id := readHeader(p).id
	var prev []byte
	first := true
	err := leafElements(p, func(flags uint32, k, v []byte) error {
		if err := inRange(k, prev, lo, hi, first); err != nil {
			return err
		}
		prev, first = k, false
		if flags&bucketLeafFlag == 0 {
			return nil
		}
		if len(v) < bucketHeader {
			return damaged("leaf page %d: bucket header cut short", id)
		}
		return c.bucket(ne.Uint64(v), v[bucketHeader:], depth+1)
	})
	var d *damage
	if err != nil && !errors.As(err, &d) {
		return damaged("leaf page %d: %v", id, err)
	}
	return err
}
