/// Checks a graph's invariants: SSA order, defined operands, constant references, types that match
/// the type rules, valid outputs. Passes run it after every rewrite in debug builds.
public enum Verifier {
    /// Throws the first violation, naming the node (`%12 = matmul`) and its source line.
    public static func verify(_ graph: Graph) throws {
        var seenSymbols = Set<String>()
        for s in graph.symbols where !seenSymbols.insert(s.name).inserted {
            throw GraphError(.verification, "dim '\(s.name)' is declared twice")
        }
        for s in graph.symbols where s.min < 0 || s.max < s.min {
            throw GraphError(.verification, "dim '\(s.name)' has empty bounds \(s.min)...\(s.max)")
        }
        var defined: [ValueID: TensorType] = [:]
        var inputNames = Set<String>()
        let symbolNames = Set(graph.symbols.map(\.name))
        for node in graph.nodes {
            func fail(_ message: String) -> GraphError {
                GraphError(.verification, "%\(node.id) = \(node.op.name): \(message)", at: node.location)
            }
            guard defined[node.id] == nil else { throw fail("value %\(node.id) is defined twice") }
            for s in node.type.shape.flatMap(\.symbols) where !symbolNames.contains(s) {
                throw fail("type \(node.type) uses undeclared dim '\(s)'")
            }
            var operandTypes: [TensorType] = []
            for input in node.inputs {
                guard let t = defined[input] else {
                    throw fail("operand %\(input) is not defined before use")
                }
                operandTypes.append(t)
            }
            switch node.op {
            case .input(let name):
                guard node.inputs.isEmpty else { throw fail("an input takes no operands") }
                guard inputNames.insert(name).inserted else { throw fail("input '\(name)' is declared twice") }
                let bounds = Dictionary(graph.symbols.map { ($0.name, $0.min...$0.max) }, uniquingKeysWith: { a, _ in a })
                for (i, d) in node.type.shape.enumerated() {
                    guard let r = d.range(over: bounds), r.lowerBound >= 0 else {
                        throw fail("input '\(name)' dim \(i) = \(d) can be negative within the dims' bounds")
                    }
                }
            case .constant(let name):
                guard node.inputs.isEmpty else { throw fail("a constant takes no operands") }
                guard let tensor = graph.constants[name] else { throw fail("constant '\(name)' has no tensor") }
                guard tensor.dtype == node.type.dtype, tensor.shape.map { SymbolicInt($0) } == node.type.shape else {
                    throw fail("constant '\(name)' holds \(tensor.dtype.shortName)\(tensor.shape) but is typed \(node.type)")
                }
            case .primitive, .fused:
                let inferred: TensorType
                do { inferred = try TypeInference.infer(node.op, operandTypes) } catch let e as GraphError {
                    throw fail(e.message)
                }
                guard inferred == node.type else { throw fail("declared type \(node.type) differs from inferred \(inferred)") }
                do { try TypeInference.checkBounds(node.op, operandTypes, result: inferred, symbols: graph.symbols) } catch let e as GraphError {
                    throw fail(e.message)
                }
            }
            defined[node.id] = node.type
        }
        var outputNames = Set<String>()
        for output in graph.outputs {
            guard defined[output.value] != nil else {
                throw GraphError(.verification, "output '\(output.name)' refers to undefined value %\(output.value)")
            }
            guard outputNames.insert(output.name).inserted else {
                throw GraphError(.verification, "output '\(output.name)' is declared twice")
            }
        }
    }
}
