import Foundation
import Graph
import Tensors
import Transformers

/// Encoder-decoder generation with the model compiled: the encoder (with the cross-attention keys and
/// values) and the single-token decoder step are traced into two graphs (`Seq2SeqGraphs`),
/// JIT-compiled, and driven by the same `DecodingLoop` as the eager `generate` (greedy, beam search,
/// sampling, every logits processor), so eager and compiled pick the same tokens.
///
/// ```swift
/// let bart = try BartForConditionalGeneration.fromPretrained(directory: url)
/// let compiled = try CompiledSeq2SeqGenerator(model: bart, maxBatch: 4, maxSource: 64, maxTarget: 32)
/// let tokens = try compiled.generate([[0, 31414, 232, 2]], config: .greedy(maxNewTokens: 20))
/// // == bart.generate([[0, 31414, 232, 2]], config: .greedy(maxNewTokens: 20))
/// ```
///
/// `maxBatch` bounds the decoder rows, sources × `numBeams`; `maxSource` the source tokens;
/// `maxTarget` the decoder sequence, start token included (so at most `maxTarget − 1` new tokens).
public final class CompiledSeq2SeqGenerator {
    /// The traced graphs (before optimization).
    public let graphs: Seq2SeqGraphs
    /// Largest number of decoder rows (sources × beams).
    public var maxBatch: Int { graphs.maxBatch }
    /// Longest source, in tokens.
    public var maxSource: Int { graphs.maxSource }
    /// Longest decoder sequence (start token + new tokens).
    public var maxTarget: Int { graphs.maxTarget }
    private let encoder: CompiledModel
    private let decoder: CompiledModel
    private let vocabularySize: Int
    private let layers: Int
    private let commonConfig: CommonConfig
    private let decoderStart: Int?

    /// Traces and compiles `model` (put in eval mode) with the pass pipeline of `level`.
    public init(model: some Seq2SeqLanguageModel, maxBatch: Int = 1, maxSource: Int, maxTarget: Int, level: Int = 2,
                options: CompileOptions = CompileOptions()) throws {
        graphs = try Seq2SeqGraphs(model: model, maxBatch: maxBatch, maxSource: maxSource, maxTarget: maxTarget)
        encoder = try TCompile.compile(graphs.encode, name: "encode", level: level, options: options)
        decoder = try TCompile.compile(graphs.decode, name: "decode_step", level: level, options: options)
        vocabularySize = model.vocabularySize
        layers = model.decoderLayerCount
        commonConfig = model.commonConfig
        decoderStart = model.configDecoderStartTokenId
    }

    /// A target for each source with the compiled graphs: the same options, validation and results as
    /// the eager `generate` (`Seq2SeqLanguageModel.generate`), within the compiled bounds.
    public func generate(_ sources: [[Int]], config: GenerationConfig = GenerationConfig()) throws -> [[Int]] {
        let setup = try Seq2SeqGeneration(sources: sources, generation: config, vocabularySize: vocabularySize, maxSource: maxSource,
                                          sourceLimitName: "the compiled source bound (maxSource)", maxTarget: maxTarget,
                                          targetLimitName: "the compiled target bound (maxTarget)", common: commonConfig, start: decoderStart)
        guard setup.rows <= maxBatch else {
            throw TransformersError.invalidInput(argument: config.numBeams > 1 ? "num_beams" : "sources",
                reason: "\(sources.count) source(s) × num_beams \(config.numBeams) = \(setup.rows) decoder rows; this generator was compiled for at most \(maxBatch) (maxBatch)")
        }
        let encoded = try encoder(["input_ids": setup.sourceIds, "attention_mask": setup.sourceMask])
        let beams = config.numBeams > 1
        // Every row reads its source's cross keys and values; beams never leave their source's group.
        var fixed: [String: Tensor] = ["encoder_attention_mask": beams ? setup.sourceMask.indexSelect(dim: 0, index: setup.rowSources) : setup.sourceMask]
        for l in 0..<layers {
            for part in ["key", "value"] {
                let cross = encoded["cross.\(l).\(part)"]!
                fixed["cross.\(l).\(part)"] = beams ? cross.indexSelect(dim: 0, index: setup.rowSources).contiguous() : cross
            }
        }
        let rows = setup.rows
        var cache: [String: Tensor] = [:]
        func emptyCache() {
            for l in 0..<layers {
                let cross = fixed["cross.\(l).key"]!
                let empty = Tensor.zeros([rows, cross.size(1), 0, cross.size(3)])
                cache["past.\(l).key"] = empty
                cache["past.\(l).value"] = empty
            }
        }
        func step(_ ids: Tensor) throws -> Tensor {
            var inputs = fixed.merging(cache) { a, _ in a }
            inputs["decoder_input_ids"] = ids
            let out = try decoder(inputs)
            for l in 0..<layers {
                cache["past.\(l).key"] = out["present.\(l).key"]
                cache["past.\(l).value"] = out["present.\(l).value"]
            }
            return out["logits"]!
        }
        return try setup.loop.run({ (s: DecodingStep) throws -> Tensor in
            // Without the cache (`useCache` false) a step gives whole rows: they run token by token
            // from an empty cache, which computes the same logits.
            if s.past == 0 { emptyCache() }
            var logits = try step(s.inputIds.sliced(dim: 1, start: 0, end: 1).contiguous())
            for t in 1..<max(1, s.inputIds.size(1)) { logits = try step(s.inputIds.sliced(dim: 1, start: t, end: t + 1).contiguous()) }
            return logits
        }, reorder: { parents in
            let index = Tensor(parents, shape: [parents.count])
            for (name, tensor) in cache { cache[name] = tensor.indexSelect(dim: 0, index: index).contiguous() }
        })
    }
}
