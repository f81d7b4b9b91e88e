#include "textflag.h"

// The int8 kernels on arm64: the contract of kernelGo (mul.go) on a tile
// of 4 rows and 16 columns, b, sw, f, bias and c at the tile's first
// column (the Go side calls them for each half of a 32-column panel). The
// activations arrive as x+128 and are turned back into signed bytes with
// one EOR, so the integer sums are Σ x·w directly and the correction
// 128·Σw is not needed: the same int32 as kernelGo's Σ(x+128)·w − corr.
// After each group of kg steps the sums become float32 exactly as in
// kernelGo: t = float32(sum)·sw (+ f), and with flagFinal after the last
// group C = t·sx + bias, each one rounded operation (never fused).
//
// Registers: V0–V15 the int32 sums (row r, columns 4v…4v+3 in V4r+v),
// V16–V19 sixteen bytes (four steps) of each row of A, V20–V23 one step of
// the panel (sixteen columns of four bytes), V24–V27 scratch, V31 0x80 in
// every byte; R8–R11 the rows of A, R12 the steps left in the group.
// Instructions the Go assembler lacks are WORDs, the GNU syntax beside.

// func kernelDot(a *byte, lda int, b *byte, kg, ng int, sw, f *float32, flags int, sx, bias, c *float32, ldc int)
TEXT ·kernelDot(SB), NOSPLIT, $0-96
	MOVD a+0(FP), R8
	MOVD lda+8(FP), R1
	MOVD b+16(FP), R2
	MOVD kg+24(FP), R3
	MOVD ng+32(FP), R4
	MOVD sw+40(FP), R5
	MOVD f+48(FP), R6
	MOVD flags+56(FP), R7
	AND  $1, R7, R13 // add the first group to f
	ADD  R1, R8, R9
	ADD  R1, R9, R10
	ADD  R1, R10, R11
	VMOVI $128, V31.B16

kernelDot_group:
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	MOVD R3, R12
	CMP  $4, R12
	BLT  kernelDot_tail

