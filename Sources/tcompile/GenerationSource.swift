import Foundation
import JSON
import NN
import TCompile
import Transformers

/// What `tcompile generate` generates with: the checkpoint a model.json names (a manifest's
/// `checkpoint`, or for a traced decoder the directory given beside it, checked against the graph's
/// constants), its task and the bounds (`dynamic_dims` / the graph's `batch` and `seq`) every request
/// is checked against before any work.
final class GenerationSource {
    let checkpoint: URL
    let kind: ModelRegistry.CheckpointKind
    let task: ModelTask
    let maxBatch: Int
    let maxSeq: Int
    /// The manifest's `options.threads`.
    let threads: Int?
    /// The manifest's `options.precision`.
    let precision: Precision?
    /// The traced graph, when the model.json is one: its constants must be the checkpoint's.
    private let traced: Graph?
    private let modelFile: String
    /// Set by `generator`: the config fields that give the padding and decoder start token `sequences` writes.
    private(set) var common = CommonConfig()
    private(set) var decoderStartTokenId: Int?

    var modelType: String { kind.family.modelType }
    var isSeq2Seq: Bool { task == .text2textGeneration }

    init(model: String, checkpoint: String?) throws {
        guard FileManager.default.fileExists(atPath: model) else { throw CLIError("\(model): no such file") }
        modelFile = model
        let data: [UInt8]
        do { data = try RegularFile.read(model) } catch { throw CLIError("\(model): \(error.reason)") }
        let format = (try? JSONParser.parse(data, file: model))?["format"]?.stringValue
        if format == GraphFile.format {
            let (_, graph) = try GraphFile.load(path: model)
            guard let checkpoint else {
                throw CLIError("\(model) is a traced graph, which does not name its checkpoint: give the directory it was exported from with --checkpoint DIR (or --tokenizer DIR)")
            }
            let directory = URL(fileURLWithPath: checkpoint)
            kind = try ModelRegistry.kind(ofCheckpoint: directory)
            guard kind.family.tasks.contains(where: { $0.task == .textGeneration }), graph.outputs.contains(where: { $0.name == "logits" }) else {
                throw CLIError("\(model): generate needs a text-generation export (logits of a decoder: gpt2, llama, mistral, qwen2); this is \(kind.family.modelType) with outputs \(graph.outputs.map(\.name).joined(separator: ", "))")
            }
            self.checkpoint = directory
            task = .textGeneration
            maxBatch = graph.symbols.first { $0.name == "batch" }?.max ?? 1
            guard let seq = graph.symbols.first(where: { $0.name == "seq" })?.max else { throw CLIError("\(model): the graph has no 'seq' dim") }
            maxSeq = seq
            threads = nil
            precision = nil
            traced = graph
        } else {
            let manifest = try ModelManifest.read(path: model, eagerTasks: true)
            self.checkpoint = URL(fileURLWithPath: manifest.checkpoint)
            kind = try ModelRegistry.kind(ofCheckpoint: self.checkpoint)
            guard manifest.task == .textGeneration || manifest.task == .text2textGeneration else {
                throw CLIError("\(model): task '\(manifest.task.rawValue)' does not generate (text-generation or text2text-generation)")
            }
            task = manifest.task
            maxBatch = manifest.maxBatch
            maxSeq = manifest.maxSeq
            threads = manifest.threads
            precision = manifest.precision
            traced = nil
        }
    }

    /// Refuses, before any loading or compiling, requests beyond the model.json's bounds: more prompts
    /// than its batch, a prompt plus `max_new_tokens` longer than its seq (naming both numbers).
    func checkBounds(prompts: [[Int]], config: GenerationConfig) throws {
        guard prompts.count <= maxBatch else {
            throw CLIError("\(prompts.count) prompts exceed the batch bound \(maxBatch) of \(modelFile) (dynamic_dims.batch.max / --max-batch)")
        }
        let width = prompts.map(\.count).max() ?? 0
        let resolved: GenerationConfig
        do { resolved = try config.resolved(promptWidth: isSeq2Seq ? 1 : width) } catch { throw CLIError("\(error)") }
        let newTokens = resolved.maxNewTokens
        if isSeq2Seq {
            guard width <= maxSeq else { throw CLIError("a source of \(width) tokens exceeds the seq bound \(maxSeq) of \(modelFile)") }
            guard 1 + newTokens <= maxSeq else {
                throw CLIError("the decoder start token + max_new_tokens \(newTokens) = \(1 + newTokens) tokens exceed the seq bound \(maxSeq) of \(modelFile)")
            }
        } else {
            guard width + newTokens <= maxSeq else {
                throw CLIError("a prompt of \(width) tokens + max_new_tokens \(newTokens) = \(width + newTokens) tokens exceed the seq bound \(maxSeq) of \(modelFile) (lower --max-new-tokens to \(max(0, maxSeq - width)) or export with a larger --max-seq)")
            }
        }
    }

