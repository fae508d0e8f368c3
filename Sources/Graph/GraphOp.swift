import Tensors

/// An operation in the graph IR.
///
/// `primitive` wraps the very `TensorOp` the eager code ran, with its shape-like integer attributes
/// (`TensorOp.intSlots`) generalized to symbolic expressions, so one graph serves every dim value.
public enum GraphOp: Hashable, Sendable {
    /// A graph input, by name (`input_ids`).
    case input(String)
    /// A constant tensor stored with the graph, by name (`encoder.layer.0.output.dense.weight`).
    case constant(String)
    /// An eager tensor op; `ints` replace its `intSlots`.
    case primitive(TensorOp, ints: [SymbolicInt])
    /// An op the optimizer fused from several primitives (see `FusedOp`).
    case fused(FusedOp)

    /// A primitive with no dynamic attributes.
    public static func op(_ op: TensorOp) -> GraphOp { .primitive(op, ints: op.intSlots.map { SymbolicInt($0) }) }

    /// The op's name in the text form and in errors.
    public var name: String {
        switch self {
        case .input: "input"
        case .constant: "constant"
        case .primitive(let op, _): op.name
        case .fused(let f): f.name
        }
    }

    /// The concrete eager op for a run with `bindings` for the dynamic dims.
    public func concrete(_ bindings: [String: Int]) throws -> TensorOp {
        guard case .primitive(let op, let ints) = self else {
            throw GraphError(.interpreter, "\(name) has no eager op")
        }
        if ints.isEmpty { return op }
        var values: [Int] = []
        for e in ints {
            guard let v = e.evaluate(bindings) else {
                throw GraphError(.interpreter, "\(name): attribute \(e) uses an unbound dim")
            }
            values.append(v)
        }
        return op.replacingIntSlots(values)
    }
}

/// An attribute value in the text and JSON forms of the IR.
public enum AttributeValue: Hashable, Sendable, CustomStringConvertible {
    case int(SymbolicInt)
    case double(Double)
    case bool(Bool)
    case list([SymbolicInt])
    case dtype(DType)
    case string(String)

    public var description: String {
        switch self {
        case .int(let v): v.description
        case .double(let d): d.isNaN ? "nan" : d.isInfinite ? (d > 0 ? "inf" : "-inf") : "\(d)"
        case .bool(let b): b ? "true" : "false"
        case .list(let l): "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .dtype(let d): d.shortName
        case .string(let s): "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
    }
}

extension GraphOp {
    /// The op's attributes, in a fixed order, as the text and JSON forms spell them.
    public var attributes: [(String, AttributeValue)] {
        let op: TensorOp, syms: [SymbolicInt]
        switch self {
        case .input(let n), .constant(let n): return [("name", .string(n))]
        case .fused(let f): return f.attributes
        case .primitive(let o, let ints): op = o; syms = ints
        }
        switch op {
        case .unary, .binary, .matmul, .attention, .select, .contiguous:
            return []
        case .binaryScalar(_, let s, let first):
            return [("scalar", .double(s)), ("scalar_first", .bool(first))]
        case .reduce(_, let dims, let keep):
            return [("dims", .list(dims.map { SymbolicInt($0) })), ("keep_dim", .bool(keep))]
        case .softmax(let dim), .logSoftmax(let dim), .concat(let dim), .indexSelect(let dim), .gather(let dim):
            return [("dim", .int(SymbolicInt(dim)))]
        case .layerNorm(let rank, let eps, let affine):
            return [("normalized_rank", .int(SymbolicInt(rank))), ("eps", .double(eps)), ("affine", .bool(affine))]
        case .reshape, .expand:
            return [("shape", .list(syms))]
        case .permute(let perm):
            return [("perm", .list(perm.map { SymbolicInt($0) }))]
        case .slice(let dim, _, _, let step):
            return [("dim", .int(SymbolicInt(dim))), ("start", .int(syms[0])), ("end", .int(syms[1])), ("step", .int(SymbolicInt(step)))]
        case .cast(let d):
            return [("dtype", .dtype(d))]
        case .fill(let v, _, let d):
            return [("value", .double(v)), ("shape", .list(syms)), ("dtype", .dtype(d))]
        case .arange(_, _, let step, let d):
            return [("start", .int(syms[0])), ("end", .int(syms[1])), ("step", .int(SymbolicInt(step))), ("dtype", .dtype(d))]
        }
    }

