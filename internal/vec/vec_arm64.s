#include "textflag.h"

// The ASIMD kernels (vec_arm64.go): the same approximations as the portable
// kernels (portable.go), with the same fused multiply-adds the arm64
// compiler makes of them, four lanes at a time; the Go side runs the last
// n mod 4 elements through the portable code. Instructions the Go
// assembler lacks are WORDs, the GNU syntax beside.
//
// vecConsts holds the constants of consts.go as IEEE-754 bit patterns; the
// kernels load it into V24–V31 (constant k in lane k mod 4 of V24+k/4).
DATA vecConsts<>+0(SB)/4, $0x3fb8aa3b // log2e
DATA vecConsts<>+4(SB)/4, $0x4b400000 // expMagic
DATA vecConsts<>+8(SB)/4, $0x3f318000 // ln2Hi
DATA vecConsts<>+12(SB)/4, $0xb95e8083 // ln2Lo
DATA vecConsts<>+16(SB)/4, $0x3efffffd // expP2
DATA vecConsts<>+20(SB)/4, $0x3e2aaa05 // expP3
DATA vecConsts<>+24(SB)/4, $0x3d2aac4f // expP4
DATA vecConsts<>+28(SB)/4, $0x3c0936df // expP5
DATA vecConsts<>+32(SB)/4, $0x3ab55c67 // expP6
DATA vecConsts<>+36(SB)/4, $0x3f800000 // one
DATA vecConsts<>+40(SB)/4, $0xc2aeac4f // expLo
DATA vecConsts<>+44(SB)/4, $0x42b17217 // expHi
DATA vecConsts<>+48(SB)/4, $0x7f800000 // inf
DATA vecConsts<>+52(SB)/4, $0x3f3504f3 // invSqrt2
DATA vecConsts<>+56(SB)/4, $0x3f6c0000 // erfSplit
DATA vecConsts<>+60(SB)/4, $0x407b3333 // erfMax
DATA vecConsts<>+64(SB)/4, $0x3f906eba // erfS0
DATA vecConsts<>+68(SB)/4, $0xbec09372 // erfS1
DATA vecConsts<>+72(SB)/4, $0x3de70d2b // erfS2
DATA vecConsts<>+76(SB)/4, $0xbcdb4517 // erfS3
DATA vecConsts<>+80(SB)/4, $0x3ba39a6b // erfS4
DATA vecConsts<>+84(SB)/4, $0xba1cfdd3 // erfS5
DATA vecConsts<>+88(SB)/4, $0xbb04e6b8 // erfB0
DATA vecConsts<>+92(SB)/4, $0xbf8f50df // erfB1
DATA vecConsts<>+96(SB)/4, $0xbf26c8bc // erfB2
DATA vecConsts<>+100(SB)/4, $0xbdb98e3e // erfB3
DATA vecConsts<>+104(SB)/4, $0x3c7c8179 // erfB4
DATA vecConsts<>+108(SB)/4, $0xbaa13811 // erfB5
DATA vecConsts<>+112(SB)/4, $0x40000000 // two
DATA vecConsts<>+116(SB)/4, $0x3f000000 // half
DATA vecConsts<>+120(SB)/4, $0xff800000 // negInf
DATA vecConsts<>+124(SB)/4, $0x00000000 // zero
GLOBL vecConsts<>(SB), RODATA|NOPTR, $128

