import Foundation
import Graph
import NN
import Tensors
import Transformers

/// Why a checkpoint could not be exported.
public struct ExportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A checkpoint loaded for one task, ready to run eagerly or to trace: the registry's `TaskModel` with
/// the tracer's view of it. The forward closure is what the tracer records, so tests can compare the
/// traced graph with it directly.
public struct ExportableModel {
    /// The loaded model and its forward pass.
    public let model: TaskModel

    /// The module (in eval mode).
    public var module: Module { model.module }
    /// The task.
    public var task: ModelTask { model.task }
    /// Input names, in order (`input_ids`, `attention_mask`, and `token_type_ids` for BERT).
    public var inputNames: [String] { model.inputs.map(\.name) }

    /// The eager forward pass: named inputs to named outputs, in order. Every input in `inputNames`
    /// must be present (the tracer and `exampleInputs` always pass them all).
    public func forward(_ inputs: [String: Tensor]) -> [(name: String, tensor: Tensor)] {
        do { return try model.run(inputs) } catch {
            preconditionFailure("ExportableModel.forward: \(error); callers pass every input in inputNames")
        }
    }

    /// Parameters and buffers by state-dict name, so the graph's constants keep them.
    public var constants: [String: Tensor] {
        Dictionary(module.namedParameters() + module.namedBuffers(), uniquingKeysWith: { a, _ in a })
    }

    /// Example inputs of `batch × seq`, each filled with its input's example value (ids 1, mask 1,
    /// token types 0: valid in any vocabulary); an encoder-decoder's `decoder_input_ids` are
    /// `batch × target`.
    public func exampleInputs(batch: Int, seq: Int, target: Int? = nil) -> [(name: String, tensor: Tensor)] {
        model.inputs.map { input in
            let length = input == .decoderInputIds ? target ?? seq : seq
            return (input.name, Tensor.full([batch, length], Double(input.exampleValue), dtype: .int64))
        }
    }

    /// The graph, with `batch ≤ maxBatch` and `seq ≤ maxSeq` dynamic (an encoder-decoder's teacher-forced
    /// forward also has `target ≤ maxSeq`, the length of `decoder_input_ids`). `maxSeq` may not exceed
    /// the checkpoint's position table.
    public func trace(maxBatch: Int, maxSeq: Int) throws -> Graph {
        guard maxBatch >= 1 else { throw ExportError("--max-batch must be at least 1, got \(maxBatch)") }
        // A graph file's dims are bounded by 2^31 - 1: a larger bound wrote a model.json no reader
        // would load (found by the hostile set with --max-batch 2^40).
        guard maxBatch <= Int(Int32.max) else { throw ExportError("--max-batch must be at most \(Int32.max), got \(maxBatch)") }
        guard maxSeq >= 2 else { throw ExportError("--max-seq must be at least 2, got \(maxSeq)") }
        guard maxSeq <= Int(Int32.max) else { throw ExportError("--max-seq must be at most \(Int32.max), got \(maxSeq)") }
        guard maxSeq <= model.maxSequenceLength else {
            throw ExportError("--max-seq \(maxSeq) exceeds the \(model.maxSequenceLength) positions the checkpoint's config allows")
        }
        // A batch bound of 1 makes the batch a static dim of 1.
        let dims = inputNames.flatMap { name in
            (maxBatch > 1 ? [DynamicDim(input: name, dim: 0, symbol: "batch", max: maxBatch)] : [])
                + [DynamicDim(input: name, dim: 1, symbol: name == ModelInput.decoderInputIds.name ? "target" : "seq", max: maxSeq)]
        }
        return try Tracer.trace(inputs: exampleInputs(batch: min(2, maxBatch), seq: min(6, maxSeq), target: min(4, maxSeq)), dynamicDims: dims,
                                constants: constants, forward)
    }
}

/// Loads Hugging Face checkpoint directories through `ModelRegistry` for `tcompile export`.
public enum ModelExport {
    /// The eager model for `task` on the checkpoint at `directory`, in eval mode; when `task` is nil,
    /// the one `config.json`'s `architectures` selects. Inputs and outputs carry Hugging Face's names.
    /// With `tracing`, the line tables a trace's source locations need are read meanwhile, on another core.
    public static func load(directory: URL, task: ModelTask?, tracing: Bool = false) throws -> ExportableModel {
        if tracing { Tracer.prepareSourceLocations() }
        let kind = try ModelRegistry.kind(ofCheckpoint: directory)
        let chosen = try task ?? ModelRegistry.inferredTask(for: kind, file: directory.appendingPathComponent("config.json").path).task
        // The config is decoded and validated first, so a bad field is named even for a task export
        // refuses (a T5 config with `d_kv: 0` used to hear only that seq2seq export is not available).
        if try !kind.family.entry(chosen).exportable {
            _ = try kind.family.configType.load(from: directory.appendingPathComponent("config.json"))
            throw kind.family.exportRefusal(chosen)
        }
        return ExportableModel(model: try kind.family.load(directory: directory, task: chosen))
    }

    /// Loads and traces in one step; the name is the directory's, made a C identifier.
    public static func trace(directory: URL, task: ModelTask?, maxBatch: Int, maxSeq: Int) throws -> (name: String, model: ExportableModel, graph: Graph) {
        let model = try load(directory: directory, task: task, tracing: true)
        return (defaultName(for: directory), model, try model.trace(maxBatch: maxBatch, maxSeq: maxSeq))
    }

    /// The default model name for a checkpoint directory, a C identifier: the directory's name, or for
    /// a Hugging Face cache snapshot (`models--sentence-transformers--all-MiniLM-L6-v2/snapshots/<hash>`)
    /// the repository's (`all_MiniLM_L6_v2`) rather than the hash's (`model_8b3219a…`).
    public static func defaultName(for directory: URL) -> String {
        let parts = directory.standardizedFileURL.pathComponents
        if parts.count >= 3, parts[parts.count - 2] == "snapshots", parts[parts.count - 3].hasPrefix("models--"),
           let repository = parts[parts.count - 3].components(separatedBy: "--").last, !repository.isEmpty {
            return CIdentifier.make(from: repository)
        }
        return CIdentifier.make(from: directory.lastPathComponent)
    }
}
