import NN
import Tensors

/// Hugging Face's `_init_weights` for freshly built models, skipped while `fromPretrained` builds a
/// model whose every tensor the checkpoint is about to overwrite.
enum WeightInitialization {
    @TaskLocal static var skip = false

    /// Applies `Init.huggingFace` to `module` unless a checkpoint load is under way.
    static func apply(_ module: Module, range: Float) {
        if !skip { Init.huggingFace(module, initializerRange: range) }
    }
}

/// A `Linear` layer; while a checkpoint load is under way its tensors start as zeros instead of
/// random draws (loading GPT-2 small would otherwise draw 124M numbers only to overwrite them).
func linear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) -> Linear {
    guard WeightInitialization.skip else { return Linear(inFeatures, outFeatures, bias: bias) }
    let layer = Linear(1, 1, bias: bias)
    layer.weight = Tensor.placeholder([outFeatures, inFeatures]).requiringGrad()
    layer.bias = bias ? Tensor.placeholder([outFeatures]).requiringGrad() : nil
    return layer
}

/// An `Embedding`; zeros instead of random draws while a checkpoint load is under way.
func embedding(_ count: Int, _ dimensions: Int, paddingIndex: Int? = nil) -> Embedding {
    guard WeightInitialization.skip else { return Embedding(count, dimensions, paddingIndex: paddingIndex) }
    let layer = Embedding((paddingIndex ?? 0) + 1, 1, paddingIndex: paddingIndex)
    layer.weight = Tensor.placeholder([count, dimensions]).requiringGrad()
    return layer
}