kernelDot_quad:
	VLD1.P 16(R8), [V16.B16]
	VLD1.P 16(R9), [V17.B16]
	VLD1.P 16(R10), [V18.B16]
	VLD1.P 16(R11), [V19.B16]
	VEOR V31.B16, V16.B16, V16.B16
	VEOR V31.B16, V17.B16, V17.B16
	VEOR V31.B16, V18.B16, V18.B16
	VEOR V31.B16, V19.B16, V19.B16
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	WORD $0x4f90e280 // sdot v0.4s, v20.16b, v16.4b[0]
	WORD $0x4f90e2a1 // sdot v1.4s, v21.16b, v16.4b[0]
	WORD $0x4f90e2c2 // sdot v2.4s, v22.16b, v16.4b[0]
	WORD $0x4f90e2e3 // sdot v3.4s, v23.16b, v16.4b[0]
	WORD $0x4f91e284 // sdot v4.4s, v20.16b, v17.4b[0]
	WORD $0x4f91e2a5 // sdot v5.4s, v21.16b, v17.4b[0]
	WORD $0x4f91e2c6 // sdot v6.4s, v22.16b, v17.4b[0]
	WORD $0x4f91e2e7 // sdot v7.4s, v23.16b, v17.4b[0]
	WORD $0x4f92e288 // sdot v8.4s, v20.16b, v18.4b[0]
	WORD $0x4f92e2a9 // sdot v9.4s, v21.16b, v18.4b[0]
	WORD $0x4f92e2ca // sdot v10.4s, v22.16b, v18.4b[0]
	WORD $0x4f92e2eb // sdot v11.4s, v23.16b, v18.4b[0]
	WORD $0x4f93e28c // sdot v12.4s, v20.16b, v19.4b[0]
	WORD $0x4f93e2ad // sdot v13.4s, v21.16b, v19.4b[0]
	WORD $0x4f93e2ce // sdot v14.4s, v22.16b, v19.4b[0]
	WORD $0x4f93e2ef // sdot v15.4s, v23.16b, v19.4b[0]
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	WORD $0x4fb0e280 // sdot v0.4s, v20.16b, v16.4b[1]
	WORD $0x4fb0e2a1 // sdot v1.4s, v21.16b, v16.4b[1]
	WORD $0x4fb0e2c2 // sdot v2.4s, v22.16b, v16.4b[1]
	WORD $0x4fb0e2e3 // sdot v3.4s, v23.16b, v16.4b[1]
	WORD $0x4fb1e284 // sdot v4.4s, v20.16b, v17.4b[1]
	WORD $0x4fb1e2a5 // sdot v5.4s, v21.16b, v17.4b[1]
	WORD $0x4fb1e2c6 // sdot v6.4s, v22.16b, v17.4b[1]
	WORD $0x4fb1e2e7 // sdot v7.4s, v23.16b, v17.4b[1]
	WORD $0x4fb2e288 // sdot v8.4s, v20.16b, v18.4b[1]
	WORD $0x4fb2e2a9 // sdot v9.4s, v21.16b, v18.4b[1]
	WORD $0x4fb2e2ca // sdot v10.4s, v22.16b, v18.4b[1]
	WORD $0x4fb2e2eb // sdot v11.4s, v23.16b, v18.4b[1]
	WORD $0x4fb3e28c // sdot v12.4s, v20.16b, v19.4b[1]
	WORD $0x4fb3e2ad // sdot v13.4s, v21.16b, v19.4b[1]
	WORD $0x4fb3e2ce // sdot v14.4s, v22.16b, v19.4b[1]
	WORD $0x4fb3e2ef // sdot v15.4s, v23.16b, v19.4b[1]
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	WORD $0x4f90ea80 // sdot v0.4s, v20.16b, v16.4b[2]
	WORD $0x4f90eaa1 // sdot v1.4s, v21.16b, v16.4b[2]
	WORD $0x4f90eac2 // sdot v2.4s, v22.16b, v16.4b[2]
	WORD $0x4f90eae3 // sdot v3.4s, v23.16b, v16.4b[2]
	WORD $0x4f91ea84 // sdot v4.4s, v20.16b, v17.4b[2]
	WORD $0x4f91eaa5 // sdot v5.4s, v21.16b, v17.4b[2]
	WORD $0x4f91eac6 // sdot v6.4s, v22.16b, v17.4b[2]
	WORD $0x4f91eae7 // sdot v7.4s, v23.16b, v17.4b[2]
	WORD $0x4f92ea88 // sdot v8.4s, v20.16b, v18.4b[2]
	WORD $0x4f92eaa9 // sdot v9.4s, v21.16b, v18.4b[2]
	WORD $0x4f92eaca // sdot v10.4s, v22.16b, v18.4b[2]
	WORD $0x4f92eaeb // sdot v11.4s, v23.16b, v18.4b[2]
	WORD $0x4f93ea8c // sdot v12.4s, v20.16b, v19.4b[2]
	WORD $0x4f93eaad // sdot v13.4s, v21.16b, v19.4b[2]
	WORD $0x4f93eace // sdot v14.4s, v22.16b, v19.4b[2]
	WORD $0x4f93eaef // sdot v15.4s, v23.16b, v19.4b[2]
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	WORD $0x4fb0ea80 // sdot v0.4s, v20.16b, v16.4b[3]
	WORD $0x4fb0eaa1 // sdot v1.4s, v21.16b, v16.4b[3]
	WORD $0x4fb0eac2 // sdot v2.4s, v22.16b, v16.4b[3]
	WORD $0x4fb0eae3 // sdot v3.4s, v23.16b, v16.4b[3]
	WORD $0x4fb1ea84 // sdot v4.4s, v20.16b, v17.4b[3]
	WORD $0x4fb1eaa5 // sdot v5.4s, v21.16b, v17.4b[3]
	WORD $0x4fb1eac6 // sdot v6.4s, v22.16b, v17.4b[3]
	WORD $0x4fb1eae7 // sdot v7.4s, v23.16b, v17.4b[3]
	WORD $0x4fb2ea88 // sdot v8.4s, v20.16b, v18.4b[3]
	WORD $0x4fb2eaa9 // sdot v9.4s, v21.16b, v18.4b[3]
	WORD $0x4fb2eaca // sdot v10.4s, v22.16b, v18.4b[3]
	WORD $0x4fb2eaeb // sdot v11.4s, v23.16b, v18.4b[3]
	WORD $0x4fb3ea8c // sdot v12.4s, v20.16b, v19.4b[3]
	WORD $0x4fb3eaad // sdot v13.4s, v21.16b, v19.4b[3]
	WORD $0x4fb3eace // sdot v14.4s, v22.16b, v19.4b[3]
	WORD $0x4fb3eaef // sdot v15.4s, v23.16b, v19.4b[3]
	SUB  $4, R12
	CMP  $4, R12
	BGE  kernelDot_quad

