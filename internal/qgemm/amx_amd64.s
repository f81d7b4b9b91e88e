#include "textflag.h"

// kernelAMX: the contract of kernelGo (one group, flagFinal) for every row
// of one 32-column panel, on Intel AMX tiles, written by hand. AMX
// instructions are spelled out as bytes (the assembler has no mnemonics
// for them); each is preceded by its Intel syntax. Tiles (all 16 rows of
// 64 bytes, as amxConfig sets): tmm0..tmm3 the int32 sums of a 32×32 block
// (tmm0 rows 0–15 columns 0–15, tmm1 rows 0–15 columns 16–31, tmm2 and
// tmm3 rows 16–31), tmm4/tmm5 16 rows × 64 activations each, tmm6/tmm7 16
// K steps of columns 0–15 / 16–31 (rows of 128 bytes in the panel).
//
// K goes in blocks of amxBlock chunks of 64 values; within a block every
// 32-row block of the panel is computed, its sums kept in acc (32 int32
// per row) between K blocks, so that the activations and weights of one K
// block stay in L1 whatever In is. After the last K block the float
// epilogue turns acc into C.
//
// Registers: SI the row block's activations in the K block, DI the K
// block's weights, R8 lda, R9 chunks left, R10/R11 the activations and
// weights in the chunk loop, R12 the row block's first row, R13 m, R14 the
// row block's sums, BX acc, CX 128, AX and DX scratch; locals: the chunks
// done (kdone) and in this K block (nk). Epilogue: Z10–Z15 corr, sw and
// bias of the panel's halves, K1/K2 the column masks.

#define amxBlock 4

// AMX_CHUNK is one chunk of 64 K steps of a 32×32 block, shared by both
// kernels: the activations of rows 0–15 (tmm4, at R10) and 16–31 (tmm5,
// at R10 + 16·R8) and the weights of columns 0–15 (tmm6, at R11) and
// 16–31 (tmm7, at R11 + 64), rows of CX bytes, multiplied into
// tmm0..tmm3; R10 and R11 then move to the next chunk. In Intel syntax:
// tileloadd tmm4, [r10+r8]; tileloadd tmm5, [rdx+r8]; tileloadd tmm6,
// [r11+rcx]; tileloadd tmm7, [rax+rcx]; tdpbusd tmm0, tmm4, tmm6;
// tdpbusd tmm1, tmm4, tmm7; tdpbusd tmm2, tmm5, tmm6; tdpbusd tmm3,
// tmm5, tmm7.
#define AMX_CHUNK \
	MOVQ R8, DX; \
	SHLQ $4, DX; \
	ADDQ R10, DX; \
	LEAQ 64(R11), AX; \
	BYTE $0xC4; BYTE $0x82; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x02; \
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x02; \
	BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x0B; \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x3C; BYTE $0x08; \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xC4; \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xCC; \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xD5; \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xDD; \
	ADDQ $64, R10; \
	ADDQ $2048, R11

// func kernelAMX(a *byte, lda int, b *byte, k64, m int, corr *int32, sw, sx, bias, c *float32, ldc int, mask uint32, acc *int32, cfg *byte)
TEXT ·kernelAMX(SB), NOSPLIT, $16-112
	MOVQ cfg+104(FP), AX
	// ldtilecfg [rax]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
	MOVQ lda+8(FP), R8
	MOVQ m+32(FP), R13
	MOVQ acc+96(FP), BX
	MOVQ $128, CX
	MOVQ $0, kdone-8(SP)

amxKBlock:
	MOVQ k64+24(FP), AX
	SUBQ kdone-8(SP), AX
	CMPQ AX, $amxBlock
	JLE  amxNK
	MOVQ $amxBlock, AX

amxNK:
	MOVQ AX, nk-16(SP)
	MOVQ kdone-8(SP), DX
	SHLQ $6, DX
	MOVQ a+0(FP), SI
	ADDQ DX, SI
	MOVQ kdone-8(SP), DX
	SHLQ $11, DX
	MOVQ b+16(FP), DI
	ADDQ DX, DI
	XORQ R12, R12
	MOVQ BX, R14

amxRowBlock:
	CMPQ kdone-8(SP), $0
	JNE  amxLoadC
	// tilezero tmm0..tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8
	JMP  amxChunks

amxLoadC:
	// tileloadd tmm0, [r14+rcx]
	BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x04; BYTE $0x0E
	LEAQ 64(R14), AX
	// tileloadd tmm1, [rax+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x0C; BYTE $0x08
	LEAQ 2048(R14), AX
	// tileloadd tmm2, [rax+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x14; BYTE $0x08
	LEAQ 2112(R14), AX
	// tileloadd tmm3, [rax+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x1C; BYTE $0x08

