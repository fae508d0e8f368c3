import CKernels

/// The float32 approximations of exp, tanh, erf and friends that every kernel uses. They are defined
/// once, in C (`Sources/CKernels/include/CKernels.h`), so the contiguous loops there (vectorized for
/// AVX-512/AVX2 with runtime dispatch) and Swift's strided loops compute bit-identical results.
/// Accuracy is tested against libm over their whole input range.
enum VectorMath {
    /// e^x with ≈ 1 ulp error; 0 below -87.34, +inf above 88.72, NaN preserved.
    @inline(__always) static func exp(_ x: Float) -> Float { tc_exp(x) }
    /// tanh(x), ≈ 1e-6 relative error.
    @inline(__always) static func tanh(_ x: Float) -> Float { tc_tanh(x) }
    /// erf(x), a few ulp from libm.
    @inline(__always) static func erf(_ x: Float) -> Float { tc_erf(x) }
    /// GELU, exact form: x · ½(1 + erf(x/√2)).
    @inline(__always) static func gelu(_ x: Float) -> Float { tc_gelu(x) }
    /// GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    @inline(__always) static func geluTanh(_ x: Float) -> Float { tc_gelu_tanh(x) }
    /// The logistic function 1/(1 + e^{-x}).
    @inline(__always) static func sigmoid(_ x: Float) -> Float { tc_sigmoid(x) }
}
