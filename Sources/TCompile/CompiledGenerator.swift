import Foundation
import Graph
import Tensors
import Transformers

/// Text generation with the model compiled: a causal language model's prefill and single-token
/// decode step are traced into two graphs (the KV cache as inputs and outputs, its length `past` a
/// dynamic dim), JIT-compiled, and driven by the same `DecodingLoop` as the eager `generate`, so
/// greedy decoding, sampling, EOS and left-padded batches behave identically.
///
/// ```swift
/// let gpt2 = try GPT2LMHeadModel.fromPretrained(directory: url)
/// let compiled = try CompiledGenerator(model: gpt2, maxBatch: 1, maxLength: 64)
/// let tokens = try compiled.generate([[464, 3290]], config: .greedy(maxNewTokens: 20))
/// // == gpt2.generate([[464, 3290]], config: .greedy(maxNewTokens: 20))
/// ```
///
/// The prefill graph takes `input_ids`, `attention_mask` and `position_ids` `[batch, seq]` and returns
/// `logits` `[batch, 1, vocab]` (the last position) and `present.L.key` / `present.L.value`
/// `[batch, heads, seq, head_dim]` per layer. The decode graph takes `input_ids` and `position_ids`
/// `[batch, 1]`, `past_attention_mask` `[batch, past]` and `past.L.key` / `past.L.value`
/// `[batch, heads, past, head_dim]`, and returns `logits` and the caches grown by one position.
public final class CompiledGenerator {
    /// The traced prefill graph (before optimization).
    public let prefillGraph: Graph
    /// The traced single-token decode graph (before optimization).
    public let decodeGraph: Graph
    /// Largest batch of prompts the graphs accept.
    public let maxBatch: Int
    /// Longest sequence (prompt + new tokens) the graphs accept.
    public let maxLength: Int
    private let prefill: CompiledModel
    private let decode: CompiledModel
    private let vocabularySize: Int
    private let layers: Int
    private let commonConfig: CommonConfig

    /// Traces and compiles `model` (put in eval mode) for batches of at most `maxBatch` prompts and
    /// sequences of at most `maxLength` tokens (default: the model's position table), with the pass
    /// pipeline of `level`.
    public init(model: some CausalLanguageModel, maxBatch: Int = 1, maxLength: Int? = nil, level: Int = 2,
                options: CompileOptions = CompileOptions()) throws {
        let maxLength = maxLength ?? model.maxPositions
        let graphs = try GenerationGraphs(model: model, maxBatch: maxBatch, maxLength: maxLength)
        prefillGraph = graphs.prefill
        decodeGraph = graphs.decode
        let layers = model.layerCount
        prefill = try TCompile.compile(prefillGraph, name: "prefill", level: level, options: options)
        decode = try TCompile.compile(decodeGraph, name: "decode_step", level: level, options: options)
        self.maxBatch = maxBatch
        self.maxLength = maxLength
        self.vocabularySize = model.vocabularySize
        self.layers = layers
        self.commonConfig = model.commonConfig
    }

    /// Continues each prompt with the compiled graphs; the same options, validation and results as
    /// the eager `generate` (`CausalLanguageModel.generate`), within `maxBatch` and `maxLength`.
    /// `onTokens` gets each step's new token of every row as it is picked.
    public func generate(_ prompts: [[Int]], config: GenerationConfig = GenerationConfig(),
                         onTokens: (([Int]) -> Void)? = nil) throws -> [[Int]] {
        let loop = try DecodingLoop(prompts: prompts, config: config, vocabularySize: vocabularySize,
                                    maxPositions: maxLength, commonConfig: commonConfig, positionsName: "the compiled maxLength")
        guard config.numBeams == 1 else {
            throw TransformersError.invalidInput(argument: "num_beams", reason: "is \(config.numBeams); the compiled generator decodes greedily or by sampling only (beam search runs eagerly: generate on the model)")
        }
        guard prompts.count <= maxBatch else {
            throw TransformersError.invalidInput(argument: "prompts", reason: "\(prompts.count) prompts; this generator was compiled for at most \(maxBatch) (maxBatch)")
        }
        var cache: [String: Tensor] = [:]
        return try loop.run { step in
            let outputs: [String: Tensor]
            if step.past == 0 {
                outputs = try prefill(["input_ids": step.inputIds, "attention_mask": step.attentionMask, "position_ids": step.positionIds])
            } else {
                var inputs = ["input_ids": step.inputIds, "position_ids": step.positionIds,
                              "past_attention_mask": step.attentionMask.sliced(dim: 1, end: step.past)]
                for l in 0..<layers {
                    inputs["past.\(l).key"] = cache["present.\(l).key"]
                    inputs["past.\(l).value"] = cache["present.\(l).value"]
                }
                outputs = try decode(inputs)
            }
            cache = outputs
            return outputs["logits"]!
        } onTokens: { onTokens?($0) }
    }
}
