/// Neural-network functions on tensors: softmax, layer norm, dropout, cross entropy.
extension Tensor {
    /// Softmax along `dim` (`torch.softmax`).
    public func softmax(dim: Int = -1) -> Tensor {
        Tensor.apply(.softmax(dim: Shape.normalize(dim, rank: rank, op: "softmax")), [self])
    }

    /// Log-softmax along `dim`, computed stably (`torch.log_softmax`).
    public func logSoftmax(dim: Int = -1) -> Tensor {
        Tensor.apply(.logSoftmax(dim: Shape.normalize(dim, rank: rank, op: "log_softmax")), [self])
    }

    /// Layer normalization over the last `normalizedRank` dims, with optional elementwise affine
    /// `weight` and `bias` of the normalized shape (`F.layer_norm`).
    public func layerNorm(normalizedRank: Int = 1, weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) -> Tensor {
        precondition(normalizedRank >= 1 && normalizedRank <= rank, "layer_norm: normalizedRank \(normalizedRank) does not fit rank \(rank)")
        precondition((weight == nil) == (bias == nil), "layer_norm: give both weight and bias, or neither")
        let normalized = Array(shape.suffix(normalizedRank))
        if let weight, let bias {
            return Tensor.apply(.layerNorm(normalizedRank: normalizedRank, eps: eps, affine: true),
                                [self, weight.reshaped(normalized), bias.reshaped(normalized)])
        }
        return Tensor.apply(.layerNorm(normalizedRank: normalizedRank, eps: eps, affine: false), [self])
    }

    /// Zeroes elements with probability `p` and scales the rest by 1/(1−p) when `training`; the
    /// identity otherwise (`F.dropout`). Uses `generator`, or the default generator.
    public func dropout(p: Float, training: Bool, generator: inout RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
        guard training && p > 0 else { return self }
        let keep = Tensor.bernoulli(shape, p: 1 - p, generator: &generator)
        return self * (keep * (1 / (1 - p)))
    }

    /// Dropout drawing from the default generator.
    public func dropout(p: Float, training: Bool) -> Tensor {
        guard training && p > 0 else { return self }
        var g = DefaultGenerator.with { RandomGenerator(seed: $0.next()) }
        return dropout(p: p, training: training, generator: &g)
    }

    /// Cross entropy between `logits` (`[N, C]`, or `[N, C, d…]` with classes on dim 1) and integer
    /// class `targets`; targets equal to `ignoreIndex` count for nothing (`F.cross_entropy`).
    /// `labelSmoothing` mixes the one-hot target with the uniform distribution.
    public static func crossEntropy(_ logits: Tensor, _ targets: Tensor, ignoreIndex: Int = -100,
                                    labelSmoothing: Float = 0, reduction: Reduction = .mean) -> Tensor {
        precondition(targets.dtype.isInteger, "cross_entropy: targets must be int32 or int64, got \(targets.dtype)")
        // Classes last: [M, C] with M = every position.
        let scores = logits.rank > 2 ? logits.transposed(1, -1).reshaped([-1, logits.size(1)]) : logits
        let flatTargets = targets.reshaped([-1])
        precondition(flatTargets.count == scores.size(0),
                     "cross_entropy: \(flatTargets.count) targets for \(scores.size(0)) rows of logits \(logits.shape)")
        let valid = flatTargets .!= Float(ignoreIndex)
        let safeTargets = Tensor.where(valid, flatTargets, Tensor.zeros([], dtype: flatTargets.dtype))
        let logp = scores.logSoftmax(dim: -1)
        var perRow = -logp.gather(dim: 1, index: safeTargets.unsqueezed(at: 1)).squeezed(at: 1)
        if labelSmoothing > 0 {
            let uniform = -logp.mean(dim: -1)
            perRow = perRow * (1 - labelSmoothing) + uniform * labelSmoothing
        }
        let weights = valid.cast(to: .float32)
        let masked = perRow * weights
        switch reduction {
        case .none: return masked.reshaped(targets.shape)
        case .sum: return masked.sum()
        case .mean: return masked.sum() / weights.sum()
        }
    }
}

/// How a loss combines per-element values.
public enum Reduction: String, Sendable, CaseIterable {
    case none, sum, mean
}
