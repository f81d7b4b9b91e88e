#include "textflag.h"

// AVX2+FMA kernels; see vec_amd64.go for their Go declarations and
// portable.go for the same algorithms in Go. Every kernel runs 8 float32
// lanes at a time and finishes the last n%8 elements with one masked step
// (VMASKMOVPS reads and writes only the lanes in the mask, so nothing past
// the end is touched).
//
// Operand order is Go's: sources first, destination last;
// VFMADD213PS m, b, a means a = b·a + m and VFMADD231PS m, b, a means
// a = b·m + a; VBLENDVPS mask, ifset, ifclear, dst.

// SPLAT defines a 32-byte read-only constant: bits in all 8 lanes.
#define SPLAT(sym, bits) \
	DATA sym+0(SB)/4, $bits; DATA sym+4(SB)/4, $bits; DATA sym+8(SB)/4, $bits; DATA sym+12(SB)/4, $bits; \
	DATA sym+16(SB)/4, $bits; DATA sym+20(SB)/4, $bits; DATA sym+24(SB)/4, $bits; DATA sym+28(SB)/4, $bits; \
	GLOBL sym(SB), RODATA|NOPTR, $32

SPLAT(one<>, 0x3f800000)
SPLAT(two<>, 0x40000000)
SPLAT(half<>, 0x3f000000)
SPLAT(inf<>, 0x7f800000)
SPLAT(negInf<>, 0xff800000)
SPLAT(absMask<>, 0x7fffffff)
SPLAT(signMask<>, 0x80000000)

// The values of the constants of the same names in consts.go.
SPLAT(expHi<>, 0x42b17217)  // expHi
SPLAT(expLo<>, 0xc2aeac4f)  // expLo
SPLAT(expMagic<>, 0x4b400000)  // expMagic
SPLAT(expLog2e<>, 0x3fb8aa3b)  // expLog2e
SPLAT(expNegLn2Hi<>, 0xbf318000)  // expNegLn2Hi
SPLAT(expNegLn2Lo<>, 0x395e8083)  // expNegLn2Lo
SPLAT(expP2<>, 0x3efffffd)  // expP2
SPLAT(expP3<>, 0x3e2aaa05)  // expP3
SPLAT(expP4<>, 0x3d2aac4f)  // expP4
SPLAT(expP5<>, 0x3c0936df)  // expP5
SPLAT(expP6<>, 0x3ab55c67)  // expP6
SPLAT(erfSplit<>, 0x3f6c0000)  // erfSplit
SPLAT(erfMax<>, 0x407b3333)  // erfMax
SPLAT(erfS0<>, 0x3f906eba)  // erfS0
SPLAT(erfS1<>, 0xbec09372)  // erfS1
SPLAT(erfS2<>, 0x3de70d2b)  // erfS2
SPLAT(erfS3<>, 0xbcdb4517)  // erfS3
SPLAT(erfS4<>, 0x3ba39a6b)  // erfS4
SPLAT(erfS5<>, 0xba1cfdd3)  // erfS5
SPLAT(erfB0<>, 0xbb04e6b8)  // erfB0
SPLAT(erfB1<>, 0xbf8f50df)  // erfB1
SPLAT(erfB2<>, 0xbf26c8bc)  // erfB2
SPLAT(erfB3<>, 0xbdb98e3e)  // erfB3
SPLAT(erfB4<>, 0x3c7c8179)  // erfB4
SPLAT(erfB5<>, 0xbaa13811)  // erfB5
SPLAT(tanhSplit<>, 0x3f200000)  // tanhSplit
SPLAT(tanhCap<>, 0x41180000)  // tanhCap
SPLAT(tanhT0<>, 0xbeaaaa99)  // tanhT0
SPLAT(tanhT1<>, 0x3e08838f)  // tanhT1
SPLAT(tanhT2<>, 0xbd5c1d8c)  // tanhT2
SPLAT(tanhT3<>, 0x3ca90f06)  // tanhT3
SPLAT(tanhT4<>, 0xbbbadcf9)  // tanhT4
SPLAT(invSqrt2<>, 0x3f3504f3)  // invSqrt2
SPLAT(geluTA<>, 0xbfcc422a)  // geluTA
SPLAT(geluTB<>, 0xbd922279)  // geluTB
SPLAT(geluScale<>, 0x402aaaab)  // geluScale
SPLAT(geluOffset<>, 0x41780000)  // geluPieces/2 - 1/2 = 15.5
SPLAT(geluWLo<>, 0xbf000000)  // -1/2, the least w
SPLAT(geluWHi<>, 0x41fbffff)  // the float32 below geluPieces - 1/2 = 31.5
SPLAT(geluEdge<>, 0x40c00000)  // geluEdge
SPLAT(geluNegEdge<>, 0xc0c00000)  // -geluEdge

// tailMask: 8 lanes of all ones, then 8 of zeros. The 8 lanes that start
// at element 8-k have their first k lanes set.
DATA tailMask<>+0(SB)/8, $0xffffffffffffffff
DATA tailMask<>+8(SB)/8, $0xffffffffffffffff
DATA tailMask<>+16(SB)/8, $0xffffffffffffffff
DATA tailMask<>+24(SB)/8, $0xffffffffffffffff
DATA tailMask<>+32(SB)/8, $0
DATA tailMask<>+40(SB)/8, $0
DATA tailMask<>+48(SB)/8, $0
DATA tailMask<>+56(SB)/8, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// TAILMASK sets M's first K lanes (1 ≤ K ≤ 7) to all ones, the others to
// zero. Clobbers AX, BX.
#define TAILMASK(K, M) \
	LEAQ    tailMask<>+32(SB), AX; \
	MOVQ    K, BX; \
	SHLQ    $2, BX; \
	SUBQ    BX, AX; \
	VMOVDQU (AX), M

// EXP_CORE sets X = e^X for expLo ≤ X ≤ expHi (no range handling), as
// expCore in portable.go: n = round(X·log2e) by the 1.5·2²³ trick, whose
// low bits shifted left by 23 are n<<23; r = X - n·ln2Hi - n·ln2Lo; the
// polynomial; then n<<23 added to the result's bits. Clobbers T, N.
#define EXP_CORE(X, T, N) \
	VMOVUPS     expMagic<>(SB), T; \
	VFMADD231PS expLog2e<>(SB), X, T; \
	VSUBPS      expMagic<>(SB), T, N; \
	VPSLLD      $23, T, T; \
	VFMADD231PS expNegLn2Hi<>(SB), N, X; \
	VFMADD231PS expNegLn2Lo<>(SB), N, X; \
	VMOVUPS     expP6<>(SB), N; \
	VFMADD213PS expP5<>(SB), X, N; \
	VFMADD213PS expP4<>(SB), X, N; \
	VFMADD213PS expP3<>(SB), X, N; \
	VFMADD213PS expP2<>(SB), X, N; \
	VFMADD213PS one<>(SB), X, N; \
	VFMADD213PS one<>(SB), X, N; \
	VPADDD      T, N, X