kernelDot_tail:
	CBZ  R12, kernelDot_sums
	FMOVS.P 4(R8), F16
	FMOVS.P 4(R9), F17
	FMOVS.P 4(R10), F18
	FMOVS.P 4(R11), F19
	VEOR V31.B16, V16.B16, V16.B16
	VEOR V31.B16, V17.B16, V17.B16
	VEOR V31.B16, V18.B16, V18.B16
	VEOR V31.B16, V19.B16, V19.B16
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	WORD $0x4f90e280 // sdot v0.4s, v20.16b, v16.4b[0]
	WORD $0x4f90e2a1 // sdot v1.4s, v21.16b, v16.4b[0]
	WORD $0x4f90e2c2 // sdot v2.4s, v22.16b, v16.4b[0]
	WORD $0x4f90e2e3 // sdot v3.4s, v23.16b, v16.4b[0]
	WORD $0x4f91e284 // sdot v4.4s, v20.16b, v17.4b[0]
	WORD $0x4f91e2a5 // sdot v5.4s, v21.16b, v17.4b[0]
	WORD $0x4f91e2c6 // sdot v6.4s, v22.16b, v17.4b[0]
	WORD $0x4f91e2e7 // sdot v7.4s, v23.16b, v17.4b[0]
	WORD $0x4f92e288 // sdot v8.4s, v20.16b, v18.4b[0]
	WORD $0x4f92e2a9 // sdot v9.4s, v21.16b, v18.4b[0]
	WORD $0x4f92e2ca // sdot v10.4s, v22.16b, v18.4b[0]
	WORD $0x4f92e2eb // sdot v11.4s, v23.16b, v18.4b[0]
	WORD $0x4f93e28c // sdot v12.4s, v20.16b, v19.4b[0]
	WORD $0x4f93e2ad // sdot v13.4s, v21.16b, v19.4b[0]
	WORD $0x4f93e2ce // sdot v14.4s, v22.16b, v19.4b[0]
	WORD $0x4f93e2ef // sdot v15.4s, v23.16b, v19.4b[0]
	SUB  $1, R12
	B    kernelDot_tail

