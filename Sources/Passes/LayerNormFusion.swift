import Graph
import Tensors

/// LayerNorm fusion: a primitive affine `layer_norm` over the last dim, and the decomposed form
/// `((x − mean(x)) · rsqrt(mean((x − mean(x))²) + eps)) · w + b` (any spelling canonicalization
/// reaches: `/ sqrt`, `pow(2)`, `sum/n`, weight on either side; ones and zeros stand in for a missing
/// weight or bias) become `fused_layer_norm`; then a fused layer norm of `a + b` (the add read only
/// there, both operands shaped like the result) takes the add as its residual.
public enum LayerNormFusion {
    /// The rules.
    public static var rules: [RewriteRule] { [primitive, decomposed, residual] }

    static let primitive = RewriteRule("layer_norm") { rw, node in
        guard case .layerNorm(1, let eps, true)? = rw.primitive(node.id) else { return nil }
        return try rw.add(.fused(.layerNorm(eps: eps, residual: false)), node.inputs)
    }

    static let residual = RewriteRule("residual + layer_norm") { rw, node in
        guard case .layerNorm(let eps, false)? = rw.fused(node.id), let (a, b) = rw.binary(node.inputs[0], .add),
              rw.hasOneUse(node.inputs[0]), rw.type(a) == node.type, rw.type(b) == node.type else { return nil }
        return try rw.add(.fused(.layerNorm(eps: eps, residual: true)), [a, b, node.inputs[1], node.inputs[2]])
    }

    static let decomposed = RewriteRule("layer_norm decomposed") { rw, node in
        guard let width = node.type.shape.last, let count = width.constant else { return nil }
        func vector(_ v: ValueID) -> Bool { rw.type(v).shape == [width] && rw.type(v).dtype == .float32 }
        /// Whether `v` has a reader that multiplies (or adds) it by a vector over the last dim.
        func readByAffine(_ v: ValueID, _ op: BinaryOp) -> Bool {
            rw.users(v).contains { u in rw.binary(u.id, op).map { vector($0.0 == v ? $0.1 : $0.0) } ?? false }
        }
        var n = node.id, weight: ValueID? = nil, bias: ValueID? = nil
        if let (a, b) = rw.binary(n, .add), vector(b), rw.hasOneUse(a) { bias = b; n = a }
        if let (a, b) = rw.binary(n, .mul), n == node.id || rw.hasOneUse(n) {
            if vector(b), normalized(rw, a) != nil, rw.hasOneUse(a) { weight = b; n = a }
            else if vector(a), normalized(rw, b) != nil, rw.hasOneUse(b) { weight = a; n = b }
        }
        guard let (x, eps) = normalized(rw, n) else { return nil }
        // A later reader that applies the weight or bias is the better root.
        if bias == nil && readByAffine(node.id, .add) { return nil }
        if weight == nil && bias == nil && readByAffine(node.id, .mul) { return nil }
        let w = weight ?? rw.addConstant("layer_norm.ones", Tensor.ones([count]))
        let b = bias ?? rw.addConstant("layer_norm.zeros", Tensor.zeros([count]))
        return try rw.add(.fused(.layerNorm(eps: eps, residual: false)), [x, w, b])
    }

    /// `(x, eps)` when `id` is `c · rsqrt(mean(c·c) + eps)` with `c = x − mean(x)` over the last dim.
    static func normalized(_ rw: Rewriter, _ id: ValueID) -> (ValueID, Double)? {
        guard let (a, b) = rw.binary(id, .mul) else { return nil }
        for (c, r) in [(a, b), (b, a)] {
            guard let (x, m) = rw.binary(c, .sub), rw.meanOverLastDim(m) == x, let y = rw.unary(r, .rsqrt),
                  let (op, eps, _, variance) = rw.binaryScalar(y), op == .add,
                  let sq = rw.meanOverLastDim(variance), let (c1, c2) = rw.binary(sq, .mul), c1 == c, c2 == c else { continue }
            return (x, eps)
        }
        return nil
    }
}