// EXP_FULL sets OUT = e^X with the range rules of exp32: 0 below expLo,
// X+Inf (+Inf, or NaN for NaN) above expHi or unordered. X is kept.
// Clobbers T, N.
#define EXP_FULL(X, OUT, T, N) \
	VMINPS      expHi<>(SB), X, OUT; \
	VMAXPS      expLo<>(SB), OUT, OUT; \
	EXP_CORE(OUT, T, N); \
	VCMPPS      $1, expLo<>(SB), X, T; \
	VANDNPS     OUT, T, OUT; \
	VCMPPS      $6, expHi<>(SB), X, T; \
	VADDPS      inf<>(SB), X, N; \
	VBLENDVPS   T, N, OUT, OUT

// The activation bodies work in place on Y0 and may clobber Y1–Y6 (never
// Y15, the tail mask, nor general registers).

// GELU_BODY: Y0 = gelu32(Y0).
#define GELU_BODY \
	VMULPS      invSqrt2<>(SB), Y0, Y1; \
	VANDPS      absMask<>(SB), Y1, Y1; \
	VMULPS      Y1, Y1, Y2; \
	VMOVUPS     erfS5<>(SB), Y3; \
	VFMADD213PS erfS4<>(SB), Y2, Y3; \
	VFMADD213PS erfS3<>(SB), Y2, Y3; \
	VFMADD213PS erfS2<>(SB), Y2, Y3; \
	VFMADD213PS erfS1<>(SB), Y2, Y3; \
	VFMADD213PS erfS0<>(SB), Y2, Y3; \
	VMULPS      Y1, Y3, Y3; \
	VMOVUPS     one<>(SB), Y4; \
	VSUBPS      Y3, Y4, Y3; \
	VMINPS      erfMax<>(SB), Y1, Y2; \
	VMOVUPS     erfB5<>(SB), Y4; \
	VFMADD213PS erfB4<>(SB), Y2, Y4; \
	VFMADD213PS erfB3<>(SB), Y2, Y4; \
	VFMADD213PS erfB2<>(SB), Y2, Y4; \
	VFMADD213PS erfB1<>(SB), Y2, Y4; \
	VFMADD213PS erfB0<>(SB), Y2, Y4; \
	EXP_CORE(Y4, Y5, Y6); \
	VCMPPS      $14, erfMax<>(SB), Y1, Y5; \
	VANDNPS     Y4, Y5, Y4; \
	VCMPPS      $13, erfSplit<>(SB), Y1, Y5; \
	VBLENDVPS   Y5, Y4, Y3, Y3; \
	VMOVUPS     two<>(SB), Y4; \
	VSUBPS      Y3, Y4, Y4; \
	VBLENDVPS   Y0, Y3, Y4, Y4; \
	VMULPS      half<>(SB), Y0, Y0; \
	VMULPS      Y4, Y0, Y0

// GELU_TANH_BODY: Y0 = geluTanh32(Y0) = Y0/(1+e^y), y = Y0·(A+B·Y0²).
#define GELU_TANH_BODY \
	VMULPS      Y0, Y0, Y1; \
	VMOVUPS     geluTB<>(SB), Y2; \
	VFMADD213PS geluTA<>(SB), Y1, Y2; \
	VMULPS      Y0, Y2, Y2; \
	EXP_FULL(Y2, Y1, Y3, Y4); \
	VADDPS      one<>(SB), Y1, Y1; \
	VDIVPS      Y1, Y0, Y0

// RELU_BODY: Y0 = relu32(Y0); VMAXPS returns its second source (Y0 here)
// when the comparison is unordered, so NaN stays NaN.
#define RELU_BODY \
	VXORPS      Y1, Y1, Y1; \
	VMAXPS      Y0, Y1, Y0

// TANH_BODY: Y0 = tanh32(Y0): the odd polynomial where !(|x| ≥
// tanhSplit) (NaN included), else copysign(1 - 2/(e^{2|x|}+1), x).
#define TANH_BODY \
	VANDPS      absMask<>(SB), Y0, Y1; \
	VMULPS      Y0, Y0, Y2; \
	VMOVUPS     tanhT4<>(SB), Y3; \
	VFMADD213PS tanhT3<>(SB), Y2, Y3; \
	VFMADD213PS tanhT2<>(SB), Y2, Y3; \
	VFMADD213PS tanhT1<>(SB), Y2, Y3; \
	VFMADD213PS tanhT0<>(SB), Y2, Y3; \
	VMULPS      Y0, Y2, Y2; \
	VFMADD213PS Y0, Y2, Y3; \
	VMINPS      tanhCap<>(SB), Y1, Y4; \
	VADDPS      Y4, Y4, Y4; \
	EXP_CORE(Y4, Y5, Y6); \
	VADDPS      one<>(SB), Y4, Y4; \
	VMOVUPS     two<>(SB), Y5; \
	VDIVPS      Y4, Y5, Y5; \
	VMOVUPS     one<>(SB), Y6; \
	VSUBPS      Y5, Y6, Y6; \
	VANDPS      signMask<>(SB), Y0, Y5; \
	VORPS       Y5, Y6, Y6; \
	VCMPPS      $9, tanhSplit<>(SB), Y1, Y1; \
	VBLENDVPS   Y1, Y3, Y6, Y0

// INPLACE runs BODY over x[0:n] in place (DI = x, CX = n ≥ 1) and returns.
#define INPLACE(BODY) \
ipLoop: ; \
	CMPQ       CX, $8; \
	JB         ipTail; \
	VMOVUPS    (DI), Y0; \
	BODY; \
	VMOVUPS    Y0, (DI); \
	ADDQ       $32, DI; \
	SUBQ       $8, CX; \
	JMP        ipLoop; \
