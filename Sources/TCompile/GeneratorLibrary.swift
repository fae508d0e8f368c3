import Foundation
import Codegen
import JSON
import Graph
import Tensors
import Transformers

/// An AOT library that generates on its own: a causal language model's prefill and decode-step graphs
/// (`GenerationGraphs`, batch 1) optimized and compiled into one `libNAME.a` with one weights file,
/// their entry points `NAME_prefill_run` and `NAME_decode_step_run`, and the generation state API
/// (`NAME_gen_*`, docs/c-abi.md) that drives them with a KV cache per state.
///
/// ```swift
/// let gpt2 = try GPT2LMHeadModel.fromPretrained(directory: url)
/// try GeneratorLibrary.write(model: gpt2, name: "gpt2", maxLength: 128, to: "out")
/// // out/libgpt2.a, gpt2.h, gpt2.weights, module.modulemap
/// ```
public enum GeneratorLibrary {
    /// The entries' names.
    public static let prefillEntry = "prefill", decodeEntry = "decode_step"

    /// Traces `model` for sequences of at most `maxLength` tokens (prompt + new), optimizes both
    /// graphs with the pipeline of `level` and writes the library into `directory`.
    public static func write(model: some CausalLanguageModel, name: String, maxLength: Int, to directory: String, level: Int = 2,
                             options: CompileOptions = CompileOptions(), embedWeights: Bool = false,
                             emit: EmitKinds = []) throws -> AOTCompiler.Output {
        var times = CompileTimes()
        let graphs = try times.measure("tracing") { try GenerationGraphs(model: model, maxBatch: 1, maxLength: maxLength) }
        var output = try write(graphs: graphs, eosTokenIds: model.commonConfig.eosTokenIds ?? [], name: name, to: directory, level: level,
                               options: options, embedWeights: embedWeights, emit: emit)
        times.append(output.times)
        output.times = times
        return output
    }

    /// `write` for graphs traced already (batch 1).
    public static func write(graphs: GenerationGraphs, eosTokenIds: [Int], name: String, to directory: String, level: Int = 2,
                             options: CompileOptions = CompileOptions(), embedWeights: Bool = false,
                             emit: EmitKinds = []) throws -> AOTCompiler.Output {
        var times = CompileTimes()
        let (prefill, decode) = try times.measure("passes") {
            (try TCompile.optimize(graphs.prefill, level: level, precision: options.precision, keepFP32: options.keepFP32).graph,
             try TCompile.optimize(graphs.decode, level: level, precision: options.precision, keepFP32: options.keepFP32).graph)
        }
        var output = try AOTCompiler.write(entries: [AOTEntry(name: prefillEntry, graph: prefill), AOTEntry(name: decodeEntry, graph: decode)],
                                     name: name, to: directory, options: options, embedWeights: embedWeights, emit: emit,
                                     generation: AOTGeneration(prefill: prefillEntry, decode: decodeEntry, eosTokenIds: eosTokenIds))
        times.append(output.times)
        output.times = times
        return output
    }

    /// The causal language model of a loaded checkpoint, or an error naming the task it was loaded for.
    public static func causalModel(_ model: ExportableModel) throws -> any CausalLanguageModel {
        guard let lm = model.module as? any CausalLanguageModel else {
            throw ExportError("a generating library needs a text-generation model; this checkpoint was loaded for \(model.task.rawValue)")
        }
        return lm
    }
}

extension GeneratorLibrary {
    /// A `tcompile.model/2` manifest naming a text-generation checkpoint, loaded for a generating
    /// library: its name, the eager model, the length bound (`dynamic_dims.seq.max`: prompt + new
    /// tokens) and the manifest's thread count. A traced graph (`tcompile.graph/1`) holds one graph
    /// and is refused, as is any other task.
    public struct Source {
        public var name: String
        public var model: any CausalLanguageModel
        public var maxLength: Int
        public var threads: Int?
        /// The manifest's `options.precision` (nil when it says nothing).
        public var precision: Precision? = nil
    }

    /// Reads the manifest at `path` and builds its model.
    public static func load(manifest path: String) throws -> Source {
        let data: [UInt8]
        do { data = try RegularFile.read(path) } catch { throw ExportError("\(path): \(error.reason)") }
        let format = (try? JSONParser.parse(data, file: path))?["format"]?.stringValue
        guard format == ModelManifest.format else {
            throw ExportError("\(path): a generating library is traced from the checkpoint: give a \"\(ModelManifest.format)\" manifest with \"task\": \"text-generation\" (this file's format is \(format.map { "\"\($0)\"" } ?? "none"))")
        }
        let manifest = try ModelManifest.read(path: path)
        guard manifest.task == .textGeneration else {
            throw ExportError("\(path): task: a generating library needs \"text-generation\", the manifest's is \"\(manifest.task.rawValue)\"")
        }
        let directory = URL(fileURLWithPath: manifest.checkpoint)
        let model = try causalModel(try ModelExport.load(directory: directory, task: .textGeneration, tracing: true))
        guard manifest.maxSeq >= 4 else {
            throw ExportError("\(path): dynamic_dims.seq.max: a generating library needs a length bound of at least 4, got \(manifest.maxSeq)")
        }
        return Source(name: manifest.name ?? ModelExport.defaultName(for: directory), model: model, maxLength: manifest.maxSeq,
                      threads: manifest.threads, precision: manifest.precision)
    }

    /// A text-generation checkpoint directory loaded for a generating library; the length bound is
    /// `maxLength`, else the checkpoint's positions.
    public static func load(checkpoint directory: URL, maxLength: Int?) throws -> Source {
        let model = try causalModel(try ModelExport.load(directory: directory, task: .textGeneration, tracing: true))
        let bound = maxLength ?? model.maxPositions
        guard bound >= 4, bound <= model.maxPositions else {
            throw ExportError("--max-seq must be in 4...\(model.maxPositions) (the checkpoint's positions), got \(bound)")
        }
        return Source(name: ModelExport.defaultName(for: directory), model: model, maxLength: bound, threads: nil)
    }
}