amxChunks:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ nk-16(SP), R9

amxChunk:
	AMX_CHUNK
	DECQ R9
	JNZ  amxChunk

	// tilestored [r14+rcx], tmm0
	BYTE $0xC4; BYTE $0xC2; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x0E
	LEAQ 64(R14), AX
	// tilestored [rax+rcx], tmm1
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x0C; BYTE $0x08
	LEAQ 2048(R14), AX
	// tilestored [rax+rcx], tmm2
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x08
	LEAQ 2112(R14), AX
	// tilestored [rax+rcx], tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x1C; BYTE $0x08

	MOVQ R8, AX
	SHLQ $5, AX
	ADDQ AX, SI
	ADDQ $4096, R14
	ADDQ $32, R12
	CMPQ R12, R13
	JLT  amxRowBlock

	MOVQ nk-16(SP), AX
	ADDQ AX, kdone-8(SP)
	MOVQ kdone-8(SP), AX
	CMPQ AX, k64+24(FP)
	JLT  amxKBlock

	// tilerelease
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0

	// Epilogue, rows 0..m: C = float32(acc+corr)·sw·sx + bias (corr = −128·Σw).
	MOVQ      corr+40(FP), AX
	VMOVDQU32 (AX), Z10
	VMOVDQU32 64(AX), Z11
	MOVQ      sw+48(FP), AX
	VMOVUPS   (AX), Z12
	VMOVUPS   64(AX), Z13
	MOVQ      bias+64(FP), AX
	VMOVUPS   (AX), Z14
	VMOVUPS   64(AX), Z15
	MOVL      mask+88(FP), AX
	KMOVW     AX, K1
	SHRL      $16, AX
	KMOVW     AX, K2
	MOVQ      ldc+80(FP), R12
	SHLQ      $2, R12
	MOVQ      sx+56(FP), AX
	MOVQ      c+72(FP), DX
	MOVQ      BX, R10
	MOVQ      R13, R9

amxRow:
	VBROADCASTSS (AX), Z2
	VMOVDQU32    (R10), Z0
	VMOVDQU32    64(R10), Z1
	VPADDD       Z10, Z0, Z0
	VPADDD       Z11, Z1, Z1
	VCVTDQ2PS    Z0, Z0
	VCVTDQ2PS    Z1, Z1
	VMULPS       Z12, Z0, Z0
	VMULPS       Z13, Z1, Z1
	VMULPS       Z2, Z0, Z0
	VMULPS       Z2, Z1, Z1
	VADDPS       Z14, Z0, Z0
	VADDPS       Z15, Z1, Z1
	VMOVUPS      Z0, K1, (DX)
	VMOVUPS      Z1, K2, 64(DX)
	ADDQ         $4, AX
	ADDQ         R12, DX
	ADDQ         $128, R10
	DECQ         R9
	JNZ          amxRow
	VZEROUPPER
	RET

// kernelAMX4: the contract of kernelGo (several groups, flagFinal) for
// every row of one 32-column panel of Int4 weights unpacked to the int8
// layout, on the tiles of kernelAMX (same configuration). Row blocks of
// 32 go in turn; within one, K goes in runs of up to amx4Groups groups.
// Each group's K chunks (kg64 of 64 values, fewer for a short last group)
// are summed on tmm0..tmm3, which start from the group's corrections
// (loaded with stride 0), and stored to the group's 32×32 int32 block of
// acc. After a run, row by row, the float sum is kept in registers across
// its groups: t = float32(sum)·sw of the product's first group, else t =
// f (32×32 float32, the sum of the runs before), then t = t +
// float32(sum)·sw for each next group; t goes back to f, or after the
// last run C = t·sx + bias.
//
// Registers: SI the row block's activations, R10/R11 the activations and
// weights at the current K chunk, R8 lda, R12 the row block's first row,
// R13 m, DI the group's acc block, BX acc, CX 128, Z14/Z15 the bias, K1/K2
// the column masks; in the chunk loop R9 chunks left, AX and DX scratch.
// In the float epilogue R9 rows left, DX the row in the run's first acc
// block, DI the row in the group's block, R14 the group's sw, R8 groups
// left, SI the f row, R10 the sx row, R11 the C row, AX the run's flags
// (bit 0: start from f, bit 1: the last run). Locals: chunks (kdone) and
// groups (gdone) done before the run, the group's corr (gcorr), the row
// block's first C row (crow), R10/R11/SI saved during the epilogue (sa,
// sb, ssi), the run's groups (nsb) and flags, 4·ldc (ldc4).