ipTail: ; \
	TESTQ      CX, CX; \
	JZ         ipDone; \
	TAILMASK(CX, Y15); \
	VMASKMOVPS (DI), Y15, Y0; \
	BODY; \
	VMASKMOVPS Y0, Y15, (DI); \
ipDone: ; \
	VZEROUPPER; \
	RET

// BIASED runs BODY over x[i]+bias[i] in place (DI = x, SI = bias or nil
// for none, CX = n ≥ 1) and returns.
#define BIASED(BODY) \
	TESTQ      SI, SI; \
	JZ         biPlain; \
biLoop: ; \
	CMPQ       CX, $8; \
	JB         biTail; \
	VMOVUPS    (DI), Y0; \
	VADDPS     (SI), Y0, Y0; \
	BODY; \
	VMOVUPS    Y0, (DI); \
	ADDQ       $32, DI; \
	ADDQ       $32, SI; \
	SUBQ       $8, CX; \
	JMP        biLoop; \
biTail: ; \
	TESTQ      CX, CX; \
	JZ         biDone; \
	TAILMASK(CX, Y15); \
	VMASKMOVPS (DI), Y15, Y0; \
	VMASKMOVPS (SI), Y15, Y1; \
	VADDPS     Y1, Y0, Y0; \
	BODY; \
	VMASKMOVPS Y0, Y15, (DI); \
biDone: ; \
	VZEROUPPER; \
	RET; \
biPlain: ; \
	INPLACE(BODY)

// HSUM sets the low lane of X (the low half of Y) to the sum of Y's 8
// lanes. Clobbers T.
#define HSUM(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS       T, X, X; \
	VMOVHLPS     X, X, T; \
	VADDPS       T, X, X; \
	VMOVSHDUP    X, T; \
	VADDSS       T, X, X

// HMAX is HSUM for the maximum.
#define HMAX(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VMAXPS       T, X, X; \
	VMOVHLPS     X, X, T; \
	VMAXPS       T, X, X; \
	VMOVSHDUP    X, T; \
	VMAXSS       T, X, X

// func expAVX2(dst, x *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

expLoop:
	CMPQ    CX, $8
	JB      expTail
	VMOVUPS (SI), Y0
	EXP_FULL(Y0, Y1, Y2, Y3)
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     expLoop

expTail:
	TESTQ      CX, CX
	JZ         expDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	EXP_FULL(Y0, Y1, Y2, Y3)
	VMASKMOVPS Y1, Y15, (DI)

expDone:
	VZEROUPPER
	RET

// func geluAVX2(x, bias *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ bias+8(FP), SI
	MOVQ n+16(FP), CX
	BIASED(GELU_BODY)

// func geluTanhAVX2(x, bias *float32, n int)
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ bias+8(FP), SI
	MOVQ n+16(FP), CX
	BIASED(GELU_TANH_BODY)

// func reluAVX2(x, bias *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ bias+8(FP), SI
	MOVQ n+16(FP), CX
	BIASED(RELU_BODY)

// func tanhAVX2(x *float32, n int)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	INPLACE(TANH_BODY)

// func addAVX2(x, b *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX

addLoop32:
	CMPQ    CX, $32
	JB      addLoop8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     addLoop32

addLoop8:
	CMPQ    CX, $8
	JB      addTail
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     addLoop8

addTail:
	TESTQ      CX, CX
	JZ         addDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VADDPS     Y1, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)

addDone:
	VZEROUPPER
	RET

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dotLoop32:
	CMPQ        CX, $32
	JB          dotLoop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dotLoop32

dotLoop8:
	CMPQ        CX, $8
	JB          dotTail
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dotLoop8

dotTail:
	TESTQ       CX, CX
	JZ          dotSum
	TAILMASK(CX, Y15)
	VMASKMOVPS  (SI), Y15, Y4
	VMASKMOVPS  (DI), Y15, Y5
	VFMADD231PS Y5, Y4, Y1

dotSum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpyLoop32:
	CMPQ        CX, $32
	JB          axpyLoop8
	VMOVUPS     (DI), Y0
	VMOVUPS     32(DI), Y1
	VMOVUPS     64(DI), Y2
	VMOVUPS     96(DI), Y3
	VFMADD231PS (SI), Y14, Y0
	VFMADD231PS 32(SI), Y14, Y1
	VFMADD231PS 64(SI), Y14, Y2
	VFMADD231PS 96(SI), Y14, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpyLoop32

axpyLoop8:
	CMPQ        CX, $8
	JB          axpyTail
	VMOVUPS     (DI), Y0
	VFMADD231PS (SI), Y14, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpyLoop8

axpyTail:
	TESTQ       CX, CX
	JZ          axpyDone
	TAILMASK(CX, Y15)
	VMASKMOVPS  (DI), Y15, Y0
	VMASKMOVPS  (SI), Y15, Y1
	VFMADD231PS Y1, Y14, Y0
	VMASKMOVPS  Y0, Y15, (DI)

axpyDone:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), CX

scaleLoop32:
	CMPQ    CX, $32
	JB      scaleLoop8
	VMULPS  (DI), Y14, Y0
	VMULPS  32(DI), Y14, Y1
	VMULPS  64(DI), Y14, Y2
	VMULPS  96(DI), Y14, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     scaleLoop32

scaleLoop8:
	CMPQ    CX, $8
	JB      scaleTail
	VMULPS  (DI), Y14, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     scaleLoop8

scaleTail:
	TESTQ      CX, CX
	JZ         scaleDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VMULPS     Y0, Y14, Y0
	VMASKMOVPS Y0, Y15, (DI)

scaleDone:
	VZEROUPPER
	RET

// func softmaxMaxAVX2(x *float32, mask *int32, n int, scale float32) float32
//
// Y14 = scale, Y13 = -Inf, Y12 = 0, Y0 = running maximum.
TEXT ·softmaxMaxAVX2(SB), NOSPLIT, $0-36
	MOVQ         x+0(FP), DI
	MOVQ         mask+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	VMOVUPS      negInf<>(SB), Y13
	VMOVUPS      Y13, Y0
	VPXOR        Y12, Y12, Y12
	TESTQ        SI, SI
	JZ           smxPlain

smxLoop:
	CMPQ      CX, $8
	JB        smxTail
	VMULPS    (DI), Y14, Y1
	VPCMPEQD  (SI), Y12, Y2
	VBLENDVPS Y2, Y13, Y1, Y1
	VMAXPS    Y1, Y0, Y0
	ADDQ      $32, DI
	ADDQ      $32, SI
	SUBQ      $8, CX
	JMP       smxLoop

