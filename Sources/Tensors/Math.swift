#if canImport(Glibc)
import Glibc
#endif

// Scalar libm entry points under names that do not clash with the tensor functions of the same name.
@inline(__always) func Foundation_log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func Foundation_cos(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) func libmExp(_ x: Float) -> Float { Glibc.expf(x) }
@inline(__always) func libmLog(_ x: Float) -> Float { Glibc.logf(x) }
@inline(__always) func libmErf(_ x: Float) -> Float { Glibc.erff(x) }
@inline(__always) func libmTanh(_ x: Float) -> Float { Glibc.tanhf(x) }
@inline(__always) func libmPow(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
@inline(__always) func libmSin(_ x: Float) -> Float { Glibc.sinf(x) }
@inline(__always) func libmCos(_ x: Float) -> Float { Glibc.cosf(x) }
