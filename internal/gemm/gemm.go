package gemm

import (
	"fmt"

	"github.com/edgenas/edgenas/internal/par"
)

// Panel width and cache-block depth.
const (
	nr = 16  // columns of B per packed panel; a micro-kernel covers one or two
	kc = 256 // depth of one K block: a panel of kc rows is 16 KiB, a pair 32 KiB, L1-sized
	// maxTile is the largest tile of C (rows × columns) of any micro-kernel.
	maxTile = 8 * 2 * nr
)

// Packed is a K×N right-hand matrix laid out for the micro-kernel: K blocks
// of kc rows, each split into panels of nr columns (the last zero-padded),
// each panel stored row after row.
type Packed struct {
	K, N int
	data []float32
}

// panels is the number of nr-wide panels.
func (p *Packed) panels() int { return (p.N + nr - 1) / nr }

// block returns the packed K block kb (depth kcb) and its first row.
func (p *Packed) block(kb int) (blk []float32, k0, kcb int) {
	k0 = kb * kc
	kcb = min(kc, p.K-k0)
	w := p.panels() * nr
	return p.data[k0*w : (k0+kcb)*w], k0, kcb
}

// Bytes is the memory the packed matrix occupies.
func (p *Packed) Bytes() int { return 4 * len(p.data) }

// Pack packs the logical K×N matrix B. Without transB, b is K×N row-major
// with row stride ldb; with transB, b is N×K row-major (the PyTorch layout
// of a Linear weight, so that C = A·Wᵀ) with row stride ldb.
func Pack(b []float32, ldb, k, n int, transB bool) *Packed {
	p := &Packed{}
	p.Repack(b, ldb, k, n, transB)
	return p
}

// Repack fills p with B as Pack would, reusing p's memory when it is large
// enough (the zero Packed is ready for it): for right-hand sides that
// change every call but serve several products, such as one attention
// head's keys.
func (p *Packed) Repack(b []float32, ldb, k, n int, transB bool) {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: negative shape %d×%d", k, n))
	}
	p.K, p.N = k, n
	w := p.panels() * nr
	size := k * w
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data = p.data[:size]
	for kb := 0; kb*kc < k; kb++ {
		blk, k0, kcb := p.block(kb)
		for j := 0; j < p.panels(); j++ {
			panel := blk[j*kcb*nr : (j+1)*kcb*nr]
			j0 := j * nr
			cols := min(nr, n-j0)
			switch {
			case transB && cols == nr:
				packTrans(panel, b[j0*ldb+k0:], ldb, kcb)
			case transB:
				clear(panel)
				packTransGo(panel, b[j0*ldb+k0:], ldb, kcb, cols)
			case cols == nr:
				for kk := 0; kk < kcb; kk++ {
					*(*[nr]float32)(panel[kk*nr:]) = [nr]float32(b[(k0+kk)*ldb+j0:])
				}
			default:
				for kk := 0; kk < kcb; kk++ {
					dst := panel[kk*nr : (kk+1)*nr]
					copy(dst[:cols], b[(k0+kk)*ldb+j0:])
					clear(dst[cols:])
				}
			}
		}
	}
}

// packTransGo fills the first cols columns of one panel of a transposed
// pack: panel[kk·nr+jj] = b[jj·ldb+kk], reading each row of b in order.
func packTransGo(panel, b []float32, ldb, kcb, cols int) {
	for jj := 0; jj < cols; jj++ {
		for kk, v := range b[jj*ldb:][:kcb] {
			panel[kk*nr+jj] = v
		}
	}
}

// Workspace holds the scratch memory of matrix products: the zero-padded
// last rows of A when the row count is not a multiple of the kernel's tile
// and, for MulRaw, a packed B. The zero value is ready to use; it grows to
// the largest shape seen and then allocates nothing, whatever Threads is
// (helper goroutines are started once and stop when the Workspace is
// garbage). A Workspace must not be copied after first use.
type Workspace struct {
	// Threads is the number of goroutines one product may use; 0 or 1 runs
	// on the calling goroutine only.
	Threads int
	// Pool, when not nil, runs the products on its threads instead of
	// Threads, so that one caller's workspaces share helper goroutines.
	// It must not be running another step while Mul runs.
	Pool *par.Pool
	edge []float32
	b    Packed
	own  *par.Pool // the Pool of Threads goroutines when Pool is nil
	t    tiling    // the current K block
}

