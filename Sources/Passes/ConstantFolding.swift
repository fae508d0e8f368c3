import Graph
import Tensors

/// Constant folding: every op whose operands are all constants (weight transposes and reshapes,
/// constant mask arithmetic, shape math) is run once at compile time with the eager kernels and
/// replaced by a new named constant (`<first operand's name>.T` for a weight transpose, else
/// `<first operand's name>.folded`). Results with a symbolic shape
/// stay ops; so do results larger than both their operands and `maxNewElements` (a fill or expand
/// that would bloat the weights).
public enum ConstantFolding {
    /// Largest result, in elements, that may grow beyond its operands' size.
    public static let maxNewElements = 1 << 16

    /// The rules.
    public static var rules: [RewriteRule] { [fold] }

    static let fold = RewriteRule("fold") { rw, node in
        guard node.op.computes, let shape = node.type.concreteShape([:]),
              node.inputs.allSatisfy({ rw.constant($0) != nil }) else { return nil }
        let operandElements = node.inputs.reduce(0) { $0 + rw.constant($1)!.count }
        guard shape.reduce(1, *) <= Swift.max(operandElements, maxNewElements), let value = rw.evaluate(node.id, [:]) else { return nil }
        let stored = withNoGrad { value.isContiguous ? value.detached() : value.contiguous().detached() }
        var base = node.inputs.first.flatMap { id -> String? in if case .constant(let n) = rw.node(id).op { n } else { nil } } ?? "constant"
        for suffix in [".T", ".folded"] where base.hasSuffix(suffix) { base = String(base.dropLast(suffix.count)) + ".folded" }
        let transpose = if case .primitive(.permute([1, 0]), _) = node.op { true } else { false }
        return rw.addConstant(base.hasSuffix(".folded") ? base : base + (transpose ? ".T" : ".folded"), stored)
    }
}

/// Common-subexpression elimination: a node computing the same op on the same operands as an earlier
/// node reads the earlier one instead. Constants are the same when they share a name, or when they are
/// small (≤ 64 elements) with equal dtype, shape and values (the scalars eager code makes per call).
public enum CSE {
    /// Fresh rules (they remember what they have seen during one run).
    public static var rules: [RewriteRule] {
        let seen = Seen()
        return [RewriteRule("cse") { rw, node in
            let key: Key
            switch node.op {
            case .input: return nil
            case .constant(let name):
                if let t = rw.constant(node.id), t.count <= 64 {
                    key = .small(t.dtype, t.shape, withNoGrad { t.toFloatArray() })
                } else { key = .named(name) }
            case .primitive, .fused: key = .op(node.op, node.inputs)
            }
            if let earlier = seen.first[key], earlier != node.id, rw.isDefined(earlier), rw.type(earlier) == node.type { return earlier }
            seen.first[key] = node.id
            return nil
        }]
    }

    enum Key: Hashable {
        case op(GraphOp, [ValueID])
        case named(String)
        case small(DType, [Int], [Float])
    }

    final class Seen: @unchecked Sendable { var first: [Key: ValueID] = [:] }
}

/// Dead-code elimination: nodes nothing reads, and constants no node names, go. (The rewrite engine
/// sweeps after every pass; this pass is the sweep alone.)
public enum DCE {
    /// No rules: the engine's sweep does the work.
    public static var rules: [RewriteRule] { [] }
}
