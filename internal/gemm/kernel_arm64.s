#include "textflag.h"

// func kernel6x16NEON(kcb int, a *float32, lda int, b, c *float32, ldc int, acc bool, tiles int)
//
// ASIMD: for each of tiles ≥ 1 tiles of 6 rows, the 6×16 tile of C at c (row
// stride ldc floats) becomes (acc ? C : 0) + Σₖ A[·][k]·B[k][·] over kcb ≥ 1
// steps, A read in place with row stride lda floats and B one packed
// 16-column panel; the next tile is 6 rows further down A and C.
// Registers: V0–V23 the sums (row r in V4r…V4r+3), V24–V27 one row of the
// panel, V28–V29 a broadcast element of A; R8–R13 the rows of A, R14 the
// panel, R15 the steps left, R19 the row of C being stored, R20 and
// R21 six rows of C and of A in bytes.
TEXT ·kernel6x16NEON(SB), NOSPLIT, $0-64
	MOVD  kcb+0(FP), R0
	MOVD  a+8(FP), R1
	MOVD  lda+16(FP), R2
	MOVD  b+24(FP), R3
	MOVD  c+32(FP), R4
	MOVD  ldc+40(FP), R5
	MOVBU acc+48(FP), R6
	MOVD  tiles+56(FP), R7
	LSL   $2, R2
	LSL   $2, R5
	ADD   R2<<1, R2, R21
	LSL   $1, R21 // 6 rows of A, in bytes
	ADD   R5<<1, R5, R20
	LSL   $1, R20 // 6 rows of C, in bytes

tile:
	MOVD R1, R8
	ADD  R2, R8, R9
	ADD  R2, R9, R10
	ADD  R2, R10, R11
	ADD  R2, R11, R12
	ADD  R2, R12, R13
	MOVD R3, R14
	MOVD R0, R15
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
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16

step:
	VLD1.P 64(R14), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1R.P 4(R8), [V28.S4]
	VFMLA V24.S4, V28.S4, V0.S4
	VFMLA V25.S4, V28.S4, V1.S4
	VFMLA V26.S4, V28.S4, V2.S4
	VFMLA V27.S4, V28.S4, V3.S4
	VLD1R.P 4(R9), [V29.S4]
	VFMLA V24.S4, V29.S4, V4.S4
	VFMLA V25.S4, V29.S4, V5.S4
	VFMLA V26.S4, V29.S4, V6.S4
	VFMLA V27.S4, V29.S4, V7.S4
	VLD1R.P 4(R10), [V28.S4]
	VFMLA V24.S4, V28.S4, V8.S4
	VFMLA V25.S4, V28.S4, V9.S4
	VFMLA V26.S4, V28.S4, V10.S4
	VFMLA V27.S4, V28.S4, V11.S4
	VLD1R.P 4(R11), [V29.S4]
	VFMLA V24.S4, V29.S4, V12.S4
	VFMLA V25.S4, V29.S4, V13.S4
	VFMLA V26.S4, V29.S4, V14.S4
	VFMLA V27.S4, V29.S4, V15.S4
	VLD1R.P 4(R12), [V28.S4]
	VFMLA V24.S4, V28.S4, V16.S4
	VFMLA V25.S4, V28.S4, V17.S4
	VFMLA V26.S4, V28.S4, V18.S4
	VFMLA V27.S4, V28.S4, V19.S4
	VLD1R.P 4(R13), [V29.S4]
	VFMLA V24.S4, V29.S4, V20.S4
	VFMLA V25.S4, V29.S4, V21.S4
	VFMLA V26.S4, V29.S4, V22.S4
	VFMLA V27.S4, V29.S4, V23.S4
	SUBS $1, R15, R15
	BNE  step

	MOVD R4, R19
	CBZ  R6, store
	VLD1 (R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x4e38d400 // fadd v0.4s, v0.4s, v24.4s
	WORD $0x4e39d421 // fadd v1.4s, v1.4s, v25.4s
	WORD $0x4e3ad442 // fadd v2.4s, v2.4s, v26.4s
	WORD $0x4e3bd463 // fadd v3.4s, v3.4s, v27.4s
	ADD  R5, R19, R19
	VLD1 (R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x4e38d484 // fadd v4.4s, v4.4s, v24.4s
	WORD $0x4e39d4a5 // fadd v5.4s, v5.4s, v25.4s
	WORD $0x4e3ad4c6 // fadd v6.4s, v6.4s, v26.4s
	WORD $0x4e3bd4e7 // fadd v7.4s, v7.4s, v27.4s
	ADD  R5, R19, R19
	VLD1 (R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x4e38d508 // fadd v8.4s, v8.4s, v24.4s
	WORD $0x4e39d529 // fadd v9.4s, v9.4s, v25.4s
	WORD $0x4e3ad54a // fadd v10.4s, v10.4s, v26.4s
	WORD $0x4e3bd56b // fadd v11.4s, v11.4s, v27.4s
	ADD  R5, R19, R19
	VLD1 (R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x4e38d58c // fadd v12.4s, v12.4s, v24.4s
	WORD $0x4e39d5ad // fadd v13.4s, v13.4s, v25.4s
	WORD $0x4e3ad5ce // fadd v14.4s, v14.4s, v26.4s
	WORD $0x4e3bd5ef // fadd v15.4s, v15.4s, v27.4s
	ADD  R5, R19, R19
	VLD1 (R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x4e38d610 // fadd v16.4s, v16.4s, v24.4s
	WORD $0x4e39d631 // fadd v17.4s, v17.4s, v25.4s
	WORD $0x4e3ad652 // fadd v18.4s, v18.4s, v26.4s
	WORD $0x4e3bd673 // fadd v19.4s, v19.4s, v27.4s
	ADD  R5, R19, R19
	VLD1 (R19), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x4e38d694 // fadd v20.4s, v20.4s, v24.4s
	WORD $0x4e39d6b5 // fadd v21.4s, v21.4s, v25.4s
	WORD $0x4e3ad6d6 // fadd v22.4s, v22.4s, v26.4s
	WORD $0x4e3bd6f7 // fadd v23.4s, v23.4s, v27.4s
	ADD  R5, R19, R19
	MOVD R4, R19

store:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R19)
	ADD  R5, R19, R19
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R19)
	ADD  R5, R19, R19
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R19)
	ADD  R5, R19, R19
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R19)
	ADD  R5, R19, R19
	VST1 [V16.S4, V17.S4, V18.S4, V19.S4], (R19)
	ADD  R5, R19, R19
	VST1 [V20.S4, V21.S4, V22.S4, V23.S4], (R19)
	ADD  R5, R19, R19
	ADD  R21, R1, R1 // next tile: 6 rows of A further
	ADD  R20, R4, R4 // and of C
	SUBS $1, R7, R7
	BNE  tile
	RET
