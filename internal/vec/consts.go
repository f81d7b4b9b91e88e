package vec

// Constants of the approximations. The assembly in vec_amd64.s holds the
// same values as IEEE-754 bit patterns (its DATA lines name the constant
// they copy); TestAVX2MatchesGo keeps the two in step.
//
// The polynomial coefficients were fitted for this package with a Remez
// exchange in float64 (minimax in the weight given beside each set) and
// then rounded to float32; the measured float32 errors are in doc.go.
const (
	// expHi is the largest float32 whose e^x is finite (0x42b17217);
	// e^x of anything larger rounds to +Inf.
	expHi = 88.72283172607421875
	// expLo is the smallest float32 ≥ -126·ln2 (0xc2aeac4f): below it
	// e^x is subnormal and is flushed to 0.
	expLo = -87.33654022216796875
	// expMagic is 1.5·2²³: adding it to |v| < 2²² rounds v to an integer
	// held in the low mantissa bits.
	expMagic = 12582912
	log2e    = 1.44269504088896340736
	// ln2Hi + ln2Lo = ln 2 (the Cody–Waite split of Cephes' expf):
	// n·ln2Hi is exact in float32 for |n| < 2¹⁵.
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4

	// e^r ≈ 1 + r + r²(p2 + r(p3 + r(p4 + r(p5 + r·p6)))) on [-ln2/2, ln2/2];
	// minimax in relative error, 1.9e-9 before rounding to float32.
	expP2 = 0.499999911   // 0x3efffffd
	expP3 = 0.166664198   // 0x3e2aaa05
	expP4 = 0.0416682325  // 0x3d2aac4f
	expP5 = 0.00837489869 // 0x3c0936df
	expP6 = 0.00138367421 // 0x3ab55c67

	// erf(a) ≈ a·S(a²) for 0 ≤ a < erfSplit; minimax in relative error,
	// 1.6e-8.
	erfSplit = 0.921875
	erfS0    = 1.12837911      // 0x3f906eba
	erfS1    = -0.376124918    // 0xbec09372
	erfS2    = 0.112818085     // 0x3de70d2b
	erfS3    = -0.026766343    // 0xbcdb4517
	erfS4    = 0.00499277329   // 0x3ba39a6b
	erfS5    = -0.000598875049 // 0xba1cfdd3

	// erfc(a) ≈ e^B(a) for erfSplit ≤ a ≤ erfMax, B(a) = Σ erfBk·aᵏ
	// (B ≈ ln erfc); minimax in absolute error of erf, 2.3e-8. Beyond
	// erfMax, erfc(a) < 2⁻²⁵ and erf(a) rounds to 1.
	erfMax = 3.925
	erfB0  = -0.00202791207 // 0xbb04e6b8
	erfB1  = -1.11965549    // 0xbf8f50df
	erfB2  = -0.651500463   // 0xbf26c8bc
	erfB3  = -0.0906033367  // 0xbdb98e3e
	erfB4  = 0.0154117281   // 0x3c7c8179
	erfB5  = -0.00123000343 // 0xbaa13811

	// tanh(x) ≈ x + x³·T(x²) for |x| < tanhSplit; minimax in relative
	// error, 4.4e-9. Above it tanh|x| = 1 - 2/(e^{2|x|}+1), with |x|
	// capped at tanhCap where tanh already rounds to 1.
	tanhSplit = 0.625
	tanhCap   = 9.5
	tanhT0    = -0.333332807   // 0xbeaaaa99
	tanhT1    = 0.133314356    // 0x3e08838f
	tanhT2    = -0.0537391156  // 0xbd5c1d8c
	tanhT3    = 0.0206370465   // 0x3ca90f06
	tanhT4    = -0.00570261152 // 0xbbbadcf9

	// invSqrt2 scales GELU's argument to erf's.
	invSqrt2 = 0.70710678118654752440
	// GELU's tanh form is x·σ(2u) = x/(1+e^{-2u}) with
	// -2u = x·(geluTA + geluTB·x²).
	geluTA = -2 * 0.79788456080286535588            // -2·sqrt(2/π)
	geluTB = -2 * 0.79788456080286535588 * 0.044715 // -2·sqrt(2/π)·0.044715
)