    /// Builds an op from its name and attributes (the inverse of `name` and `attributes`); the error
    /// names the op and the missing or ill-typed field.
    public static func make(name: String, attributes: [String: AttributeValue]) throws -> GraphOp {
        var used = Set<String>()
        func value(_ key: String) throws -> AttributeValue {
            guard let v = attributes[key] else { throw GraphError(.parse, "\(name): missing attribute '\(key)'") }
            used.insert(key)
            return v
        }
        func int(_ key: String) throws -> Int {
            guard case .int(let v) = try value(key), let c = v.constant else {
                throw GraphError(.parse, "\(name): attribute '\(key)' must be an integer")
            }
            return c
        }
        func sym(_ key: String) throws -> SymbolicInt {
            guard case .int(let v) = try value(key) else { throw GraphError(.parse, "\(name): attribute '\(key)' must be an integer expression") }
            return v
        }
        func syms(_ key: String) throws -> [SymbolicInt] {
            guard case .list(let l) = try value(key) else { throw GraphError(.parse, "\(name): attribute '\(key)' must be a list") }
            return l
        }
        func ints(_ key: String) throws -> [Int] {
            let l = try syms(key)
            guard l.allSatisfy({ $0.constant != nil }) else { throw GraphError(.parse, "\(name): attribute '\(key)' must list integers") }
            return l.map { $0.constant! }
        }
        func double(_ key: String) throws -> Double {
            switch try value(key) {
            case .double(let d): return d
            case .int(let v) where v.constant != nil: return Double(v.constant!)
            default: throw GraphError(.parse, "\(name): attribute '\(key)' must be a number")
            }
        }
        func bool(_ key: String) throws -> Bool {
            guard case .bool(let b) = try value(key) else { throw GraphError(.parse, "\(name): attribute '\(key)' must be true or false") }
            return b
        }
        func dtype(_ key: String) throws -> DType {
            guard case .dtype(let d) = try value(key) else { throw GraphError(.parse, "\(name): attribute '\(key)' must be a dtype (f32, i32, i64, bool)") }
            return d
        }
        func string(_ key: String) throws -> String {
            guard case .string(let s) = try value(key) else { throw GraphError(.parse, "\(name): attribute '\(key)' must be a string") }
            return s
        }
        let op: GraphOp
        if name == "input" { op = .input(try string("name")) }
        else if name == "constant" { op = .constant(try string("name")) }
        else if FusedOp.isFusedName(name) {
            op = .fused(try FusedOp.make(name: name, has: { attributes[$0] != nil }, int: int, double: double, bool: bool, string: string))
        }
        else if let u = UnaryOp(rawValue: name) { op = .op(.unary(u)) }
        else if let b = BinaryOp(rawValue: name) { op = .op(.binary(b)) }
        else if name.hasSuffix("_scalar"), let b = BinaryOp(rawValue: String(name.dropLast(7))) {
            op = .op(.binaryScalar(b, scalar: try double("scalar"), scalarFirst: try bool("scalar_first")))
        } else if let r = ReduceOp(rawValue: name) {
            op = .op(.reduce(r, dims: try ints("dims"), keepDim: try bool("keep_dim")))
        } else {
            switch name {
            case "softmax": op = .op(.softmax(dim: try int("dim")))
            case "log_softmax": op = .op(.logSoftmax(dim: try int("dim")))
            case "matmul": op = .op(.matmul)
            case "attention": op = .op(.attention)
            case "layer_norm": op = .op(.layerNorm(normalizedRank: try int("normalized_rank"), eps: try double("eps"), affine: try bool("affine")))
            case "reshape":
                let s = try syms("shape")
                op = .primitive(.reshape(s.map { $0.constant ?? 0 }), ints: s)
            case "expand":
                let s = try syms("shape")
                op = .primitive(.expand(s.map { $0.constant ?? 0 }), ints: s)
            case "permute": op = .op(.permute(try ints("perm")))
            case "slice":
                let start = try sym("start"), end = try sym("end")
                op = .primitive(.slice(dim: try int("dim"), start: start.constant ?? 0, end: end.constant ?? 0, step: try int("step")),
                                ints: [start, end])
            case "concat": op = .op(.concat(dim: try int("dim")))
            case "index_select": op = .op(.indexSelect(dim: try int("dim")))
            case "gather": op = .op(.gather(dim: try int("dim")))
            case "where": op = .op(.select)
            case "cast": op = .op(.cast(try dtype("dtype")))
            case "contiguous": op = .op(.contiguous)
            case "fill":
                let s = try syms("shape")
                op = .primitive(.fill(try double("value"), shape: s.map { $0.constant ?? 0 }, dtype: try dtype("dtype")), ints: s)
            case "arange":
                let start = try sym("start"), end = try sym("end")
                op = .primitive(.arange(start: start.constant ?? 0, end: end.constant ?? 0, step: try int("step"), dtype: try dtype("dtype")),
                                ints: [start, end])
            default:
                throw GraphError(.parse, "unknown op '\(name)'")
            }
        }
        if let extra = Set(attributes.keys).subtracting(used).sorted().first {
            throw GraphError(.parse, "\(name): unknown attribute '\(extra)'")
        }
        return op
    }
}

extension GraphOp {
    /// Whether the node computes something (a primitive or fused op), rather than naming an input or
    /// a constant.
    public var computes: Bool {
        switch self {
        case .input, .constant: false
        case .primitive, .fused: true
        }
    }
}
