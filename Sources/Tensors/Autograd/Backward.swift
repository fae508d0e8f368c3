/// Reverse-mode differentiation: `backward()` walks the recorded graph from a result to its leaves.
extension Tensor {
    /// Computes the gradient of this tensor with respect to every leaf that requires gradients and
    /// adds it to the leaf's `grad` (`torch.Tensor.backward`). A non-scalar result needs `gradient`,
    /// the seed of the same shape.
    public func backward(_ gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward: this tensor does not require gradients (no input had requiresGrad)")
        let seed: Tensor
        if let gradient {
            precondition(gradient.shape == shape, "backward: gradient shape \(gradient.shape) differs from tensor shape \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward: a gradient seed is needed for a non-scalar tensor of shape \(shape)")
            seed = Tensor.ones(shape)
        }
        withNoGrad {
            // Order tensors so that each comes before the inputs it was computed from.
            var order: [Tensor] = []
            var visited = Set<ObjectIdentifier>()
            var stack: [(Tensor, Bool)] = [(self, false)]
            while let (t, expanded) = stack.popLast() {
                if expanded { order.append(t); continue }
                guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
                stack.append((t, true))
                for input in t.gradNode?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.gradNode else {
                    t.grad = t.grad.map { $0 + g } ?? ElementwiseKernels.contiguous(g, force: true)
                    continue
                }
                let inputGrads = BackwardRules.gradients(node, g)
                for (input, ig) in zip(node.inputs, inputGrads) where input.requiresGrad {
                    guard let ig else { continue }
                    precondition(ig.shape == input.shape, "backward: \(node.op.name) produced a gradient of shape \(ig.shape) for an input of shape \(input.shape)")
                    let key = ObjectIdentifier(input)
                    grads[key] = grads[key].map { $0 + ig } ?? ig
                }
            }
        }
    }
}
