/// How a non-leaf tensor was computed: the op, its inputs and its output values, which is all a
/// backward rule needs.
final class GradNode {
    let op: TensorOp
    let inputs: [Tensor]
    /// The output's values without its node (no reference cycle).
    let output: Tensor

    init(op: TensorOp, inputs: [Tensor], output: Tensor) {
        self.op = op
        self.inputs = inputs
        self.output = output
    }
}

extension TensorOp {
    /// Whether gradients flow through this op at all.
    var isDifferentiable: Bool {
        switch self {
        case .unary(let u): u != .logicalNot
        case .binary(let b), .binaryScalar(let b, _, _): !b.isComparison && !b.isLogical
        case .reduce(let r, _, _): r != .argmax && r != .argmin
        case .cast(let d): d == .float32
        case .fill, .arange: false
        default: true
        }
    }
}

extension Tensor {
    /// Runs a primitive op eagerly, records it for autograd when needed, and shows it to the active
    /// observer. Every public op ends here.
    public static func apply(_ op: TensorOp, _ inputs: [Tensor]) -> Tensor {
        let observer = OpObservation.current
        let output = observer?.willApply(op, inputs: inputs) ?? Executor.execute(op, inputs)
        if GradMode.enabled, op.isDifferentiable, output.dtype == .float32,
           inputs.contains(where: { $0.requiresGrad }) {
            output.gradNode = GradNode(op: op, inputs: inputs, output: output.detached())
            output.requiresGrad = true
        }
        observer?.didApply(op, inputs: inputs, output: output)
        return output
    }
}
