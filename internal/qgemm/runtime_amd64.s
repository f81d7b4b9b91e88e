#include "textflag.h"
#include "hmax_amd64.h"

// Hand-written AVX-512 helpers of SetCols (runtime.go); colMaxAbsGo and
// quantColsGo are their contract.

// func colMaxAbs512(x *float32, ldx, in int, m *float32)
//
// m[0:16] = max over k < in (in ≥ 1) of |x[k·ldx+0:16]|, compared as bit
// patterns like maxAbsGo.
TEXT ·colMaxAbs512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         ldx+8(FP), DX
	SHLQ         $2, DX
	MOVQ         in+16(FP), CX
	MOVQ         m+24(FP), DI
	VPXORD       Z0, Z0, Z0
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X1
	VPBROADCASTD X1, Z1

cmLoop:
	VPANDD  (SI), Z1, Z2
	VPMAXUD Z2, Z0, Z0
	ADDQ    DX, SI
	DECQ    CX
	JNZ     cmLoop
	VMOVDQU32 Z0, (DI)
	VZEROUPPER
	RET

// func quantCols512(x *float32, ldx, steps int, inv *float32, dst *byte, sums *int32)
//
// For the 16 columns x[k·ldx+0:16] and rows k < 4·steps (steps ≥ 1): the
// values q = roundToEven(x·inv[n]) of K step s, four rows, at dst+128·s,
// column n's four values at bytes 4n..4n+3 (the packed layout); sums[n]
// += Σ_k q.
TEXT ·quantCols512(SB), NOSPLIT, $0-48
	MOVQ      x+0(FP), SI
	MOVQ      ldx+8(FP), DX
	SHLQ      $2, DX
	MOVQ      steps+16(FP), CX
	MOVQ      inv+24(FP), AX
	MOVQ      dst+32(FP), DI
	MOVQ      sums+40(FP), BX
	VMOVUPS   (AX), Z15
	VMOVDQU32 (BX), Z14
	LEAQ      (DX)(DX*2), R8

qcLoop:
	VMULPS     (SI), Z15, Z0
	VMULPS     (SI)(DX*1), Z15, Z1
	VMULPS     (SI)(DX*2), Z15, Z2
	VMULPS     (SI)(R8*1), Z15, Z3
	VCVTPS2DQ  Z0, Z0
	VCVTPS2DQ  Z1, Z1
	VCVTPS2DQ  Z2, Z2
	VCVTPS2DQ  Z3, Z3
	VPADDD     Z0, Z14, Z14
	VPADDD     Z1, Z14, Z14
	VPADDD     Z2, Z14, Z14
	VPADDD     Z3, Z14, Z14
	VPMOVSDB   Z0, X0
	VPMOVSDB   Z1, X1
	VPMOVSDB   Z2, X2
	VPMOVSDB   Z3, X3
	VPUNPCKLBW X1, X0, X4
	VPUNPCKHBW X1, X0, X5
	VPUNPCKLBW X3, X2, X6
	VPUNPCKHBW X3, X2, X7
	VPUNPCKLWD X6, X4, X8
	VPUNPCKHWD X6, X4, X9
	VPUNPCKLWD X7, X5, X10
	VPUNPCKHWD X7, X5, X11
	VMOVDQU    X8, (DI)
	VMOVDQU    X9, 16(DI)
	VMOVDQU    X10, 32(DI)
	VMOVDQU    X11, 48(DI)
	LEAQ       (SI)(DX*4), SI
	ADDQ       $128, DI
	DECQ       CX
	JNZ        qcLoop
	VMOVDQU32  Z14, (BX)
	VZEROUPPER
	RET

// func quantRows512(x *float32, ldx, rows, in int, dst *byte, scale *float32, corr *int32)
//
// SetRows for rows consecutive rows of x (row stride ldx, in a positive
// multiple of 16 values) that share one panel: per row, amax = max|x| (bit
// patterns), scale amax/127 and inv 127/amax (both 0 when amax < MinAmax),
// q = roundToEven(x·inv) stored four values per K step at 128-byte
// intervals from dst (dst advancing 4 bytes a row), the scale at scale[r]
// and −128·Σq at corr[r].
TEXT ·quantRows512(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), SI
	MOVQ         ldx+8(FP), R9
	SHLQ         $2, R9
	MOVQ         rows+16(FP), R10
	MOVQ         in+24(FP), R11
	MOVQ         dst+32(FP), DI
	MOVQ         scale+40(FP), R12
	MOVQ         corr+48(FP), R13
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z2
	MOVL         $0x42fe0000, AX // 127.0
	VMOVD        AX, X6

qrRow:
	MOVQ   SI, R14
	MOVQ   R11, CX
	VPXORD Z0, Z0, Z0

qrMax:
	VPANDD  (R14), Z2, Z1
	VPMAXUD Z1, Z0, Z0
	ADDQ    $64, R14
	SUBQ    $16, CX
	JNZ     qrMax
	HMAXUD_Z0
	ROW_SCALES(X6, X4, X3, qrZero) // X4 = scale, X3 = inv

qrZero:
	VMOVSS       X4, (R12)
	VBROADCASTSS X3, Z3
	MOVQ         SI, R14
	MOVQ         DI, BX
	MOVQ         R11, CX
	VPXORD       Z5, Z5, Z5

qrQuant:
	VMULPS    (R14), Z3, Z1
	VCVTPS2DQ Z1, Z1
	VPADDD    Z1, Z5, Z5
	VPMOVSDB  Z1, X1
	VMOVD     X1, (BX)
	VPEXTRD   $1, X1, 128(BX)
	VPEXTRD   $2, X1, 256(BX)
	VPEXTRD   $3, X1, 384(BX)
	ADDQ      $64, R14
	ADDQ      $512, BX
	SUBQ      $16, CX
	JNZ       qrQuant
	VEXTRACTI64X4 $1, Z5, Y1
	VPADDD        Y1, Y5, Y5
	VEXTRACTI128  $1, Y5, X1
	VPADDD        X1, X5, X5
	VPSHUFD       $0x4e, X5, X1
	VPADDD        X1, X5, X5
	VPSHUFD       $0xb1, X5, X1
	VPADDD        X1, X5, X5
	VMOVD         X5, AX
	SHLL          $7, AX
	NEGL          AX
	MOVL          AX, (R13)
	ADDQ          R9, SI
	ADDQ          $4, DI
	ADDQ          $4, R12
	ADDQ          $4, R13
	DECQ          R10
	JNZ           qrRow
	VZEROUPPER
	RET
