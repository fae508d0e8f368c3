import Tensors

/// Zeroes elements with probability `p` and scales the rest by 1/(1−p) in training mode; the identity in
/// eval mode (`nn.Dropout`). Masks come from `NNRandom` (see `withRandomGenerator`).
public final class Dropout: Module, UnaryLayer {
    /// The drop probability.
    public let p: Float

    /// Dropout with probability `p` in `[0, 1)`.
    public init(_ p: Float = 0.1) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p
    }

    /// Applies dropout when training.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard training && p > 0 else { return x }
        return NNRandom.draw { x.dropout(p: p, training: true, generator: &$0) }
    }
}
