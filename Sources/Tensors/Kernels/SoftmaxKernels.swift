import CKernels

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
        ParallelRanges.forEachRow(rows, length: m) { r in
            tc_softmax_rows_f32(src + r.lowerBound * m, dst + r.lowerBound * m, r.count, m, log ? 1 : 0)
        }
        return out
    }
}
