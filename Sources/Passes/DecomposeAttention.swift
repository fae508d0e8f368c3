import Graph

/// Spells every primitive `attention` (one op in eager code, the tracer and the interpreter) as
/// `matmul(softmax(matmul(q, kᵀ) + mask), v)`, so canonicalization sees the ops and `fuse-attention`
/// folds them, with the head split and merge around them, into one `fused_attention`. First in every
/// pipeline; `Graph.decomposingAttention` is the rewrite.
public enum DecomposeAttention {
    /// The pass; its counter is the number of attention ops spelled out.
    public static let pass = Pass("decompose-attention") { graph in
        let count = graph.nodes.count { if case .primitive(.attention, _) = $0.op { true } else { false } }
        return (try graph.decomposingAttention(), count > 0 ? ["attention": count] : [:])
    }
}
