import Tensors

/// Loss functions with PyTorch's semantics (`torch.nn.functional`).
public enum Loss {
    /// Mean squared error (`F.mse_loss`).
    public static func mse(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
        precondition(input.shape == target.shape, "mse: input \(input.shape) and target \(target.shape) differ")
        return reduce((input - target).square(), reduction)
    }

    /// Cross entropy between logits (`[N, C]`, or classes on dim 1) and integer class targets, with
    /// `ignoreIndex` and `labelSmoothing` (`F.cross_entropy`).
    public static func crossEntropy(_ logits: Tensor, _ targets: Tensor, ignoreIndex: Int = -100,
                                    labelSmoothing: Float = 0, reduction: Reduction = .mean) -> Tensor {
        Tensor.crossEntropy(logits, targets, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
                            reduction: reduction)
    }

    /// Binary cross entropy on logits with float 0/1 (or soft) targets, computed stably as
    /// `max(x, 0) − x·y + log(1 + e^{−|x|})` (`F.binary_cross_entropy_with_logits`); `positiveWeight`
    /// scales the positive term (`pos_weight`).
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor,
                                                    positiveWeight: Tensor? = nil,
                                                    reduction: Reduction = .mean) -> Tensor {
        precondition(logits.shape == targets.shape, "binary_cross_entropy_with_logits: logits \(logits.shape) and targets \(targets.shape) differ")
        // log σ(x) = −softplus(−x);  log(1 − σ(x)) = −softplus(x).
        let softplusNeg = (-logits).relu() + (1 + (-logits.abs()).exp()).log()
        let softplusPos = softplusNeg + logits
        let positive = positiveWeight.map { targets * $0 } ?? targets
        return reduce(positive * softplusNeg + (1 - targets) * softplusPos, reduction)
    }

    private static func reduce(_ x: Tensor, _ reduction: Reduction) -> Tensor {
        switch reduction {
        case .none: x
        case .sum: x.sum()
        case .mean: x.mean()
        }
    }
}
