import Foundation
import JSON
import Graph
import Tensors
import Transformers

/// An AOT library of an encoder-decoder: its encoder and decoder-step graphs (`Seq2SeqGraphs`, the
/// ones `CompiledSeq2SeqGenerator` JIT-compiles) optimized and compiled into one `libNAME.a` with one
/// weights file (a constant both read, such as the shared embedding table, stored once). Entry
/// points `NAME_encode_run` and `NAME_decode_step_run` follow the C ABI of `NAME_run`
/// (docs/c-abi.md): the caller keeps the self-attention cache between steps and passes its length
/// `past` in the dims.
///
/// ```swift
/// let t5 = try T5ForConditionalGeneration.fromPretrained(directory: url)
/// try Seq2SeqLibrary.write(model: t5, name: "t5", maxBatch: 1, maxSource: 128, maxTarget: 64, to: "out")
/// // out/libt5.a, t5.h, t5.weights, module.modulemap
/// ```
public enum Seq2SeqLibrary {
    /// The entries' names.
    public static let encodeEntry = "encode", decodeEntry = "decode_step"

    /// Traces `model` for `maxBatch` decoder rows (sources × beams), sources of at most `maxSource`
    /// tokens and targets (start token included) of at most `maxTarget`, and writes the library.
    public static func write(model: some Seq2SeqLanguageModel, name: String, maxBatch: Int, maxSource: Int, maxTarget: Int,
                             to directory: String, level: Int = 2, options: CompileOptions = CompileOptions(),
                             embedWeights: Bool = false, emit: EmitKinds = []) throws -> AOTCompiler.Output {
        let graphs = try Seq2SeqGraphs(model: model, maxBatch: maxBatch, maxSource: maxSource, maxTarget: maxTarget)
        let encode = try TCompile.optimize(graphs.encode, level: level).graph
        let decode = try TCompile.optimize(graphs.decode, level: level).graph
        return try AOTCompiler.write(entries: [AOTEntry(name: encodeEntry, graph: encode), AOTEntry(name: decodeEntry, graph: decode)],
                                     name: name, to: directory, options: options, embedWeights: embedWeights, emit: emit)
    }

    /// A `tcompile.model/2` manifest of a text2text-generation checkpoint, loaded for the library: its
    /// name, the eager model, the row bound (`dynamic_dims.batch.max`: sources × beams), the length
    /// bound of sources and targets (`dynamic_dims.seq.max`) and the thread count.
    public struct Source {
        public var name: String
        public var model: any Seq2SeqLanguageModel
        public var maxBatch: Int
        public var maxSeq: Int
        public var threads: Int?
    }

    /// The manifest at `path` when it names a text2text-generation checkpoint; nil for any other
    /// file (a traced graph, another task), which compiles as one graph.
    public static func load(manifest path: String) throws -> Source? {
        guard let data = try? RegularFile.read(path),
              (try? JSONParser.parse(data, file: path))?["format"]?.stringValue == ModelManifest.format else { return nil }
        let manifest = try ModelManifest.read(path: path)
        guard manifest.task == .text2textGeneration else { return nil }
        let directory = URL(fileURLWithPath: manifest.checkpoint)
        guard let model = try ModelExport.load(directory: directory, task: .text2textGeneration, tracing: true).module as? any Seq2SeqLanguageModel else {
            throw ExportError("\(path): the \(manifest.modelType) text2text-generation model is not an encoder-decoder TCompile can trace")
        }
        guard manifest.maxSeq >= 3 else {
            throw ExportError("\(path): dynamic_dims.seq.max: a seq2seq library needs a length bound of at least 3 (start token + 2), got \(manifest.maxSeq)")
        }
        return Source(name: manifest.name ?? ModelExport.defaultName(for: directory), model: model, maxBatch: manifest.maxBatch,
                      maxSeq: manifest.maxSeq, threads: manifest.threads)
    }
}
