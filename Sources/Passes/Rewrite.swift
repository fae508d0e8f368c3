import Graph
import Tensors

/// A pattern and its replacement: looks at one node (the root of the pattern) and either returns the
/// value that should replace it — built with `Rewriter.add` — or nil when the pattern does not match.
///
/// ```swift
/// let noOpCast = RewriteRule("no-op cast") { rw, node in
///     guard case .primitive(.cast(let d), _) = node.op, rw.type(node.inputs[0]).dtype == d else { return nil }
///     return node.inputs[0]
/// }
/// ```
public struct RewriteRule: Sendable {
    /// Shown in statistics and errors.
    public let name: String
    /// The matcher: the replacing value, or nil.
    public let apply: @Sendable (inout Rewriter, Graph.Node) throws -> ValueID?

    public init(_ name: String, _ apply: @escaping @Sendable (inout Rewriter, Graph.Node) throws -> ValueID?) {
        self.name = name
        self.apply = apply
    }
}

/// A rule's view of the graph while the engine rewrites it: producers, users, constants, and a way
/// to add nodes (inserted just before the node being rewritten, so SSA order holds).
///
/// Producers of the node under rewrite are current; users are counted from the graph as it was at the
/// start of the sweep plus replacements so far, so a count may be too high (never too low) until the
/// next sweep: rules that need a single use are then merely conservative.
public struct Rewriter {
    /// The graph being rewritten (nodes after the current one still have their old operands).
    public private(set) var graph: Graph
    private var defs: [ValueID: Graph.Node]
    private var userIDs: [ValueID: [ValueID]]
    private var outputValues: Set<ValueID>
    fileprivate var pending: [Graph.Node] = []
    fileprivate var current: Graph.Node?
    private var nextID: ValueID
    private var evaluated: [ValueID: Tensor?] = [:]
    private var replacedBy: [ValueID: ValueID] = [:]

