import Foundation
import JSON
@_exported import Codegen
@_exported import Graph
@_exported import Passes
@_exported import Tensors

/// The public face of TCompile: everything from tensors to compiled models through one import.
///
/// ```swift
/// import TCompile
/// let graph = try GraphFile.load(path: "model.json").graph
/// let model = try TCompile.compile(graph)
/// let outputs = try model(["input_ids": ids, "attention_mask": mask])
/// ```
public enum TCompile {
    /// Optimizes a graph with the pass pipeline of `level` (0–2) and JIT-compiles it for this machine.
    public static func compile(_ graph: Graph, name: String = "model", level: Int = 2,
                               options: CompileOptions = CompileOptions()) throws -> CompiledModel {
        try CompiledModel(graph: try optimize(graph, level: level, precision: options.precision, keepFP32: options.keepFP32).graph,
                          name: name, options: options)
    }

    /// Runs the `-O<level>` pass pipeline for a compile at `precision` (which decides the weights'
    /// panel format and the kernels' scratch), keeping the weights matching a `keepFP32` glob in f32,
    /// returning the optimized graph and per-pass statistics.
    public static func optimize(_ graph: Graph, level: Int = 2, precision: Precision = .fp32, keepFP32: [String] = [],
                                dumpAfter: DumpSelection = .none,
                                dumpSink: (@Sendable (String) -> Void)? = nil) throws -> PassManager.Result {
        var manager = PassManager(pipeline: .level(level, precision: precision, keepFP32: keepFP32), dumpAfter: dumpAfter)
        if let dumpSink { manager.dumpSink = dumpSink }
        return try manager.run(graph)
    }

    /// A model.json loaded: its name, its graph, and the thread count a manifest's `options.threads`
    /// asks for (nil when it says nothing, or for a traced graph).
    public struct LoadedModel {
        public var name: String
        public var graph: Graph
        public var threads: Int?
        /// The precision a manifest's `options.precision` asks for (nil when it says nothing, or for a traced graph).
        public var precision: Precision? = nil
    }

    /// The most threads a compiled model's pool runs (`NAME_set_threads` caps there too).
    public static let maximumThreads = 256

    /// This release of TCompile (`tcompile --version`).
    public static let version = "0.1.0"

    /// Loads a model.json in either form: a traced graph (`tcompile.graph/1`) or a manifest naming a
    /// Hugging Face checkpoint (`tcompile.model/2`), which is built and traced.
    public static func loadModel(_ path: String) throws -> LoadedModel {
        let data: [UInt8]
        do { data = try RegularFile.read(path) } catch { throw ExportError("\(path): \(error.reason)") }
        let format = (try? JSONParser.parse(data, file: path))?["format"]?.stringValue
        switch format {
        case ModelManifest.format?, "tcompile.model/1"?:
            let manifest = try ModelManifest.read(path: path)
            let (name, graph) = try manifest.graph()
            return LoadedModel(name: name, graph: graph, threads: manifest.threads, precision: manifest.precision)
        case GraphFile.format?:
            let (name, graph) = try GraphFile.load(path: path)
            return LoadedModel(name: name, graph: graph, threads: nil)
        default: throw ExportError("\(path): format must be \"\(GraphFile.format)\" or \"\(ModelManifest.format)\", got \(format.map { "\"\($0)\"" } ?? "none")")
        }
    }

    /// `loadModel` without the thread count.
    public static func load(_ path: String) throws -> (name: String, graph: Graph) {
        let model = try loadModel(path)
        return (model.name, model.graph)
    }

    /// Sample inputs for every graph input at the given dim values: ones for integer inputs (valid ids
    /// and attention masks for any vocabulary), standard normal values for float inputs.
    public static func sampleInputs(for graph: Graph, dims: [String: Int], seed: UInt64 = 0) throws -> [String: Tensor] {
        // Each value within its dim's bounds before any shape is made from it (a negative or huge
        // value would trap in the tensor constructors or ask for exabytes).
        for (name, value) in dims.sorted(by: { $0.key < $1.key }) {
            guard let s = graph.symbols.first(where: { $0.name == name }) else {
                throw GraphError(.interpreter, "'\(name)' is not a dim of this model (\(graph.symbols.map(\.name).joined(separator: ", ")))")
            }
            guard value >= s.min && value <= s.max else {
                throw GraphError(.interpreter, "dim '\(name)' = \(value) is outside its bounds \(s.min)...\(s.max)")
            }
        }
        var inputs: [String: Tensor] = [:]
        for node in graph.inputNodes {
            guard case .input(let name) = node.op else { continue }
            guard let shape = node.type.concreteShape(dims) else {
                throw GraphError(.interpreter, "input '\(name)' has shape \(node.type); give a value for every dim (\(graph.symbols.map(\.name).joined(separator: ", ")))")
            }
            switch node.type.dtype {
            case .float32: inputs[name] = Tensor.randn(shape, seed: seed)
            case .bool: inputs[name] = Tensor.ones(shape, dtype: .bool)
            default: inputs[name] = Tensor.ones(shape, dtype: node.type.dtype)
            }
        }
        return inputs
    }
}
