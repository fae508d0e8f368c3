/// Reductions over dims: sum, mean, max, min, argmax, argmin, variance.
extension Tensor {
    private func reduced(_ op: ReduceOp, _ dims: [Int]?, _ keepDim: Bool) -> Tensor {
        let normalized = Set((dims ?? Array(0..<rank)).map { Shape.normalize($0, rank: rank, op: op.rawValue) }).sorted()
        return Tensor.apply(.reduce(op, dims: normalized, keepDim: keepDim), [self])
    }

    /// Sum over `dims` (all dims when nil).
    public func sum(dims: [Int]? = nil, keepDim: Bool = false) -> Tensor { reduced(.sum, dims, keepDim) }
    /// Sum over one dim.
    public func sum(dim: Int, keepDim: Bool = false) -> Tensor { reduced(.sum, [dim], keepDim) }
    /// Mean over `dims` (all dims when nil).
    public func mean(dims: [Int]? = nil, keepDim: Bool = false) -> Tensor { reduced(.mean, dims, keepDim) }
    /// Mean over one dim.
    public func mean(dim: Int, keepDim: Bool = false) -> Tensor { reduced(.mean, [dim], keepDim) }
    /// Maximum over `dims` (all dims when nil) (`torch.amax`).
    public func max(dims: [Int]? = nil, keepDim: Bool = false) -> Tensor { reduced(.max, dims, keepDim) }
    /// Maximum over one dim.
    public func max(dim: Int, keepDim: Bool = false) -> Tensor { reduced(.max, [dim], keepDim) }
    /// Minimum over `dims` (all dims when nil) (`torch.amin`).
    public func min(dims: [Int]? = nil, keepDim: Bool = false) -> Tensor { reduced(.min, dims, keepDim) }
    /// Minimum over one dim.
    public func min(dim: Int, keepDim: Bool = false) -> Tensor { reduced(.min, [dim], keepDim) }
    /// Index of the first maximum along `dim` (int64); over the flattened tensor when nil.
    public func argmax(dim: Int? = nil, keepDim: Bool = false) -> Tensor {
        guard let dim else { return reshaped([-1]).argmax(dim: 0) }
        return reduced(.argmax, [dim], keepDim)
    }
    /// Index of the first minimum along `dim` (int64); over the flattened tensor when nil.
    public func argmin(dim: Int? = nil, keepDim: Bool = false) -> Tensor {
        guard let dim else { return reshaped([-1]).argmin(dim: 0) }
        return reduced(.argmin, [dim], keepDim)
    }

    /// Variance over `dims` with Bessel's `correction` (1 = unbiased, as `torch.var`; 0 = population).
    public func variance(dims: [Int]? = nil, correction: Int = 1, keepDim: Bool = false) -> Tensor {
        let all = dims ?? Array(0..<rank)
        let n = all.reduce(1) { $0 * size($1) }
        let centered = self - mean(dims: all, keepDim: true)
        return centered.square().sum(dims: all, keepDim: keepDim) / Float(Swift.max(n - correction, 0))
    }
}