    typealias Run = ([[Int]], GenerationConfig, (([Int]) -> Void)?) throws -> [[Int]]

    /// Loads the checkpoint and returns its generate function: the compiled generator (a decoder's
    /// prefill and decode graphs, an encoder-decoder's encoder and decoder step, JIT-compiled for
    /// `maxBatch` rows and the seq bound) or the eager model.
    func generator(compiled: Bool, maxBatch: Int, threads: Int?, cache: CompileCache?, precision: Precision = .fp32,
                   keepFP32: [String] = []) throws -> Run {
        let loaded = try kind.family.load(directory: checkpoint, task: task)
        if let traced { try checkConstants(of: traced, against: loaded.module) }
        if let seq2seq = loaded.module as? any Seq2SeqLanguageModel {
            common = seq2seq.commonConfig
            decoderStartTokenId = seq2seq.configDecoderStartTokenId
            guard compiled else { return { prompts, config, _ in try seq2seq.generate(prompts, config: config) } }
            // Decoder rows are sources × beams; sources and targets share the manifest's seq bound.
            let generator = try CompiledSeq2SeqGenerator(model: seq2seq, maxBatch: maxBatch, maxSource: max(2, maxSeq),
                                                         maxTarget: min(seq2seq.maxPositions, max(3, maxSeq)),
                                                         options: CompileOptions(threads: threads, cache: cache, precision: precision, keepFP32: keepFP32))
            return { prompts, config, _ in try generator.generate(prompts, config: config) }
        }
        guard let model = loaded.module as? any CausalLanguageModel else {
            throw CLIError("\(modelType) \(task.rawValue): this model cannot generate")
        }
        common = model.commonConfig
        if compiled {
            let generator = try CompiledGenerator(model: model, maxBatch: min(maxBatch, self.maxBatch), maxLength: maxSeq,
                                                  options: CompileOptions(threads: threads, cache: cache, precision: precision, keepFP32: keepFP32))
            return { prompts, config, onTokens in try generator.generate(prompts, config: config, onTokens: onTokens) }
        }
        return { prompts, config, onTokens in try model.generate(prompts, config: config, onTokens: onTokens) }
    }

    /// A traced graph is generated from the checkpoint given beside it only when its constants are
    /// that checkpoint's parameters (same names, shapes and values).
    private func checkConstants(of graph: Graph, against module: Module) throws {
        let parameters = Dictionary(module.namedParameters() + module.namedBuffers(), uniquingKeysWith: { a, _ in a })
        var matched = 0
        for (name, constant) in graph.constants {
            guard let parameter = parameters[name] else { continue }
            guard parameter.shape == constant.shape, parameter.toFloatArray() == constant.toFloatArray() else {
                throw CLIError("\(modelFile) was not exported from \(checkpoint.path): its constant '\(name)' differs from the checkpoint's")
            }
            matched += 1
        }
        guard matched > 0 else { throw CLIError("\(modelFile) was not exported from \(checkpoint.path): no constant is a parameter of the checkpoint") }
    }

    /// `sequences` as `model.generate` returns them: a decoder's (padded) prompt then the new tokens,
    /// an encoder-decoder's decoder start token then the new tokens; rows padded at the end to the
    /// longest with the pad id, int64.
    func sequences(prompts: [[Int]], generated: [[Int]], config: GenerationConfig) throws -> Tensor {
        // The pad id `DecodingLoop` fills finished rows with.
        let pad = config.padTokenId ?? common.padTokenId ?? config.eosTokenIds?.first ?? common.eosTokenIds?.first ?? 0
        let perPrompt = max(1, generated.count / max(prompts.count, 1))
        let width = prompts.map(\.count).max() ?? 0
        let rows: [[Int]] = try generated.enumerated().map { i, tokens in
            if isSeq2Seq {
                guard let start = config.decoderStartTokenId ?? decoderStartTokenId else { throw CLIError("decoder_start_token_id is not set") }
                return [start] + tokens
            }
            let prompt = prompts[i / perPrompt]
            return Array(repeating: pad, count: width - prompt.count) + prompt + tokens
        }
        let length = rows.map(\.count).max() ?? 0
        return Tensor(rows.flatMap { $0 + Array(repeating: pad, count: length - $0.count) }, shape: [rows.count, length], dtype: .int64)
    }
}
