import Foundation

/// Static int8 quantization (`tcompile --precision int8 --calibrate FILE`): the f32 graph runs on
/// calibration inputs, and every linear layer whose weight is stored as int8 panels records the range
/// of its input over them (`FusedOp.linear`'s `inputRange`), which the int8 kernel then quantizes
/// with one scale instead of measuring each row (dynamic quantization, the default).
///
/// A calibration file is a safetensors file holding one run's inputs by the graph's input names
/// (`input_ids`, `attention_mask`, …), each within the graph's dim bounds: the inputs of one call,
/// e.g. a batch of representative sentences. Several files are several calls.
public enum Calibration {
    /// Reads and checks the calibration files against `graph`'s inputs: every input present, of the
    /// input's dtype (integers may be any integer type) and rank, each static dim equal, each dynamic
    /// dim within its bounds and the same wherever its symbol appears; each mismatch is an error
    /// naming the file, the tensor and the dim.
    public static func samples(files: [String], for graph: Graph) throws -> [[String: Tensor]] {
        try files.map { path in
            func fail(_ message: String) -> GraphError { GraphError(.parse, "calibration file \(path): \(message)") }
            guard FileManager.default.fileExists(atPath: path) else { throw fail("no such file") }
            let file = try SafeTensorsFile(path: path)
            var bindings: [String: (value: Int, tensor: String)] = [:]
            var inputs: [String: Tensor] = [:]
            for node in graph.inputNodes {
                guard case .input(let name) = node.op else { continue }
                guard file.names.contains(name) else {
                    throw fail("has no tensor '\(name)' (the graph's inputs: \(graph.inputNodes.compactMap { if case .input(let n) = $0.op { n } else { nil } }.joined(separator: ", ")); the file holds \(file.names.joined(separator: ", ")))")
                }
                let expected = node.type
                var tensor = try file.tensor(name)
                if tensor.dtype != expected.dtype {
                    guard tensor.dtype.isInteger && expected.dtype.isInteger else {
                        throw fail("'\(name)' is \(tensor.dtype), the graph's input is \(expected.dtype)")
                    }
                    tensor = try file.tensor(name, as: expected.dtype)
                }
                guard tensor.shape.count == expected.shape.count else {
                    throw fail("'\(name)' has shape \(tensor.shape), the graph's input is \(expected) (rank \(expected.shape.count))")
                }
                for (d, dim) in expected.shape.enumerated() {
                    let size = tensor.shape[d]
                    if let constant = dim.constant {
                        guard size == constant else { throw fail("'\(name)' dim \(d) is \(size), the graph's input has \(constant) there (\(expected))") }
                    } else if let symbol = dim.singleSymbol, let bound = graph.symbols.first(where: { $0.name == symbol }) {
                        guard (bound.min...bound.max).contains(size) else {
                            throw fail("'\(name)' dim \(d) ('\(symbol)') is \(size), outside the compiled bounds \(bound.min)...\(bound.max)")
                        }
                        if let seen = bindings[symbol], seen.value != size {
                            throw fail("'\(name)' dim \(d) ('\(symbol)') is \(size), but '\(seen.tensor)' has \(symbol) = \(seen.value)")
                        }
                        bindings[symbol] = (size, name)
                    }
                }
                inputs[name] = tensor
            }
            return inputs
        }
    }

    /// `graph` (optimized for int8) with every int8 linear layer's input range over `samples` (the
    /// f32 interpreter on the graph's own f32 weights), widened to hold 0; the number of layers
    /// calibrated is `layers` in the result. A graph with no int8 layer is an error.
    public static func apply(_ samples: [[String: Tensor]], to graph: Graph) throws -> (graph: Graph, layers: Int) {
        guard !samples.isEmpty else { throw GraphError(.parse, "--calibrate: no calibration file") }
        var observed = graph
        var linears: [Int] = []
        for (i, node) in graph.nodes.enumerated() {
            guard case .fused(.linear) = node.op, let w = graph.node(node.inputs[1]), case .constant(let name) = w.op,
                  PanelLayout.format(ofConstant: name) == .int8 else { continue }
            observed.outputs.append(Graph.Output(name: "calibration.\(linears.count)", value: node.inputs[0]))
            linears.append(i)
        }
        guard !linears.isEmpty else {
            throw GraphError(.parse, "--calibrate: the graph has no linear layer stored as int8 (compile with --precision int8)")
        }
        var low = [Float](repeating: 0, count: linears.count), high = low
        let interpreter = Interpreter(graph: observed)
        for (n, sample) in samples.enumerated() {
            let values: [String: Tensor]
            do { values = try interpreter.run(sample) } catch let error as GraphError {
                throw GraphError(.parse, "calibration input \(n + 1) of \(samples.count): \(error.message)")
            }
            for l in linears.indices {
                guard let x = values["calibration.\(l)"] else { continue }
                for v in x.contiguous().toFloatArray() where v.isFinite {
                    low[l] = Swift.min(low[l], v)
                    high[l] = Swift.max(high[l], v)
                }
            }
        }
        var result = graph
        for (l, i) in linears.enumerated() {
            guard case .fused(.linear(let activation, let bias, let residual, _)) = graph.nodes[i].op else { continue }
            result.nodes[i].op = .fused(.linear(activation: activation, bias: bias, residual: residual, inputRange: low[l]...high[l]))
        }
        return (result, linears.count)
    }
}
