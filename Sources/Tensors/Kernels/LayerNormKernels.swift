import CKernels

/// CPU kernel for layer normalization over the trailing dims.
enum LayerNormKernels {
    /// `(x − mean) / sqrt(var + eps) · weight + bias` over the last `normalizedRank` dims.
    static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, normalizedRank: Int, eps: Double) -> Tensor {
        precondition(x.dtype == .float32, "layer_norm: expects float32, got \(x.dtype)")
        let normalizedShape = Array(x.shape.suffix(normalizedRank))
        for p in [weight, bias].compactMap({ $0 }) {
            precondition(p.shape == normalizedShape, "layer_norm: parameter shape \(p.shape) does not match normalized shape \(normalizedShape)")
        }
        let m = Shape.count(normalizedShape)
        let input = ElementwiseKernels.contiguous(x)
        let w = weight.map { ElementwiseKernels.contiguous($0) }
        let b = bias.map { ElementwiseKernels.contiguous($0) }
        let out = ElementwiseKernels.empty(x.shape, .float32)
        let rows = m == 0 ? 0 : x.count / m
        let src = UnsafePointer(input.pointer(as: Float.self))
        let dst = out.pointer(as: Float.self)
        let wp = w.map { UnsafePointer($0.pointer(as: Float.self)) }
        let bp = b.map { UnsafePointer($0.pointer(as: Float.self)) }
        ParallelRanges.forEachRow(rows, length: m) { r in
            tc_layer_norm_rows_f32(src + r.lowerBound * m, wp, bp, dst + r.lowerBound * m, r.count, m, Float(eps))
        }
        return out
    }
}
