import Graph
import Tensors

/// General elementwise fusion: every maximal group of elementwise ops (unary, binary with
/// broadcasting, binary-scalar, select, cast, and earlier fused elementwise nodes) whose inner values
/// are read only inside the group becomes one `fused_elementwise` node: one loop over the result.
/// The group's root is an elementwise node that is not read by exactly one elementwise node.
public enum ElementwiseFusion {
    /// The rules.
    public static var rules: [RewriteRule] { [fuse] }

    static func isElementwise(_ rw: Rewriter, _ id: ValueID) -> Bool {
        switch rw.node(id).op {
        case .primitive(let op, _): ElementwiseProgram.isElementwise(op)
        case .fused(.elementwise): true
        default: false
        }
    }

    static let fuse = RewriteRule("elementwise") { rw, node in
        guard isElementwise(rw, node.id) else { return nil }
        let readers = rw.users(node.id)
        if !rw.isOutput(node.id), readers.count == 1, isElementwise(rw, readers[0].id) { return nil }
        // Grow the group backwards over operands read only inside it.
        var group: Set<ValueID> = [node.id]
        var changed = true
        while changed {
            changed = false
            for member in group {
                for p in rw.node(member).inputs where !group.contains(p) && isElementwise(rw, p) && !rw.isOutput(p)
                    && rw.users(p).allSatisfy({ group.contains($0.id) }) {
                    group.insert(p)
                    changed = true
                }
            }
        }
        // Topological order by a post-order walk from the root.
        var order: [ValueID] = [], visited = Set<ValueID>()
        func visit(_ v: ValueID) {
            guard group.contains(v), visited.insert(v).inserted else { return }
            rw.node(v).inputs.forEach(visit)
            order.append(v)
        }
        visit(node.id)
        var operands: [ValueID] = []
        var instructions: [ElementwiseProgram.Instruction] = []
        var register: [ValueID: Int] = [:]
        func load(_ v: ValueID) -> Int {
            if let r = register[v] { return r }
            if !operands.contains(v) { operands.append(v) }
            instructions.append(.input(operands.firstIndex(of: v)!))
            register[v] = instructions.count - 1
            return instructions.count - 1
        }
        for v in order {
            let n = rw.node(v)
            let regs = n.inputs.map(load)
            switch n.op {
            case .primitive(let op, _):
                instructions.append(.op(op, regs))
            case .fused(.elementwise(let program)):
                var local: [Int] = []
                for ins in program.instructions {
                    switch ins {
                    case .input(let i): local.append(regs[i])
                    case .op(let op, let r): instructions.append(.op(op, r.map { local[$0] })); local.append(instructions.count - 1)
                    }
                }
            default: preconditionFailure("elementwise group holds \(n.op.name)")
            }
            register[v] = instructions.count - 1
        }
        let computing = instructions.count { if case .op = $0 { true } else { false } }
        guard computing >= 2, group.count >= 2 else { return nil }
        return try rw.add(.fused(.elementwise(ElementwiseProgram(instructions))), operands)
    }
}