kernelDot_sums:
	VLD1 (R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	ADD  $128, R5 // the next group's scales
	WORD $0x4e21d800 // scvtf v0.4s, v0.4s
	WORD $0x6e34dc00 // fmul v0.4s, v0.4s, v20.4s
	WORD $0x4e21d821 // scvtf v1.4s, v1.4s
	WORD $0x6e35dc21 // fmul v1.4s, v1.4s, v21.4s
	WORD $0x4e21d842 // scvtf v2.4s, v2.4s
	WORD $0x6e36dc42 // fmul v2.4s, v2.4s, v22.4s
	WORD $0x4e21d863 // scvtf v3.4s, v3.4s
	WORD $0x6e37dc63 // fmul v3.4s, v3.4s, v23.4s
	WORD $0x4e21d884 // scvtf v4.4s, v4.4s
	WORD $0x6e34dc84 // fmul v4.4s, v4.4s, v20.4s
	WORD $0x4e21d8a5 // scvtf v5.4s, v5.4s
	WORD $0x6e35dca5 // fmul v5.4s, v5.4s, v21.4s
	WORD $0x4e21d8c6 // scvtf v6.4s, v6.4s
	WORD $0x6e36dcc6 // fmul v6.4s, v6.4s, v22.4s
	WORD $0x4e21d8e7 // scvtf v7.4s, v7.4s
	WORD $0x6e37dce7 // fmul v7.4s, v7.4s, v23.4s
	WORD $0x4e21d908 // scvtf v8.4s, v8.4s
	WORD $0x6e34dd08 // fmul v8.4s, v8.4s, v20.4s
	WORD $0x4e21d929 // scvtf v9.4s, v9.4s
	WORD $0x6e35dd29 // fmul v9.4s, v9.4s, v21.4s
	WORD $0x4e21d94a // scvtf v10.4s, v10.4s
	WORD $0x6e36dd4a // fmul v10.4s, v10.4s, v22.4s
	WORD $0x4e21d96b // scvtf v11.4s, v11.4s
	WORD $0x6e37dd6b // fmul v11.4s, v11.4s, v23.4s
	WORD $0x4e21d98c // scvtf v12.4s, v12.4s
	WORD $0x6e34dd8c // fmul v12.4s, v12.4s, v20.4s
	WORD $0x4e21d9ad // scvtf v13.4s, v13.4s
	WORD $0x6e35ddad // fmul v13.4s, v13.4s, v21.4s
	WORD $0x4e21d9ce // scvtf v14.4s, v14.4s
	WORD $0x6e36ddce // fmul v14.4s, v14.4s, v22.4s
	WORD $0x4e21d9ef // scvtf v15.4s, v15.4s
	WORD $0x6e37ddef // fmul v15.4s, v15.4s, v23.4s
	CBZ  R13, kernelDot_noacc
	MOVD R6, R14
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e20d700 // fadd v0.4s, v24.4s, v0.4s
	WORD $0x4e21d721 // fadd v1.4s, v25.4s, v1.4s
	WORD $0x4e22d742 // fadd v2.4s, v26.4s, v2.4s
	WORD $0x4e23d763 // fadd v3.4s, v27.4s, v3.4s
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e24d704 // fadd v4.4s, v24.4s, v4.4s
	WORD $0x4e25d725 // fadd v5.4s, v25.4s, v5.4s
	WORD $0x4e26d746 // fadd v6.4s, v26.4s, v6.4s
	WORD $0x4e27d767 // fadd v7.4s, v27.4s, v7.4s
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e28d708 // fadd v8.4s, v24.4s, v8.4s
	WORD $0x4e29d729 // fadd v9.4s, v25.4s, v9.4s
	WORD $0x4e2ad74a // fadd v10.4s, v26.4s, v10.4s
	WORD $0x4e2bd76b // fadd v11.4s, v27.4s, v11.4s
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e2cd70c // fadd v12.4s, v24.4s, v12.4s
	WORD $0x4e2dd72d // fadd v13.4s, v25.4s, v13.4s
	WORD $0x4e2ed74e // fadd v14.4s, v26.4s, v14.4s
	WORD $0x4e2fd76f // fadd v15.4s, v27.4s, v15.4s

kernelDot_noacc:
	MOVD $1, R13
	CMP  $1, R4
	BNE  kernelDot_store
	TBZ  $1, R7, kernelDot_store
	MOVD sx+64(FP), R14
	MOVD bias+72(FP), R15
	MOVD c+80(FP), R19
	MOVD ldc+88(FP), R20
	LSL  $2, R20
	VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dc00 // fmul v0.4s, v0.4s, v24.4s
	WORD $0x4e34d400 // fadd v0.4s, v0.4s, v20.4s
	WORD $0x6e38dc21 // fmul v1.4s, v1.4s, v24.4s
	WORD $0x4e35d421 // fadd v1.4s, v1.4s, v21.4s
	WORD $0x6e38dc42 // fmul v2.4s, v2.4s, v24.4s
	WORD $0x4e36d442 // fadd v2.4s, v2.4s, v22.4s
	WORD $0x6e38dc63 // fmul v3.4s, v3.4s, v24.4s
	WORD $0x4e37d463 // fadd v3.4s, v3.4s, v23.4s
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R19)
	ADD  R20, R19, R19
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dc84 // fmul v4.4s, v4.4s, v24.4s
	WORD $0x4e34d484 // fadd v4.4s, v4.4s, v20.4s
	WORD $0x6e38dca5 // fmul v5.4s, v5.4s, v24.4s
	WORD $0x4e35d4a5 // fadd v5.4s, v5.4s, v21.4s
	WORD $0x6e38dcc6 // fmul v6.4s, v6.4s, v24.4s
	WORD $0x4e36d4c6 // fadd v6.4s, v6.4s, v22.4s
	WORD $0x6e38dce7 // fmul v7.4s, v7.4s, v24.4s
	WORD $0x4e37d4e7 // fadd v7.4s, v7.4s, v23.4s
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R19)
	ADD  R20, R19, R19
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dd08 // fmul v8.4s, v8.4s, v24.4s
	WORD $0x4e34d508 // fadd v8.4s, v8.4s, v20.4s
	WORD $0x6e38dd29 // fmul v9.4s, v9.4s, v24.4s
	WORD $0x4e35d529 // fadd v9.4s, v9.4s, v21.4s
	WORD $0x6e38dd4a // fmul v10.4s, v10.4s, v24.4s
	WORD $0x4e36d54a // fadd v10.4s, v10.4s, v22.4s
	WORD $0x6e38dd6b // fmul v11.4s, v11.4s, v24.4s
	WORD $0x4e37d56b // fadd v11.4s, v11.4s, v23.4s
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R19)
	ADD  R20, R19, R19
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dd8c // fmul v12.4s, v12.4s, v24.4s
	WORD $0x4e34d58c // fadd v12.4s, v12.4s, v20.4s
	WORD $0x6e38ddad // fmul v13.4s, v13.4s, v24.4s
	WORD $0x4e35d5ad // fadd v13.4s, v13.4s, v21.4s
	WORD $0x6e38ddce // fmul v14.4s, v14.4s, v24.4s
	WORD $0x4e36d5ce // fadd v14.4s, v14.4s, v22.4s
	WORD $0x6e38ddef // fmul v15.4s, v15.4s, v24.4s
	WORD $0x4e37d5ef // fadd v15.4s, v15.4s, v23.4s
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R19)
	ADD  R20, R19, R19
	RET

