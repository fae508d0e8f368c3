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
        let epsilon = Float(eps)
        for r in 0..<rows {
            let row = src + r * m, y = dst + r * m
            let mean = ReduceKernels.sum(row, m) / Float(m)
            var variance: Float = 0
            for i in 0..<m { let d = row[i] - mean; variance += d * d }
            variance /= Float(m)
            let rstd = 1 / (variance + epsilon).squareRoot()
            switch (wp, bp) {
            case let (w?, b?): for i in 0..<m { y[i] = (row[i] - mean) * rstd * w[i] + b[i] }
            case let (w?, nil): for i in 0..<m { y[i] = (row[i] - mean) * rstd * w[i] }
            case let (nil, b?): for i in 0..<m { y[i] = (row[i] - mean) * rstd + b[i] }
            case (nil, nil): for i in 0..<m { y[i] = (row[i] - mean) * rstd }
            }
        }
        return out
    }
}
