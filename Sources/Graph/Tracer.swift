import Tensors

/// A dim of a trace input that varies at run time: `input_ids` dim 1 is `seq ≤ 512`.
public struct DynamicDim: Sendable, Hashable {
    /// The input's name.
    public var input: String
    /// The dim index within that input.
    public var dim: Int
    /// The symbol it becomes (inputs sharing a size share a symbol).
    public var symbol: String
    /// Largest supported value.
    public var max: Int
    /// Smallest supported value.
    public var min: Int

    public init(input: String, dim: Int, symbol: String, max: Int, min: Int = 1) {
        self.input = input
        self.dim = dim
        self.symbol = symbol
        self.max = max
        self.min = min
    }
}

/// Records unchanged eager code into a graph with symbolic dims.
///
/// The body runs several times, at dim values chosen by `SymbolicFit.design`, with the example inputs
/// resized along their dynamic dims. Every run must perform the same ops on the same operands; each
/// shape and shape-like attribute is then fitted to an expression of the dims (`batch*seq`,
/// `seq + past`). Code that would bake a value into the graph fails with an error naming its
/// source line: reading an input-dependent tensor on the host, a branch that changes the ops, or a
/// number that no expression of the dims reproduces.
///
/// Tracing computes no values from the inputs: ops on them get shape-only placeholders
/// (`TraceRecorder.willApply`), so a trace costs the ops' bookkeeping, not their arithmetic.
public enum Tracer {
    /// Whether traced nodes record the Swift source line of the eager code that made them (for error
    /// messages and dumps): true unless the environment sets `TCOMPILE_SOURCE_LOCATIONS=0`.
    public static var recordsSourceLocations: Bool { SourceLocator.enabled }

    /// Starts reading what source locations need (the binary's line tables) in the background: call it
    /// before the work that precedes a trace, such as loading a checkpoint.
    public static func prepareSourceLocations() { SourceLocator.preload() }

    /// Traces `body` into a graph.
    /// - Parameters:
    ///   - inputs: example inputs by name (dtypes and value patterns; dynamic dims are resized).
    ///   - dynamicDims: which input dims vary, with their bounds.
    ///   - constants: named tensors (parameters, buffers) so that constants keep their names.
    ///   - body: the eager computation, returning its outputs in order.
    public static func trace(inputs: [(name: String, tensor: Tensor)], dynamicDims: [DynamicDim],
                             constants: [String: Tensor] = [:],
                             _ body: ([String: Tensor]) throws -> [(name: String, tensor: Tensor)]) throws -> Graph {
        let symbols = try symbolTable(inputs, dynamicDims)
        guard let points = SymbolicFit.design(symbols.map { ($0.name, $0.max) }) else {
            let small = symbols.first { $0.max < 2 }?.name ?? "?"
            throw GraphError(.trace, "dynamic dim '\(small)' needs an upper bound of at least 2 to be traced as dynamic")
        }
        var constantNames: [ObjectIdentifier: String] = [:]
        for (name, t) in constants { constantNames[ObjectIdentifier(t)] = name }
        var runs: [TraceRecorder] = []
        for (k, point) in points.enumerated() {
            let resized = withNoGrad { inputs.map { ($0.name, resize($0.tensor, $0.name, dynamicDims, point)) } }
            let recorder = TraceRecorder(inputs: resized, captureLocations: k == 0)
            let outputs = try withNoGrad { try OpObservation.observing(recorder) { try body(Dictionary(uniqueKeysWithValues: resized)) } }
            recorder.finish(outputs)
            if let error = recorder.errors.first { throw error }
            runs.append(recorder)
        }
        return try GraphAssembler(runs: runs, points: points, symbols: symbols, constantNames: constantNames).assemble()
    }

