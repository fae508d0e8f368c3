/// CPU kernels for softmax and log-softmax along one dim.
enum SoftmaxKernels {
    static func softmax(_ x: Tensor, dim: Int, log: Bool) -> Tensor {
        precondition(x.dtype == .float32, "\(log ? "log_softmax" : "softmax"): expects float32, got \(x.dtype)")
        let last = x.rank - 1
        if dim != last {
            var perm = Array(0..<x.rank)
            perm.swapAt(dim, last)
            let moved = softmax(ElementwiseKernels.contiguous(x.permutedView(perm)), dim: last, log: log)
            return ElementwiseKernels.contiguous(moved.permutedView(perm))
        }
        let input = ElementwiseKernels.contiguous(x)
        let out = ElementwiseKernels.empty(x.shape, .float32)
        let m = x.shape.last ?? 1
        let rows = m == 0 ? 0 : x.count / m
        let src = UnsafePointer(input.pointer(as: Float.self))
        let dst = out.pointer(as: Float.self)
        for r in 0..<rows {
            softmaxRow(src + r * m, dst + r * m, m, log: log)
        }
        return out
    }

    /// Softmax of one contiguous row: max, exp(x − max) and sum in one pass, then a scale.
    @inline(__always) static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                             _ m: Int, log: Bool) {
        var maxValue = -Float.infinity
        for i in 0..<m { maxValue = Swift.max(maxValue, x[i]) }
        if maxValue == -.infinity { maxValue = 0 }
        var sum: Float = 0
        for i in 0..<m {
            let e = VectorMath.exp(x[i] - maxValue)
            y[i] = e
            sum += e
        }
        if log {
            let shift = maxValue + libmLog(sum)
            for i in 0..<m { y[i] = x[i] - shift }
        } else {
            let scale = 1 / sum
            for i in 0..<m { y[i] *= scale }
        }
    }
}
