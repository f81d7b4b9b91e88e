package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
)

// The on-disk layout of a bbolt file (go.etcd.io/bbolt v1.5.0,
// internal/common): every page starts with a 16-byte header (id u64,
// flags u16, count u16, overflow u32) in the machine's byte order; pages 0
// and 1 are meta pages; a leaf element is flags, pos, ksize, vsize (u32
// each) with pos counted from the element itself; a branch element is pos,
// ksize (u32) and the child's page id (u64).
const (
	pageHeaderSize = 16
	elementSize    = 16
	bucketHeader   = 16 // root page id u64, sequence u64; an inline page follows when root is 0

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	noFreelist     = math.MaxUint64
	metaChecksumAt = 56 // bytes of the meta covered by its FNV-64a checksum
	minPageSize    = 512
	maxPageSize    = 1 << 16
)

var ne = binary.NativeEndian

// pageHeader is a page's header.
type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

func readHeader(b []byte) pageHeader {
	return pageHeader{id: ne.Uint64(b), flags: ne.Uint16(b[8:]), count: ne.Uint16(b[10:]), overflow: ne.Uint32(b[12:])}
}

// meta is a meta page's content.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // high water mark: pages [0, hwm) are in use or free
	txid     uint64
}

// readMeta reads and validates the meta page at data[off:].
func readMeta(data []byte, off int) (meta, error) {
	if off+pageHeaderSize+64 > len(data) {
		return meta{}, errors.New("cut short")
	}
	b := data[off+pageHeaderSize:]
	if h := readHeader(data[off:]); h.flags != metaPageFlag {
		return meta{}, fmt.Errorf("flags %#x, want a meta page", h.flags)
	}
	if ne.Uint32(b) != boltMagic {
		return meta{}, errors.New("not a bbolt meta page (bad magic)")
	}
	if v := ne.Uint32(b[4:]); v != boltVersion {
		return meta{}, fmt.Errorf("bbolt format %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:metaChecksumAt])
	if h.Sum64() != ne.Uint64(b[metaChecksumAt:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	m := meta{pageSize: ne.Uint32(b[8:]), root: ne.Uint64(b[16:]), freelist: ne.Uint64(b[32:]), hwm: ne.Uint64(b[40:]), txid: ne.Uint64(b[48:])}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// leafElements calls fn with every element of the leaf page p (header
// first, then elements; p spans the page and its overflow), in order,
// checking that each element, key and value lies inside p; the first that
// does not ends the walk with an error.
func leafElements(p []byte, fn func(flags uint32, key, value []byte) error) error {
	h := readHeader(p)
	for i := 0; i < int(h.count); i++ {
		off := pageHeaderSize + i*elementSize
		if off+elementSize > len(p) {
			return fmt.Errorf("%d elements do not fit", h.count)
		}
		e := p[off:]
		flags, pos, ksize, vsize := ne.Uint32(e), ne.Uint32(e[4:]), ne.Uint32(e[8:]), ne.Uint32(e[12:])
		start := uint64(off) + uint64(pos)
		end := start + uint64(ksize) + uint64(vsize)
		if end > uint64(len(p)) {
			return fmt.Errorf("element %d lies outside the page", i)
		}
		k := p[start : start+uint64(ksize)]
		if err := fn(flags, k, p[start+uint64(ksize):end]); err != nil {
			return err
		}
	}
	return nil
}

// branchElements calls fn with the key and child page id of every element
// of the branch page p, in order, checking that each key lies inside p.
func branchElements(p []byte, fn func(key []byte, child uint64) error) error {
	h := readHeader(p)
	if h.count == 0 {
		return errors.New("empty branch page")
	}
	if pageHeaderSize+int(h.count)*elementSize > len(p) {
		return fmt.Errorf("%d elements do not fit", h.count)
	}
	for i := 0; i < int(h.count); i++ {
		off := pageHeaderSize + i*elementSize
		e := p[off:]
		pos, ksize := ne.Uint32(e), ne.Uint32(e[4:])
		start := uint64(off) + uint64(pos)
		if start+uint64(ksize) > uint64(len(p)) {
			return fmt.Errorf("element %d lies outside the page", i)
		}
		if err := fn(p[start:start+uint64(ksize)], ne.Uint64(e[8:])); err != nil {
			return err
		}
	}
	return nil
}

// freelistIDs returns the page ids listed on the freelist page p.
func freelistIDs(p []byte) ([]uint64, error) {
	h := readHeader(p)
	start, n := pageHeaderSize, uint64(h.count)
	if h.count == 0xFFFF { // the count overflowed into the first element
		if len(p) < pageHeaderSize+8 {
			return nil, errors.New("cut short")
		}
		n, start = ne.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > uint64(len(p)-start)/8 {
		return nil, fmt.Errorf("%d ids do not fit", n)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = ne.Uint64(p[start+8*i:])
	}
	return ids, nil
}