smxTail:
	TESTQ      CX, CX
	JZ         smxDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DI), Y15, Y1
	VMULPS     Y1, Y14, Y1
	VPMASKMOVD (SI), Y15, Y2
	VPCMPEQD   Y2, Y12, Y2
	VBLENDVPS  Y2, Y13, Y1, Y1
	VMAXPS     Y1, Y0, Y0
	JMP        smxDone

smxPlain:
	CMPQ   CX, $8
	JB     smxPlainTail
	VMULPS (DI), Y14, Y1
	VMAXPS Y1, Y0, Y0
	ADDQ   $32, DI
	SUBQ   $8, CX
	JMP    smxPlain

smxPlainTail:
	TESTQ      CX, CX
	JZ         smxDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DI), Y15, Y1
	VMULPS     Y1, Y14, Y1
	VBLENDVPS  Y15, Y1, Y13, Y1
	VMAXPS     Y1, Y0, Y0

smxDone:
	HMAX(Y0, X0, X1)
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// SOFTMAX_EXP_BODY: Y1 = e^(Y14·Y0 + Y13) in the lanes not set in EXCL
// (0 where set, and where the argument is below expLo), and the float64
// sums Y10 (low 4 lanes), Y11 (high 4) += Y1. Clobbers Y0, Y2, Y3.
#define SOFTMAX_EXP_BODY(EXCL) \
	VFMADD213PS  Y13, Y14, Y0; \
	VMAXPS       expLo<>(SB), Y0, Y1; \
	EXP_CORE(Y1, Y2, Y3); \
	VCMPPS       $1, expLo<>(SB), Y0, Y2; \
	VORPS        EXCL, Y2, Y2; \
	VANDNPS      Y1, Y2, Y1; \
	VCVTPS2PD    X1, Y2; \
	VEXTRACTF128 $1, Y1, X3; \
	VCVTPS2PD    X3, Y3; \
	VADDPD       Y2, Y10, Y10; \
	VADDPD       Y3, Y11, Y11

// func softmaxExpAVX2(x *float32, mask *int32, n int, scale, max float32) float64
//
// Y14 = scale, Y13 = -max, Y12 = 0, Y5 = excluded lanes.
TEXT ·softmaxExpAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), DI
	MOVQ         mask+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	VBROADCASTSS max+28(FP), Y13
	VXORPS       signMask<>(SB), Y13, Y13
	VPXOR        Y12, Y12, Y12
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	TESTQ        SI, SI
	JZ           sexPlain

sexLoop:
	CMPQ     CX, $8
	JB       sexTail
	VMOVUPS  (DI), Y0
	VPCMPEQD (SI), Y12, Y5
	SOFTMAX_EXP_BODY(Y5)
	VMOVUPS  Y1, (DI)
	ADDQ     $32, DI
	ADDQ     $32, SI
	SUBQ     $8, CX
	JMP      sexLoop

sexTail:
	TESTQ      CX, CX
	JZ         sexDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VPMASKMOVD (SI), Y15, Y5
	VPCMPEQD   Y5, Y12, Y5
	SOFTMAX_EXP_BODY(Y5)
	VMASKMOVPS Y1, Y15, (DI)
	JMP        sexDone

sexPlain:
	CMPQ    CX, $8
	JB      sexPlainTail
	VMOVUPS (DI), Y0
	SOFTMAX_EXP_BODY(Y12)
	VMOVUPS Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     sexPlain

sexPlainTail:
	TESTQ      CX, CX
	JZ         sexDone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VPCMPEQD   Y15, Y12, Y5
	SOFTMAX_EXP_BODY(Y5)
	VMASKMOVPS Y1, Y15, (DI)

sexDone:
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X11
	VADDPD       X11, X10, X10
	VUNPCKHPD    X10, X10, X11
	VADDSD       X11, X10, X10
	VMOVSD       X10, ret+32(FP)
	VZEROUPPER
	RET

// The LayerNorm pass bodies, at element BX + OFF/4 of the row.

// LN_SUM: ACC += x.
#define LN_SUM(OFF, ACC) \
	VADDPS OFF(DI)(BX*4), ACC, ACC

// LN_ADD: x += delta; ACC += x.
#define LN_ADD(OFF, ACC) \
	VMOVUPS OFF(DI)(BX*4), Y4; \
	VADDPS  OFF(R8)(BX*4), Y4, Y4; \
	VMOVUPS Y4, OFF(DI)(BX*4); \
	VADDPS  Y4, ACC, ACC

// LN_ADDB: x = x + delta + bias; ACC += x.
#define LN_ADDB(OFF, ACC) \
	VMOVUPS OFF(DI)(BX*4), Y4; \
	VADDPS  OFF(R8)(BX*4), Y4, Y4; \
	VADDPS  OFF(R9)(BX*4), Y4, Y4; \
	VMOVUPS Y4, OFF(DI)(BX*4); \
	VADDPS  Y4, ACC, ACC

// LN_DEV: d = x - m (Y12); S1 += d; S2 += d².
#define LN_DEV(OFF, S1, S2) \
	VMOVUPS     OFF(DI)(BX*4), Y4; \
	VSUBPS      Y12, Y4, Y4; \
	VADDPS      Y4, S1, S1; \
	VFMADD231PS Y4, Y4, S2

// func layerNormAVX2(x, delta, bias, gamma, beta *float32, n int, eps float32)
//
// Three passes over the row: (x += delta + bias and) sum → m = sum/n;
// s1 = Σ(x-m), s2 = Σ(x-m)² → c = s1/n (the correction to m), var =
// s2/n - c²; x = ((x-m)-c)·(1/sqrt(var+eps))·gamma + beta.
// Registers: BX element index, R12 = n&^15, R13 = n&^7, DX = n&7, Y15
// the tail mask, Y12 = m, Y13 = c, Y14 = 1/sqrt(var+eps), X9 = n.
TEXT ·layerNormAVX2(SB), NOSPLIT, $0-52
	MOVQ  x+0(FP), DI
	MOVQ  delta+8(FP), R8
	MOVQ  bias+16(FP), R9
	MOVQ  gamma+24(FP), R10
	MOVQ  beta+32(FP), R11
	MOVQ  n+40(FP), CX
	MOVQ  CX, R12
	ANDQ  $-16, R12
	MOVQ  CX, R13
	ANDQ  $-8, R13
	MOVQ  CX, DX
	ANDQ  $7, DX
	JZ    lnStart
	TAILMASK(DX, Y15)

