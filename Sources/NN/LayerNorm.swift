import Tensors

/// Layer normalization over the last dim with learned scale and shift (`nn.LayerNorm`); weight ones,
/// bias zeros. BERT uses `eps: 1e-12`.
public final class LayerNorm: Module, UnaryLayer {
    /// The scale, `[dimensions]`.
    public var weight: Tensor
    /// The shift, `[dimensions]`.
    public var bias: Tensor
    /// Added to the variance for stability.
    public let eps: Double

    /// A layer norm over a last dim of `dimensions`.
    public init(_ dimensions: Int, eps: Double = 1e-5) {
        weight = Tensor.ones([dimensions]).requiringGrad()
        bias = Tensor.zeros([dimensions]).requiringGrad()
        self.eps = eps
    }

    /// Normalizes `[..., dimensions]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}
