import Tensors

/// A typed SSA graph: nodes in execution order, each producing one value, with symbolic dims.
///
/// Inputs and constants are nodes too (`input`, `constant` ops), so every value has one defining
/// node and one type. Constants' tensors travel with the graph in `constants`.
public struct Graph: Sendable {
    /// One operation and the value it defines.
    public struct Node: Sendable, Equatable {
        /// The value this node defines.
        public var id: ValueID
        /// What it computes.
        public var op: GraphOp
        /// Operand values, defined by earlier nodes.
        public var inputs: [ValueID]
        /// The result's dtype and symbolic shape.
        public var type: TensorType
        /// The eager source line that produced it, when traced.
        public var location: SourceLocation?

        public init(id: ValueID, op: GraphOp, inputs: [ValueID], type: TensorType, location: SourceLocation? = nil) {
            self.id = id
            self.op = op
            self.inputs = inputs
            self.type = type
            self.location = location
        }
    }

    /// A named result of the graph.
    public struct Output: Sendable, Equatable {
        public var name: String
        public var value: ValueID
        public init(name: String, value: ValueID) { self.name = name; self.value = value }
    }

    /// Dynamic dims and their bounds.
    public var symbols: [DimSymbol]
    /// Nodes in SSA order.
    public var nodes: [Node]
    /// Named results.
    public var outputs: [Output]
    /// Constant tensors by name.
    public var constants: [String: Tensor]

    public init(symbols: [DimSymbol] = [], nodes: [Node] = [], outputs: [Output] = [], constants: [String: Tensor] = [:]) {
        self.symbols = symbols
        self.nodes = nodes
        self.outputs = outputs
        self.constants = constants
    }

    /// The input nodes, in order.
    public var inputNodes: [Node] { nodes.filter { if case .input = $0.op { true } else { false } } }

    /// The node defining `id`, if any.
    public func node(_ id: ValueID) -> Node? { nodes.first { $0.id == id } }

    /// A value id not used by any node.
    public var nextID: ValueID { (nodes.map(\.id).max() ?? -1) + 1 }

    /// Number of fused nodes (ops the optimizer made).
    public var fusedNodeCount: Int {
        nodes.count { if case .fused = $0.op { true } else { false } }
    }

    /// Number of nodes that compute (not inputs or constants).
    public var computeNodeCount: Int {
        nodes.count { $0.op.computes }
    }
}

/// Builds a graph node by node, inferring each result type; the builder API for tests and passes.
public struct GraphBuilder {
    /// The graph so far.
    public private(set) var graph: Graph

    public init(symbols: [DimSymbol] = []) { graph = Graph(symbols: symbols) }

    /// Adds an input of `type` named `name`.
    public mutating func input(_ name: String, _ type: TensorType) -> ValueID {
        append(.input(name), [], type)
    }

    /// Adds a constant holding `tensor`.
    public mutating func constant(_ name: String, _ tensor: Tensor) -> ValueID {
        graph.constants[name] = tensor
        return append(.constant(name), [], TensorType(tensor.dtype, tensor.shape.map { SymbolicInt($0) }))
    }

    /// Adds `op` on `inputs`, inferring its type; throws when shapes or dtypes do not fit.
    public mutating func add(_ op: GraphOp, _ inputs: [ValueID], location: SourceLocation? = nil) throws -> ValueID {
        let types = try inputs.map { id in
            guard let n = graph.node(id) else { throw GraphError(.verification, "\(op.name): operand %\(id) is not defined") }
            return n.type
        }
        return append(op, inputs, try TypeInference.infer(op, types), location)
    }

    /// Adds a primitive op with no dynamic attributes.
    public mutating func add(_ op: TensorOp, _ inputs: [ValueID]) throws -> ValueID { try add(.op(op), inputs) }

    /// Names `value` as a graph output.
    public mutating func output(_ name: String, _ value: ValueID) { graph.outputs.append(.init(name: name, value: value)) }

    private mutating func append(_ op: GraphOp, _ inputs: [ValueID], _ type: TensorType, _ location: SourceLocation? = nil) -> ValueID {
        let id = graph.nextID
        graph.nodes.append(.init(id: id, op: op, inputs: inputs, type: type, location: location))
        return id
    }
}