kernelDot_store:
	MOVD R6, R14
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R14)
	ADD  $128, R14
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R14)
	ADD  $128, R14
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R14)
	ADD  $128, R14
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R14)
	ADD  $128, R14
	SUBS $1, R4, R4
	BNE  kernelDot_group
	RET

// func kernelNEON(a *byte, lda int, b *byte, kg, ng int, sw, f *float32, flags int, sx, bias, c *float32, ldc int)
TEXT ·kernelNEON(SB), NOSPLIT, $0-96
	MOVD a+0(FP), R8
	MOVD lda+8(FP), R1
	MOVD b+16(FP), R2
	MOVD kg+24(FP), R3
	MOVD ng+32(FP), R4
	MOVD sw+40(FP), R5
	MOVD f+48(FP), R6
	MOVD flags+56(FP), R7
	AND  $1, R7, R13 // add the first group to f
	ADD  R1, R8, R9
	ADD  R1, R9, R10
	ADD  R1, R10, R11
	VMOVI $128, V31.B16

kernelNEON_group:
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	MOVD R3, R12
	CMP  $4, R12
	BLT  kernelNEON_tail

kernelNEON_quad:
	VLD1.P 16(R8), [V16.B16]
	VLD1.P 16(R9), [V17.B16]
	VLD1.P 16(R10), [V18.B16]
	VLD1.P 16(R11), [V19.B16]
	VEOR V31.B16, V16.B16, V16.B16
	VEOR V31.B16, V17.B16, V17.B16
	VEOR V31.B16, V18.B16, V18.B16
	VEOR V31.B16, V19.B16, V19.B16
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	VDUP V16.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b20 // sadalp v0.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b21 // sadalp v1.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b22 // sadalp v2.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b23 // sadalp v3.4s, v25.8h
	VDUP V17.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b24 // sadalp v4.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b25 // sadalp v5.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b26 // sadalp v6.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b27 // sadalp v7.4s, v25.8h
	VDUP V18.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b28 // sadalp v8.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b29 // sadalp v9.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2a // sadalp v10.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2b // sadalp v11.4s, v25.8h
	VDUP V19.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2c // sadalp v12.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2d // sadalp v13.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2e // sadalp v14.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2f // sadalp v15.4s, v25.8h
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	VDUP V16.S[1], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b20 // sadalp v0.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b21 // sadalp v1.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b22 // sadalp v2.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b23 // sadalp v3.4s, v25.8h
	VDUP V17.S[1], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b24 // sadalp v4.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b25 // sadalp v5.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b26 // sadalp v6.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b27 // sadalp v7.4s, v25.8h
	VDUP V18.S[1], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b28 // sadalp v8.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b29 // sadalp v9.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2a // sadalp v10.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2b // sadalp v11.4s, v25.8h
	VDUP V19.S[1], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2c // sadalp v12.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2d // sadalp v13.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2e // sadalp v14.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2f // sadalp v15.4s, v25.8h
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	VDUP V16.S[2], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b20 // sadalp v0.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b21 // sadalp v1.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b22 // sadalp v2.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b23 // sadalp v3.4s, v25.8h
	VDUP V17.S[2], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b24 // sadalp v4.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b25 // sadalp v5.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b26 // sadalp v6.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b27 // sadalp v7.4s, v25.8h
	VDUP V18.S[2], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b28 // sadalp v8.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b29 // sadalp v9.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2a // sadalp v10.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2b // sadalp v11.4s, v25.8h
	VDUP V19.S[2], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2c // sadalp v12.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2d // sadalp v13.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2e // sadalp v14.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2f // sadalp v15.4s, v25.8h
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	VDUP V16.S[3], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b20 // sadalp v0.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b21 // sadalp v1.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b22 // sadalp v2.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b23 // sadalp v3.4s, v25.8h
	VDUP V17.S[3], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b24 // sadalp v4.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b25 // sadalp v5.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b26 // sadalp v6.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b27 // sadalp v7.4s, v25.8h
	VDUP V18.S[3], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b28 // sadalp v8.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b29 // sadalp v9.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2a // sadalp v10.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2b // sadalp v11.4s, v25.8h
	VDUP V19.S[3], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2c // sadalp v12.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2d // sadalp v13.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2e // sadalp v14.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2f // sadalp v15.4s, v25.8h
	SUB  $4, R12
	CMP  $4, R12
	BGE  kernelNEON_quad