lnStart:
	XORQ   BX, BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ  R8, R8
	JZ     lnSum16
	TESTQ  R9, R9
	JZ     lnAdd16

lnAddB16:
	CMPQ BX, R12
	JAE  lnAddB8
	LN_ADDB(0, Y0)
	LN_ADDB(32, Y1)
	ADDQ $16, BX
	JMP  lnAddB16

lnAddB8:
	CMPQ BX, R13
	JAE  lnAddBTail
	LN_ADDB(0, Y0)
	ADDQ $8, BX

lnAddBTail:
	TESTQ      DX, DX
	JZ         lnMean
	VMASKMOVPS (DI)(BX*4), Y15, Y4
	VMASKMOVPS (R8)(BX*4), Y15, Y5
	VADDPS     Y5, Y4, Y4
	VMASKMOVPS (R9)(BX*4), Y15, Y5
	VADDPS     Y5, Y4, Y4
	VMASKMOVPS Y4, Y15, (DI)(BX*4)
	VADDPS     Y4, Y1, Y1
	JMP        lnMean

lnAdd16:
	CMPQ BX, R12
	JAE  lnAdd8
	LN_ADD(0, Y0)
	LN_ADD(32, Y1)
	ADDQ $16, BX
	JMP  lnAdd16

lnAdd8:
	CMPQ BX, R13
	JAE  lnAddTail
	LN_ADD(0, Y0)
	ADDQ $8, BX

lnAddTail:
	TESTQ      DX, DX
	JZ         lnMean
	VMASKMOVPS (DI)(BX*4), Y15, Y4
	VMASKMOVPS (R8)(BX*4), Y15, Y5
	VADDPS     Y5, Y4, Y4
	VMASKMOVPS Y4, Y15, (DI)(BX*4)
	VADDPS     Y4, Y1, Y1
	JMP        lnMean

lnSum16:
	CMPQ BX, R12
	JAE  lnSum8
	LN_SUM(0, Y0)
	LN_SUM(32, Y1)
	ADDQ $16, BX
	JMP  lnSum16

lnSum8:
	CMPQ BX, R13
	JAE  lnSumTail
	LN_SUM(0, Y0)
	ADDQ $8, BX

lnSumTail:
	TESTQ      DX, DX
	JZ         lnMean
	VMASKMOVPS (DI)(BX*4), Y15, Y4
	VADDPS     Y4, Y1, Y1

lnMean:
	VADDPS       Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VCVTSI2SSQ   CX, X9, X9
	VDIVSS       X9, X0, X0
	VBROADCASTSS X0, Y12
	XORQ         BX, BX
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3

lnDev16:
	CMPQ BX, R12
	JAE  lnDev8
	LN_DEV(0, Y0, Y2)
	LN_DEV(32, Y1, Y3)
	ADDQ $16, BX
	JMP  lnDev16

lnDev8:
	CMPQ BX, R13
	JAE  lnDevTail
	LN_DEV(0, Y0, Y2)
	ADDQ $8, BX

lnDevTail:
	TESTQ       DX, DX
	JZ          lnStats
	VMASKMOVPS  (DI)(BX*4), Y15, Y4
	VSUBPS      Y12, Y4, Y4
	VANDPS      Y15, Y4, Y4
	VADDPS      Y4, Y1, Y1
	VFMADD231PS Y4, Y4, Y3

lnStats:
	VADDPS       Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VADDPS       Y3, Y2, Y2
	HSUM(Y2, X2, X3)
	VDIVSS       X9, X0, X0
	VDIVSS       X9, X2, X2
	VMULSS       X0, X0, X3
	VSUBSS       X3, X2, X2
	VXORPS       X3, X3, X3
	VMAXSS       X3, X2, X2
	VADDSS       eps+48(FP), X2, X2
	VSQRTSS      X2, X2, X2
	VMOVSS       one<>(SB), X3
	VDIVSS       X2, X3, X3
	VBROADCASTSS X0, Y13
	VBROADCASTSS X3, Y14
	XORQ         BX, BX

lnNorm:
	CMPQ        BX, R13
	JAE         lnNormTail
	VMOVUPS     (DI)(BX*4), Y4
	VSUBPS      Y12, Y4, Y4
	VSUBPS      Y13, Y4, Y4
	VMULPS      Y14, Y4, Y4
	VMOVUPS     (R10)(BX*4), Y5
	VFMADD213PS (R11)(BX*4), Y5, Y4
	VMOVUPS     Y4, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         lnNorm

lnNormTail:
	TESTQ       DX, DX
	JZ          lnDone
	VMASKMOVPS  (DI)(BX*4), Y15, Y4
	VSUBPS      Y12, Y4, Y4
	VSUBPS      Y13, Y4, Y4
	VMULPS      Y14, Y4, Y4
	VMASKMOVPS  (R10)(BX*4), Y15, Y5
	VMASKMOVPS  (R11)(BX*4), Y15, Y6
	VFMADD213PS Y6, Y5, Y4
	VMASKMOVPS  Y4, Y15, (DI)(BX*4)

lnDone:
	VZEROUPPER
	RET

// LN2_MEANS ends the first pass of addLayerNorm2AVX2 and its AVX-512
// twin: the two rows' sums (Y0 + Y1, Y6 + Y7) summed across lanes and
// divided by n (X15), the means in X0 and X6.
#define LN2_MEANS \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y7, Y6, Y6; \
	HSUM(Y0, X0, X1); \
	HSUM(Y6, X6, X7); \
	VDIVSS X15, X0, X0; \
	VDIVSS X15, X6, X6

