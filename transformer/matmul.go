package transformer

// matmul computes C = A·B or C = A·Bᵀ (transB) for an m×k matrix A, and B
// of k×n (or n×k when transB), writing the m×n result into C. lda, ldb and
// ldc are row strides, so a block of columns of a wider matrix (one
// attention head of Q, K or V) is read in place without a copy.
//
// Every matrix product of the engine goes through this one function, so the
// kernels behind it can change without touching model code.
func matmul(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int) {
	if transB {
		for i := 0; i < m; i++ {
			ai := a[i*lda : i*lda+k]
			ci := c[i*ldc : i*ldc+n]
			for j := 0; j < n; j++ {
				bj := b[j*ldb : j*ldb+k]
				var s float32
				for p, av := range ai {
					s += av * bj[p]
				}
				ci[j] = s
			}
		}
		return
	}
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		clear(ci)
		for p, av := range ai {
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}
