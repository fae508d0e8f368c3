import CKernels

/// CPU kernels for reductions (sum, mean, max, min, argmax, argmin) over any set of dims.
enum ReduceKernels {
    /// The shape after reducing `dims` (kept as size 1 when `keepDim`).
    static func reducedShape(_ shape: [Int], dims: [Int], keepDim: Bool) -> [Int] {
        var out: [Int] = []
        for (i, d) in shape.enumerated() {
            if dims.contains(i) { if keepDim { out.append(1) } } else { out.append(d) }
        }
        return out
    }

    static func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], keepDim: Bool) -> Tensor {
        let outShape = reducedShape(x.shape, dims: dims, keepDim: keepDim)
        let m = dims.reduce(1) { $0 * x.shape[$1] }
        let isArg = op == .argmax || op == .argmin
        precondition(m > 0 || op == .sum || op == .mean,
                     "\(op.rawValue): cannot reduce an empty dim of a tensor of shape \(x.shape)")
        precondition(x.dtype != .bool || op == .sum || isArg, "\(op.rawValue): not defined on bool tensors")
        let input = x.dtype == .float32 ? x : ElementwiseKernels.cast(x, to: .float32)
        // Leading dims of contiguous data (a bias gradient): add whole rows, no transposing copy.
        if (op == .sum || op == .mean), input.isContiguous, !dims.isEmpty, dims == Array(0..<dims.count), dims.count < x.rank {
            let rows = m, width = Shape.count(outShape)
            let out = ElementwiseKernels.filled(outShape, 0, .float32)
            let o = out.pointer(as: Float.self), src = UnsafePointer(input.pointer(as: Float.self))
            for r in 0..<rows {
                let row = src + r * width
                for i in 0..<width { o[i] += row[i] }
            }
            // The mean of no elements is NaN, as PyTorch's is (0 · NaN).
            if op == .mean { let scale = m > 0 ? 1 / Float(m) : .nan; for i in 0..<width { o[i] *= scale } }
            return x.dtype.isInteger && op != .mean ? ElementwiseKernels.cast(out, to: x.dtype) : out
        }
        // Move the reduced dims last so every output element reduces one contiguous row of m elements.
        let kept = (0..<x.rank).filter { !dims.contains($0) }
        let rows = ElementwiseKernels.contiguous(input.permutedView(kept + dims))
        let outCount = Shape.count(outShape)
        let src = UnsafePointer(rows.pointer(as: Float.self))
        if isArg {
            let out = ElementwiseKernels.empty(outShape, .int64)
            let o = out.pointer(as: Int64.self)
            for r in 0..<outCount {
                let row = src + r * m
                var best = row[0], index = 0
                for i in 1..<max(m, 1) where (op == .argmax ? row[i] > best : row[i] < best) || (row[i].isNaN && !best.isNaN) {
                    best = row[i]; index = i
                }
                o[r] = Int64(index)
            }
            return out
        }
        // One row per output element; a row of no elements (an empty reduced dim) sums to 0, and its
        // mean is NaN (0 / 0), as in PyTorch. (Counting rows from the input left those outputs unset.)
        let out = ElementwiseKernels.empty(outShape, .float32)
        let o = out.pointer(as: Float.self)
        for r in 0..<outCount {
            let row = src + r * m
            switch op {
            case .sum: o[r] = sum(row, m)
            case .mean: o[r] = sum(row, m) / Float(m)
            case .max: o[r] = extreme(row, m, greater: true)
            default: o[r] = extreme(row, m, greater: false)
            }
        }
        if x.dtype.isInteger && op != .mean { return ElementwiseKernels.cast(out, to: x.dtype) }
        return out
    }

    /// Sum of `n` floats (vectorized, pairwise-like accumulation in the C kernel).
    @inline(__always) static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float { tc_sum_f32(p, n) }

    /// Max (or min) of `n` floats; NaN if any element is NaN, as PyTorch.
    @inline(__always) static func extreme(_ p: UnsafePointer<Float>, _ n: Int, greater: Bool) -> Float {
        var best = p[0]
        for i in 1..<max(n, 1) {
            let v = p[i]
            if v.isNaN { return v }
            if greater ? v > best : v < best { best = v }
        }
        return best
    }
}
