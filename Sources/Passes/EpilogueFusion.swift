import Graph
import Tensors

/// GEMM epilogue fusion: `matmul(x, w)` with a 2-D `w` becomes `fused_linear`, which then absorbs, in
/// this order, a bias add (`+ b` with `b: [n]`), an activation (ReLU, GELU, GELU-tanh, tanh) and a
/// residual add (`+ r` with `r` shaped like the result); each absorbed op must be the linear's only
/// reader. A bias that follows a residual is absorbed too when there is no activation (the sum only
/// reassociates).
public enum EpilogueFusion {
    /// The rules.
    public static var rules: [RewriteRule] { [gemm, bias, activation, residual] }

    static let gemm = RewriteRule("linear") { rw, node in
        guard case .matmul? = rw.primitive(node.id), rw.type(node.inputs[1]).shape.count == 2 else { return nil }
        return try rw.add(.fused(.linear(activation: .none, bias: false, residual: false)), node.inputs)
    }

    /// `(linear operands, activation, bias, residual)` of `id` when it is a fused linear read only here
    /// (and not calibrated: a calibrated graph is not fused further).
    static func linear(_ rw: Rewriter, _ id: ValueID) -> ([ValueID], FusedOp.Activation, Bool, Bool)? {
        guard case .linear(let act, let bias, let residual, nil)? = rw.fused(id), rw.hasOneUse(id) else { return nil }
        return (rw.node(id).inputs, act, bias, residual)
    }

    static let bias = RewriteRule("linear + bias") { rw, node in
        guard let (a, b) = rw.binary(node.id, .add) else { return nil }
        for (l, v) in [(a, b), (b, a)] {
            guard let (ins, act, hasBias, residual) = linear(rw, l), !hasBias, act == .none, rw.type(v).shape == [rw.type(l).shape.last!] else { continue }
            let operands = residual ? [ins[0], ins[1], v, ins[2]] : ins + [v]
            return try rw.add(.fused(.linear(activation: .none, bias: true, residual: residual)), operands)
        }
        return nil
    }

    static let activation = RewriteRule("linear + activation") { rw, node in
        guard case .unary(let u)? = rw.primitive(node.id), let act = FusedOp.Activation(u),
              let (ins, current, bias, residual) = linear(rw, node.inputs[0]), current == .none, !residual else { return nil }
        return try rw.add(.fused(.linear(activation: act, bias: bias, residual: false)), ins)
    }

    static let residual = RewriteRule("linear + residual") { rw, node in
        guard let (a, b) = rw.binary(node.id, .add) else { return nil }
        for (l, r) in [(a, b), (b, a)] {
            guard let (ins, act, bias, hasResidual) = linear(rw, l), !hasResidual, rw.type(r) == node.type, rw.type(l) == node.type else { continue }
            return try rw.add(.fused(.linear(activation: act, bias: bias, residual: true)), ins + [r])
        }
        return nil
    }
}

