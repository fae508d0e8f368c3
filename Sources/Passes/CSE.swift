import Graph
import Tensors

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
