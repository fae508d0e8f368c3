import Foundation

/// What a reduced precision cost, measured when compiling: the model compiled at that precision
/// against the f32 graph (the interpreter) on sample inputs, per output. So nobody ships a silently
/// broken model: `tcompile --precision bf16` prints it in the compile summary.
public struct PrecisionReport: Sendable {
    /// One output's agreement with f32, worst over the samples.
    public struct Output: Sendable {
        public var name: String
        /// Largest |compiled − f32| over every element of every sample.
        public var maxAbsError: Double
        /// Largest |f32| (for scale).
        public var maxAbsReference: Double
        /// Smallest cosine similarity of the flattened output with f32's, over the samples.
        public var cosine: Double
    }

    /// The precision measured.
    public var precision: Precision
    /// The dim values the samples were made at.
    public var dims: [String: Int]
    /// How many samples were run.
    public var samples: Int
    public var outputs: [Output]
    /// Where the samples came from, as the summary says it ("random ids within the tables", or the
    /// calibration files).
    public var source: String = "random ids within the tables"

    /// Sample dims: each dim at its upper bound, at most `cap` (the interpreter runs the f32 side).
    public static func sampleDims(_ graph: Graph, cap: Int = 128) -> [String: Int] {
        Dictionary(graph.symbols.map { ($0.name, Swift.max($0.min, Swift.min($0.max, cap))) }, uniquingKeysWith: { a, _ in a })
    }

    /// Inputs for `graph` at `dims`: an integer input that selects rows of a constant table
    /// (`index_select` on an embedding, through views and casts) gets uniform random ids within that
    /// table; other integer and bool inputs (attention masks) ones; float inputs standard normal values.
    public static func sampleInputs(for graph: Graph, dims: [String: Int], seed: UInt64) throws -> [String: Tensor] {
        var inputs = try TCompile.sampleInputs(for: graph, dims: dims, seed: seed)
        for (name, rows) in indexBounds(graph) {
            guard let t = inputs[name], rows > 0 else { continue }
            inputs[name] = Tensor.randint(0, rows, shape: t.shape, seed: seed &+ UInt64(name.utf8.count)).cast(to: t.dtype)
        }
        return inputs
    }

    /// For each integer input used as the index of an `index_select` on a constant table: the table's
    /// row count (the smallest, if it selects from several).
    static func indexBounds(_ graph: Graph) -> [String: Int] {
        let nodes = Dictionary(graph.nodes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        /// The node `id` stands for through views and casts.
        func source(_ id: ValueID) -> Graph.Node? {
            var current = nodes[id]
            while let node = current, case .primitive(let op, _) = node.op {
                switch op {
                case .reshape, .expand, .permute, .contiguous, .cast, .slice: current = nodes[node.inputs[0]]
                default: return node
                }
            }
            return current
        }
        var bounds: [String: Int] = [:]
        for node in graph.nodes {
            guard case .primitive(.indexSelect(let dim), _) = node.op, node.inputs.count == 2,
                  let table = source(node.inputs[0]), case .constant = table.op,
                  let index = source(node.inputs[1]), case .input(let name) = index.op,
                  dim < table.type.shape.count, let rows = table.type.shape[dim].constant else { continue }
            bounds[name] = Swift.min(bounds[name] ?? rows, rows)
        }
        return bounds
    }

    /// Runs `compiled` (the graph compiled at `precision`) and the interpreter on `reference` (the
    /// f32 graph) on `samples` sets of sample inputs at `dims`.
    public static func measure(reference: Graph, compiled: CompiledModel, precision: Precision, dims: [String: Int],
                               samples: Int = 2) throws -> PrecisionReport {
        let inputs = try (0..<UInt64(Swift.max(1, samples))).map { try sampleInputs(for: reference, dims: dims, seed: $0) }
        return try measure(reference: reference, compiled: compiled, precision: precision, on: inputs, dims: dims)
    }

    /// Runs `compiled` and the interpreter on `reference` on each of `inputs` (the calibration set);
    /// `dims` and `source` are what the summary says of them.
    public static func measure(reference: Graph, compiled: CompiledModel, precision: Precision, on inputs: [[String: Tensor]],
                               dims: [String: Int] = [:], source: String = "random ids within the tables") throws -> PrecisionReport {
        let interpreter = Interpreter(graph: reference)
        var outputs: [String: Output] = [:]
        for inputs in inputs {
            let expected = try interpreter.run(inputs)
            let actual = try compiled(inputs)
            for output in reference.outputs {
                guard let e = expected[output.name], let a = actual[output.name], e.dtype == .float32, a.dtype == .float32 else { continue }
                let x = a.contiguous().toFloatArray(), y = e.contiguous().toFloatArray()
                var dot = 0.0, nx = 0.0, ny = 0.0, worst = 0.0, scale = 0.0
                for (p, q) in zip(x, y) {
                    let (u, v) = (Double(p), Double(q))
                    dot += u * v; nx += u * u; ny += v * v
                    worst = Swift.max(worst, Swift.abs(u - v).isNaN ? .infinity : Swift.abs(u - v))
                    scale = Swift.max(scale, Swift.abs(v))
                }
                let cosine = nx == 0 && ny == 0 ? 1 : dot / Swift.max(1e-300, (nx * ny).squareRoot())
                let previous = outputs[output.name]
                outputs[output.name] = Output(name: output.name, maxAbsError: Swift.max(previous?.maxAbsError ?? 0, worst),
                                              maxAbsReference: Swift.max(previous?.maxAbsReference ?? 0, scale),
                                              cosine: Swift.min(previous?.cosine ?? 1, cosine))
            }
        }
        return PrecisionReport(precision: precision, dims: dims, samples: inputs.count,
                               outputs: reference.outputs.compactMap { outputs[$0.name] }, source: source)
    }

    /// `accuracy at bf16 against the f32 graph (2 samples, random ids within the tables, batch=8, seq=128):`
    /// then one line per output.
    public var summary: String {
        let at = dims.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        var lines = ["accuracy at \(precision) against the f32 graph (\(samples) sample input\(samples == 1 ? "" : "s"), \(source)\(at.isEmpty ? "" : ", " + at)):"]
        for o in outputs {
            lines.append(String(format: "  %@: max abs error %.3g (largest |f32| value %.3g), cosine %.6f", o.name, o.maxAbsError, o.maxAbsReference, o.cosine))
        }
        return lines.joined(separator: "\n")
    }
}