// LN2_STATS ends their second pass: from the sums of the deviations (Y0
// + Y1, Y6 + Y7) and of their squares (Y2 + Y3, Y8 + Y9), the mean
// deviations in X0 and X6 and 1/sqrt(variance + eps) in X3 and X9.
#define LN2_STATS \
	VADDPS  Y1, Y0, Y0; \
	VADDPS  Y7, Y6, Y6; \
	HSUM(Y0, X0, X1); \
	HSUM(Y6, X6, X7); \
	VADDPS  Y3, Y2, Y2; \
	VADDPS  Y9, Y8, Y8; \
	HSUM(Y2, X2, X3); \
	HSUM(Y8, X8, X9); \
	VDIVSS  X15, X0, X0; \
	VDIVSS  X15, X6, X6; \
	VDIVSS  X15, X2, X2; \
	VDIVSS  X15, X8, X8; \
	VMULSS  X0, X0, X3; \
	VMULSS  X6, X6, X9; \
	VSUBSS  X3, X2, X2; \
	VSUBSS  X9, X8, X8; \
	VXORPS  X3, X3, X3; \
	VXORPS  X9, X9, X9; \
	VMAXSS  X3, X2, X2; \
	VMAXSS  X9, X8, X8; \
	VADDSS  eps+48(FP), X2, X2; \
	VADDSS  eps+48(FP), X8, X8; \
	VSQRTSS X2, X2, X2; \
	VSQRTSS X8, X8, X8; \
	VMOVSS  one<>(SB), X3; \
	VMOVSS  one<>(SB), X9; \
	VDIVSS  X2, X3, X3; \
	VDIVSS  X8, X9, X9

// func addLayerNorm2AVX2(x, delta, bias, gamma, beta *float32, n int, eps float32)
//
// layerNormAVX2 with delta and bias on two consecutive rows of n floats
// (n a positive multiple of 16) at once, interleaved so that one row's
// dependency chains (the sums, the statistics) run while the other's do:
// each row gets exactly layerNormAVX2's operations in its order.
// Registers: DI, SI the rows of x, R8, AX the rows of delta, BX the
// element index, R12 = n, X15 = n as a float; row A (DI) uses Y0–Y5 and
// Y12–Y14 as layerNormAVX2 does, row B (SI) the same plan on Y6–Y11.
TEXT ·addLayerNorm2AVX2(SB), NOSPLIT, $0-52
	MOVQ       x+0(FP), DI
	MOVQ       delta+8(FP), R8
	MOVQ       bias+16(FP), R9
	MOVQ       gamma+24(FP), R10
	MOVQ       beta+32(FP), R11
	MOVQ       n+40(FP), R12
	LEAQ       (DI)(R12*4), SI
	LEAQ       (R8)(R12*4), AX
	VCVTSI2SSQ R12, X15, X15
	XORQ       BX, BX
	VXORPS     Y0, Y0, Y0
	VXORPS     Y1, Y1, Y1
	VXORPS     Y6, Y6, Y6
	VXORPS     Y7, Y7, Y7

ln2Add:
	VMOVUPS (DI)(BX*4), Y4
	VMOVUPS (SI)(BX*4), Y5
	VADDPS  (R8)(BX*4), Y4, Y4
	VADDPS  (AX)(BX*4), Y5, Y5
	VADDPS  (R9)(BX*4), Y4, Y4
	VADDPS  (R9)(BX*4), Y5, Y5
	VMOVUPS Y4, (DI)(BX*4)
	VMOVUPS Y5, (SI)(BX*4)
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y6, Y6
	VMOVUPS 32(DI)(BX*4), Y4
	VMOVUPS 32(SI)(BX*4), Y5
	VADDPS  32(R8)(BX*4), Y4, Y4
	VADDPS  32(AX)(BX*4), Y5, Y5
	VADDPS  32(R9)(BX*4), Y4, Y4
	VADDPS  32(R9)(BX*4), Y5, Y5
	VMOVUPS Y4, 32(DI)(BX*4)
	VMOVUPS Y5, 32(SI)(BX*4)
	VADDPS  Y4, Y1, Y1
	VADDPS  Y5, Y7, Y7
	ADDQ    $16, BX
	CMPQ    BX, R12
	JB      ln2Add

	LN2_MEANS
	VBROADCASTSS X0, Y12
	VBROADCASTSS X6, Y10
	XORQ         BX, BX
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3
	VXORPS       Y6, Y6, Y6
	VXORPS       Y7, Y7, Y7
	VXORPS       Y8, Y8, Y8
	VXORPS       Y9, Y9, Y9

ln2Dev:
	VMOVUPS     (DI)(BX*4), Y4
	VMOVUPS     (SI)(BX*4), Y5
	VSUBPS      Y12, Y4, Y4
	VSUBPS      Y10, Y5, Y5
	VADDPS      Y4, Y0, Y0
	VADDPS      Y5, Y6, Y6
	VFMADD231PS Y4, Y4, Y2
	VFMADD231PS Y5, Y5, Y8
	VMOVUPS     32(DI)(BX*4), Y4
	VMOVUPS     32(SI)(BX*4), Y5
	VSUBPS      Y12, Y4, Y4
	VSUBPS      Y10, Y5, Y5
	VADDPS      Y4, Y1, Y1
	VADDPS      Y5, Y7, Y7
	VFMADD231PS Y4, Y4, Y3
	VFMADD231PS Y5, Y5, Y9
	ADDQ        $16, BX
	CMPQ        BX, R12
	JB          ln2Dev

	LN2_STATS
	VBROADCASTSS X0, Y13
	VBROADCASTSS X3, Y14
	VBROADCASTSS X6, Y7
	VBROADCASTSS X9, Y8
	XORQ         BX, BX

ln2Norm:
	VMOVUPS     (DI)(BX*4), Y4
	VMOVUPS     (SI)(BX*4), Y0
	VSUBPS      Y12, Y4, Y4
	VSUBPS      Y10, Y0, Y0
	VSUBPS      Y13, Y4, Y4
	VSUBPS      Y7, Y0, Y0
	VMULPS      Y14, Y4, Y4
	VMULPS      Y8, Y0, Y0
	VMOVUPS     (R10)(BX*4), Y5
	VMOVUPS     (R10)(BX*4), Y1
	VFMADD213PS (R11)(BX*4), Y5, Y4
	VFMADD213PS (R11)(BX*4), Y1, Y0
	VMOVUPS     Y4, (DI)(BX*4)
	VMOVUPS     Y0, (SI)(BX*4)
	ADDQ        $8, BX
	CMPQ        BX, R12
	JB          ln2Norm
	VZEROUPPER
	RET

