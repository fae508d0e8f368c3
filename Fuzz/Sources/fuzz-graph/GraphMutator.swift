import TCompile

/// Applies a program of mutations, read from fuzz bytes, to a graph: each mutation is four bytes
/// `kind a b c` and changes one thing a model.json author controls — an attribute value, an op's kind,
/// a result dim or its rank, a dtype, a symbol's bounds or name, an operand, an output, the order of
/// nodes. Values come from small pools of interesting ones (bounds ± 1, negative, huge, other dims'
/// expressions), so that a few mutations reach the verifier's bounds proofs rather than the parser.
struct GraphMutator {
    var graph: Graph
    /// Mutations that could not be applied (an op rebuilt from wrong attributes): the reader would
    /// refuse them as text already, so they are skipped, not counted as findings.
    var skipped = 0

    /// Integer and expression values an attribute, a dim or a bound may take.
    var interestingInts: [SymbolicInt] {
        let names = graph.symbols.map(\.name)
        var pool: [SymbolicInt] = [SymbolicInt(-(1 << 40)), SymbolicInt(-16), SymbolicInt(-5), SymbolicInt(-2), SymbolicInt(-1), 0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 16, 17, 31, 32, 33,
                                   SymbolicInt(Int(Int32.max)), SymbolicInt(1 << 47)]
        for n in names {
            let s = SymbolicInt(symbol: n)
            pool += [s, s + 1, s - 1, s * 2, s * s, SymbolicInt(0) - s, s - 16, s + 16]
        }
        if names.count >= 2 { pool.append(SymbolicInt(symbol: names[0]) * SymbolicInt(symbol: names[1])) }
        return pool
    }

    static let interestingDoubles: [Double] = [0, -0.0, 1, -1, 0.5, 1e-12, 1e30, -1e30, .nan, .infinity, -.infinity]
    static let dtypes: [DType] = [.float32, .int32, .int64, .bool]
    static let strings = ["input_ids", "attention_mask", "embedding", "projection", "table", "positions", "", "missing",
                          "bhsd", "bshd", "none", "gelu", "relu", "x0 + x1", "x0 * 2", "*/ #error"]

    /// Every op name the IR knows: unary, binary and scalar forms, reductions, layout, creation, fused.
    static let opNames: [String] = UnaryOp.allCases.map(\.rawValue) + BinaryOp.allCases.map(\.rawValue)
        + BinaryOp.allCases.map { $0.rawValue + "_scalar" } + ReduceOp.allCases.map(\.rawValue)
        + ["softmax", "log_softmax", "matmul", "attention", "layer_norm", "reshape", "permute", "expand", "slice",
           "concat", "index_select", "gather", "where", "cast", "contiguous", "fill", "arange", "input", "constant",
           "fused_attention", "fused_linear", "fused_layer_norm", "fused_elementwise"]

    mutating func apply(_ program: ArraySlice<UInt8>) {
        var bytes = program
        while bytes.count >= 4 {
            let m = Array(bytes.prefix(4))
            bytes = bytes.dropFirst(4)
            mutate(kind: Int(m[0]), Int(m[1]), Int(m[2]), Int(m[3]))
        }
    }

