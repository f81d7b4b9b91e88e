#include "textflag.h"

// func packTransAVX512(dst, src *float32, idx *[16]int32, kcb int)
//
// One full panel of a transposed pack: dst[kk·16+jj] = src[idx[jj]+kk] for
// kk < kcb, jj < 16, with idx[jj] = jj·ldb (the source rows of the panel's
// columns). One 16-lane gather per packed row.
TEXT ·packTransAVX512(SB), NOSPLIT, $0-32
	MOVQ      dst+0(FP), DI
	MOVQ      src+8(FP), SI
	MOVQ      idx+16(FP), AX
	MOVQ      kcb+24(FP), CX
	VMOVDQU32 (AX), Z0
	TESTQ     CX, CX
	JZ        ptDone

ptLoop:
	KXNORW     K1, K1, K1
	VGATHERDPS (SI)(Z0*4), K1, Z1
	VMOVUPS    Z1, (DI)
	ADDQ       $4, SI
	ADDQ       $64, DI
	DECQ       CX
	JNZ        ptLoop

ptDone:
	VZEROUPPER
	RET

// func packTransAVX2(dst, src *float32, idx *[16]int32, kcb int)
//
// packTransAVX512 with two 8-lane gathers per packed row.
TEXT ·packTransAVX2(SB), NOSPLIT, $0-32
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    idx+16(FP), AX
	MOVQ    kcb+24(FP), CX
	VMOVDQU (AX), Y0
	VMOVDQU 32(AX), Y1
	TESTQ   CX, CX
	JZ      pt2Done

pt2Loop:
	VPCMPEQD   Y4, Y4, Y4
	VPCMPEQD   Y5, Y5, Y5
	VGATHERDPS Y4, (SI)(Y0*4), Y2
	VGATHERDPS Y5, (SI)(Y1*4), Y3
	VMOVUPS    Y2, (DI)
	VMOVUPS    Y3, 32(DI)
	ADDQ       $4, SI
	ADDQ       $64, DI
	DECQ       CX
	JNZ        pt2Loop

pt2Done:
	VZEROUPPER
	RET
