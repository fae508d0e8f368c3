import Testing
@testable import Tensors

/// The vectorized approximations against libm over their whole input range.
@Suite struct VectorMathTests {
    @Test func expMatchesLibm() {
        var worst: Float = 0
        for x in stride(from: Float(-87.3), through: 88.7, by: 0.000_37) {
            let e = libmExp(x)
            worst = Swift.max(worst, Swift.abs(VectorMath.exp(x) - e) / e)
        }
        #expect(worst < 3e-7, "relative error \(worst)")
        #expect(VectorMath.exp(-100) == 0 && VectorMath.exp(100) == .infinity && VectorMath.exp(.nan).isNaN)
        #expect(VectorMath.exp(-.infinity) == 0 && VectorMath.exp(0) == 1)
    }

    @Test func tanhMatchesLibm() {
        var worst: Float = 0
        for x in stride(from: Float(-12), through: 12, by: 0.000_13) {
            let t = libmTanh(x)
            worst = Swift.max(worst, Swift.abs(VectorMath.tanh(x) - t) / Swift.max(Swift.abs(t), 1e-30))
        }
        #expect(worst < 1e-6, "relative error \(worst)")
        #expect(VectorMath.tanh(1e-20) == 1e-20 && VectorMath.tanh(.infinity) == 1 && VectorMath.tanh(-.infinity) == -1)
    }

    @Test func erfMatchesLibm() {
        var worst: Float = 0
        for x in stride(from: Float(-6), through: 6, by: 0.000_11) {
            worst = Swift.max(worst, Swift.abs(VectorMath.erf(x) - libmErf(x)))
        }
        #expect(worst < 5e-7, "absolute error \(worst)")
        #expect(VectorMath.erf(.infinity) == 1 && VectorMath.erf(-.infinity) == -1 && VectorMath.erf(.nan).isNaN)
    }
}
