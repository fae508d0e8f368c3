import Tensors

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay, exactly as `torch.optim.SGD`.
///
/// ```swift
/// let sgd = SGD(parameters: model.namedParameters(), learningRate: 0.1, momentum: 0.9, nesterov: true)
/// loss.backward(); sgd.step(); sgd.zeroGrad()
/// ```
public final class SGD: Optimizer {
    /// Momentum factor (0 = plain SGD).
    public var momentum: Float
    /// Dampening applied to the gradient in the momentum update.
    public var dampening: Float
    /// L2 penalty added to the gradient.
    public var weightDecay: Float
    /// Whether to use Nesterov momentum.
    public var nesterov: Bool

    /// An SGD optimizer; Nesterov needs momentum and no dampening.
    public init(parameters: [(String, Tensor)], learningRate: Float, momentum: Float = 0,
                dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum requires a momentum and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        super.init(parameters: parameters, learningRate: learningRate)
    }

    /// `torch.optim.SGD`'s update: decay, momentum buffer (`momentum_buffer` slot), Nesterov look-ahead.
    public override func update(_ parameter: Tensor, gradient: Tensor, state: inout [String: Tensor]) {
        var g = weightDecay != 0 ? gradient + parameter * weightDecay : gradient
        if momentum != 0 {
            let buffer = state["momentum_buffer"].map { $0 * momentum + g * (1 - dampening) } ?? (g + 0)
            state["momentum_buffer"] = buffer
            g = nesterov ? g + buffer * momentum : buffer
        }
        parameter.addInPlace(g, alpha: -learningRate)
    }
}
