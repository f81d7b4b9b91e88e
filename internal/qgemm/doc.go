// Package qgemm owns quantized Linear weights and the integer matrix
// products that run them: y = x·Wᵀ + b with W (Out×In, the PyTorch layout)
// stored as
//
//   - Int8: per-output-channel symmetric int8, one float32 scale per row
//     (q = round(w/s), s = max|w|/127, q in [-127, 127]);
//   - Int4: group-wise symmetric int4 along In, groups of 32, 64 or 128
//     values (the last group may be shorter when In is not a multiple of
//     the group size), one float32 scale per (row, group)
//     (s = max|w|/7, q in [-7, 7]), two values per byte.
//
// Both report their exact storage bytes, dequantize back to float32, and
// convert to and from the raw tensors a safetensors file stores (I8 or U8
// data plus F32 scales); file I/O is not this package's.
//
// # The product
//
// Workspace.Mul quantizes each row i of x per token, symmetric int8:
// sx[i] = max|x[i]|/127 and xq = roundToEven(x·(127/max|x[i]|)) (a row
// whose max|x[i]| is below 2⁻¹²¹, where 127/max|x[i]| could overflow,
// counts as zero: sx[i] = 0, xq = 0; AVX-512 quantizes every row of a
// product in one call), then
// computes with exact int32 accumulation, for output column n,
//
//	Int8: t = float32(Σₖ xq[i,k]·wq[n,k]) · sw[n]
//	Int4: t = Σ_g float32(Σ_{k∈g} xq[i,k]·wq[n,k]) · sw[n,g]   (groups in order)
//	y[i,n] = t · sx[i] + b[n]
//
// where every product and sum after the integer dot products is one float32
// operation rounded to nearest (never fused). Every kernel computes exactly
// these operations, so results are bit-identical across kernels and thread
// counts. In may be at most MaxIn, which keeps the int32 sums exact.
//
// Kernels, chosen at run time: on amd64 with Intel AMX (Linux, which
// grants the tile state on request), for Int8 weights whose In is a
// multiple of 64, a kernel computing each panel's rows 32 at a time with
// TDPBUSD on tiles, K in blocks of 256 with the int32 sums kept between
// blocks (same activations and correction as VNNI's; hand-written,
// amx_amd64.s), and for Int4 weights of such an In in groups of 64 or 128,
// from 24 rows on (amx4Rows, measured), one that unpacks each panel's
// weights four groups at a time into scratch and sums every group on the
// tiles separately, then scales them in vector registers; otherwise on amd64 with AVX512-VNNI a 12×32 VPDPBUSD
// kernel, with 4×32 and 1×32 variants for a product's last 8 rows or
// fewer, so that one token (batch 1, sequence 1) is not computed as 12
// (activations stored as unsigned x+128; its integer sums start from
// −128·Σₖ w[n,k], precomputed at quantization time, which takes out what
// the +128 adds); with AVX2 a
// 6×8 kernel that sign-extends weights to int16 and uses VPMADDWD, which
// cannot saturate; on arm64 a 4×16 kernel with the dot-product extension's
// SDOT where the CPU has it (activations turned back into signed bytes,
// so no correction), else one on plain ASIMD that widens products to
// int16 (SMULL), adds them in pairs (ADDP, exact) and accumulates into
// int32 (SADALP); elsewhere a pure-Go kernel.
//
// Int4 weights are kept, from quantization or loading on, in the layout
// the VNNI kernel reads: per 32-column panel and K step of 4, 64 bytes,
// the low nibbles holding columns 0–15 and the high nibbles columns 16–31
// (two's complement). Where the CPU also has GFNI (Ice Lake, Zen 4 and
// later) the kernel expands them in registers, one GF2P8AFFINEQB per
// nibble half, so a product reads half the bytes of an int8 one; the other
// kernels get each panel unpacked to the int8 layout on every call (AMX:
// once for all rows). A product still does as many multiply-adds as with
// int8, plus one float scaling per group (see above), so int4 is faster
// than int8 only where weight bytes, not arithmetic, bound the time: a few
// tokens per pass. On AMX that scaling (a conversion, a multiply and an
// add per output and group of 64) costs more than the tile products
// themselves, so many-row Int4 products stay slower than Int8 ones.
//
// Threads: Workspace.Threads, or a shared Workspace.Pool (package
// internal/par), split the activation quantization by rows and the
// product by 32-column panels; each output is computed by one goroutine
// in the same order whatever the split.
//
// ConcatInt8 and ConcatInt4 join weights of the same In (and group size)
// into one (query, key and value): rows are quantized per channel (and
// group), so one product by it is bit for bit the separate products, with
// the activations quantized once.
//
// # Weights made at run time
//
// Int8.SetRows and Int8.SetCols remake an Int8 in place from a float
// matrix (its rows, or its columns as rows) by the activations' rule,
// scale max|row|/127 and values roundToEven(x·127/max|row|), reusing its
// memory: one attention head's keys and values, so that the score and
// context products run on the same kernels. On amd64 with AVX512-VNNI
// hand-written helpers (runtime_amd64.s) do the quantization and packing;
// elsewhere Go does; both give the same bytes.
//
// Concurrency: Int8 and Int4 values are read-only after construction and
// may be shared, except an Int8 remade by SetRows or SetCols, which belongs
// to the goroutine remaking it. A *Workspace holds scratch memory and must not be used by
// two goroutines at once; give each goroutine its own.
package qgemm
