package compress

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// svdOf is the thin SVD of one out×in matrix: s holds the singular values
// in decreasing order, u (out×n) and v (in×n) the singular vectors as
// columns, n = min(out, in).
type svdOf struct {
	out, in int
	s       []float64
	u, v    *mat.Dense
}

// thinSVD computes the thin SVD of the out×in row-major matrix w in float64.
func thinSVD(w []float32, out, in int) (*svdOf, error) {
	a := mat.NewDense(out, in, nil)
	for i := 0; i < out; i++ {
		for j := 0; j < in; j++ {
			a.Set(i, j, float64(w[i*in+j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, fmt.Errorf("SVD of a %d×%d matrix did not converge", out, in)
	}
	d := &svdOf{out: out, in: in, s: svd.Values(nil), u: new(mat.Dense), v: new(mat.Dense)}
	svd.UTo(d.u)
	svd.VTo(d.v)
	return d, nil
}

// bytes is the memory d holds.
func (d *svdOf) bytes() int64 {
	n := len(d.s)
	return int64(8 * (n + d.out*n + d.in*n))
}

// truncate returns the best rank-r approximation that d describes as two
// thin factors: u (out×r) and v (r×in) with u·v ≈ w, each carrying the
// square root of the singular values so both have comparable scale, and
// the fraction of w's squared Frobenius norm the approximation keeps.
func (d *svdOf) truncate(r int) (u, v []float32, kept float64) {
	out, in := d.out, d.in
	u = make([]float32, out*r)
	v = make([]float32, r*in)
	var total, part float64
	for k, sk := range d.s {
		total += sk * sk
		if k < r {
			part += sk * sk
		}
	}
	for k := 0; k < r; k++ {
		root := math.Sqrt(d.s[k])
		for i := 0; i < out; i++ {
			u[i*r+k] = float32(d.u.At(i, k) * root)
		}
		for j := 0; j < in; j++ {
			v[k*in+j] = float32(d.v.At(j, k) * root)
		}
	}
	if total == 0 {
		return u, v, 1
	}
	return u, v, part / total
}

// factorize returns the best rank-r approximation of the out×in matrix w
// (Eckart–Young, by truncated SVD in float64) as two thin factors (see
// svdOf.truncate), computing the SVD through cache (nil: no cache).
func factorize(cache *FactorCache, w []float32, out, in, r int) (u, v []float32, kept float64, err error) {
	if r < 1 || r > min(out, in) {
		return nil, nil, 0, fmt.Errorf("rank %d outside [1, min(%d, %d)]", r, out, in)
	}
	d, err := cache.svd(w, out, in)
	if err != nil {
		return nil, nil, 0, err
	}
	u, v, kept = d.truncate(r)
	return u, v, kept, nil
}

// DefaultFactorCacheBytes bounds a FactorCache made by NewFactorCache(0).
const DefaultFactorCacheBytes = 256 << 20

// FactorCache keeps the SVDs of the matrices Builder factorizes, keyed by
// their contents, so that students of one teacher differing only in rank,
// bit width or in other layers reuse them: a search builds many students
// from the same few pruned matrices. The factors a truncation of a cached
// SVD gives are bit-identical to those of a fresh one. It holds at most a
// bounded number of bytes, evicting the least recently used SVD, and is
// safe for concurrent use.
type FactorCache struct {
	mu      sync.Mutex
	max     int64
	bytes   int64
	order   *list.List // of *factorEntry, most recent first
	entries map[[sha256.Size]byte]*list.Element
	hits    int64
	misses  int64
}

type factorEntry struct {
	key [sha256.Size]byte
	svd *svdOf
}

// NewFactorCache returns an empty cache holding at most maxBytes of
// factors (0: DefaultFactorCacheBytes).
func NewFactorCache(maxBytes int64) *FactorCache {
	if maxBytes <= 0 {
		maxBytes = DefaultFactorCacheBytes
	}
	return &FactorCache{max: maxBytes, order: list.New(), entries: map[[sha256.Size]byte]*list.Element{}}
}

// Stats reports how many SVDs the cache served and how many it computed.
func (c *FactorCache) Stats() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// svd returns the thin SVD of w, from the cache when it holds one of the
// same contents and shape (c nil: always computed).
func (c *FactorCache) svd(w []float32, out, in int) (*svdOf, error) {
	if c == nil {
		return thinSVD(w, out, in)
	}
	h := sha256.New()
	var buf [4096]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(out))
	binary.LittleEndian.PutUint32(buf[4:], uint32(in))
	h.Write(buf[:8])
	for rest := w; len(rest) > 0; { // the values' bytes, a buffer at a time
		n := min(len(rest), len(buf)/4)
		for i, x := range rest[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		h.Write(buf[:4*n])
		rest = rest[n:]
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		c.order.MoveToFront(e)
		c.hits++
		d := e.Value.(*factorEntry).svd
		c.mu.Unlock()
		return d, nil
	}
	c.misses++
	c.mu.Unlock()
	// Computed outside the lock: two goroutines may compute the same SVD
	// once each; both results are equal.
	d, err := thinSVD(w, out, in)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok || d.bytes() > c.max {
		return d, nil
	}
	c.entries[key] = c.order.PushFront(&factorEntry{key: key, svd: d})
	c.bytes += d.bytes()
	for c.bytes > c.max {
		last := c.order.Back()
		e := last.Value.(*factorEntry)
		c.order.Remove(last)
		delete(c.entries, e.key)
		c.bytes -= e.svd.bytes()
	}
	return d, nil
}
