// HMAXUD_Z0 reduces the 16 unsigned dwords of Z0 to their maximum, in
// every dword of X0 (the bit patterns of |x| order as the floats do).
// Clobbers Y1. Shared, with ROW_SCALES, by the row quantizers of
// kernel_amd64.s and runtime_amd64.s.
#define HMAXUD_Z0 \
	VEXTRACTI64X4 $1, Z0, Y1; \
	VPMAXUD       Y1, Y0, Y0; \
	VEXTRACTI128  $1, Y0, X1; \
	VPMAXUD       X1, X0, X0; \
	VPSHUFD       $0x4e, X0, X1; \
	VPMAXUD       X1, X0, X0; \
	VPSHUFD       $0xb1, X0, X1; \
	VPMAXUD       X1, X0, X0

// ROW_SCALES sets SCALE = amax/127 and INV = 127/amax from the amax in X0
// (C127 holding 127.0), or both to 0 with a jump to ZERO when amax is below
// MinAmax (2⁻¹²¹, bit pattern 0x03000000), where the row counts as zero
// and 127/amax could overflow. Clobbers AX.
#define ROW_SCALES(C127, SCALE, INV, ZERO) \
	VXORPS SCALE, SCALE, SCALE; \
	VXORPS INV, INV, INV; \
	VMOVD  X0, AX; \
	CMPL   AX, $0x03000000; \
	JB     ZERO; \
	VDIVSS C127, X0, SCALE; \
	VDIVSS X0, C127, INV