    private mutating func mutate(kind: Int, _ a: Int, _ b: Int, _ c: Int) {
        guard !graph.nodes.isEmpty else { return }
        let n = a % graph.nodes.count
        let ints = interestingInts
        switch kind % 10 {
        case 0, 1:   // an attribute's value
            var attributes = graph.nodes[n].op.attributes
            guard !attributes.isEmpty else { skipped += 1; return }
            let k = b % attributes.count
            attributes[k].1 = mutated(attributes[k].1, b >> 4, c, ints)
            rebuild(n, name: graph.nodes[n].op.name, attributes)
        case 2:      // the op's kind, attributes kept
            rebuild(n, name: Self.opNames[(b << 8 | c) % Self.opNames.count], graph.nodes[n].op.attributes)
        case 3:      // one dim of the result type, or its rank
            var shape = graph.nodes[n].type.shape
            switch b % 4 {
            case 0 where !shape.isEmpty: shape.remove(at: c % shape.count)
            case 1: shape.insert(ints[c % ints.count], at: shape.isEmpty ? 0 : c % (shape.count + 1))
            default: if !shape.isEmpty { shape[b % shape.count] = ints[c % ints.count] }
            }
            graph.nodes[n].type.shape = shape
        case 4:      // the result dtype
            graph.nodes[n].type.dtype = Self.dtypes[b % Self.dtypes.count]
        case 5:      // a symbol's bounds
            guard !graph.symbols.isEmpty else { return }
            let s = b % graph.symbols.count
            let values = [-1, 0, 1, 2, 3, 4, 5, 15, 16, 17, 32, 33, 64, 1 << 20, Int(Int32.max), Int(Int32.max) + 1]
            if b & 0x80 == 0 { graph.symbols[s].min = values[c % values.count] } else { graph.symbols[s].max = values[c % values.count] }
        case 6:      // a symbol's name: another's (declared twice), a new one, or gone
            guard !graph.symbols.isEmpty else { return }
            let s = b % graph.symbols.count
            switch c % 4 {
            case 0: graph.symbols[s].name = graph.symbols[(s + 1) % graph.symbols.count].name
            case 1: graph.symbols[s].name = "extra"
            case 2: graph.symbols.remove(at: s)
            default: graph.symbols.append(DimSymbol("extra", max: 1 + c % 8, min: c % 2))
            }
        case 7:      // an operand: another value, an undefined one, one more or one fewer
            var inputs = graph.nodes[n].inputs
            let ids = graph.nodes.map(\.id)
            switch b % 4 {
            case 0 where !inputs.isEmpty: inputs.remove(at: c % inputs.count)
            case 1: inputs.append(ids[c % ids.count])
            case 2 where !inputs.isEmpty: inputs[b % inputs.count] = c & 1 == 0 ? ids[c % ids.count] : graph.nextID + c % 3 - 1
            default: if !inputs.isEmpty { inputs[c % inputs.count] = ids[(b + c) % ids.count] }
            }
            graph.nodes[n].inputs = inputs
        case 8:      // an output: another value, a duplicate name, removed
            guard !graph.outputs.isEmpty else { return }
            let o = b % graph.outputs.count
            switch c % 4 {
            case 0: graph.outputs[o].value = graph.nodes[n].id
            case 1: graph.outputs[o].name = graph.outputs[(o + 1) % graph.outputs.count].name
            case 2: graph.outputs.remove(at: o)
            default: graph.outputs.append(.init(name: "extra", value: graph.nodes[n].id))
            }
        default:     // node order: two nodes swapped, or one removed
            if b & 1 == 0 { graph.nodes.swapAt(n, c % graph.nodes.count) } else { graph.nodes.remove(at: n) }
        }
    }

    private func mutated(_ value: AttributeValue, _ b: Int, _ c: Int, _ ints: [SymbolicInt]) -> AttributeValue {
        switch value {
        case .int: return .int(ints[c % ints.count])
        case .list(var list):
            switch b % 4 {
            case 0 where !list.isEmpty: list.remove(at: c % list.count)
            case 1: list.append(ints[c % ints.count])
            default: if list.isEmpty { list = [ints[c % ints.count]] } else { list[b % list.count] = ints[c % ints.count] }
            }
            return .list(list)
        case .double: return .double(Self.interestingDoubles[c % Self.interestingDoubles.count])
        case .bool(let v): return .bool(!v)
        case .dtype: return .dtype(Self.dtypes[c % Self.dtypes.count])
        case .string: return .string(Self.strings[c % Self.strings.count])
        }
    }

    private mutating func rebuild(_ n: Int, name: String, _ attributes: [(String, AttributeValue)]) {
        let table = Dictionary(attributes, uniquingKeysWith: { a, _ in a })
        if let op = try? GraphOp.make(name: name, attributes: table) { graph.nodes[n].op = op } else { skipped += 1 }
    }
}