// func geluNEON(x, bias *float32, n int)
//
// x[i] = gelu32(x[i] + bias[i]) for i < n, n a positive multiple of 4;
// bias may be nil. Eight lanes per loop (two independent sets of four:
// V0 and the even registers, V1 and the odd ones), then four.
TEXT ·geluNEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD bias+8(FP), R1
	MOVD n+16(FP), R2
	MOVD $vecConsts<>(SB), R9
	VLD1.P 64(R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1 (R9), [V28.S4, V29.S4, V30.S4, V31.S4]

gelu8:
	CMP  $8, R2
	BLT  gelu4
	VLD1 (R0), [V0.S4, V1.S4]
	CBZ  R1, gelu8nb
	VLD1.P 32(R1), [V2.S4, V3.S4]
	WORD $0x4e22d400 // fadd v0.4s, v0.4s, v2.4s
	WORD $0x4e23d421 // fadd v1.4s, v1.4s, v3.4s

gelu8nb:
	WORD $0x4fbb9002 // fmul v2.4s, v0.4s, v27.s[1]
	WORD $0x4fbb9023 // fmul v3.4s, v1.4s, v27.s[1]
	WORD $0x4ea0f844 // fabs v4.4s, v2.4s
	WORD $0x4ea0f865 // fabs v5.4s, v3.4s
	WORD $0x6e24dc86 // fmul v6.4s, v4.4s, v4.4s
	WORD $0x6e25dca7 // fmul v7.4s, v5.4s, v5.4s
	WORD $0x4e0407a8 // dup v8.4s, v29.s[0]
	WORD $0x4e0407a9 // dup v9.4s, v29.s[0]
	WORD $0x4fbd10c8 // fmla v8.4s, v6.4s, v29.s[1]
	WORD $0x4fbd10e9 // fmla v9.4s, v7.4s, v29.s[1]
	WORD $0x4e1c078a // dup v10.4s, v28.s[3]
	WORD $0x4e1c078b // dup v11.4s, v28.s[3]
	WORD $0x4e26cd0a // fmla v10.4s, v8.4s, v6.4s
	WORD $0x4e27cd2b // fmla v11.4s, v9.4s, v7.4s
	WORD $0x4e140788 // dup v8.4s, v28.s[2]
	WORD $0x4e140789 // dup v9.4s, v28.s[2]
	WORD $0x4e26cd48 // fmla v8.4s, v10.4s, v6.4s
	WORD $0x4e27cd69 // fmla v9.4s, v11.4s, v7.4s
	WORD $0x4e0c078a // dup v10.4s, v28.s[1]
	WORD $0x4e0c078b // dup v11.4s, v28.s[1]
	WORD $0x4e26cd0a // fmla v10.4s, v8.4s, v6.4s
	WORD $0x4e27cd2b // fmla v11.4s, v9.4s, v7.4s
	WORD $0x4e040788 // dup v8.4s, v28.s[0]
	WORD $0x4e040789 // dup v9.4s, v28.s[0]
	WORD $0x4e26cd48 // fmla v8.4s, v10.4s, v6.4s
	WORD $0x4e27cd69 // fmla v9.4s, v11.4s, v7.4s
	WORD $0x4e0c074c // dup v12.4s, v26.s[1]
	WORD $0x4e0c074d // dup v13.4s, v26.s[1]
	WORD $0x4ea8cc8c // fmls v12.4s, v4.4s, v8.4s
	WORD $0x4ea9ccad // fmls v13.4s, v5.4s, v9.4s
	WORD $0x4e1407ce // dup v14.4s, v30.s[2]
	WORD $0x4e1407cf // dup v15.4s, v30.s[2]
	WORD $0x4fbe188e // fmla v14.4s, v4.4s, v30.s[3]
	WORD $0x4fbe18af // fmla v15.4s, v5.4s, v30.s[3]
	WORD $0x4e0c07d0 // dup v16.4s, v30.s[1]
	WORD $0x4e0c07d1 // dup v17.4s, v30.s[1]
	WORD $0x4e24cdd0 // fmla v16.4s, v14.4s, v4.4s
	WORD $0x4e25cdf1 // fmla v17.4s, v15.4s, v5.4s
	WORD $0x4e0407ce // dup v14.4s, v30.s[0]
	WORD $0x4e0407cf // dup v15.4s, v30.s[0]
	WORD $0x4e24ce0e // fmla v14.4s, v16.4s, v4.4s
	WORD $0x4e25ce2f // fmla v15.4s, v17.4s, v5.4s
	WORD $0x4e1c07b0 // dup v16.4s, v29.s[3]
	WORD $0x4e1c07b1 // dup v17.4s, v29.s[3]
	WORD $0x4e24cdd0 // fmla v16.4s, v14.4s, v4.4s
	WORD $0x4e25cdf1 // fmla v17.4s, v15.4s, v5.4s
	WORD $0x4e1407ae // dup v14.4s, v29.s[2]
	WORD $0x4e1407af // dup v15.4s, v29.s[2]
	WORD $0x4e24ce0e // fmla v14.4s, v16.4s, v4.4s
	WORD $0x4e25ce2f // fmla v15.4s, v17.4s, v5.4s
	WORD $0x4e0c0714 // dup v20.4s, v24.s[1]
	WORD $0x4e0c0715 // dup v21.4s, v24.s[1]
	WORD $0x4f9811d4 // fmla v20.4s, v14.4s, v24.s[0]
	WORD $0x4f9811f5 // fmla v21.4s, v15.4s, v24.s[0]
	WORD $0x4e0c0716 // dup v22.4s, v24.s[1]
	WORD $0x4e0c0717 // dup v23.4s, v24.s[1]
	WORD $0x4eb6d696 // fsub v22.4s, v20.4s, v22.4s
	WORD $0x4eb7d6b7 // fsub v23.4s, v21.4s, v23.4s
	WORD $0x4f375694 // shl v20.4s, v20.4s, #23
	WORD $0x4f3756b5 // shl v21.4s, v21.4s, #23
	WORD $0x4eae1dd2 // mov v18.16b, v14.16b
	WORD $0x4eaf1df3 // mov v19.16b, v15.16b
	WORD $0x4f985ad2 // fmls v18.4s, v22.4s, v24.s[2]
	WORD $0x4f985af3 // fmls v19.4s, v23.4s, v24.s[2]
	WORD $0x4fb85ad2 // fmls v18.4s, v22.4s, v24.s[3]
	WORD $0x4fb85af3 // fmls v19.4s, v23.4s, v24.s[3]
	WORD $0x4e1c0736 // dup v22.4s, v25.s[3]
	WORD $0x4e1c0737 // dup v23.4s, v25.s[3]
	WORD $0x4f9a1256 // fmla v22.4s, v18.4s, v26.s[0]
	WORD $0x4f9a1277 // fmla v23.4s, v19.4s, v26.s[0]
	WORD $0x4e140730 // dup v16.4s, v25.s[2]
	WORD $0x4e140731 // dup v17.4s, v25.s[2]
	WORD $0x4e32ced0 // fmla v16.4s, v22.4s, v18.4s
	WORD $0x4e33cef1 // fmla v17.4s, v23.4s, v19.4s
	WORD $0x4e0c0736 // dup v22.4s, v25.s[1]
	WORD $0x4e0c0737 // dup v23.4s, v25.s[1]
	WORD $0x4e32ce16 // fmla v22.4s, v16.4s, v18.4s
	WORD $0x4e33ce37 // fmla v23.4s, v17.4s, v19.4s
	WORD $0x4e040730 // dup v16.4s, v25.s[0]
	WORD $0x4e040731 // dup v17.4s, v25.s[0]
	WORD $0x4e32ced0 // fmla v16.4s, v22.4s, v18.4s
	WORD $0x4e33cef1 // fmla v17.4s, v23.4s, v19.4s
	WORD $0x4e0c0756 // dup v22.4s, v26.s[1]
	WORD $0x4e0c0757 // dup v23.4s, v26.s[1]
	WORD $0x4e32ce16 // fmla v22.4s, v16.4s, v18.4s
	WORD $0x4e33ce37 // fmla v23.4s, v17.4s, v19.4s
	WORD $0x4e0c0750 // dup v16.4s, v26.s[1]
	WORD $0x4e0c0751 // dup v17.4s, v26.s[1]
	WORD $0x4e32ced0 // fmla v16.4s, v22.4s, v18.4s
	WORD $0x4e33cef1 // fmla v17.4s, v23.4s, v19.4s
	WORD $0x4eb48612 // add v18.4s, v16.4s, v20.4s
	WORD $0x4eb58633 // add v19.4s, v17.4s, v21.4s
	WORD $0x4e140774 // dup v20.4s, v27.s[2]
	WORD $0x4e140775 // dup v21.4s, v27.s[2]
	WORD $0x6ea4e694 // fcmgt v20.4s, v20.4s, v4.4s
	WORD $0x6ea5e6b5 // fcmgt v21.4s, v21.4s, v5.4s
	WORD $0x6eb41d92 // bit v18.16b, v12.16b, v20.16b
	WORD $0x6eb51db3 // bit v19.16b, v13.16b, v21.16b
	WORD $0x4e1c0774 // dup v20.4s, v27.s[3]
	WORD $0x4e1c0775 // dup v21.4s, v27.s[3]
	WORD $0x6eb4e494 // fcmgt v20.4s, v4.4s, v20.4s
	WORD $0x6eb5e4b5 // fcmgt v21.4s, v5.4s, v21.4s
	WORD $0x4e741e52 // bic v18.16b, v18.16b, v20.16b
	WORD $0x4e751e73 // bic v19.16b, v19.16b, v21.16b
	WORD $0x4e0407f4 // dup v20.4s, v31.s[0]
	WORD $0x4e0407f5 // dup v21.4s, v31.s[0]
	WORD $0x4eb2d694 // fsub v20.4s, v20.4s, v18.4s
	WORD $0x4eb3d6b5 // fsub v21.4s, v21.4s, v19.4s
	WORD $0x4ea0a856 // cmlt v22.4s, v2.4s, #0
	WORD $0x4ea0a877 // cmlt v23.4s, v3.4s, #0
	WORD $0x6eb61e54 // bit v20.16b, v18.16b, v22.16b
	WORD $0x6eb71e75 // bit v21.16b, v19.16b, v23.16b
	WORD $0x4fbf9016 // fmul v22.4s, v0.4s, v31.s[1]
	WORD $0x4fbf9037 // fmul v23.4s, v1.4s, v31.s[1]
	WORD $0x6e34dec0 // fmul v0.4s, v22.4s, v20.4s
	WORD $0x6e35dee1 // fmul v1.4s, v23.4s, v21.4s
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUB  $8, R2
	B    gelu8

gelu4:
	CBZ  R2, gelu_done
	VLD1 (R0), [V0.S4]
	CBZ  R1, gelu4nb
	VLD1.P 16(R1), [V2.S4]
	WORD $0x4e22d400 // fadd v0.4s, v0.4s, v2.4s

gelu4nb:
	WORD $0x4fbb9002 // fmul v2.4s, v0.4s, v27.s[1]
	WORD $0x4ea0f844 // fabs v4.4s, v2.4s
	WORD $0x6e24dc86 // fmul v6.4s, v4.4s, v4.4s
	WORD $0x4e0407a8 // dup v8.4s, v29.s[0]
	WORD $0x4fbd10c8 // fmla v8.4s, v6.4s, v29.s[1]
	WORD $0x4e1c078a // dup v10.4s, v28.s[3]
	WORD $0x4e26cd0a // fmla v10.4s, v8.4s, v6.4s
	WORD $0x4e140788 // dup v8.4s, v28.s[2]
	WORD $0x4e26cd48 // fmla v8.4s, v10.4s, v6.4s
	WORD $0x4e0c078a // dup v10.4s, v28.s[1]
	WORD $0x4e26cd0a // fmla v10.4s, v8.4s, v6.4s
	WORD $0x4e040788 // dup v8.4s, v28.s[0]
	WORD $0x4e26cd48 // fmla v8.4s, v10.4s, v6.4s
	WORD $0x4e0c074c // dup v12.4s, v26.s[1]
	WORD $0x4ea8cc8c // fmls v12.4s, v4.4s, v8.4s
	WORD $0x4e1407ce // dup v14.4s, v30.s[2]
	WORD $0x4fbe188e // fmla v14.4s, v4.4s, v30.s[3]
	WORD $0x4e0c07d0 // dup v16.4s, v30.s[1]
	WORD $0x4e24cdd0 // fmla v16.4s, v14.4s, v4.4s
	WORD $0x4e0407ce // dup v14.4s, v30.s[0]
	WORD $0x4e24ce0e // fmla v14.4s, v16.4s, v4.4s
	WORD $0x4e1c07b0 // dup v16.4s, v29.s[3]
	WORD $0x4e24cdd0 // fmla v16.4s, v14.4s, v4.4s
	WORD $0x4e1407ae // dup v14.4s, v29.s[2]
	WORD $0x4e24ce0e // fmla v14.4s, v16.4s, v4.4s
	WORD $0x4e0c0714 // dup v20.4s, v24.s[1]
	WORD $0x4f9811d4 // fmla v20.4s, v14.4s, v24.s[0]
	WORD $0x4e0c0716 // dup v22.4s, v24.s[1]
	WORD $0x4eb6d696 // fsub v22.4s, v20.4s, v22.4s
	WORD $0x4f375694 // shl v20.4s, v20.4s, #23
	WORD $0x4eae1dd2 // mov v18.16b, v14.16b
	WORD $0x4f985ad2 // fmls v18.4s, v22.4s, v24.s[2]
	WORD $0x4fb85ad2 // fmls v18.4s, v22.4s, v24.s[3]
	WORD $0x4e1c0736 // dup v22.4s, v25.s[3]
	WORD $0x4f9a1256 // fmla v22.4s, v18.4s, v26.s[0]
	WORD $0x4e140730 // dup v16.4s, v25.s[2]
	WORD $0x4e32ced0 // fmla v16.4s, v22.4s, v18.4s
	WORD $0x4e0c0736 // dup v22.4s, v25.s[1]
	WORD $0x4e32ce16 // fmla v22.4s, v16.4s, v18.4s
	WORD $0x4e040730 // dup v16.4s, v25.s[0]
	WORD $0x4e32ced0 // fmla v16.4s, v22.4s, v18.4s
	WORD $0x4e0c0756 // dup v22.4s, v26.s[1]
	WORD $0x4e32ce16 // fmla v22.4s, v16.4s, v18.4s
	WORD $0x4e0c0750 // dup v16.4s, v26.s[1]
	WORD $0x4e32ced0 // fmla v16.4s, v22.4s, v18.4s
	WORD $0x4eb48612 // add v18.4s, v16.4s, v20.4s
	WORD $0x4e140774 // dup v20.4s, v27.s[2]
	WORD $0x6ea4e694 // fcmgt v20.4s, v20.4s, v4.4s
	WORD $0x6eb41d92 // bit v18.16b, v12.16b, v20.16b
	WORD $0x4e1c0774 // dup v20.4s, v27.s[3]
	WORD $0x6eb4e494 // fcmgt v20.4s, v4.4s, v20.4s
	WORD $0x4e741e52 // bic v18.16b, v18.16b, v20.16b
	WORD $0x4e0407f4 // dup v20.4s, v31.s[0]
	WORD $0x4eb2d694 // fsub v20.4s, v20.4s, v18.4s
	WORD $0x4ea0a856 // cmlt v22.4s, v2.4s, #0
	WORD $0x6eb61e54 // bit v20.16b, v18.16b, v22.16b
	WORD $0x4fbf9016 // fmul v22.4s, v0.4s, v31.s[1]
	WORD $0x6e34dec0 // fmul v0.4s, v22.4s, v20.4s
	VST1.P [V0.S4], 16(R0)

gelu_done:
	RET

// func expNEON(dst, x *float32, n int)
//
// dst[i] = exp32(x[i]) for i < n, n a positive multiple of 4; eight lanes
// per loop, then four.
TEXT ·expNEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	MOVD $vecConsts<>(SB), R9
	VLD1.P 64(R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1 (R9), [V28.S4, V29.S4, V30.S4, V31.S4]

exp8:
	CMP  $8, R2
	BLT  exp4
	VLD1.P 32(R1), [V0.S4, V1.S4]
	WORD $0x4e0c0704 // dup v4.4s, v24.s[1]
	WORD $0x4e0c0705 // dup v5.4s, v24.s[1]
	WORD $0x4f981004 // fmla v4.4s, v0.4s, v24.s[0]
	WORD $0x4f981025 // fmla v5.4s, v1.4s, v24.s[0]
	WORD $0x4e0c0706 // dup v6.4s, v24.s[1]
	WORD $0x4e0c0707 // dup v7.4s, v24.s[1]
	WORD $0x4ea6d486 // fsub v6.4s, v4.4s, v6.4s
	WORD $0x4ea7d4a7 // fsub v7.4s, v5.4s, v7.4s
	WORD $0x4f375484 // shl v4.4s, v4.4s, #23
	WORD $0x4f3754a5 // shl v5.4s, v5.4s, #23
	WORD $0x4ea01c02 // mov v2.16b, v0.16b
	WORD $0x4ea11c23 // mov v3.16b, v1.16b
	WORD $0x4f9858c2 // fmls v2.4s, v6.4s, v24.s[2]
	WORD $0x4f9858e3 // fmls v3.4s, v7.4s, v24.s[2]
	WORD $0x4fb858c2 // fmls v2.4s, v6.4s, v24.s[3]
	WORD $0x4fb858e3 // fmls v3.4s, v7.4s, v24.s[3]
	WORD $0x4e1c0726 // dup v6.4s, v25.s[3]
	WORD $0x4e1c0727 // dup v7.4s, v25.s[3]
	WORD $0x4f9a1046 // fmla v6.4s, v2.4s, v26.s[0]
	WORD $0x4f9a1067 // fmla v7.4s, v3.4s, v26.s[0]
	WORD $0x4e140728 // dup v8.4s, v25.s[2]
	WORD $0x4e140729 // dup v9.4s, v25.s[2]
	WORD $0x4e22ccc8 // fmla v8.4s, v6.4s, v2.4s
	WORD $0x4e23cce9 // fmla v9.4s, v7.4s, v3.4s
	WORD $0x4e0c0726 // dup v6.4s, v25.s[1]
	WORD $0x4e0c0727 // dup v7.4s, v25.s[1]
	WORD $0x4e22cd06 // fmla v6.4s, v8.4s, v2.4s
	WORD $0x4e23cd27 // fmla v7.4s, v9.4s, v3.4s
	WORD $0x4e040728 // dup v8.4s, v25.s[0]
	WORD $0x4e040729 // dup v9.4s, v25.s[0]
	WORD $0x4e22ccc8 // fmla v8.4s, v6.4s, v2.4s
	WORD $0x4e23cce9 // fmla v9.4s, v7.4s, v3.4s
	WORD $0x4e0c0746 // dup v6.4s, v26.s[1]
	WORD $0x4e0c0747 // dup v7.4s, v26.s[1]
	WORD $0x4e22cd06 // fmla v6.4s, v8.4s, v2.4s
	WORD $0x4e23cd27 // fmla v7.4s, v9.4s, v3.4s
	WORD $0x4e0c0748 // dup v8.4s, v26.s[1]
	WORD $0x4e0c0749 // dup v9.4s, v26.s[1]
	WORD $0x4e22ccc8 // fmla v8.4s, v6.4s, v2.4s
	WORD $0x4e23cce9 // fmla v9.4s, v7.4s, v3.4s
	WORD $0x4ea48502 // add v2.4s, v8.4s, v4.4s
	WORD $0x4ea58523 // add v3.4s, v9.4s, v5.4s
	WORD $0x4e1c074a // dup v10.4s, v26.s[3]
	WORD $0x4e1c074b // dup v11.4s, v26.s[3]
	WORD $0x6e20e54a // fcmge v10.4s, v10.4s, v0.4s
	WORD $0x6e21e56b // fcmge v11.4s, v11.4s, v1.4s
	WORD $0x4e040764 // dup v4.4s, v27.s[0]
	WORD $0x4e040765 // dup v5.4s, v27.s[0]
	WORD $0x4e24d404 // fadd v4.4s, v0.4s, v4.4s
	WORD $0x4e25d425 // fadd v5.4s, v1.4s, v5.4s
	WORD $0x6eea1c82 // bif v2.16b, v4.16b, v10.16b
	WORD $0x6eeb1ca3 // bif v3.16b, v5.16b, v11.16b
	WORD $0x4e14074a // dup v10.4s, v26.s[2]
	WORD $0x4e14074b // dup v11.4s, v26.s[2]
	WORD $0x6ea0e54a // fcmgt v10.4s, v10.4s, v0.4s
	WORD $0x6ea1e56b // fcmgt v11.4s, v11.4s, v1.4s
	WORD $0x4e6a1c42 // bic v2.16b, v2.16b, v10.16b
	WORD $0x4e6b1c63 // bic v3.16b, v3.16b, v11.16b
	WORD $0x4ea21c40 // mov v0.16b, v2.16b
	WORD $0x4ea31c61 // mov v1.16b, v3.16b
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUB  $8, R2
	B    exp8

exp4:
	CBZ  R2, exp_done
	VLD1.P 16(R1), [V0.S4]
	WORD $0x4e0c0704 // dup v4.4s, v24.s[1]
	WORD $0x4f981004 // fmla v4.4s, v0.4s, v24.s[0]
	WORD $0x4e0c0706 // dup v6.4s, v24.s[1]
	WORD $0x4ea6d486 // fsub v6.4s, v4.4s, v6.4s
	WORD $0x4f375484 // shl v4.4s, v4.4s, #23
	WORD $0x4ea01c02 // mov v2.16b, v0.16b
	WORD $0x4f9858c2 // fmls v2.4s, v6.4s, v24.s[2]
	WORD $0x4fb858c2 // fmls v2.4s, v6.4s, v24.s[3]
	WORD $0x4e1c0726 // dup v6.4s, v25.s[3]
	WORD $0x4f9a1046 // fmla v6.4s, v2.4s, v26.s[0]
	WORD $0x4e140728 // dup v8.4s, v25.s[2]
	WORD $0x4e22ccc8 // fmla v8.4s, v6.4s, v2.4s
	WORD $0x4e0c0726 // dup v6.4s, v25.s[1]
	WORD $0x4e22cd06 // fmla v6.4s, v8.4s, v2.4s
	WORD $0x4e040728 // dup v8.4s, v25.s[0]
	WORD $0x4e22ccc8 // fmla v8.4s, v6.4s, v2.4s
	WORD $0x4e0c0746 // dup v6.4s, v26.s[1]
	WORD $0x4e22cd06 // fmla v6.4s, v8.4s, v2.4s
	WORD $0x4e0c0748 // dup v8.4s, v26.s[1]
	WORD $0x4e22ccc8 // fmla v8.4s, v6.4s, v2.4s
	WORD $0x4ea48502 // add v2.4s, v8.4s, v4.4s
	WORD $0x4e1c074a // dup v10.4s, v26.s[3]
	WORD $0x6e20e54a // fcmge v10.4s, v10.4s, v0.4s
	WORD $0x4e040764 // dup v4.4s, v27.s[0]
	WORD $0x4e24d404 // fadd v4.4s, v0.4s, v4.4s
	WORD $0x6eea1c82 // bif v2.16b, v4.16b, v10.16b
	WORD $0x4e14074a // dup v10.4s, v26.s[2]
	WORD $0x6ea0e54a // fcmgt v10.4s, v10.4s, v0.4s
	WORD $0x4e6a1c42 // bic v2.16b, v2.16b, v10.16b
	WORD $0x4ea21c40 // mov v0.16b, v2.16b
	VST1.P [V0.S4], 16(R0)

exp_done:
	RET

// func softmaxMaxNEON(x *float32, mask *int32, n int, scale float32) float32
//
// The maximum of scale·x[i] over i < n with mask[i] != 0 (every i when
// mask is nil), -Inf when there is none; n a positive multiple of 4.
TEXT ·softmaxMaxNEON(SB), NOSPLIT, $0-36
	MOVD x+0(FP), R0
	MOVD mask+8(FP), R1
	MOVD n+16(FP), R2
	FMOVS scale+24(FP), F20
	MOVD $vecConsts<>(SB), R9
	VLD1.P 64(R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1 (R9), [V28.S4, V29.S4, V30.S4, V31.S4]
	WORD $0x4e1407f0 // dup v16.4s, v31.s[2]
	WORD $0x4e1407f1 // dup v17.4s, v31.s[2]

smax:
	VLD1.P 16(R0), [V0.S4]
	WORD $0x4f949001 // fmul v1.4s, v0.4s, v20.s[0]
	CBZ  R1, smax_nomask
	VLD1.P 16(R1), [V2.S4]
	WORD $0x4ea09842 // cmeq v2.4s, v2.4s, #0
	WORD $0x6ea21e21 // bit v1.16b, v17.16b, v2.16b

smax_nomask:
	WORD $0x4e21f610 // fmax v16.4s, v16.4s, v1.4s
	SUBS $4, R2
	BNE  smax
	WORD $0x6e30fa00 // fmaxv s0, v16.4s
	FMOVS F0, ret+32(FP)
	RET

// func softmaxExpNEON(x *float32, mask *int32, n int, scale, max float32) float64
//
// x[i] = exp32(scale·x[i] − max) where mask[i] != 0 (every i when mask is
// nil) and 0 elsewhere, for i < n, n a positive multiple of 4; returns the
// sum of the exponentials in float64 (two running sums of two lanes).
TEXT ·softmaxExpNEON(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD mask+8(FP), R1
	MOVD n+16(FP), R2
	FMOVS scale+24(FP), F20
	FMOVS max+28(FP), F21
	MOVD $vecConsts<>(SB), R9
	VLD1.P 64(R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1 (R9), [V28.S4, V29.S4, V30.S4, V31.S4]
	WORD $0x1e2142b5 // fneg s21, s21
	WORD $0x4e0406b5 // dup v21.4s, v21.s[0]
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16

sexp:
	VLD1 (R0), [V0.S4]
	WORD $0x4eb51ea2 // mov v2.16b, v21.16b
	WORD $0x4f941002 // fmla v2.4s, v0.4s, v20.s[0]
	WORD $0x4e0c0704 // dup v4.4s, v24.s[1]
	WORD $0x4f981044 // fmla v4.4s, v2.4s, v24.s[0]
	WORD $0x4e0c0705 // dup v5.4s, v24.s[1]
	WORD $0x4ea5d485 // fsub v5.4s, v4.4s, v5.4s
	WORD $0x4f375484 // shl v4.4s, v4.4s, #23
	WORD $0x4ea21c43 // mov v3.16b, v2.16b
	WORD $0x4f9858a3 // fmls v3.4s, v5.4s, v24.s[2]
	WORD $0x4fb858a3 // fmls v3.4s, v5.4s, v24.s[3]
	WORD $0x4e1c0725 // dup v5.4s, v25.s[3]
	WORD $0x4f9a1065 // fmla v5.4s, v3.4s, v26.s[0]
	WORD $0x4e140726 // dup v6.4s, v25.s[2]
	WORD $0x4e23cca6 // fmla v6.4s, v5.4s, v3.4s
	WORD $0x4e0c0725 // dup v5.4s, v25.s[1]
	WORD $0x4e23ccc5 // fmla v5.4s, v6.4s, v3.4s
	WORD $0x4e040726 // dup v6.4s, v25.s[0]
	WORD $0x4e23cca6 // fmla v6.4s, v5.4s, v3.4s
	WORD $0x4e0c0745 // dup v5.4s, v26.s[1]
	WORD $0x4e23ccc5 // fmla v5.4s, v6.4s, v3.4s
	WORD $0x4e0c0746 // dup v6.4s, v26.s[1]
	WORD $0x4e23cca6 // fmla v6.4s, v5.4s, v3.4s
	WORD $0x4ea484c3 // add v3.4s, v6.4s, v4.4s
	WORD $0x4e1c0747 // dup v7.4s, v26.s[3]
	WORD $0x6e22e4e7 // fcmge v7.4s, v7.4s, v2.4s
	WORD $0x4e040764 // dup v4.4s, v27.s[0]
	WORD $0x4e24d444 // fadd v4.4s, v2.4s, v4.4s
	WORD $0x6ee71c83 // bif v3.16b, v4.16b, v7.16b
	WORD $0x4e140747 // dup v7.4s, v26.s[2]
	WORD $0x6ea2e4e7 // fcmgt v7.4s, v7.4s, v2.4s
	WORD $0x4e671c63 // bic v3.16b, v3.16b, v7.16b
	CBZ  R1, sexp_nomask
	VLD1.P 16(R1), [V8.S4]
	WORD $0x4ea09908 // cmeq v8.4s, v8.4s, #0
	WORD $0x4e681c63 // bic v3.16b, v3.16b, v8.16b

sexp_nomask:
	VST1.P [V3.S4], 16(R0)
	WORD $0x0e617869 // fcvtl v9.2d, v3.2s
	WORD $0x4e61786a // fcvtl2 v10.2d, v3.4s
	WORD $0x4e69d610 // fadd v16.2d, v16.2d, v9.2d
	WORD $0x4e6ad631 // fadd v17.2d, v17.2d, v10.2d
	SUBS $4, R2
	BNE  sexp
	WORD $0x4e71d610 // fadd v16.2d, v16.2d, v17.2d
	WORD $0x7e70da00 // faddp d0, v16.2d
	FMOVD F0, ret+32(FP)
	RET

// func addNEON(x, b *float32, n int)
//
// x[i] += b[i] for i < n, n a positive multiple of 4.
TEXT ·addNEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2

add4:
	VLD1 (R0), [V0.S4]
	VLD1.P 16(R1), [V1.S4]
	WORD $0x4e21d400 // fadd v0.4s, v0.4s, v1.4s
	VST1.P [V0.S4], 16(R0)
	SUBS $4, R2
	BNE  add4
	RET

// func sum64NEON(x *float32, n int) float64
//
// Σ x[i] in float64 over i < n, n a positive multiple of 4.
TEXT ·sum64NEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n+8(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16

sum4:
	VLD1.P 16(R0), [V0.S4]
	WORD $0x0e617801 // fcvtl v1.2d, v0.2s
	WORD $0x4e617802 // fcvtl2 v2.2d, v0.4s
	WORD $0x4e61d610 // fadd v16.2d, v16.2d, v1.2d
	WORD $0x4e62d631 // fadd v17.2d, v17.2d, v2.2d
	SUBS $4, R2
	BNE  sum4
	WORD $0x4e71d610 // fadd v16.2d, v16.2d, v17.2d
	WORD $0x7e70da00 // faddp d0, v16.2d
	FMOVD F0, ret+16(FP)
	RET

// func sqDev64NEON(x *float32, n int, mean float64) float64
//
// Σ (x[i] − mean)² in float64 over i < n, n a positive multiple of 4.
TEXT ·sqDev64NEON(SB), NOSPLIT, $0-32
	MOVD x+0(FP), R0
	MOVD n+8(FP), R2
	FMOVD mean+16(FP), F20
	WORD $0x4e080694 // dup v20.2d, v20.d[0]
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16

sq4:
	VLD1.P 16(R0), [V0.S4]
	WORD $0x0e617801 // fcvtl v1.2d, v0.2s
	WORD $0x4e617802 // fcvtl2 v2.2d, v0.4s
	WORD $0x4ef4d421 // fsub v1.2d, v1.2d, v20.2d
	WORD $0x4ef4d442 // fsub v2.2d, v2.2d, v20.2d
	WORD $0x4e61cc30 // fmla v16.2d, v1.2d, v1.2d
	WORD $0x4e62cc51 // fmla v17.2d, v2.2d, v2.2d
	SUBS $4, R2
	BNE  sq4
	WORD $0x4e71d610 // fadd v16.2d, v16.2d, v17.2d
	WORD $0x7e70da00 // faddp d0, v16.2d
	FMOVD F0, ret+24(FP)
	RET

// func lnApplyNEON(x, gamma, beta *float32, n int, mean, rstd float64)
//
// x[i] = float32((x[i] − mean)·rstd)·gamma[i] + beta[i] (the last step one
// fused multiply-add) for i < n, n a positive multiple of 4.
TEXT ·lnApplyNEON(SB), NOSPLIT, $0-48
	MOVD x+0(FP), R0
	MOVD gamma+8(FP), R1
	MOVD beta+16(FP), R3
	MOVD n+24(FP), R2
	FMOVD mean+32(FP), F20
	FMOVD rstd+40(FP), F21
	WORD $0x4e080694 // dup v20.2d, v20.d[0]
	WORD $0x4e0806b5 // dup v21.2d, v21.d[0]

ln4:
	VLD1 (R0), [V0.S4]
	VLD1.P 16(R1), [V1.S4]
	VLD1.P 16(R3), [V2.S4]
	WORD $0x0e617803 // fcvtl v3.2d, v0.2s
	WORD $0x4e617804 // fcvtl2 v4.2d, v0.4s
	WORD $0x4ef4d463 // fsub v3.2d, v3.2d, v20.2d
	WORD $0x4ef4d484 // fsub v4.2d, v4.2d, v20.2d
	WORD $0x6e75dc63 // fmul v3.2d, v3.2d, v21.2d
	WORD $0x6e75dc84 // fmul v4.2d, v4.2d, v21.2d
	WORD $0x0e616865 // fcvtn v5.2s, v3.2d
	WORD $0x4e616885 // fcvtn2 v5.4s, v4.2d
	WORD $0x4e21cca2 // fmla v2.4s, v5.4s, v1.4s
	VST1.P [V2.S4], 16(R0)
	SUBS $4, R2
	BNE  ln4
	RET
