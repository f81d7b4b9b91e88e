//go:build !amd64 && !arm64

package qgemm

// The kernels this package has off amd64.
const (
	kernGo   = iota // portable Go, 12×32
	kernAVX2        // never selected off amd64
	kernAMX         // never selected off amd64
)

// kern selects the kernel; off amd64 only the portable one exists.
var kern = kernGo

// tileRows is the row tile of kernel k whatever rows remain: kernRows.
func tileRows(k, _ int) int { return kernRows(k) }

// direct4 reports false: every kernel here reads Int4 panels unpacked to
// the int8 layout.
func direct4(int) bool { return false }

// kernRows is the row tile of every kernel off amd64.
func kernRows(int) int { return 12 }

// quantRowsU8 reports false: rows are quantized one at a time here.
func quantRowsU8([]float32, int, int, int, []byte, int, []float32) bool { return false }

// quantRowI16 stores roundToEven(x·inv) into dst.
func quantRowI16(x []float32, inv float32, dst []int16) { quantRowI16Go(x, inv, dst) }

// callAsm reports false: off amd64 the Go kernel runs.
func (j *job) callAsm(i0, rows, s0 int, b []byte, kg, ng int, corr []int32, sw, f []float32, flags int, sx, bias, c []float32, ldc int) bool {
	return false
}
