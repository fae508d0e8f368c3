import Graph
import Tensors

/// Weight pre-packing: the weight operand of every `fused_linear` (and of a plain `matmul` with a 2-D
/// right operand) that depends only on constants — a transpose, reshape or copy of a checkpoint
/// tensor — is computed once and stored as one contiguous `[k, n]` row-major constant named
/// `<source constant>.packed`: the layout the GEMM kernels read (`sgemm` NoTrans/NoTrans, `ldb = n`).
/// After constant folding at -O2 the weights are usually packed already; the pass guarantees it for
/// every pipeline.
public enum WeightPacking {
    /// The rules.
    public static var rules: [RewriteRule] { [pack] }

    static let pack = RewriteRule("pack weight") { rw, node in
        let isGEMM: Bool = switch node.op {
        case .fused(.linear): true
        case .primitive(.matmul, _): rw.type(node.inputs[1]).shape.count == 2
        default: false
        }
        let w = node.inputs.count > 1 ? node.inputs[1] : -1
        guard isGEMM, rw.constant(w) == nil, rw.type(w).concreteShape([:]) != nil, rw.isInputFree(w),
              let value = rw.evaluate(w, [:]) else { return nil }
        var source = w
        while case .primitive = rw.node(source).op, let first = rw.node(source).inputs.first { source = first }
        let base = if case .constant(let n) = rw.node(source).op { n } else { "weight" }
        let packed = rw.addConstant("\(base).packed", withNoGrad { value.contiguous().detached() })
        var inputs = node.inputs
        inputs[1] = packed
        return try rw.add(node.op, inputs)
    }
}
