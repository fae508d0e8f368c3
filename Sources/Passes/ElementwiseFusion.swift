import Graph
import Tensors

/// General elementwise fusion: every maximal group of elementwise ops (unary, binary with
/// broadcasting, binary-scalar, select, cast, and earlier fused elementwise nodes) whose inner values
/// are read only inside the group becomes one `fused_elementwise` node: one loop over the result.
/// The group's root is an elementwise node that is not read by exactly one elementwise node.
///
/// A group longer than `maximumOps` computing ops is cut into several fused nodes, each one loop, at
/// points where a single value crosses the cut (every point of a chain): LLVM's time on one function
/// grows faster than its size, and a longer loop body gains nothing, being memory-bound long before.
/// Equal pieces of a long chain become equal kernels, which code generation emits once. A fused node
/// already at the limit is not absorbed again, so the rewrite reaches its fixed point.
public enum ElementwiseFusion {
    /// The rules.
    public static var rules: [RewriteRule] { [fuse] }

    /// Computing ops per fused loop before a group is cut.
    public static let maximumOps = 128

    static func isElementwise(_ rw: Rewriter, _ id: ValueID) -> Bool {
        switch rw.node(id).op {
        case .primitive(let op, _): ElementwiseProgram.isElementwise(op)
        case .fused(.elementwise): true
        default: false
        }
    }

    /// Computing ops a node contributes to a group.
    static func cost(_ op: GraphOp) -> Int {
        if case .fused(.elementwise(let program)) = op { return program.computingCount }
        return 1
    }

    /// Whether `id` may join a group: elementwise and not a fused node already at the limit.
    static func isAbsorbable(_ rw: Rewriter, _ id: ValueID) -> Bool {
        isElementwise(rw, id) && cost(rw.node(id).op) < maximumOps
    }

    static let fuse = RewriteRule("elementwise") { rw, node in
        guard isElementwise(rw, node.id) else { return nil }
        let readers = rw.users(node.id)
        if !rw.isOutput(node.id), readers.count == 1, isAbsorbable(rw, readers[0].id) { return nil }
        // Grow the group backwards over operands read only inside it: each member's operands are
        // examined when it joins, so an operand joins once its last reader has.
        var group: Set<ValueID> = [node.id]
        var work = [node.id]
        while let member = work.popLast() {
            for p in rw.node(member).inputs where !group.contains(p) && isAbsorbable(rw, p) && !rw.isOutput(p)
                && rw.users(p).allSatisfy({ group.contains($0.id) }) {
                group.insert(p)
                work.append(p)
            }
        }
        guard group.count >= 2 else { return nil }
        // Topological order by a post-order walk from the root (iterative: chains are long).
        var order: [ValueID] = [], visited = Set<ValueID>()
        var stack: [(ValueID, Int)] = [(node.id, 0)]
        visited.insert(node.id)
        while let (v, next) = stack.popLast() {
            let inputs = rw.node(v).inputs
            if next < inputs.count {
                stack.append((v, next + 1))
                let p = inputs[next]
                if group.contains(p), visited.insert(p).inserted { stack.append((p, 0)) }
            } else {
                order.append(v)
            }
        }
        // Cut points: positions where exactly one value of the prefix is read after it.
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        var crossing = [Int](repeating: 0, count: order.count + 1)
        for (k, v) in order.enumerated() where v != node.id {
            let lastUse = rw.users(v).compactMap { position[$0.id] }.max() ?? k
            crossing[k + 1] += 1
            crossing[lastUse + 1] -= 1
        }
        var pieces: [[ValueID]] = [[]]
        var live = 0, ops = 0
        for (k, v) in order.enumerated() {
            live += crossing[k]
            if ops >= maximumOps && live == 1 { pieces.append([]); ops = 0 }
            pieces[pieces.count - 1].append(v)
            ops += cost(rw.node(v).op)
        }
        let computing = pieces.reduce(0) { $0 + $1.reduce(0) { $0 + cost(rw.node($1).op) } }
        guard computing >= 2 else { return nil }
        // One fused node per piece; a piece reads the previous one's result in place of its last value.
        var result: ValueID? = nil
        var previous: (last: ValueID, fused: ValueID)? = nil
        for piece in pieces {
            var operands: [ValueID] = [], operandIndex: [ValueID: Int] = [:]
            var instructions: [ElementwiseProgram.Instruction] = []
            var register: [ValueID: Int] = [:]
            func load(_ v: ValueID) -> Int {
                if let r = register[v] { return r }
                let source = v == previous?.last ? previous!.fused : v
                let index: Int
                if let i = operandIndex[source] { index = i } else {
                    index = operands.count
                    operands.append(source)
                    operandIndex[source] = index
                }
                instructions.append(.input(index))
                register[v] = instructions.count - 1
                return instructions.count - 1
            }
            for v in piece {
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
                default: throw GraphError(.verification, "elementwise fusion: group holds \(n.op.name)", at: n.location)
                }
                register[v] = instructions.count - 1
            }
            let fused = try rw.add(.fused(.elementwise(ElementwiseProgram(instructions))), operands)
            previous = (piece.last!, fused)
            result = fused
        }
        return result
    }
}
