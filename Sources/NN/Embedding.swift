import Tensors

/// A lookup table from integer ids to vectors (`nn.Embedding`), initialized normal(0, 1). With a
/// `paddingIndex`, that row starts at zero, is returned as is, and gets no gradient.
///
/// ```swift
/// let embed = Embedding(30522, 768, paddingIndex: 0)
/// let h = embed(inputIds)     // [batch, seq] -> [batch, seq, 768]
/// ```
public final class Embedding: Module {
    /// The table, `[count, dimensions]`.
    public var weight: Tensor
    /// The id whose row receives no gradient, if any.
    public let paddingIndex: Int?

    /// A table of `count` vectors of `dimensions`.
    public init(_ count: Int, _ dimensions: Int, paddingIndex: Int? = nil) {
        if let paddingIndex { precondition(paddingIndex >= 0 && paddingIndex < count, "Embedding: paddingIndex \(paddingIndex) out of range") }
        weight = Init.normal([count, dimensions]).requiringGrad()
        self.paddingIndex = paddingIndex
        super.init()
        withNoGrad { zeroPaddingRow() }
    }

    /// Sets the padding row to zero (PyTorch does so at construction and in HF's init).
    func zeroPaddingRow() {
        guard let paddingIndex else { return }
        let isPadding = (Tensor.arange(0, weight.size(0)) .== Float(paddingIndex)).unsqueezed(at: 1)
        weight.assign(Tensor.where(isPadding, Tensor.zeros([]), weight.detached()))
    }

    /// The vectors of `ids` (any integer shape): result shape `ids.shape + [dimensions]`.
    public func callAsFunction(_ ids: Tensor) -> Tensor {
        let rows = weight.indexSelect(dim: 0, index: ids)
        // Only the gradient differs at the padding row; without a gradient it is a plain lookup.
        guard let paddingIndex, GradMode.isEnabled, weight.requiresGrad else { return rows }
        // The padding row comes from a detached copy: same values, no gradient (`padding_idx`).
        let padRow = weight.detached().indexSelect(dim: 0, index: Tensor([paddingIndex], shape: []))
        return Tensor.where((ids .== Float(paddingIndex)).unsqueezed(at: -1), padRow, rows)
    }
}
