package gemm

import (
	"fmt"
	"sync"
)

// Micro-kernel tile and cache-block sizes.
const (
	mr = 6   // rows of A (and C) per micro-kernel call
	nr = 16  // columns of B (and C) per micro-kernel call: one packed panel
	kc = 256 // depth of one K block: an nr-wide B panel of kc rows is 16 KiB, L1-resident
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
	p.pack(b, ldb, k, n, transB)
	return p
}

// pack (re)fills p, reusing its memory when large enough.
func (p *Packed) pack(b []float32, ldb, k, n int, transB bool) {
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
			for kk := 0; kk < kcb; kk++ {
				dst := panel[kk*nr : (kk+1)*nr]
				if transB {
					for jj := 0; jj < cols; jj++ {
						dst[jj] = b[(j0+jj)*ldb+k0+kk]
					}
				} else {
					copy(dst[:cols], b[(k0+kk)*ldb+j0:])
				}
				clear(dst[cols:])
			}
		}
	}
}

// Workspace holds the scratch memory of matrix products: packed A blocks
// and, for MulRaw, a packed B. The zero value is ready to use; it grows to
// the largest shape seen and then allocates nothing.
type Workspace struct {
	// Threads is the number of goroutines one product may use; 0 or 1 runs
	// on the calling goroutine only.
	Threads int
	a       []float32
	b       Packed
}

// Mul computes C = A·B for an m×K matrix A (row stride lda) and the packed
// K×N matrix B, overwriting the m×N matrix C (row stride ldc).
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
	mp := (m + mr - 1) / mr
	if need := mp * mr * kc; cap(w.a) < need {
		w.a = make([]float32, need)
	}
	for kb := 0; kb*kc < b.K; kb++ {
		blk, k0, kcb := b.block(kb)
		ap := w.a[:mp*mr*kcb]
		packA(ap, a, lda, m, k0, kcb)
		acc := kb > 0
		np := b.panels()
		threads := max(1, min(w.Threads, np))
		if threads == 1 {
			macro(ap, blk, kcb, 0, np, m, b.N, c, ldc, acc)
			continue
		}
		var wg sync.WaitGroup
		for t := 0; t < threads; t++ {
			lo, hi := t*np/threads, (t+1)*np/threads
			wg.Add(1)
			go func() {
				defer wg.Done()
				macro(ap, blk, kcb, lo, hi, m, b.N, c, ldc, acc)
			}()
		}
		wg.Wait()
	}
}

// MulRaw computes C = A·B (or A·Bᵀ with transB) for B given unpacked, as
// Pack takes it; B is packed into the workspace first. It serves products
// whose right-hand side changes every call, such as attention's Q·Kᵀ and P·V.
func (w *Workspace) MulRaw(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int) {
	w.b.pack(b, ldb, k, n, transB)
	w.Mul(m, a, lda, &w.b, c, ldc)
}

// packA copies rows [0,m) and columns [k0,k0+kcb) of A into mr-row panels,
// each stored column after column (mr values per k), zero-padding the last.
func packA(dst, a []float32, lda, m, k0, kcb int) {
	for ip := 0; ip*mr < m; ip++ {
		panel := dst[ip*mr*kcb : (ip+1)*mr*kcb]
		rows := min(mr, m-ip*mr)
		for r := 0; r < rows; r++ {
			src := a[(ip*mr+r)*lda+k0 : (ip*mr+r)*lda+k0+kcb]
			for kk, v := range src {
				panel[kk*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for kk := 0; kk < kcb; kk++ {
				panel[kk*mr+r] = 0
			}
		}
	}
}

// macro runs the micro-kernel over B panels [jlo,jhi) and every A panel.
func macro(ap, blk []float32, kcb, jlo, jhi, m, n int, c []float32, ldc int, acc bool) {
	var tmp [mr * nr]float32
	for j := jlo; j < jhi; j++ {
		bp := blk[j*kcb*nr : (j+1)*kcb*nr]
		j0 := j * nr
		cols := min(nr, n-j0)
		for ip := 0; ip*mr < m; ip++ {
			a := ap[ip*mr*kcb : (ip+1)*mr*kcb]
			rows := min(mr, m-ip*mr)
			c0 := ip*mr*ldc + j0
			if rows == mr && cols == nr {
				kernel(kcb, a, bp, c[c0:], ldc, acc)
				continue
			}
			// Edge tile: compute into tmp, then copy the valid part.
			if acc {
				for r := 0; r < rows; r++ {
					copy(tmp[r*nr:r*nr+cols], c[c0+r*ldc:])
				}
			}
			kernel(kcb, a, bp, tmp[:], nr, acc)
			for r := 0; r < rows; r++ {
				copy(c[c0+r*ldc:c0+r*ldc+cols], tmp[r*nr:])
			}
		}
	}
}

// kernelGo is the portable micro-kernel: the mr×nr tile of C at c (row
// stride ldc) becomes (acc ? C : 0) + Σₖ a[k]ᵀ·b[k] over kcb packed steps.
// It works on four columns at a time so that the 24 running sums can stay
// in registers (arm64 has 32 floating-point registers).
func kernelGo(kcb int, a, b, c []float32, ldc int, acc bool) {
	a = a[:kcb*mr]
	b = b[:kcb*nr]
	for j := 0; j < nr; j += 4 {
		var s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23 float32
		var s30, s31, s32, s33, s40, s41, s42, s43, s50, s51, s52, s53 float32
		for k := 0; k < kcb; k++ {
			bk := b[k*nr+j : k*nr+j+4 : k*nr+j+4]
			ak := a[k*mr : k*mr+mr : k*mr+mr]
			b0, b1, b2, b3 := bk[0], bk[1], bk[2], bk[3]
			a0, a1, a2, a3, a4, a5 := ak[0], ak[1], ak[2], ak[3], ak[4], ak[5]
			s00, s01, s02, s03 = s00+a0*b0, s01+a0*b1, s02+a0*b2, s03+a0*b3
			s10, s11, s12, s13 = s10+a1*b0, s11+a1*b1, s12+a1*b2, s13+a1*b3
			s20, s21, s22, s23 = s20+a2*b0, s21+a2*b1, s22+a2*b2, s23+a2*b3
			s30, s31, s32, s33 = s30+a3*b0, s31+a3*b1, s32+a3*b2, s33+a3*b3
			s40, s41, s42, s43 = s40+a4*b0, s41+a4*b1, s42+a4*b2, s43+a4*b3
			s50, s51, s52, s53 = s50+a5*b0, s51+a5*b1, s52+a5*b2, s53+a5*b3
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
