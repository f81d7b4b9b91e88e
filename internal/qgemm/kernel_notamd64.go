//go:build !amd64

package qgemm

// What every architecture but amd64 shares: Go quantizers for the weights
// attention remakes at run time, and no AMX.

// colMaxAbs stores max over k of |x[k·ldx+n]| into m[n], n < out.
func colMaxAbs(out, in int, x []float32, ldx int, m []float32) { colMaxAbsGo(out, in, x, ldx, m) }

// quantCols stores roundToEven(x[k·ldx+n]·inv[n]) as value (n, k) of p
// (zeroed, out×in), adding each column's values to sums[n].
func quantCols(p *packing, out, in int, x []float32, ldx int, inv []float32, sums []int32) {
	quantColsGo(p, 0, out, 0, in, x, ldx, inv, sums)
}

// quantRows reports false: SetRows quantizes in Go here.
func quantRows(*packing, int, int, []float32, int) bool { return false }

// kernelFor is the kernel that runs a product by p: the selected one.
func kernelFor(*packing, int) int { return kern }

// unpack4 expands an Int4 panel to the int8 layout: unpack4Go.
func unpack4(dst, src []byte) { unpack4Go(dst, src) }

// runPanels reports false: off amd64 every kernel runs by row tiles.
func (j *job) runPanels(t, lo, hi, r0, r1 int) bool { return false }
