import Tensors

/// `y = x·Wᵀ + b` over the last dim (`nn.Linear`); weight `[out, in]`, bias `[out]`, initialized as
/// PyTorch does (Kaiming-uniform weight, uniform(±1/√in) bias).
///
/// ```swift
/// let layer = Linear(768, 3072)
/// let y = layer(x)            // [..., 768] -> [..., 3072]
/// ```
public final class Linear: Module, UnaryLayer {
    /// The weight, `[outFeatures, inFeatures]`.
    public var weight: Tensor
    /// The bias, `[outFeatures]`, or nil.
    public var bias: Tensor?

    /// A layer from `inFeatures` to `outFeatures`, with a bias unless `bias` is false.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Init.kaimingUniform([outFeatures, inFeatures]).requiringGrad()
        self.bias = bias ? Init.uniform([outFeatures], bound: 1 / Float(inFeatures).squareRoot()).requiringGrad() : nil
    }

    /// Applies the layer to `[..., inFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x.matmul(weight.transposed())
        return bias.map { y + $0 } ?? y
    }
}
