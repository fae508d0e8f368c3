/// Branch-free float32 approximations of exp, tanh and erf that the compiler vectorizes inside loops
/// (libm's scalar calls do not). Accuracy is tested against libm over their whole input range.
enum VectorMath {
    /// e^x with ≈ 1 ulp error; 0 below -87.34, +inf above 88.72, NaN preserved (Cephes expf).
    @inline(__always) static func exp(_ x: Float) -> Float {
        let xc = x.isNaN ? 0 : Swift.min(Swift.max(x, -87.33654), 88.72283)
        let n = (xc * 1.442_695_04).rounded(.toNearestOrEven)
        let r = (xc - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * (r * r) + r + 1
        let ni = Int32(n)
        let nClamped = Swift.min(ni, 127)
        let scale = Float(bitPattern: UInt32(bitPattern: (nClamped &+ 127) &<< 23))
        var result = y * scale * (ni > 127 ? 2 : 1)
        result = x < -87.33654 ? 0 : result
        result = x > 88.72283 ? .infinity : result
        return x.isNaN ? x : result
    }

    /// tanh(x): an odd polynomial near 0, 1 − 2/(e^{2|x|}+1) elsewhere (Cephes tanhf).
    @inline(__always) static func tanh(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let z = x * x
        var p: Float = -5.704_988_727_45e-3
        p = p * z + 2.063_908_879_54e-2
        p = p * z - 5.373_971_555_31e-2
        p = p * z + 1.333_144_220_36e-1
        p = p * z - 3.333_328_194_22e-1
        let small = p * z * x + x
        let e = exp(2 * Swift.min(a, 10))
        let large = 1 - 2 / (e + 1)
        let signedLarge = x < 0 ? -large : large
        return a < 0.625 ? small : signedLarge
    }

    /// erf(x) as a rational function on [-4, 4] (±1 outside), a few ulp from libm.
    @inline(__always) static func erf(_ value: Float) -> Float {
        let x = Swift.min(Swift.max(value, -4), 4)
        let x2 = x * x
        var p: Float = -2.726_142_258_013_06e-10
        p = p * x2 + 2.770_681_424_959_02e-08
        p = p * x2 - 2.101_024_020_825_08e-06
        p = p * x2 - 5.692_506_394_623_46e-05
        p = p * x2 - 7.349_906_303_268_55e-04
        p = p * x2 - 2.954_599_808_540_25e-03
        p = p * x2 - 1.609_603_332_624_15e-02
        p = p * x
        var q: Float = -1.456_607_184_649_96e-05
        q = q * x2 - 2.133_740_552_789_05e-04
        q = q * x2 - 1.682_826_974_382_03e-03
        q = q * x2 - 7.373_329_167_204_68e-03
        q = q * x2 - 1.426_473_905_141_89e-02
        return value.isNaN ? value : p / q
    }

    /// GELU, exact form: x · ½(1 + erf(x/√2)).
    @inline(__always) static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_5))
    }

    /// GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    @inline(__always) static func geluTanh(_ x: Float) -> Float {
        0.5 * x * (1 + tanh(0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)))
    }

    /// The logistic function 1/(1 + e^{-x}).
    @inline(__always) static func sigmoid(_ x: Float) -> Float {
        1 / (1 + exp(-x))
    }
}