    /// The symbols with bounds, checking that the dynamic dims name real inputs and agree.
    static func symbolTable(_ inputs: [(name: String, tensor: Tensor)], _ dims: [DynamicDim]) throws -> [DimSymbol] {
        var table: [String: DimSymbol] = [:]
        var order: [String] = []
        for d in dims {
            guard let input = inputs.first(where: { $0.name == d.input }) else {
                throw GraphError(.trace, "dynamic dim '\(d.symbol)' names input '\(d.input)', which is not among the inputs \(inputs.map(\.name))")
            }
            guard d.dim >= 0 && d.dim < input.tensor.rank else {
                throw GraphError(.trace, "dynamic dim '\(d.symbol)': input '\(d.input)' has no dim \(d.dim) (shape \(input.tensor.shape))")
            }
            guard d.min >= 0 && d.max >= d.min else {
                throw GraphError(.trace, "dynamic dim '\(d.symbol)' has empty bounds \(d.min)...\(d.max)")
            }
            if let existing = table[d.symbol] {
                guard existing.max == d.max && existing.min == d.min else {
                    throw GraphError(.trace, "dynamic dim '\(d.symbol)' is given different bounds on different inputs")
                }
            } else {
                table[d.symbol] = DimSymbol(d.symbol, max: d.max, min: d.min)
                order.append(d.symbol)
            }
        }
        return order.map { table[$0]! }
    }

    /// `tensor` with each dynamic dim resized to the point's value, values repeated cyclically so
    /// ids stay valid ids and masks stay masks.
    static func resize(_ tensor: Tensor, _ name: String, _ dims: [DynamicDim], _ point: [String: Int]) -> Tensor {
        var t = tensor
        for d in dims where d.input == name {
            let size = point[d.symbol]!
            let old = t.shape[d.dim]
            guard old != size else { continue }
            if old == 0 {
                var shape = t.shape
                shape[d.dim] = size
                t = Executor.execute(.fill(0, shape: shape, dtype: t.dtype), [])
                continue
            }
            let index = Tensor((0..<size).map { $0 % old }, shape: [size])
            t = Executor.execute(.indexSelect(dim: d.dim), [t, index])
        }
        return Executor.execute(.contiguous, [t])
    }
}

/// One run of the traced code: the ops it applied, with operands resolved to earlier values,
/// inputs or constant tensors.
final class TraceRecorder: OpObserver, @unchecked Sendable {
    enum Operand: Equatable {
        case value(Int)
        case constant(Tensor)

        static func == (a: Operand, b: Operand) -> Bool {
            switch (a, b) {
            case (.value(let x), .value(let y)): x == y
            case (.constant(let x), .constant(let y)): x === y
            default: false
            }
        }
    }

    struct Record {
        var op: TensorOp
        var operands: [Operand]
        var dtype: DType
        var shape: [Int]
        var location: SourceLocation?
    }

    /// Input values first (as records with no op), then every op in order.
    private(set) var inputNames: [String] = []
    private(set) var inputTensors: [Tensor] = []
    private(set) var records: [Record] = []
    private(set) var outputs: [(name: String, operand: Operand)] = []
    private(set) var errors: [GraphError] = []
    private var ids: [ObjectIdentifier: Int] = [:]
    private var alive: [Tensor] = []
    private let captureLocations: Bool

    init(inputs: [(String, Tensor)], captureLocations: Bool) {
        self.captureLocations = captureLocations
        for (name, t) in inputs {
            inputNames.append(name)
            inputTensors.append(t)
            ids[ObjectIdentifier(t)] = -(inputNames.count)   // inputs are -1, -2, …
            alive.append(t)
        }
    }

    private func operand(_ t: Tensor) -> Operand {
        if let id = ids[ObjectIdentifier(t)] { return .value(id) }
        return .constant(t)
    }

