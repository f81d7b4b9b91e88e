//go:build !amd64 && !arm64

package vec

// useAVX2, useAVX512 and useNEON are always false off amd64 and arm64: only the portable
// kernels exist. Tests and benchmarks set them as on amd64, to no effect.
var useAVX2, useAVX512, useNEON = false, false, false

func exp(dst, x []float32)                { expGo(dst, x) }
func gelu(x, bias []float32)              { geluGo(x, bias) }
func geluTanh(x, bias []float32)          { geluTanhGo(x, bias) }
func relu(x, bias []float32)              { reluGo(x, bias) }
func tanh(x []float32)                    { tanhGo(x) }
func add(x, b []float32)                  { addGo(x, b) }
func dot(a, b []float32) float32          { return dotGo(a, b) }
func axpy(alpha float32, x, y []float32)  { axpyGo(alpha, x, y) }
func scaleRow(alpha float32, x []float32) { scaleGo(alpha, x) }
func softmaxExp(row []float32, mask []int32, scale float32) float32 {
	return softmaxGo(row, mask, scale)
}
func layerNorm(x, delta, bias, gamma, beta []float32, eps float32) {
	layerNormGo(x, delta, bias, gamma, beta, eps)
}
func prefetch([]float32, int, int, int) {}

// addLayerNormPairs does no rows two at a time: AddLayerNorm does them all
// with layerNorm.
func addLayerNormPairs(_, _, _, _, _ []float32, _ int, _ float32) int { return 0 }
