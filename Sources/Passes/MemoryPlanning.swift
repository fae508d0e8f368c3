import Graph
import Tensors

/// Memory planning: every intermediate value (not an input, constant or graph output) gets a
/// 64-byte-aligned slot in one arena sized for the dims' upper bounds. Slots are reused by liveness
/// (first fit in node order: a value's slot is free after its last reader ran), and a value is
/// computed in place over an operand when that operand is planned, is last read by this node, and
/// has the result's dtype and size — for elementwise ops, softmax, layer norm (over `x` or the
/// residual), a linear's residual, and reshape (an alias).
public enum MemoryPlanning {
    /// The plan for `graph` (its `memoryPlan` is ignored).
    public static func plan(_ graph: Graph) -> MemoryPlan {
        let outputs = Set(graph.outputs.map(\.value))
        var lastUse: [ValueID: Int] = [:]
        for (i, n) in graph.nodes.enumerated() { for v in n.inputs { lastUse[v] = i } }
        let types = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.id, $0.type) })
        let corners = boundCorners(graph.symbols)
        func bytes(_ t: TensorType) -> Int {
            let count = corners.map { b in t.shape.reduce(1) { $0 * Swift.max(0, $1.evaluate(b) ?? 0) } }.max() ?? 0
            let raw = count * t.dtype.byteSize
            return (raw + MemoryPlan.alignment - 1) / MemoryPlan.alignment * MemoryPlan.alignment
        }
        var slots: [ValueID: MemoryPlan.Slot] = [:]
        var live: [ValueID: (offset: Int, bytes: Int)] = [:]   // owner → block
        var arena = 0, naive = 0
        for (i, node) in graph.nodes.enumerated() {
            if node.op.computes && !outputs.contains(node.id) {
                let size = bytes(node.type)
                naive += size
                if let donor = inPlaceCandidates(node).first(where: { v in
                    lastUse[v] == i && live[v] != nil && types[v]?.dtype == node.type.dtype && slots[v]?.bytes == size
                }) {
                    let block = live.removeValue(forKey: donor)!
                    live[node.id] = block
                    slots[node.id] = .init(offset: block.offset, bytes: size, inPlace: donor)
                } else {
                    var offset = 0
                    for block in live.values.sorted(by: { $0.offset < $1.offset }) {
                        if offset + size <= block.offset { break }
                        offset = Swift.max(offset, block.offset + block.bytes)
                    }
                    live[node.id] = (offset, size)
                    slots[node.id] = .init(offset: offset, bytes: size)
                    arena = Swift.max(arena, offset + size)
                }
                if lastUse[node.id] == nil { live[node.id] = nil }
            }
            for v in node.inputs where lastUse[v] == i { live[v] = nil }
        }
        return MemoryPlan(slots: slots, arenaBytes: arena, naiveBytes: naive)
    }

    /// Operands whose buffer `node` may overwrite, best first.
    static func inPlaceCandidates(_ node: Graph.Node) -> [ValueID] {
        switch node.op {
        case .primitive(let op, _):
            switch op {
            case .unary, .binary, .binaryScalar, .select, .cast, .softmax, .logSoftmax, .reshape, .layerNorm: return node.inputs
            default: return []
            }
        case .fused(.elementwise): return node.inputs
        case .fused(.layerNorm(_, let residual)): return residual ? [node.inputs[0], node.inputs[1]] : [node.inputs[0]]
        case .fused(.linear(_, _, true)): return [node.inputs.last!]
        default: return []
        }
    }

    /// Every combination of each dim at its lower and upper bound (sizes are polynomials; the
    /// largest value over the corners bounds them for the shapes transformers produce).
    static func boundCorners(_ symbols: [DimSymbol]) -> [[String: Int]] {
        var out: [[String: Int]] = [[:]]
        for s in symbols.prefix(12) {
            out = out.flatMap { b in [s.min, s.max].map { v in var c = b; c[s.name] = v; return c } }
        }
        return out
    }
}