    fileprivate init(_ graph: Graph) {
        self.graph = graph
        defs = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.id, $0) })
        userIDs = [:]
        for n in graph.nodes { for i in n.inputs { userIDs[i, default: []].append(n.id) } }
        outputValues = Set(graph.outputs.map(\.value))
        nextID = graph.nextID
    }

    /// The node defining `id`.
    public func node(_ id: ValueID) -> Graph.Node {
        guard let n = defs[id] else { preconditionFailure("Rewriter: %\(id) is not defined") }
        return n
    }

    /// Whether `id` names a node of the graph being rewritten.
    public func isDefined(_ id: ValueID) -> Bool { defs[id] != nil }

    /// The type of `id`.
    public func type(_ id: ValueID) -> TensorType { node(id).type }

    /// The nodes reading `id` (a node reading it twice appears twice).
    public func users(_ id: ValueID) -> [Graph.Node] { (userIDs[id] ?? []).compactMap { defs[$0] } }

    /// How many operand slots and graph outputs read `id`.
    public func useCount(_ id: ValueID) -> Int { (userIDs[id]?.count ?? 0) + (outputValues.contains(id) ? 1 : 0) }

    /// Whether `id` is read exactly once, by a node (not a graph output).
    public func hasOneUse(_ id: ValueID) -> Bool { useCount(id) == 1 && !outputValues.contains(id) }

    /// Whether `id` is a graph output.
    public func isOutput(_ id: ValueID) -> Bool { outputValues.contains(id) }

    /// The primitive op of `id`, if it is a primitive.
    public func primitive(_ id: ValueID) -> TensorOp? {
        if case .primitive(let op, _) = node(id).op { op } else { nil }
    }

    /// The tensor of `id` when it is a constant node.
    public func constant(_ id: ValueID) -> Tensor? {
        if case .constant(let name) = node(id).op { graph.constants[name] } else { nil }
    }

    /// The value of a one-element float constant (`f32[]`, `f32[1]`), if `id` is one.
    public func scalarConstant(_ id: ValueID) -> Double? {
        guard let t = constant(id), t.count == 1, t.dtype == .float32 else { return nil }
        return Double(withNoGrad { t.toFloatArray()[0] })
    }

    /// Whether `id` depends on no graph input (only on constants, fills and ranges).
    public mutating func isInputFree(_ id: ValueID) -> Bool {
        var seen = Set<ValueID>(), stack = [id]
        while let v = stack.popLast() {
            guard seen.insert(v).inserted else { continue }
            let n = node(v)
            if case .input = n.op { return false }
            stack += n.inputs
        }
        return true
    }

    /// The value of an input-free `id` with the dims bound by `bindings`, computed with the eager
    /// kernels; nil when it depends on an input or an unbound dim.
    public mutating func evaluate(_ id: ValueID, _ bindings: [String: Int]) -> Tensor? {
        if bindings.isEmpty, let cached = evaluated[id] { return cached }
        let n = node(id)
        var result: Tensor? = nil
        switch n.op {
        case .input: result = nil
        case .constant(let name): result = graph.constants[name]
        case .primitive, .fused:
            var args: [Tensor] = []
            for i in n.inputs {
                guard let t = evaluate(i, bindings) else { return nil }
                args.append(t)
            }
            if case .fused(let f) = n.op {
                result = f.run(args)
            } else if let op = try? n.op.concrete(bindings) {
                result = withNoGrad { Executor.execute(op, args) }
            }
        }
        if bindings.isEmpty { evaluated[id] = .some(result) }
        return result
    }

    /// Adds `op` on `inputs` before the node being rewritten, inferring its type; the new node takes
    /// the location of the node being rewritten unless `location` is given.
    public mutating func add(_ op: GraphOp, _ inputs: [ValueID], location: SourceLocation? = nil) throws -> ValueID {
        let type: TensorType
        do { type = try TypeInference.infer(op, inputs.map(self.type)) } catch let e as GraphError {
            throw GraphError(.verification, "rewrite of %\(current?.id ?? -1): \(e.message)", at: current?.location)
        }
        return insert(Graph.Node(id: nextID, op: op, inputs: inputs, type: type, location: location ?? current?.location))
    }

    /// Adds a primitive op with no symbolic attributes.
    public mutating func add(_ op: TensorOp, _ inputs: [ValueID]) throws -> ValueID { try add(.op(op), inputs) }

    /// A constant node already holding exactly `tensor` under `name` or one of the names `addConstant`
    /// makes from it (`name_1`, …), so a rule can share one constant between users (a weight shared by
    /// several layers stays one constant).
    public func existingConstant(like name: String, equalTo tensor: Tensor) -> ValueID? {
        var candidate = name, k = 1
        while let stored = graph.constants[candidate] {
            if stored.shape == tensor.shape, stored.dtype == tensor.dtype,
               stored.contiguous().toFloatArray() == tensor.contiguous().toFloatArray(),
               let node = defs.values.first(where: { $0.op == .constant(candidate) }) {
                return node.id
            }
            candidate = "\(name)_\(k)"
            k += 1
        }
        return nil
    }

    /// Adds a constant node holding `tensor`, named `name` (made unique if taken).
    public mutating func addConstant(_ name: String, _ tensor: Tensor) -> ValueID {
        var unique = name, k = 1
        while graph.constants[unique] != nil { unique = "\(name)_\(k)"; k += 1 }
        graph.constants[unique] = tensor
        return insert(Graph.Node(id: nextID, op: .constant(unique), inputs: [],
                                 type: TensorType(tensor.dtype, tensor.shape.map { SymbolicInt($0) })))
    }

    private mutating func insert(_ node: Graph.Node) -> ValueID {
        nextID += 1
        pending.append(node)
        defs[node.id] = node
        for i in node.inputs { userIDs[i, default: []].append(node.id) }
        return node.id
    }

    /// Records that `old` now reads as `new` everywhere.
    fileprivate mutating func replace(_ old: ValueID, with new: ValueID) {
        replacedBy[old] = new
        let added = Set(pending.map(\.id))
        let users = (userIDs[old] ?? []).filter { !added.contains($0) }
        userIDs[new, default: []] += users
        userIDs[old] = (userIDs[old] ?? []).filter { added.contains($0) }
        for u in users {
            guard var n = defs[u] else { continue }
            n.inputs = n.inputs.map { $0 == old ? new : $0 }
            defs[u] = n
        }
        if outputValues.remove(old) != nil { outputValues.insert(new) }
    }

    fileprivate mutating func commit(_ nodes: [Graph.Node], outputs: [Graph.Output]) {
        graph.nodes = nodes
        graph.outputs = outputs
    }

    fileprivate func resolvedInputs(_ n: Graph.Node) -> [ValueID] { defs[n.id]?.inputs ?? n.inputs }

    fileprivate func resolvedOutput(_ v: ValueID) -> ValueID {
        var v = v
        while let next = replacedBy[v] { v = next }
        return v
    }
}