// pool is the Pool that runs products: Pool, or one of Threads goroutines
// made on first use (and again when Threads changes).
func (w *Workspace) pool() *par.Pool {
	return par.Use(w.Pool, &w.own, w.Threads)
}

// Mul computes C = A·B for an m×K matrix A (row stride lda) and the packed
// K×N matrix B, overwriting the m×N matrix C (row stride ldc). A is read in
// place; only its last m mod 6 (or 8) rows are copied.
func (w *Workspace) Mul(m int, a []float32, lda int, b *Packed, c []float32, ldc int) {
	if m == 0 || b.N == 0 {
		return
	}
	if b.K == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+b.N])
		}
		return
	}
	mr, step, _ := tile()
	full := m - m%mr // rows covered by whole tiles read in place
	if need := mr * kc; full < m && cap(w.edge) < need {
		w.edge = make([]float32, need)
	}
	np := b.panels()
	units := (np + step - 1) / step // tiles across N
	pool := w.pool()
	for kb := 0; kb*kc < b.K; kb++ {
		blk, k0, kcb := b.block(kb)
		w.t = tiling{a: a, lda: lda, k0: k0, kcb: kcb, full: full, m: m, n: b.N, blk: blk, c: c, ldc: ldc, acc: kb > 0}
		t := &w.t
		if full < m {
			t.edge = w.edge[:mr*kcb]
			for r := range mr {
				dst := t.edge[r*kcb : (r+1)*kcb]
				if full+r < m {
					copy(dst, a[(full+r)*lda+k0:])
				} else {
					clear(dst)
				}
			}
		}
		if m*kcb*b.N >= parallelMACs {
			pool.Run(t, units)
		} else {
			t.Range(0, 0, units)
		}
	}
	w.t = tiling{}
}

// parallelMACs is the number of multiply-adds of a K block from which its
// tiles are split over threads: below, handing work to another thread
// costs more than it saves.
const parallelMACs = 1 << 16

// Range runs the macro-kernel over tiles [lo, hi) across N (of step
// panels each).
func (t *tiling) Range(_, lo, hi int) {
	_, step, _ := tile()
	t.macro(lo*step, min((t.n+nr-1)/nr, hi*step))
}

// MulRaw computes C = A·B (or A·Bᵀ with transB) for B given unpacked, as
// Pack takes it; B is packed into the workspace first. It serves products
// whose right-hand side changes every call, such as attention's Q·Kᵀ and P·V.
func (w *Workspace) MulRaw(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int) {
	w.b.Repack(b, ldb, k, n, transB)
	w.Mul(m, a, lda, &w.b, c, ldc)
}

// tiling is one K block of a product: what every tile of it needs.
type tiling struct {
	a       []float32 // A, read in place from column k0
	lda     int
	k0, kcb int
	edge    []float32 // rows [full, m) of the block, zero-padded to a tile, row stride kcb
	full, m int
	n       int
	blk     []float32 // the packed K block of B
	c       []float32
	ldc     int
	acc     bool // add to C (every K block but the first)
}