    /// Shape-only tracing: an op that reads a value derived from the inputs gets a placeholder of the
    /// result's shape and dtype (`TypeInference`, the verifier's rules) instead of running its kernel.
    /// Nothing can read those values: reading one on the host is a trace error (`didRead`), and an op
    /// on constants alone still runs, since shapes and constant folding may depend on its values.
    /// When inference refuses the operands, the kernel runs and reports the mismatch as eager code does.
    func willApply(_ op: TensorOp, inputs: [Tensor]) -> Tensor? {
        guard inputs.contains(where: { ids[ObjectIdentifier($0)] != nil }),
              let type = try? TypeInference.infer(.op(op), inputs.map { TensorType($0.dtype, $0.shape.map { SymbolicInt($0) }) })
        else { return nil }
        let shape = type.shape.compactMap(\.constant)
        guard shape.count == type.shape.count else { return nil }
        var bytes = type.dtype.byteSize
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else { return nil }
            bytes = product
        }
        return Tensor(storage: Storage(uninitializedByteCount: Swift.max(bytes, 1)), shape: shape, dtype: type.dtype)
    }

    func didApply(_ op: TensorOp, inputs: [Tensor], output: Tensor) {
        records.append(Record(op: op, operands: inputs.map(operand), dtype: output.dtype, shape: output.shape,
                              location: captureLocations ? SourceLocator.current() : nil))
        ids[ObjectIdentifier(output)] = records.count - 1
        alive.append(output)
    }

    func didRead(_ tensor: Tensor) {
        guard ids[ObjectIdentifier(tensor)] != nil else { return }  // constants may be read freely
        errors.append(GraphError(.trace, "the traced code reads a tensor's values on the host (item(), toFloatArray(), …); the graph would bake them in. Keep the computation in tensor ops (e.g. Tensor.where instead of an if on a value)",
                                 at: SourceLocator.current()))
    }

    func finish(_ outputs: [(name: String, tensor: Tensor)]) {
        self.outputs = outputs.map { ($0.name, operand($0.tensor)) }
    }
}

/// Turns several aligned trace runs into one symbolic graph.
struct GraphAssembler {
    let runs: [TraceRecorder]
    let points: [[String: Int]]
    let symbols: [DimSymbol]
    let constantNames: [ObjectIdentifier: String]

    func fit(_ values: [Int], what: @autoclosure () -> String, at location: SourceLocation?) throws -> SymbolicInt {
        if let first = values.first, values.allSatisfy({ $0 == first }) { return SymbolicInt(first) }
        guard let f = SymbolicFit.fit(Array(zip(points, values)), symbols: symbols.map(\.name)) else {
            let samples = zip(points, values).map { p, v in "\(p.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))→\(v)" }
            throw GraphError(.trace, "\(what()) depends on the dynamic dims in a way the graph cannot express (\(samples.prefix(4).joined(separator: "; ")) …); compute it with tensor ops or -1 in reshape", at: location)
        }
        return f
    }

