import Tensors

/// A batch of examples: model inputs, targets and any extra named tensors (attention masks, …).
public struct Batch {
    /// The model inputs, batch-first.
    public var inputs: Tensor
    /// The targets, batch-first.
    public var targets: Tensor
    /// Further tensors a model may need, by name.
    public var extras: [String: Tensor]

    /// A batch of `inputs` and `targets`.
    public init(inputs: Tensor, targets: Tensor, extras: [String: Tensor] = [:]) {
        self.inputs = inputs
        self.targets = targets
        self.extras = extras
    }

    /// Number of examples.
    public var count: Int { inputs.size(0) }
}

/// A finite, indexable set of examples that can be gathered into batches (`torch.utils.data.Dataset`
/// with a collate function).
public protocol Dataset {
    /// Number of examples.
    var count: Int { get }
    /// The examples at `indices`, collated into one batch.
    func batch(_ indices: [Int]) -> Batch
}

/// A dataset over tensors whose dim 0 indexes examples (`TensorDataset`).
public struct TensorDataset: Dataset {
    /// All inputs, `[count, …]`.
    public let inputs: Tensor
    /// All targets, `[count, …]`.
    public let targets: Tensor

    /// A dataset pairing `inputs[i]` with `targets[i]`.
    public init(inputs: Tensor, targets: Tensor) {
        precondition(inputs.size(0) == targets.size(0), "TensorDataset: \(inputs.size(0)) inputs for \(targets.size(0)) targets")
        self.inputs = inputs
        self.targets = targets
    }

    public var count: Int { inputs.size(0) }

    /// Rows `indices` of the inputs and targets.
    public func batch(_ indices: [Int]) -> Batch {
        let index = Tensor(indices)
        return Batch(inputs: inputs.indexSelect(dim: 0, index: index), targets: targets.indexSelect(dim: 0, index: index))
    }

    /// The first `fraction` of the examples and the rest, e.g. a training and a held-out split.
    public func split(fraction: Double) -> (TensorDataset, TensorDataset) {
        let n = Int((Double(count) * fraction).rounded())
        return (TensorDataset(inputs: inputs.narrowed(dim: 0, start: 0, length: n), targets: targets.narrowed(dim: 0, start: 0, length: n)),
                TensorDataset(inputs: inputs.narrowed(dim: 0, start: n, length: count - n), targets: targets.narrowed(dim: 0, start: n, length: count - n)))
    }
}