#define amx4Groups 4

// func kernelAMX4(a *byte, lda int, b *byte, k64, kg64, m int, corr *int32, sw, sx, bias, c *float32, ldc int, mask uint32, acc *int32, f *float32, w *byte, cfg *byte)
TEXT ·kernelAMX4(SB), NOSPLIT, $80-136
	MOVQ cfg+128(FP), AX
	// ldtilecfg [rax]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z4
	MOVL         $0x08080808, AX
	VPBROADCASTD AX, Z5
	MOVQ    m+40(FP), R13
	MOVQ    acc+104(FP), BX
	MOVQ    $128, CX
	MOVQ    bias+72(FP), AX
	VMOVUPS (AX), Z14
	VMOVUPS 64(AX), Z15
	MOVL    mask+96(FP), AX
	KMOVW   AX, K1
	SHRL    $16, AX
	KMOVW   AX, K2
	MOVQ    ldc+88(FP), AX
	SHLQ    $2, AX
	MOVQ    AX, ldc4-80(SP)
	MOVQ    $0, kdone-8(SP)
	MOVQ    $0, gdone-56(SP)

amx4Run:
	MOVQ kdone-8(SP), AX
	MOVQ AX, k0-24(SP)
	// Unpack the run's weights (up to amx4Groups·kg64 chunks) into w.
	MOVQ kg64+32(FP), R9
	IMULQ $amx4Groups, R9
	MOVQ k64+24(FP), DX
	SUBQ AX, DX
	CMPQ R9, DX
	JLE  amx4Unpack
	MOVQ DX, R9

amx4Unpack:
	SHLQ $4, R9
	MOVQ AX, DX
	SHLQ $10, DX
	ADDQ b+16(FP), DX
	MOVQ w+120(FP), DI

amx4UnpackStep:
	VMOVDQU64 (DX), Z0
	VPSRLW    $4, Z0, Z1
	VPANDQ    Z4, Z0, Z0
	VPANDQ    Z4, Z1, Z1
	VPXORQ    Z5, Z0, Z0
	VPXORQ    Z5, Z1, Z1
	VPSUBB    Z5, Z0, Z0
	VPSUBB    Z5, Z1, Z1
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, 64(DI)
	ADDQ      $64, DX
	ADDQ      $128, DI
	DECQ      R9
	JNZ       amx4UnpackStep

	SHLQ $6, AX
	MOVQ a+0(FP), SI
	ADDQ AX, SI
	XORQ R12, R12

amx4RowBlock:
	MOVQ k0-24(SP), AX
	MOVQ AX, kdone-8(SP)
	MOVQ w+120(FP), R11
	MOVQ gdone-56(SP), AX
	SHLQ $7, AX
	ADDQ corr+48(FP), AX
	MOVQ AX, gcorr-16(SP)
	MOVQ SI, R10
	MOVQ lda+8(FP), R8
	MOVQ BX, DI
	MOVQ $0, nsb-64(SP)

amx4Group:
	MOVQ k64+24(FP), R9
	SUBQ kdone-8(SP), R9
	CMPQ R9, kg64+32(FP)
	JLE  amx4NK
	MOVQ kg64+32(FP), R9

amx4NK:
	ADDQ R9, kdone-8(SP)
	MOVQ gcorr-16(SP), AX
	LEAQ 64(AX), DX
	ADDQ $128, gcorr-16(SP)
	XORQ R14, R14
	// tileloadd tmm0, [rax+r14]
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x04; BYTE $0x30
	// tileloadd tmm1, [rdx+r14]
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x0C; BYTE $0x32
	// tileloadd tmm2, [rax+r14]
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x14; BYTE $0x30
	// tileloadd tmm3, [rdx+r14]
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x1C; BYTE $0x32

amx4Chunk:
	AMX_CHUNK
	DECQ R9
	JNZ  amx4Chunk

	LEAQ 64(DI), AX
	// tilestored [rdi+rcx], tmm0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x0F
	// tilestored [rax+rcx], tmm1
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x0C; BYTE $0x08
	LEAQ 2048(DI), AX
	// tilestored [rax+rcx], tmm2
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x08
	LEAQ 2112(DI), AX
	// tilestored [rax+rcx], tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x1C; BYTE $0x08
	ADDQ $4096, DI
	ADDQ $1, nsb-64(SP)
	MOVQ kdone-8(SP), AX
	CMPQ AX, k64+24(FP)
	JGE  amx4RunDone
	CMPQ nsb-64(SP), $amx4Groups
	JLT  amx4Group