    func assemble() throws -> Graph {
        let base = runs[0]
        // The same ops on the same operands in every run.
        for (k, run) in runs.enumerated().dropFirst() {
            guard run.records.count == base.records.count else {
                let common = Swift.min(base.records.count, run.records.count)
                let firstDiff = (0..<common).first { shapeless(base.records[$0].op) != shapeless(run.records[$0].op) } ?? common
                let loc = firstDiff < base.records.count ? base.records[firstDiff].location : nil
                throw GraphError(.trace, "the traced code runs \(base.records.count) ops at \(describe(points[0])) but \(run.records.count) at \(describe(points[k])): its control flow depends on a dynamic dim", at: loc)
            }
            for (j, (a, b)) in zip(base.records, run.records).enumerated() {
                guard shapeless(a.op) == shapeless(b.op), a.dtype == b.dtype, a.shape.count == b.shape.count, a.operands.count == b.operands.count else {
                    throw GraphError(.trace, "op \(j) is \(a.op.name) at \(describe(points[0])) but \(b.op.name) with other attributes at \(describe(points[k])): the traced code depends on a dynamic dim in a way the graph cannot express (e.g. a scalar computed from a dim)", at: a.location)
                }
                for (x, y) in zip(a.operands, b.operands) {
                    switch (x, y) {
                    case (.value(let i), .value(let i2)) where i == i2: continue
                    case (.constant(let s), .constant(let t)) where s === t || sameContents(s, t): continue
                    case (.constant, .constant):
                        throw GraphError(.trace, "\(a.op.name) reads a tensor that was not made by tensor ops from the inputs and differs between runs (built from Swift values or random numbers that depend on the dims, or dropout in training mode); make it with tensor ops or switch to eval mode", at: a.location)
                    default:
                        throw GraphError(.trace, "\(a.op.name) takes different operands at different dims", at: a.location)
                    }
                }
            }
        }

        var graph = Graph(symbols: symbols)
        var valueOf: [Int: ValueID] = [:]      // run value id → graph value
        var constantValue: [ObjectIdentifier: ValueID] = [:]
        var usedNames = Set<String>()
        for (i, name) in base.inputNames.enumerated() {
            let dims = try (0..<base.inputTensors[i].rank).map { d in
                try fit(runs.map { $0.inputTensors[i].shape[d] }, what: "input '\(name)' dim \(d)", at: nil)
            }
            let id = graph.nextID
            graph.nodes.append(.init(id: id, op: .input(name), inputs: [], type: TensorType(base.inputTensors[i].dtype, dims)))
            valueOf[-(i + 1)] = id
        }
        func resolve(_ operand: TraceRecorder.Operand) -> ValueID {
            switch operand {
            case .value(let v): return valueOf[v]!
            case .constant(let t):
                if let id = constantValue[ObjectIdentifier(t)] { return id }
                var name = constantNames[ObjectIdentifier(t)] ?? "const.\(graph.constants.count)"
                while usedNames.contains(name) { name += "_" }
                usedNames.insert(name)
                let stored = t.isContiguous ? t : t.contiguous()
                graph.constants[name] = stored
                let id = graph.nextID
                graph.nodes.append(.init(id: id, op: .constant(name), inputs: [], type: TensorType(t.dtype, t.shape.map { SymbolicInt($0) })))
                constantValue[ObjectIdentifier(t)] = id
                return id
            }
        }
        for (j, record) in base.records.enumerated() {
            let operands = record.operands.map(resolve)
            let ints = try record.op.intSlots.indices.map { s in
                try fit(runs.map { $0.records[j].op.intSlots[s] }, what: "attribute \(s) of \(record.op.name)", at: record.location)
            }
            // Constant slots keep their value; symbolic ones hold 0 until a run binds them.
            let op = record.op.replacingIntSlots(ints.map { $0.constant ?? 0 })
            let shape = try record.shape.indices.map { d in
                try fit(runs.map { $0.records[j].shape[d] }, what: "dim \(d) of the result of \(record.op.name)", at: record.location)
            }
            let id = graph.nextID
            graph.nodes.append(.init(id: id, op: .primitive(op, ints: ints), inputs: operands,
                                     type: TensorType(record.dtype, shape), location: record.location))
            valueOf[j] = id
        }
        for output in base.outputs {
            graph.outputs.append(.init(name: output.name, value: resolve(output.operand)))
        }
        do { try Verifier.verify(graph) } catch let e as GraphError {
            throw GraphError(.trace, "the traced graph does not verify: \(e.message)", at: e.location)
        }
        return graph
    }

    /// The op with its dim-dependent attributes zeroed, for comparing runs.
    func shapeless(_ op: TensorOp) -> TensorOp { op.replacingIntSlots(op.intSlots.map { _ in 0 }) }

    func describe(_ point: [String: Int]) -> String {
        point.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    func sameContents(_ a: Tensor, _ b: Tensor) -> Bool {
        a.dtype == b.dtype && a.shape == b.shape && withNoGrad { a.toFloatArray() == b.toFloatArray() }
    }
}
