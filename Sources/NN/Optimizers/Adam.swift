import Foundation
import Tensors

/// Adam (`torch.optim.Adam`, L2 weight decay added to the gradient) and, with `decoupled`, AdamW
/// (`torch.optim.AdamW`, weight decay applied to the parameter). Bias-corrected first and second
/// moments are kept per parameter in slots `exp_avg` and `exp_avg_sq`.
public class Adam: Optimizer {
    /// Decay rates of the first and second moment estimates.
    public var betas: (Float, Float)
    /// Added to the denominator for stability.
    public var eps: Float
    /// Weight decay: L2 for Adam, decoupled for AdamW.
    public var weightDecay: Float
    /// Whether weight decay is decoupled from the gradient (AdamW).
    public let decoupled: Bool

    /// An Adam optimizer with PyTorch's defaults.
    public init(parameters: [(String, Tensor)], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                eps: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false) {
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        super.init(parameters: parameters, learningRate: learningRate)
    }

    /// `torch.optim.Adam(W)`'s update with bias-corrected moments (slots `exp_avg`, `exp_avg_sq`).
    public override func update(_ parameter: Tensor, gradient: Tensor, state: inout [String: Tensor]) {
        var g = gradient
        if weightDecay != 0 {
            if decoupled { parameter.scaleInPlace(1 - learningRate * weightDecay) } else { g = g + parameter * weightDecay }
        }
        let (beta1, beta2) = betas
        let m = (state["exp_avg"] ?? Tensor.zeros(like: parameter)) * beta1 + g * (1 - beta1)
        let v = (state["exp_avg_sq"] ?? Tensor.zeros(like: parameter)) * beta2 + g * g * (1 - beta2)
        state["exp_avg"] = m
        state["exp_avg_sq"] = v
        let step = Double(stepCount)
        let correction1 = 1 - pow(Double(beta1), step)
        let correction2 = 1 - pow(Double(beta2), step)
        let denominator = v.sqrt() / Float(correction2.squareRoot()) + eps
        parameter.addInPlace(m / denominator, alpha: -Float(Double(learningRate) / correction1))
    }
}

/// AdamW: Adam with decoupled weight decay (`torch.optim.AdamW`, default decay 0.01).
///
/// ```swift
/// let adamw = AdamW(parameters: model.namedParameters(), learningRate: 5e-5, weightDecay: 0.01)
/// ```
public final class AdamW: Adam {
    /// An AdamW optimizer with PyTorch's defaults.
    public init(parameters: [(String, Tensor)], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        super.init(parameters: parameters, learningRate: learningRate, betas: betas, eps: eps,
                   weightDecay: weightDecay, decoupled: true)
    }
}
