// HMAXUD_Z0 reduces the 16 unsigned dwords of Z0 to their maximum, in
// every dword of X0 (the bit patterns of |x| order as the floats do).
// Clobbers Y1. Shared by the row quantizers of kernel_amd64.s and
// runtime_amd64.s.
#define HMAXUD_Z0 \
	VEXTRACTI64X4 $1, Z0, Y1; \
	VPMAXUD       Y1, Y0, Y0; \
	VEXTRACTI128  $1, Y0, X1; \
	VPMAXUD       X1, X0, X0; \
	VPSHUFD       $0x4e, X0, X1; \
	VPMAXUD       X1, X0, X0; \
	VPSHUFD       $0xb1, X0, X1; \
	VPMAXUD       X1, X0, X0
