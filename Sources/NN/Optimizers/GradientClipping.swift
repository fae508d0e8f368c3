import Tensors

/// Scales the gradients of `parameters` so that their global L2 norm is at most `maxNorm`, and returns
/// the norm before clipping (`torch.nn.utils.clip_grad_norm_`, including its `1e-6` in the divisor).
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let withGrad = parameters.filter { $0.grad != nil }
    guard !withGrad.isEmpty else { return 0 }
    return withNoGrad {
        let norms = withGrad.map { $0.grad!.square().sum().sqrt() }
        let total = Tensor.stack(norms).square().sum().sqrt().item()
        let coefficient = Swift.min(maxNorm / (total + 1e-6), 1)
        for p in withGrad { p.setGrad(p.grad! * coefficient) }
        return total
    }
}