// macro runs the micro-kernel over B panels [jlo,jhi) and every row tile:
// each panel (or pair of panels) stays in L1 while the rows of A stream.
func (t *tiling) macro(jlo, jhi int) {
	mr, step, tall := tile()
	var tmp [maxTile]float32
	for j := jlo; j < jhi; j += step {
		p := min(step, jhi-j)
		bp := t.blk[j*t.kcb*nr : (j+p)*t.kcb*nr]
		j0 := j * nr
		cols, w := min(p*nr, t.n-j0), p*nr
		i0 := 0
		if cols == w && t.full > 0 {
			// Every whole row tile straight into C: tall tiles (a tall
			// kernel covers step panels only) as long as the rows left
			// still split into mr-row ones, then those, one call each.
			rows := mr
			if p == step {
				rows = tall
			}
			nt := t.full / rows
			for (t.full-nt*rows)%mr != 0 {
				nt--
			}
			if nt > 0 {
				micro(rows, p, t.kcb, t.a[t.k0:], t.lda, bp, t.c[j0:], t.ldc, t.acc, nt)
			}
			if r := nt * rows; r < t.full {
				micro(mr, p, t.kcb, t.a[r*t.lda+t.k0:], t.lda, bp, t.c[r*t.ldc+j0:], t.ldc, t.acc, (t.full-r)/mr)
			}
			i0 = t.full
		}
		// Edge tiles: compute into tmp, then copy the valid part.
		for ; i0 < t.m; i0 += mr {
			a, lda := t.a[i0*t.lda+t.k0:], t.lda
			if i0 >= t.full {
				a, lda = t.edge, t.kcb
			}
			c0 := i0*t.ldc + j0
			rows := min(mr, t.m-i0)
			if t.acc {
				for r := 0; r < rows; r++ {
					copy(tmp[r*w:r*w+cols], t.c[c0+r*t.ldc:])
				}
			}
			micro(mr, p, t.kcb, a, lda, bp, tmp[:], w, t.acc, 1)
			for r := 0; r < rows; r++ {
				copy(t.c[c0+r*t.ldc:c0+r*t.ldc+cols], tmp[r*w:])
			}
		}
	}
}

// kernelGoTiles runs kernelGo on tiles tiles stacked down A and C.
func kernelGoTiles(kcb int, a []float32, lda int, b, c []float32, ldc int, acc bool, tiles int) {
	for t := range tiles {
		kernelGo(kcb, a[t*6*lda:], lda, b, c[t*6*ldc:], ldc, acc)
	}
}

// kernelGo is the portable micro-kernel and the contract of every other:
// the 6×nr tile of C at c (row stride ldc) becomes (acc ? C : 0) +
// Σₖ A[·][k]·b[k·nr:(k+1)·nr] over kcb steps, with A's rows read in place
// at row stride lda and b one packed panel. It works on four columns at a
// time so that the 24 running sums can stay in registers (arm64 has 32
// floating-point registers).
func kernelGo(kcb int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	const mr = 6
	a0, a1, a2 := a[:kcb], a[lda:lda+kcb], a[2*lda:2*lda+kcb]
	a3, a4, a5 := a[3*lda:3*lda+kcb], a[4*lda:4*lda+kcb], a[5*lda:5*lda+kcb]
	b = b[:kcb*nr]
	for j := 0; j < nr; j += 4 {
		var s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23 float32
		var s30, s31, s32, s33, s40, s41, s42, s43, s50, s51, s52, s53 float32
		for k := 0; k < kcb; k++ {
			bk := b[k*nr+j : k*nr+j+4 : k*nr+j+4]
			b0, b1, b2, b3 := bk[0], bk[1], bk[2], bk[3]
			v0, v1, v2, v3, v4, v5 := a0[k], a1[k], a2[k], a3[k], a4[k], a5[k]
			s00, s01, s02, s03 = s00+v0*b0, s01+v0*b1, s02+v0*b2, s03+v0*b3
			s10, s11, s12, s13 = s10+v1*b0, s11+v1*b1, s12+v1*b2, s13+v1*b3
			s20, s21, s22, s23 = s20+v2*b0, s21+v2*b1, s22+v2*b2, s23+v2*b3
			s30, s31, s32, s33 = s30+v3*b0, s31+v3*b1, s32+v3*b2, s33+v3*b3
			s40, s41, s42, s43 = s40+v4*b0, s41+v4*b1, s42+v4*b2, s43+v4*b3
			s50, s51, s52, s53 = s50+v5*b0, s51+v5*b1, s52+v5*b2, s53+v5*b3
		}
		sums := [mr][4]float32{
			{s00, s01, s02, s03}, {s10, s11, s12, s13}, {s20, s21, s22, s23},
			{s30, s31, s32, s33}, {s40, s41, s42, s43}, {s50, s51, s52, s53},
		}
		for r := range sums {
			cr := c[r*ldc+j : r*ldc+j+4]
			if acc {
				for q := range cr {
					cr[q] += sums[r][q]
				}
			} else {
				copy(cr, sums[r][:])
			}
		}
	}
}