kernelNEON_tail:
	CBZ  R12, kernelNEON_sums
	FMOVS.P 4(R8), F16
	FMOVS.P 4(R9), F17
	FMOVS.P 4(R10), F18
	FMOVS.P 4(R11), F19
	VEOR V31.B16, V16.B16, V16.B16
	VEOR V31.B16, V17.B16, V17.B16
	VEOR V31.B16, V18.B16, V18.B16
	VEOR V31.B16, V19.B16, V19.B16
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	ADD  $128, R2
	VDUP V16.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b20 // sadalp v0.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b21 // sadalp v1.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b22 // sadalp v2.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b23 // sadalp v3.4s, v25.8h
	VDUP V17.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b24 // sadalp v4.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b25 // sadalp v5.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b26 // sadalp v6.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b27 // sadalp v7.4s, v25.8h
	VDUP V18.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b28 // sadalp v8.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b29 // sadalp v9.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2a // sadalp v10.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2b // sadalp v11.4s, v25.8h
	VDUP V19.S[0], V24.S4
	WORD $0x0e38c299 // smull v25.8h, v20.8b, v24.8b
	WORD $0x4e38c29a // smull2 v26.8h, v20.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2c // sadalp v12.4s, v25.8h
	WORD $0x0e38c2b9 // smull v25.8h, v21.8b, v24.8b
	WORD $0x4e38c2ba // smull2 v26.8h, v21.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2d // sadalp v13.4s, v25.8h
	WORD $0x0e38c2d9 // smull v25.8h, v22.8b, v24.8b
	WORD $0x4e38c2da // smull2 v26.8h, v22.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2e // sadalp v14.4s, v25.8h
	WORD $0x0e38c2f9 // smull v25.8h, v23.8b, v24.8b
	WORD $0x4e38c2fa // smull2 v26.8h, v23.16b, v24.16b
	WORD $0x4e7abf39 // addp v25.8h, v25.8h, v26.8h
	WORD $0x4e606b2f // sadalp v15.4s, v25.8h
	SUB  $1, R12
	B    kernelNEON_tail

