extension Graph {
    /// The floating-point operations of one call's matrix products at `dims` (2 per multiply-add):
    /// `matmul`, fused linear layers and fused attention (Q·Kᵀ and P·V). Elementwise work, softmax and
    /// layer norms are not counted: they are memory-bound and small beside the products. This is the
    /// figure benchmarks divide by the time to report GFLOP/s against the machine's sgemm ceiling.
    ///
    /// ```swift
    /// let flops = graph.matmulFLOPs(at: ["batch": 1, "seq": 128])   // ≈ 2.9e9 for MiniLM-L6
    /// ```
    public func matmulFLOPs(at dims: [String: Int]) -> Double {
        var total = 0.0
        for node in nodes {
            guard let out = node.type.concreteShape(dims), let first = node.inputs.first,
                  let a = self.node(first)?.type.concreteShape(dims) else { continue }
            let outputs = Double(out.reduce(1, *))
            switch node.op {
            case .primitive(.matmul, _), .fused(.linear):
                total += 2 * outputs * Double(a.last ?? 0)
            case .primitive(.attention, _):
                // q [b, h, s, d], k [b, h, t, d], out [b, h, s, dv]: Q·Kᵀ and P·V.
                guard node.inputs.count > 1, let k = self.node(node.inputs[1])?.type.concreteShape(dims), a.count == 4, out.count == 4 else { continue }
                total += 2 * Double(a[0] * a[1] * a[2] * k[2]) * Double(a[3] + out[3])
            case .fused(.attention(let attention)):
                guard node.inputs.count > 1, let k = self.node(node.inputs[1])?.type.concreteShape(dims), a.count == 3, out.count == 3 else { continue }
                let keys = attention.kvLayout == .merged ? k[1] : k[2]
                // Q·Kᵀ: batch·seq·keys·(heads·d); P·V: batch·seq·keys·(heads·dv).
                total += 2 * Double(a[0] * a[1] * keys) * Double(a[2] + out[2])
            default: continue
            }
        }
        return total
    }
}