// func addLayerNorm2AVX512(x, delta, bias, gamma, beta *float32, n int, eps float32)
//
// addLayerNorm2AVX2 on ZMM registers, bit for bit: one 16-lane register
// holds what addLayerNorm2AVX2 keeps in two 8-lane ones (lanes 0–7 the
// first, 8–15 the second: the same sums in the same order), and its upper
// half is added to its lower half (VEXTRACTF32X8) before the horizontal
// sum, as addLayerNorm2AVX2 adds its two; the scalar statistics are the
// same instructions. Row A (DI) uses Z0, Z2, Z4, Z12–Z14; row B (SI) Z5,
// Z6, Z8, Z7, Z10, Z11.
TEXT ·addLayerNorm2AVX512(SB), NOSPLIT, $0-52
	MOVQ       x+0(FP), DI
	MOVQ       delta+8(FP), R8
	MOVQ       bias+16(FP), R9
	MOVQ       gamma+24(FP), R10
	MOVQ       beta+32(FP), R11
	MOVQ       n+40(FP), R12
	LEAQ       (DI)(R12*4), SI
	LEAQ       (R8)(R12*4), AX
	VCVTSI2SSQ R12, X15, X15
	XORQ       BX, BX
	VPXORD     Z0, Z0, Z0
	VPXORD     Z6, Z6, Z6

ln2zAdd:
	VMOVUPS (DI)(BX*4), Z4
	VMOVUPS (SI)(BX*4), Z5
	VADDPS  (R8)(BX*4), Z4, Z4
	VADDPS  (AX)(BX*4), Z5, Z5
	VADDPS  (R9)(BX*4), Z4, Z4
	VADDPS  (R9)(BX*4), Z5, Z5
	VMOVUPS Z4, (DI)(BX*4)
	VMOVUPS Z5, (SI)(BX*4)
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z6, Z6
	ADDQ    $16, BX
	CMPQ    BX, R12
	JB      ln2zAdd

	VEXTRACTF32X8 $1, Z0, Y1
	VEXTRACTF32X8 $1, Z6, Y7
	LN2_MEANS
	VBROADCASTSS  X0, Z12
	VBROADCASTSS  X6, Z10
	XORQ          BX, BX
	VPXORD        Z0, Z0, Z0
	VPXORD        Z2, Z2, Z2
	VPXORD        Z6, Z6, Z6
	VPXORD        Z8, Z8, Z8

ln2zDev:
	VMOVUPS     (DI)(BX*4), Z4
	VMOVUPS     (SI)(BX*4), Z5
	VSUBPS      Z12, Z4, Z4
	VSUBPS      Z10, Z5, Z5
	VADDPS      Z4, Z0, Z0
	VADDPS      Z5, Z6, Z6
	VFMADD231PS Z4, Z4, Z2
	VFMADD231PS Z5, Z5, Z8
	ADDQ        $16, BX
	CMPQ        BX, R12
	JB          ln2zDev

	VEXTRACTF32X8 $1, Z0, Y1
	VEXTRACTF32X8 $1, Z6, Y7
	VEXTRACTF32X8 $1, Z2, Y3
	VEXTRACTF32X8 $1, Z8, Y9
	LN2_STATS
	VBROADCASTSS  X0, Z13
	VBROADCASTSS  X3, Z14
	VBROADCASTSS  X6, Z7
	VBROADCASTSS  X9, Z11
	XORQ          BX, BX

ln2zNorm:
	VMOVUPS     (DI)(BX*4), Z4
	VMOVUPS     (SI)(BX*4), Z0
	VSUBPS      Z12, Z4, Z4
	VSUBPS      Z10, Z0, Z0
	VSUBPS      Z13, Z4, Z4
	VSUBPS      Z7, Z0, Z0
	VMULPS      Z14, Z4, Z4
	VMULPS      Z11, Z0, Z0
	VMOVUPS     (R10)(BX*4), Z5
	VMOVUPS     (R10)(BX*4), Z1
	VFMADD213PS (R11)(BX*4), Z5, Z4
	VFMADD213PS (R11)(BX*4), Z1, Z0
	VMOVUPS     Z4, (DI)(BX*4)
	VMOVUPS     Z0, (SI)(BX*4)
	ADDQ        $16, BX
	CMPQ        BX, R12
	JB          ln2zNorm
	VZEROUPPER
	RET

// AVX-512F kernels: GELU from the table of Φ (GELU_TABLE_Z, not the erf
// polynomials of geluAVX2) and softmax's exponentials. Constants come
// from the first lane of the SPLAT tables (embedded broadcast).

// EXP_CORE_Z is EXP_CORE on ZMM registers.
#define EXP_CORE_Z(X, T, N) \
	VBROADCASTSS     expMagic<>(SB), T; \
	VFMADD231PS.BCST expLog2e<>(SB), X, T; \
	VSUBPS.BCST      expMagic<>(SB), T, N; \
	VPSLLD           $23, T, T; \
	VFMADD231PS.BCST expNegLn2Hi<>(SB), N, X; \
	VFMADD231PS.BCST expNegLn2Lo<>(SB), N, X; \
	VBROADCASTSS     expP6<>(SB), N; \
	VFMADD213PS.BCST expP5<>(SB), X, N; \
	VFMADD213PS.BCST expP4<>(SB), X, N; \
	VFMADD213PS.BCST expP3<>(SB), X, N; \
	VFMADD213PS.BCST expP2<>(SB), X, N; \
	VFMADD213PS.BCST one<>(SB), X, N; \
	VFMADD213PS.BCST one<>(SB), X, N; \
	VPADDD           T, N, X

// GELU_TABLE_Z: Z0 = x·Φ(x) (vec_amd64.go, geluTable) with the table's
// coefficient k, pieces 0–15 and 16–31, in Z(16+2k) and Z(17+2k).
// Clobbers Z1–Z4, K1, K2.
#define GELU_TABLE_Z \
	VBROADCASTSS     geluOffset<>(SB), Z1; \
	VFMADD231PS.BCST geluScale<>(SB), Z0, Z1; \
	VMAXPS.BCST      geluWLo<>(SB), Z1, Z1; \
	VMINPS.BCST      geluWHi<>(SB), Z1, Z1; \
	VRNDSCALEPS      $0, Z1, Z2; \
	VSUBPS           Z2, Z1, Z1; \
	VCVTPS2DQ        Z2, Z2; \
	VMOVAPS          Z26, Z3; \
	VPERMT2PS        Z27, Z2, Z3; \
	VMOVAPS          Z24, Z4; \
	VPERMT2PS        Z25, Z2, Z4; \
	VFMADD213PS      Z4, Z1, Z3; \
	VMOVAPS          Z22, Z4; \
	VPERMT2PS        Z23, Z2, Z4; \
	VFMADD213PS      Z4, Z1, Z3; \
	VMOVAPS          Z20, Z4; \
	VPERMT2PS        Z21, Z2, Z4; \
	VFMADD213PS      Z4, Z1, Z3; \
	VMOVAPS          Z18, Z4; \
	VPERMT2PS        Z19, Z2, Z4; \
	VFMADD213PS      Z4, Z1, Z3; \
	VMOVAPS          Z16, Z4; \
	VPERMT2PS        Z17, Z2, Z4; \
	VFMADD213PS      Z4, Z1, Z3; \
	VCMPPS.BCST      $13, geluEdge<>(SB), Z0, K1; \
	VBROADCASTSS     one<>(SB), K1, Z3; \
	VCMPPS.BCST      $1, geluNegEdge<>(SB), Z0, K2; \
	VPXORD           Z3, Z3, K2, Z3; \
	VMULPS           Z3, Z0, Z0

