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
// Registers: SI the block's first activation row, DI the panel, R8 lda,
// R9 K chunks left, R10/R11 the activations/panel in the K loop, R12 the
// block's first row, R13 m, R14 ldc in bytes, BX the scratch sums (32 rows
// of 128 bytes), CX 128, AX and DX scratch; Z10–Z15 corr, sw and bias of
// the panel's two halves, K1/K2 the column masks.

// func kernelAMX(a *byte, lda int, b *byte, k64, m int, corr *int32, sw, sx, bias, c *float32, ldc int, mask uint32, scratch *int32, cfg *byte)
TEXT ·kernelAMX(SB), NOSPLIT, $0-112
	MOVQ cfg+104(FP), AX
	// ldtilecfg [rax]
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
	MOVQ      a+0(FP), SI
	MOVQ      lda+8(FP), R8
	MOVQ      b+16(FP), DI
	MOVQ      m+32(FP), R13
	MOVQ      ldc+80(FP), R14
	SHLQ      $2, R14
	MOVQ      scratch+96(FP), BX
	MOVQ      $128, CX
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
	XORQ      R12, R12

amxBlock:
	// tilezero tmm0..tmm3
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ k64+24(FP), R9

amxK:
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
	JNZ  amxK

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

	// Epilogue: rows R12 .. min(R12+32, m): C = float32(acc−corr)·sw·sx + bias.
	MOVQ R13, R9
	SUBQ R12, R9
	CMPQ R9, $32
	JLE  amxRows
	MOVQ $32, R9

amxRows:
	MOVQ sx+56(FP), AX
	LEAQ (AX)(R12*4), AX
	MOVQ c+72(FP), DX
	MOVQ R12, R10
	IMULQ R14, R10
	ADDQ R10, DX
	MOVQ BX, R10

amxRow:
	VBROADCASTSS (AX), Z2
	VMOVDQU32    (R10), Z0
	VMOVDQU32    64(R10), Z1
	VPSUBD       Z10, Z0, Z0
	VPSUBD       Z11, Z1, Z1
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
	ADDQ         R14, DX
	ADDQ         $128, R10
	DECQ         R9
	JNZ          amxRow

	MOVQ R8, AX
	SHLQ $5, AX
	ADDQ AX, SI
	ADDQ $32, R12
	CMPQ R12, R13
	JLT  amxBlock

	// tilerelease
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
	VZEROUPPER
	RET
