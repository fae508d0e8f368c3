import Graph
import Tensors

/// Constant folding: every op whose operands are all constants (weight transposes and reshapes,
/// constant mask arithmetic, shape math) is run once at compile time with the eager kernels and
/// replaced by a new named constant (`<first operand's name>.T` for a weight transpose, else
/// `<first operand's name>.folded`). Results with a symbolic shape
/// stay ops; so do results larger than both their operands and `maxNewElements` (a fill or expand
/// that would bloat the weights). The same op on the same constants folds once: a weight a model
/// applies several times (ALBERT's layers shared across depth) keeps one transposed copy, not one
/// per use (measured on a 4-layer ALBERT with one shared group: 624,170 constant values instead of 172,586).
public enum ConstantFolding {
    /// Largest result, in elements, that may grow beyond its operands' size.
    public static let maxNewElements = 1 << 16

    /// Fresh rules (they remember what they have folded during one run).
    public static var rules: [RewriteRule] {
        let folded = Folded()
        return [RewriteRule("fold") { rw, node in
            let key = Key(op: node.op, inputs: node.inputs)
            if let earlier = folded.results[key], rw.isDefined(earlier), rw.type(earlier) == node.type { return earlier }
            guard let result = try fold.apply(&rw, node) else { return nil }
            folded.results[key] = result
            return result
        }]
    }

    struct Key: Hashable {
        var op: GraphOp
        var inputs: [ValueID]
    }

    final class Folded: @unchecked Sendable { var results: [Key: ValueID] = [:] }

    static let fold = RewriteRule("fold") { rw, node in
        guard node.op.computes, let shape = node.type.concreteShape([:]),
              node.inputs.allSatisfy({ rw.constant($0) != nil }) else { return nil }
        let operandElements = node.inputs.reduce(0) { $0 + rw.constant($1)!.count }
        guard shape.reduce(1, *) <= Swift.max(operandElements, maxNewElements), let value = rw.evaluate(node.id, [:]) else { return nil }
        // A transposed weight stays a view of the checkpoint's tensor (`isDense`): packing reads it through
        // its strides, and whoever needs rows copies it then (`ConstantSlot`). Copying every transpose here
        // cost BERT-base 0.41 s of fresh memory. Other views are copied, into small pages (faster to fault in).
        let stored = withNoGrad { value.isDense ? value.detached() : value.detached().contiguousInSmallPages() }
        var base = node.inputs.first.flatMap { id -> String? in if case .constant(let n) = rw.node(id).op { n } else { nil } } ?? "constant"
        for suffix in [".T", ".folded"] where base.hasSuffix(suffix) { base = String(base.dropLast(suffix.count)) + ".folded" }
        let transpose = if case .primitive(.permute([1, 0]), _) = node.op { true } else { false }
        return rw.addConstant(base.hasSuffix(".folded") ? base : base + (transpose ? ".T" : ".folded"), stored)
    }
}