// func geluAVX512(x, bias, tab *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-32
	MOVQ    x+0(FP), DI
	MOVQ    bias+8(FP), SI
	MOVQ    tab+16(FP), AX
	MOVQ    n+24(FP), CX
	VMOVUPS (AX), Z16
	VMOVUPS 64(AX), Z17
	VMOVUPS 128(AX), Z18
	VMOVUPS 192(AX), Z19
	VMOVUPS 256(AX), Z20
	VMOVUPS 320(AX), Z21
	VMOVUPS 384(AX), Z22
	VMOVUPS 448(AX), Z23
	VMOVUPS 512(AX), Z24
	VMOVUPS 576(AX), Z25
	VMOVUPS 640(AX), Z26
	VMOVUPS 704(AX), Z27
	TESTQ   SI, SI
	JZ      gzPlain

gzLoop:
	CMPQ    CX, $16
	JB      gzTail
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	GELU_TABLE_Z
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     gzLoop

gzTail:
	TESTQ     CX, CX
	JZ        gzDone
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K4
	VMOVUPS.Z (DI), K4, Z0
	VMOVUPS.Z (SI), K4, Z1
	VADDPS    Z1, Z0, Z0
	GELU_TABLE_Z
	VMOVUPS   Z0, K4, (DI)
	JMP       gzDone

gzPlain:
	CMPQ    CX, $16
	JB      gzPlainTail
	VMOVUPS (DI), Z0
	GELU_TABLE_Z
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gzPlain

gzPlainTail:
	TESTQ     CX, CX
	JZ        gzDone
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K4
	VMOVUPS.Z (DI), K4, Z0
	GELU_TABLE_Z
	VMOVUPS   Z0, K4, (DI)

gzDone:
	VZEROUPPER
	RET

// SOFTMAX_EXP_BODY_Z: Z1 = e^(Z14·Z0 + Z13) in the lanes set in K5 (0 in
// the others, and where the argument is below expLo), and the float64 sums
// Z10 (low 8 lanes), Z11 (high 8) += Z1. Clobbers Z0, Z2, Z3, K1.
#define SOFTMAX_EXP_BODY_Z \
	VFMADD213PS    Z13, Z14, Z0; \
	VMAXPS.BCST    expLo<>(SB), Z0, Z1; \
	EXP_CORE_Z(Z1, Z2, Z3); \
	VCMPPS.BCST    $5, expLo<>(SB), Z0, K1; \
	KANDW          K1, K5, K1; \
	VMOVAPS.Z      Z1, K1, Z1; \
	VCVTPS2PD      Y1, Z2; \
	VEXTRACTF64X4  $1, Z1, Y3; \
	VCVTPS2PD      Y3, Z3; \
	VADDPD         Z2, Z10, Z10; \
	VADDPD         Z3, Z11, Z11

// func softmaxExpAVX512(x *float32, mask *int32, n int, scale, max float32) float64
//
// softmaxExpAVX2 16 lanes at a time: Z14 = scale, Z13 = -max, K5 = the
// lanes that count, K4 = the lanes of the final partial step.
TEXT ·softmaxExpAVX512(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), DI
	MOVQ         mask+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z14
	VBROADCASTSS max+28(FP), Z13
	VPXORD.BCST  signMask<>(SB), Z13, Z13
	VPXORQ       Z10, Z10, Z10
	VPXORQ       Z11, Z11, Z11
	KXNORW       K5, K5, K5
	TESTQ        SI, SI
	JZ           szPlain

szLoop:
	CMPQ      CX, $16
	JB        szTail
	VMOVUPS   (DI), Z0
	VMOVDQU32 (SI), Z1
	VPTESTMD  Z1, Z1, K5
	SOFTMAX_EXP_BODY_Z
	VMOVUPS   Z1, (DI)
	ADDQ      $64, DI
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       szLoop

szTail:
	TESTQ       CX, CX
	JZ          szDone
	MOVL        $1, AX
	SHLL        CX, AX
	DECL        AX
	KMOVW       AX, K4
	VMOVUPS.Z   (DI), K4, Z0
	VMOVDQU32.Z (SI), K4, Z1
	VPTESTMD    Z1, Z1, K5
	SOFTMAX_EXP_BODY_Z
	VMOVUPS     Z1, K4, (DI)
	JMP         szDone

szPlain:
	CMPQ    CX, $16
	JB      szPlainTail
	VMOVUPS (DI), Z0
	SOFTMAX_EXP_BODY_Z
	VMOVUPS Z1, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     szPlain

szPlainTail:
	TESTQ     CX, CX
	JZ        szDone
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K4
	KMOVW     K4, K5
	VMOVUPS.Z (DI), K4, Z0
	SOFTMAX_EXP_BODY_Z
	VMOVUPS   Z1, K4, (DI)

szDone:
	VADDPD        Z11, Z10, Z10
	VEXTRACTF64X4 $1, Z10, Y11
	VADDPD        Y11, Y10, Y10
	VEXTRACTF128  $1, Y10, X11
	VADDPD        X11, X10, X10
	VUNPCKHPD     X10, X10, X11
	VADDSD        X11, X10, X10
	VMOVSD        X10, ret+32(FP)
	VZEROUPPER
	RET

// func prefetchRows(x *float32, rows, ld, lines int)
TEXT ·prefetchRows(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), AX
	MOVQ rows+8(FP), CX
	MOVQ ld+16(FP), DX
	SHLQ $2, DX

prRow:
	MOVQ lines+24(FP), BX
	MOVQ AX, SI

prLine:
	PREFETCHT1 (SI)
	ADDQ       $64, SI
	DECQ       BX
	JNZ        prLine
	ADDQ       DX, AX
	DECQ       CX
	JNZ        prRow
	RET