amx4RunDone:
	// Flags: bit 0 when groups came before the run, bit 1 for the last run.
	XORQ  AX, AX
	XORQ  DX, DX
	CMPQ  gdone-56(SP), $0
	SETNE AL
	MOVQ  kdone-8(SP), R9
	CMPQ  R9, k64+24(FP)
	SETGE DL
	SHLQ  $1, DX
	ORQ   DX, AX
	MOVQ  AX, flags-72(SP)
	MOVQ  SI, ssi-48(SP)

	// Float epilogue of the run for the block's rows below m.
	MOVQ R13, R9
	SUBQ R12, R9
	CMPQ R9, $32
	JLE  amx4RowsN
	MOVQ $32, R9

amx4RowsN:
	MOVQ BX, DX
	MOVQ R12, SI
	SHLQ $7, SI
	ADDQ f+112(FP), SI
	MOVQ sx+64(FP), R10
	LEAQ (R10)(R12*4), R10
	MOVQ ldc4-80(SP), R11
	IMULQ R12, R11
	ADDQ c+80(FP), R11

amx4Row:
	MOVQ gdone-56(SP), R14
	SHLQ $7, R14
	ADDQ sw+56(FP), R14
	MOVQ DX, DI
	MOVQ nsb-64(SP), R8
	MOVQ flags-72(SP), AX
	BTQ  $0, AX
	JCC  amx4RowFirst
	VMOVUPS (SI), Z2
	VMOVUPS 64(SI), Z3
	JMP     amx4RowGroup

amx4RowFirst:
	VCVTDQ2PS (DI), Z2
	VCVTDQ2PS 64(DI), Z3
	VMULPS    (R14), Z2, Z2
	VMULPS    64(R14), Z3, Z3
	ADDQ      $4096, DI
	ADDQ      $128, R14
	DECQ      R8
	JZ        amx4RowEnd

amx4RowGroup:
	VCVTDQ2PS (DI), Z0
	VCVTDQ2PS 64(DI), Z1
	VMULPS    (R14), Z0, Z0
	VMULPS    64(R14), Z1, Z1
	VADDPS    Z0, Z2, Z2
	VADDPS    Z1, Z3, Z3
	ADDQ      $4096, DI
	ADDQ      $128, R14
	DECQ      R8
	JNZ       amx4RowGroup

amx4RowEnd:
	BTQ     $1, AX
	JCS     amx4RowFinal
	VMOVUPS Z2, (SI)
	VMOVUPS Z3, 64(SI)
	JMP     amx4RowNext

amx4RowFinal:
	VBROADCASTSS (R10), Z0
	VMULPS       Z0, Z2, Z2
	VMULPS       Z0, Z3, Z3
	VADDPS       Z14, Z2, Z2
	VADDPS       Z15, Z3, Z3
	VMOVUPS      Z2, K1, (R11)
	VMOVUPS      Z3, K2, 64(R11)

amx4RowNext:
	ADDQ $128, DX
	ADDQ $128, SI
	ADDQ $4, R10
	ADDQ ldc4-80(SP), R11
	DECQ R9
	JNZ  amx4Row

	// Next row block, then the next run.
	MOVQ ssi-48(SP), SI
	MOVQ lda+8(FP), AX
	SHLQ $5, AX
	ADDQ AX, SI
	ADDQ $32, R12
	CMPQ R12, R13
	JLT  amx4RowBlock
	MOVQ nsb-64(SP), AX
	ADDQ AX, gdone-56(SP)
	MOVQ kdone-8(SP), AX
	CMPQ AX, k64+24(FP)
	JLT  amx4Run

	// tilerelease
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
	VZEROUPPER
	RET

// func unpack4AVX512(dst, src *byte, n int)
// unpack4 for n K steps (64 source bytes each), n > 0: low nibbles to the
// first 64 bytes of each destination step, high nibbles to the second,
// sign-extended as (v^8)−8.
TEXT ·unpack4AVX512(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z4
	MOVL         $0x08080808, AX
	VPBROADCASTD AX, Z5

unpack4Step:
	VMOVDQU64 (SI), Z0
	VPSRLW    $4, Z0, Z1
	VPANDQ    Z4, Z0, Z0
	VPANDQ    Z4, Z1, Z1
	VPXORQ    Z5, Z0, Z0
	VPXORQ    Z5, Z1, Z1
	VPSUBB    Z5, Z0, Z0
	VPSUBB    Z5, Z1, Z1
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, 64(DI)
	ADDQ      $64, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       unpack4Step
	VZEROUPPER
	RET
