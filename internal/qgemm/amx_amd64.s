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
	MOVQ R8, DX
	SHLQ $4, DX
	ADDQ R10, DX
	LEAQ 64(R11), AX
	// tileloadd tmm4, [r10+r8]
	BYTE $0xC4; BYTE $0x82; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x02
	// tileloadd tmm5, [rdx+r8]
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x02
	// tileloadd tmm6, [r11+rcx]
	BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x0B
	// tileloadd tmm7, [rax+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x3C; BYTE $0x08
	// tdpbusd tmm0, tmm4, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xC4
	// tdpbusd tmm1, tmm4, tmm7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xCC
	// tdpbusd tmm2, tmm5, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xD5
	// tdpbusd tmm3, tmm5, tmm7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xDD
	ADDQ $64, R10
	ADDQ $2048, R11
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
// 32 go in turn; within one, each group's K chunks (kg64 of 64 values,
// fewer for a short last group) are summed on tmm0..tmm3 from zero and
// stored to acc (32×32 int32), then turned into floats row by row:
// t = float32(acc+corr)·sw, added to f (32×32 float32) after the first
// group; after the last group C = t·sx + bias instead.
//
// Registers: SI the row block's activations, R10/R11 the activations and
// weights at the current K chunk, R8 lda, R12 the row block's first row,
// R13 m, BX acc, CX 128, Z14/Z15 the bias, K1/K2 the column masks; in the
// chunk loop R9 chunks left, AX and DX scratch; in the float epilogue R9
// rows left, DI the acc row, DX the f row, R10 the sx row, R11 the C row,
// AX 4·ldc, R14 flags (bit 0: add to f, bit 1: last group), Z10–Z13 the
// group's corr and sw. Locals: chunks done (kdone), the group's corr and
// sw (gcorr, gsw), the row block's first C row (crow), R10/R11 saved
// during the epilogue (sa, sb).

// func kernelAMX4(a *byte, lda int, b *byte, k64, kg64, m int, corr *int32, sw, sx, bias, c *float32, ldc int, mask uint32, acc *int32, f *float32, cfg *byte)
TEXT ·kernelAMX4(SB), NOSPLIT, $48-128
	MOVQ cfg+120(FP), AX
	// ldtilecfg [rax]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
	MOVQ    lda+8(FP), R8
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
	MOVQ    a+0(FP), SI
	MOVQ    c+80(FP), AX
	MOVQ    AX, crow-32(SP)
	XORQ    R12, R12

amx4RowBlock:
	MOVQ $0, kdone-8(SP)
	MOVQ corr+48(FP), AX
	MOVQ AX, gcorr-16(SP)
	MOVQ sw+56(FP), AX
	MOVQ AX, gsw-24(SP)
	MOVQ SI, R10
	MOVQ b+16(FP), R11
	XORQ R14, R14

amx4Group:
	MOVQ k64+24(FP), R9
	SUBQ kdone-8(SP), R9
	CMPQ R9, kg64+32(FP)
	JLE  amx4NK
	MOVQ kg64+32(FP), R9

amx4NK:
	ADDQ R9, kdone-8(SP)
	// tilezero tmm0..tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8

amx4Chunk:
	MOVQ R8, DX
	SHLQ $4, DX
	ADDQ R10, DX
	LEAQ 64(R11), AX
	// tileloadd tmm4, [r10+r8]
	BYTE $0xC4; BYTE $0x82; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x02
	// tileloadd tmm5, [rdx+r8]
	BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x02
	// tileloadd tmm6, [r11+rcx]
	BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x0B
	// tileloadd tmm7, [rax+rcx]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x3C; BYTE $0x08
	// tdpbusd tmm0, tmm4, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xC4
	// tdpbusd tmm1, tmm4, tmm7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xCC
	// tdpbusd tmm2, tmm5, tmm6
	BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xD5
	// tdpbusd tmm3, tmm5, tmm7
	BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xDD
	ADDQ $64, R10
	ADDQ $2048, R11
	DECQ R9
	JNZ  amx4Chunk

	// tilestored [rbx+rcx], tmm0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x0B
	LEAQ 64(BX), AX
	// tilestored [rax+rcx], tmm1
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x0C; BYTE $0x08
	LEAQ 2048(BX), AX
	// tilestored [rax+rcx], tmm2
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x08
	LEAQ 2112(BX), AX
	// tilestored [rax+rcx], tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $0x1C; BYTE $0x08

	// Float epilogue of the group for the block's rows below m.
	MOVQ      R10, sa-40(SP)
	MOVQ      R11, sb-48(SP)
	MOVQ      gcorr-16(SP), AX
	VMOVDQU32 (AX), Z10
	VMOVDQU32 64(AX), Z11
	ADDQ      $128, AX
	MOVQ      AX, gcorr-16(SP)
	MOVQ      gsw-24(SP), AX
	VMOVUPS   (AX), Z12
	VMOVUPS   64(AX), Z13
	ADDQ      $128, AX
	MOVQ      AX, gsw-24(SP)
	MOVQ      kdone-8(SP), AX
	CMPQ      AX, k64+24(FP)
	JLT       amx4Rows
	ORQ       $2, R14

amx4Rows:
	MOVQ R13, R9
	SUBQ R12, R9
	CMPQ R9, $32
	JLE  amx4RowsN
	MOVQ $32, R9

amx4RowsN:
	MOVQ BX, DI
	MOVQ f+112(FP), DX
	MOVQ sx+64(FP), R10
	LEAQ (R10)(R12*4), R10
	MOVQ crow-32(SP), R11
	MOVQ ldc+88(FP), AX
	SHLQ $2, AX

amx4Row:
	VMOVDQU32 (DI), Z0
	VMOVDQU32 64(DI), Z1
	VPADDD    Z10, Z0, Z0
	VPADDD    Z11, Z1, Z1
	VCVTDQ2PS Z0, Z0
	VCVTDQ2PS Z1, Z1
	VMULPS    Z12, Z0, Z0
	VMULPS    Z13, Z1, Z1
	BTQ       $0, R14
	JCC       amx4NoAcc
	VADDPS    (DX), Z0, Z0
	VADDPS    64(DX), Z1, Z1

amx4NoAcc:
	BTQ     $1, R14
	JCS     amx4Final
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	JMP     amx4Next

amx4Final:
	VBROADCASTSS (R10), Z2
	VMULPS       Z2, Z0, Z0
	VMULPS       Z2, Z1, Z1
	VADDPS       Z14, Z0, Z0
	VADDPS       Z15, Z1, Z1
	VMOVUPS      Z0, K1, (R11)
	VMOVUPS      Z1, K2, 64(R11)

amx4Next:
	ADDQ $128, DI
	ADDQ $128, DX
	ADDQ $4, R10
	ADDQ AX, R11
	DECQ R9
	JNZ  amx4Row

	MOVQ sa-40(SP), R10
	MOVQ sb-48(SP), R11
	ORQ  $1, R14
	BTQ  $1, R14
	JCC  amx4Group

	// Next row block.
	MOVQ R8, AX
	SHLQ $5, AX
	ADDQ AX, SI
	MOVQ ldc+88(FP), AX
	SHLQ $7, AX
	ADDQ AX, crow-32(SP)
	ADDQ $32, R12
	CMPQ R12, R13
	JLT  amx4RowBlock

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