/// The one rewrite engine every pass uses: applies `rules` to every node in order, replacing a node's
/// value by what a rule returns, sweeps dead nodes, and repeats until nothing changes.
public enum RewriteEngine {
    /// What a run did: rule firings by rule name, and sweeps taken.
    public struct Result: Sendable {
        public var graph: Graph
        public var firings: [String: Int]
        public var sweeps: Int
    }

    /// Rewrites `graph` with `rules` to a fixed point (at most `maxSweeps` sweeps).
    public static func run(_ graph: Graph, rules: [RewriteRule], maxSweeps: Int = 32) throws -> Result {
        var g = sweepDead(graph)
        var firings: [String: Int] = [:]
        for sweep in 1...maxSweeps {
            var rw = Rewriter(g)
            var out: [Graph.Node] = []
            var changed = false
            for original in g.nodes {
                var node = original
                node.inputs = rw.resolvedInputs(original)
                rw.current = node
                rw.pending = []
                var replacement: ValueID? = nil
                for rule in rules {
                    guard let v = try rule.apply(&rw, node), v != node.id else {
                        rw.pending = []
                        continue
                    }
                    guard rw.type(v) == node.type else {
                        throw GraphError(.verification, "rule '\(rule.name)' replaced %\(node.id) (\(node.type)) by %\(v) of type \(rw.type(v))", at: node.location)
                    }
                    firings[rule.name, default: 0] += 1
                    replacement = v
                    break
                }
                out += rw.pending
                out.append(node)
                if let v = replacement {
                    rw.replace(node.id, with: v)
                    changed = true
                }
            }
            let outputs = g.outputs.map { o in Graph.Output(name: o.name, value: rw.resolvedOutput(o.value)) }
            rw.commit(out.map { n in var n = n; n.inputs = rw.resolvedInputs(n); return n }, outputs: outputs)
            g = sweepDead(rw.graph)
            if !changed { return Result(graph: g, firings: firings, sweeps: sweep) }
        }
        throw GraphError(.verification, "rewrite did not reach a fixed point in \(maxSweeps) sweeps (rules \(firings.keys.sorted()) keep firing)")
    }

    /// `graph` without nodes nothing reads (inputs stay), and without the constants they held.
    public static func sweepDead(_ graph: Graph) -> Graph {
        var live = Set(graph.outputs.map(\.value))
        var kept: [Graph.Node] = []
        for node in graph.nodes.reversed() {
            let isInput = if case .input = node.op { true } else { false }
            guard isInput || live.contains(node.id) else { continue }
            kept.append(node)
            live.formUnion(node.inputs)
        }
        var g = graph
        g.nodes = kept.reversed()
        let used = Set(g.nodes.compactMap { if case .constant(let n) = $0.op { n } else { nil } })
        g.constants = g.constants.filter { used.contains($0.key) }
        return g
    }
}

