import Graph
import Tensors

/// Small matchers the rule files share: each reads one node and returns its parts, or nil.
extension Rewriter {
    /// `(x, perm)` when `id` is `permute(x)`.
    func permute(_ id: ValueID) -> (ValueID, [Int])? {
        guard case .permute(let p)? = primitive(id) else { return nil }
        return (node(id).inputs[0], p)
    }

    /// `(x, shape)` when `id` is `reshape(x)`, with the symbolic target shape.
    func reshape(_ id: ValueID) -> (ValueID, [SymbolicInt])? {
        guard case .primitive(.reshape, let ints) = node(id).op else { return nil }
        return (node(id).inputs[0], ints)
    }

    /// `(op, scalar, scalarFirst, x)` when `id` is a binary op with a scalar.
    func binaryScalar(_ id: ValueID) -> (BinaryOp, Double, Bool, ValueID)? {
        guard case .binaryScalar(let b, let s, let first)? = primitive(id) else { return nil }
        return (b, s, first, node(id).inputs[0])
    }

    /// `(a, b)` when `id` is the binary op `op`.
    func binary(_ id: ValueID, _ op: BinaryOp) -> (ValueID, ValueID)? {
        guard case .binary(let b)? = primitive(id), b == op else { return nil }
        return (node(id).inputs[0], node(id).inputs[1])
    }

    /// The operand of `id` when it is the unary op `op`.
    func unary(_ id: ValueID, _ op: UnaryOp) -> ValueID? {
        guard case .unary(let u)? = primitive(id), u == op else { return nil }
        return node(id).inputs[0]
    }

    /// The fused op of `id`, if it is one.
    func fused(_ id: ValueID) -> FusedOp? {
        if case .fused(let f) = node(id).op { f } else { nil }
    }

    /// `x` when `id` is `x * c` or `c * x` with `c` a scalar (a scalar op or a one-element constant);
    /// `c` goes to `scale`.
    func scaled(_ id: ValueID) -> (ValueID, Double)? {
        if let (op, s, _, x) = binaryScalar(id), op == .mul { return (x, s) }
        if let (a, b) = binary(id, .mul) {
            if let c = scalarConstant(b) { return (a, c) }
            if let c = scalarConstant(a) { return (b, c) }
        }
        return nil
    }

    /// The operand when `id` is a mean over the last dim with the dim kept (`mean(-1, keepdim)`, or
    /// `sum(-1, keepdim) · (1/n)`).
    func meanOverLastDim(_ id: ValueID) -> ValueID? {
        func reduction(_ v: ValueID, _ r: ReduceOp) -> ValueID? {
            guard case .reduce(let op, let dims, true)? = primitive(v), op == r else { return nil }
            let x = node(v).inputs[0]
            return dims == [type(x).shape.count - 1] ? x : nil
        }
        if let x = reduction(id, .mean) { return x }
        if let (s, c) = scaled(id), let x = reduction(s, .sum), let n = type(x).shape.last?.constant,
           Swift.abs(c * Double(n) - 1) < 1e-6 { return x }
        if let (op, c, first, s) = binaryScalar(id), op == .div, !first, let x = reduction(s, .sum),
           type(x).shape.last?.constant.map(Double.init) == c { return x }
        return nil
    }

    /// `value` when it has `node`'s type, else nil (for rules that must not change a type).
    func sameType(_ value: ValueID, as node: Graph.Node) -> ValueID? {
        type(value) == node.type ? value : nil
    }
}

extension Array where Element == SymbolicInt {
    /// The product of the dims.
    var product: SymbolicInt { reduce(SymbolicInt(1)) { $0 * $1 } }
}
