import Tensors

/// Runs a graph op by op with the eager kernels (`Executor`): the oracle every pass and the code
/// generator are checked against. Results equal eager execution bit for bit.
public struct Interpreter {
    /// The graph being run.
    public let graph: Graph

    public init(graph: Graph) { self.graph = graph }

    /// Binds each dynamic dim from the inputs' shapes, checking dtypes, static dims and bounds.
    public func bindings(for inputs: [String: Tensor]) throws -> [String: Int] {
        var bindings: [String: Int] = [:]
        for node in graph.inputNodes {
            guard case .input(let name) = node.op else { continue }
            guard let t = inputs[name] else { throw GraphError(.interpreter, "missing input '\(name)'") }
            guard t.dtype == node.type.dtype else {
                throw GraphError(.interpreter, "input '\(name)' has dtype \(t.dtype.shortName), expected \(node.type.dtype.shortName)")
            }
            guard t.rank == node.type.shape.count else {
                throw GraphError(.interpreter, "input '\(name)' has shape \(t.shape), expected \(node.type)")
            }
            for (i, d) in node.type.shape.enumerated() {
                if let s = d.singleSymbol {
                    if let bound = bindings[s], bound != t.shape[i] {
                        throw GraphError(.interpreter, "input '\(name)' dim \(i) is \(t.shape[i]), but '\(s)' is \(bound) from another input")
                    }
                    bindings[s] = t.shape[i]
                }
            }
        }
        for s in graph.symbols {
            guard let v = bindings[s.name] else { continue }
            guard v >= s.min && v <= s.max else {
                throw GraphError(.interpreter, "dim '\(s.name)' = \(v) is outside its bounds \(s.min)...\(s.max)")
            }
        }
        for node in graph.inputNodes {
            guard case .input(let name) = node.op, let t = inputs[name] else { continue }
            guard node.type.concreteShape(bindings) == t.shape else {
                throw GraphError(.interpreter, "input '\(name)' has shape \(t.shape), expected \(node.type)")
            }
        }
        return bindings
    }

    /// Runs the graph on named inputs and returns the named outputs.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let bindings = try self.bindings(for: inputs)
        // A dim no input carries has no value in a call with tensors (the C API takes it in its dims
        // array): refused before running, as the compiled model refuses it, even when no op uses it
        // (the interpreter used to run such a graph that the compiled model refused).
        if let unbound = graph.symbols.first(where: { bindings[$0.name] == nil }) {
            throw GraphError(.interpreter, "dim '\(unbound.name)' is not the size of any input dim, so a call cannot give it (use the C API's dims array)")
        }
        var values: [ValueID: Tensor] = [:]
        let lastUse = Self.lastUses(graph)
        // Nodes no output depends on are not run, as the compiled model (after dead-code elimination)
        // and other runtimes do not run them: an index error in dead code made the interpreter refuse
        // a graph the compiled model ran (fuzz-graph).
        var live = Set(graph.outputs.map(\.value))
        for node in graph.nodes.reversed() where live.contains(node.id) { live.formUnion(node.inputs) }
        for (index, node) in graph.nodes.enumerated() where live.contains(node.id) {
            let result: Tensor
            switch node.op {
            case .input(let name): result = inputs[name]!
            case .constant(let name):
                guard let t = graph.constants[name] else { throw GraphError(.interpreter, "constant '\(name)' has no tensor") }
                result = t
            case .primitive:
                let op = try node.op.concrete(bindings)
                let operands = node.inputs.map { values[$0]! }
                try Self.checkIndices(op, operands, node: node, graph: graph)
                result = withNoGrad { Executor.execute(op, operands) }
            case .fused(let f):
                result = f.run(node.inputs.map { values[$0]! })
            }
            values[node.id] = result
            for input in node.inputs where lastUse[input] == index { values[input] = nil }
        }
        var outputs: [String: Tensor] = [:]
        for o in graph.outputs { outputs[o.name] = values[o.value] }
        return outputs
    }

    /// Index values are data, so the verifier cannot bound them: an index outside its dim (a token id
    /// past the vocabulary, a position past the table) is an error naming the node and its source
    /// line, where the eager kernel would stop the process.
    static func checkIndices(_ op: TensorOp, _ operands: [Tensor], node: Graph.Node, graph: Graph? = nil) throws {
        let (dim, source, index): (Int, Tensor, Tensor)
        switch op {
        case .indexSelect(let d), .gather(let d): (dim, source, index) = (d, operands[0], operands[1])
        default: return
        }
        let axis = dim < 0 ? dim + source.rank : dim
        guard axis >= 0, axis < source.rank, index.dtype.isInteger else { return }
        let size = source.shape[axis]
        if let bad = index.toIntArray().first(where: { $0 < 0 || $0 >= size }) {
            let at = node.location.map { " at \($0)" } ?? ""
            // Name what overflowed where the graph says: the table (a constant such as
            // `embeddings.position_embeddings.weight`) and where the index came from (an input such as
            // `token_type_ids`, or computed: positions).
            var what = ""
            if let graph {
                if let table = Self.source(of: node.inputs[0], in: graph, kind: .constant) { what += " of '\(table)'" }
                if let input = Self.source(of: node.inputs[1], in: graph, kind: .input) { what += ", from input '\(input)'" }
                else { what += ", a computed index (positions?)" }
            }
            throw GraphError(.interpreter, "\(op.name) (%\(node.id)\(at)): index \(bad) is outside 0..<\(size) of dim \(axis)\(what.isEmpty ? " (a token id past the vocabulary, a token type or a position past its table?)" : what)")
        }
    }

    enum SourceKind { case input, constant }

    /// The input or constant `value` is, through views and casts that keep its values (reshape,
    /// permute, contiguous, cast, expand), or nil.
    static func source(of value: ValueID, in graph: Graph, kind: SourceKind) -> String? {
        var id = value
        for _ in 0..<64 {
            guard let node = graph.node(id) else { return nil }
            switch node.op {
            case .input(let name): return kind == .input ? name : nil
            case .constant(let name): return kind == .constant ? name : nil
            case .primitive(let op, _):
                switch op {
                case .reshape, .permute, .contiguous, .cast, .expand: id = node.inputs[0]
                default: return nil
                }
            case .fused: return nil
            }
        }
        return nil
    }

    /// For each value, the index of the last node reading it (outputs are never freed).
    static func lastUses(_ graph: Graph) -> [ValueID: Int] {
        var last: [ValueID: Int] = [:]
        for (i, node) in graph.nodes.enumerated() { for input in node.inputs { last[input] = i } }
        for o in graph.outputs { last[o.value] = Int.max }
        return last
    }
}
