import Tensors

extension Graph {
    /// The graph with every primitive `attention` spelled as the ops it stands for:
    /// `matmul(softmax(matmul(q, kᵀ) + mask), v)`. Eager code and the interpreter run `attention` as
    /// one kernel; the optimizer and the code generator see the ops, which attention fusion turns
    /// into one `fused_attention` with the head split and merge around it (so the fused kernel has
    /// one definition in codegen). The last op keeps the attention node's id, so readers are unchanged.
    public func decomposingAttention() throws -> Graph {
        guard nodes.contains(where: { if case .primitive(.attention, _) = $0.op { true } else { false } }) else { return self }
        var types: [ValueID: TensorType] = [:]
        var next = nextID
        var rewritten: [Node] = []
        rewritten.reserveCapacity(nodes.count + 4 * nodes.count / 10)
        for node in nodes {
            guard case .primitive(.attention, _) = node.op else {
                rewritten.append(node)
                types[node.id] = node.type
                continue
            }
            func add(_ op: TensorOp, _ inputs: [ValueID], id: ValueID? = nil) throws -> ValueID {
                let operandTypes = try inputs.map { id in
                    guard let t = types[id] else { throw GraphError(.verification, "attention: operand %\(id) is not defined before %\(node.id)") }
                    return t
                }
                let type = try TypeInference.infer(.op(op), operandTypes)
                let value = id ?? next
                if id == nil { next += 1 }
                rewritten.append(Node(id: value, op: .op(op), inputs: inputs, type: type, location: node.location))
                types[value] = type
                return value
            }
            guard node.inputs.count >= 3 else { throw GraphError(.verification, "attention %\(node.id): needs q, k and v") }
            let (q, k, v) = (node.inputs[0], node.inputs[1], node.inputs[2])
            let rank = node.type.shape.count
            var perm = Array(0..<rank)
            perm.swapAt(rank - 2, rank - 1)
            var scores = try add(.matmul, [q, try add(.permute(perm), [k])])
            if node.inputs.count > 3 { scores = try add(.binary(.add), [scores, node.inputs[3]]) }
            let probabilities = try add(.softmax(dim: rank - 1), [scores])
            _ = try add(.matmul, [probabilities, v], id: node.id)
        }
        var graph = self
        graph.nodes = rewritten
        return graph
    }
}