kernelNEON_sums:
	VLD1 (R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	ADD  $128, R5 // the next group's scales
	WORD $0x4e21d800 // scvtf v0.4s, v0.4s
	WORD $0x6e34dc00 // fmul v0.4s, v0.4s, v20.4s
	WORD $0x4e21d821 // scvtf v1.4s, v1.4s
	WORD $0x6e35dc21 // fmul v1.4s, v1.4s, v21.4s
	WORD $0x4e21d842 // scvtf v2.4s, v2.4s
	WORD $0x6e36dc42 // fmul v2.4s, v2.4s, v22.4s
	WORD $0x4e21d863 // scvtf v3.4s, v3.4s
	WORD $0x6e37dc63 // fmul v3.4s, v3.4s, v23.4s
	WORD $0x4e21d884 // scvtf v4.4s, v4.4s
	WORD $0x6e34dc84 // fmul v4.4s, v4.4s, v20.4s
	WORD $0x4e21d8a5 // scvtf v5.4s, v5.4s
	WORD $0x6e35dca5 // fmul v5.4s, v5.4s, v21.4s
	WORD $0x4e21d8c6 // scvtf v6.4s, v6.4s
	WORD $0x6e36dcc6 // fmul v6.4s, v6.4s, v22.4s
	WORD $0x4e21d8e7 // scvtf v7.4s, v7.4s
	WORD $0x6e37dce7 // fmul v7.4s, v7.4s, v23.4s
	WORD $0x4e21d908 // scvtf v8.4s, v8.4s
	WORD $0x6e34dd08 // fmul v8.4s, v8.4s, v20.4s
	WORD $0x4e21d929 // scvtf v9.4s, v9.4s
	WORD $0x6e35dd29 // fmul v9.4s, v9.4s, v21.4s
	WORD $0x4e21d94a // scvtf v10.4s, v10.4s
	WORD $0x6e36dd4a // fmul v10.4s, v10.4s, v22.4s
	WORD $0x4e21d96b // scvtf v11.4s, v11.4s
	WORD $0x6e37dd6b // fmul v11.4s, v11.4s, v23.4s
	WORD $0x4e21d98c // scvtf v12.4s, v12.4s
	WORD $0x6e34dd8c // fmul v12.4s, v12.4s, v20.4s
	WORD $0x4e21d9ad // scvtf v13.4s, v13.4s
	WORD $0x6e35ddad // fmul v13.4s, v13.4s, v21.4s
	WORD $0x4e21d9ce // scvtf v14.4s, v14.4s
	WORD $0x6e36ddce // fmul v14.4s, v14.4s, v22.4s
	WORD $0x4e21d9ef // scvtf v15.4s, v15.4s
	WORD $0x6e37ddef // fmul v15.4s, v15.4s, v23.4s
	CBZ  R13, kernelNEON_noacc
	MOVD R6, R14
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e20d700 // fadd v0.4s, v24.4s, v0.4s
	WORD $0x4e21d721 // fadd v1.4s, v25.4s, v1.4s
	WORD $0x4e22d742 // fadd v2.4s, v26.4s, v2.4s
	WORD $0x4e23d763 // fadd v3.4s, v27.4s, v3.4s
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e24d704 // fadd v4.4s, v24.4s, v4.4s
	WORD $0x4e25d725 // fadd v5.4s, v25.4s, v5.4s
	WORD $0x4e26d746 // fadd v6.4s, v26.4s, v6.4s
	WORD $0x4e27d767 // fadd v7.4s, v27.4s, v7.4s
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e28d708 // fadd v8.4s, v24.4s, v8.4s
	WORD $0x4e29d729 // fadd v9.4s, v25.4s, v9.4s
	WORD $0x4e2ad74a // fadd v10.4s, v26.4s, v10.4s
	WORD $0x4e2bd76b // fadd v11.4s, v27.4s, v11.4s
	VLD1 (R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD  $128, R14
	WORD $0x4e2cd70c // fadd v12.4s, v24.4s, v12.4s
	WORD $0x4e2dd72d // fadd v13.4s, v25.4s, v13.4s
	WORD $0x4e2ed74e // fadd v14.4s, v26.4s, v14.4s
	WORD $0x4e2fd76f // fadd v15.4s, v27.4s, v15.4s

kernelNEON_noacc:
	MOVD $1, R13
	CMP  $1, R4
	BNE  kernelNEON_store
	TBZ  $1, R7, kernelNEON_store
	MOVD sx+64(FP), R14
	MOVD bias+72(FP), R15
	MOVD c+80(FP), R19
	MOVD ldc+88(FP), R20
	LSL  $2, R20
	VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dc00 // fmul v0.4s, v0.4s, v24.4s
	WORD $0x4e34d400 // fadd v0.4s, v0.4s, v20.4s
	WORD $0x6e38dc21 // fmul v1.4s, v1.4s, v24.4s
	WORD $0x4e35d421 // fadd v1.4s, v1.4s, v21.4s
	WORD $0x6e38dc42 // fmul v2.4s, v2.4s, v24.4s
	WORD $0x4e36d442 // fadd v2.4s, v2.4s, v22.4s
	WORD $0x6e38dc63 // fmul v3.4s, v3.4s, v24.4s
	WORD $0x4e37d463 // fadd v3.4s, v3.4s, v23.4s
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R19)
	ADD  R20, R19, R19
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dc84 // fmul v4.4s, v4.4s, v24.4s
	WORD $0x4e34d484 // fadd v4.4s, v4.4s, v20.4s
	WORD $0x6e38dca5 // fmul v5.4s, v5.4s, v24.4s
	WORD $0x4e35d4a5 // fadd v5.4s, v5.4s, v21.4s
	WORD $0x6e38dcc6 // fmul v6.4s, v6.4s, v24.4s
	WORD $0x4e36d4c6 // fadd v6.4s, v6.4s, v22.4s
	WORD $0x6e38dce7 // fmul v7.4s, v7.4s, v24.4s
	WORD $0x4e37d4e7 // fadd v7.4s, v7.4s, v23.4s
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R19)
	ADD  R20, R19, R19
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dd08 // fmul v8.4s, v8.4s, v24.4s
	WORD $0x4e34d508 // fadd v8.4s, v8.4s, v20.4s
	WORD $0x6e38dd29 // fmul v9.4s, v9.4s, v24.4s
	WORD $0x4e35d529 // fadd v9.4s, v9.4s, v21.4s
	WORD $0x6e38dd4a // fmul v10.4s, v10.4s, v24.4s
	WORD $0x4e36d54a // fadd v10.4s, v10.4s, v22.4s
	WORD $0x6e38dd6b // fmul v11.4s, v11.4s, v24.4s
	WORD $0x4e37d56b // fadd v11.4s, v11.4s, v23.4s
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R19)
	ADD  R20, R19, R19
	VLD1R.P 4(R14), [V24.S4]
	WORD $0x6e38dd8c // fmul v12.4s, v12.4s, v24.4s
	WORD $0x4e34d58c // fadd v12.4s, v12.4s, v20.4s
	WORD $0x6e38ddad // fmul v13.4s, v13.4s, v24.4s
	WORD $0x4e35d5ad // fadd v13.4s, v13.4s, v21.4s
	WORD $0x6e38ddce // fmul v14.4s, v14.4s, v24.4s
	WORD $0x4e36d5ce // fadd v14.4s, v14.4s, v22.4s
	WORD $0x6e38ddef // fmul v15.4s, v15.4s, v24.4s
	WORD $0x4e37d5ef // fadd v15.4s, v15.4s, v23.4s
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R19)
	ADD  R20, R19, R19
	RET

kernelNEON_store:
	MOVD R6, R14
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R14)
	ADD  $128, R14
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R14)
	ADD  $128, R14
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R14)
	ADD  $128, R14
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R14)
	ADD  $128, R14
	SUBS $1, R4, R4
	BNE  kernelNEON_group
	RET
