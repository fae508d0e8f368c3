// Ports transformers/models/llama/modeling_llama.py (and the mistral and qwen2 models, which are the
// same decoder with other flags): RMSNorm, rotary position embeddings, grouped-query attention,
// a SwiGLU MLP, pre-norm blocks and an LM head tied or not to the token embeddings.
import Foundation
import NN
import Tensors

/// Root-mean-square layer norm in float32: `weight · x / √(mean(x²) + eps)` (`LlamaRMSNorm`).
public final class RMSNorm: Module, UnaryLayer {
    /// `[dimensions]`, ones at initialization.
    public var weight: Tensor
    /// `rms_norm_eps`.
    public let eps: Float

    /// A norm over the last `dimensions`.
    public init(_ dimensions: Int, eps: Double) {
        weight = Tensor.ones([dimensions]).requiringGrad()
        self.eps = Float(eps)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let variance = (x * x).mean(dim: -1, keepDim: true)
        return weight * (x * (variance + eps).rsqrt())
    }
}

/// The rotary embedding's inverse frequencies, computed from the config (`LlamaRotaryEmbedding`,
/// never in a checkpoint), and the cos/sin tables of given positions.
public struct RotaryEmbedding {
    /// `[head_dim / 2]`.
    public let inverseFrequencies: Tensor

    /// The frequencies of `config`'s `rope_type`.
    public init(_ config: LlamaConfig) {
        let f = config.inverseFrequencies
        inverseFrequencies = Tensor(f, shape: [f.count])
    }

    /// `cos` and `sin` `[B, 1, S, head_dim]` of `positions` `[B or 1, S]` (any numeric dtype), as
    /// `position_ids.float() * inv_freq`, duplicated along the last dim.
    public func callAsFunction(_ positions: Tensor) -> (cos: Tensor, sin: Tensor) {
        let freqs = positions.cast(to: .float32).unsqueezed(at: -1) * inverseFrequencies
        let angles = Tensor.concat([freqs, freqs], dim: -1).unsqueezed(at: 1)
        return (angles.cos(), angles.sin())
    }
}

/// `x · cos + rotate_half(x) · sin` on `[B, H, S, D]` (`apply_rotary_pos_emb`).
func applyRotary(_ x: Tensor, cos: Tensor, sin: Tensor) -> Tensor {
    let half = x.size(-1) / 2
    let rotated = Tensor.concat([-1 * x.sliced(dim: -1, start: half), x.sliced(dim: -1, end: half)], dim: -1)
    return x * cos + rotated * sin
}

/// Grouped-query self-attention with rotary positions (`LlamaAttention`): `num_key_value_heads`
/// key/value heads, each shared by `num_attention_heads / num_key_value_heads` query heads.
public final class LlamaAttention: Module {
    @ModuleInfo(key: "q_proj") public var queryProjection: Linear
    @ModuleInfo(key: "k_proj") public var keyProjection: Linear
    @ModuleInfo(key: "v_proj") public var valueProjection: Linear
    @ModuleInfo(key: "o_proj") public var outputProjection: Linear
    let attentionDropout: Dropout
    let heads: Int, keyValueHeads: Int, headDim: Int, layerIndex: Int

    /// Layer `layerIndex`'s attention.
    public init(_ config: LlamaConfig, layerIndex: Int) {
        let (h, kv, d) = (config.numAttentionHeads, config.numKeyValueHeads, config.headDim)
        _queryProjection.wrappedValue = linear(config.hiddenSize, h * d, bias: config.qkvBias)
        _keyProjection.wrappedValue = linear(config.hiddenSize, kv * d, bias: config.qkvBias)
        _valueProjection.wrappedValue = linear(config.hiddenSize, kv * d, bias: config.qkvBias)
        _outputProjection.wrappedValue = linear(h * d, config.hiddenSize, bias: config.outputBias)
        attentionDropout = Dropout(config.attentionDropout)
        (heads, keyValueHeads, headDim, self.layerIndex) = (h, kv, d, layerIndex)
    }

    /// `[B, S, hidden]` with `cos`/`sin` `[B, 1, S, D]` and an additive mask `[S, past+S]` or
    /// `[B, 1, S, past+S]`; appends the (unrepeated) keys and values to `cache`.
    public func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, cache: KVCache?) -> Tensor {
        let q = applyRotary(splitHeads(queryProjection(x), heads: heads), cos: cos, sin: sin)
        var k = applyRotary(splitHeads(keyProjection(x), heads: keyValueHeads), cos: cos, sin: sin)
        var v = splitHeads(valueProjection(x), heads: keyValueHeads)
        if let cache { (k, v) = cache.update(layer: layerIndex, keys: k, values: v) }
        let context = attend(q, repeatKeyValues(k), repeatKeyValues(v), scale: 1 / Float(headDim).squareRoot(),
                             mask: mask, dropout: attentionDropout)
        return outputProjection(mergeHeads(context))
    }

    /// `[B, kv, T, D]` → `[B, kv·group, T, D]`, each key/value head repeated for its group (`repeat_kv`).
    func repeatKeyValues(_ x: Tensor) -> Tensor {
        let group = heads / keyValueHeads
        guard group > 1 else { return x }
        let s = x.shape
        return x.unsqueezed(at: 2).expanded(to: [s[0], s[1], group, s[2], s[3]]).flattened(startDim: 1, endDim: 2)
    }
}

/// `down_proj(act(gate_proj(x)) · up_proj(x))` (`LlamaMLP`).
public final class LlamaMLP: Module, UnaryLayer {
    @ModuleInfo(key: "gate_proj") public var gate: Linear
    @ModuleInfo(key: "up_proj") public var up: Linear
    @ModuleInfo(key: "down_proj") public var down: Linear
    let activation: any UnaryLayer

    public init(_ config: LlamaConfig) {
        _gate.wrappedValue = linear(config.hiddenSize, config.intermediateSize, bias: config.mlpBias)
        _up.wrappedValue = linear(config.hiddenSize, config.intermediateSize, bias: config.mlpBias)
        _down.wrappedValue = linear(config.intermediateSize, config.hiddenSize, bias: config.mlpBias)
        activation = configActivation(config.hiddenAct)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { down(activation(gate(x)) * up(x)) }
}

/// A pre-norm block: `x + attn(norm(x))`, then `x + mlp(norm(x))` (`LlamaDecoderLayer`).
public final class LlamaDecoderLayer: Module {
    @ModuleInfo(key: "self_attn") public var attention: LlamaAttention
    public let mlp: LlamaMLP
    @ModuleInfo(key: "input_layernorm") public var inputNorm: RMSNorm
    @ModuleInfo(key: "post_attention_layernorm") public var postAttentionNorm: RMSNorm
    /// The layer's sliding window (nil: full causal attention).
    public let window: Int?

    public init(_ config: LlamaConfig, layerIndex: Int) {
        _attention.wrappedValue = LlamaAttention(config, layerIndex: layerIndex)
        mlp = LlamaMLP(config)
        _inputNorm.wrappedValue = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
        _postAttentionNorm.wrappedValue = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
        window = config.layerWindows.indices.contains(layerIndex) ? config.layerWindows[layerIndex] : nil
    }

    public func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, cache: KVCache?) -> Tensor {
        let h = x + attention(inputNorm(x), cos: cos, sin: sin, mask: mask, cache: cache)
        return h + mlp(postAttentionNorm(h))
    }
}

/// The bare decoder (`LlamaModel`, `MistralModel`, `Qwen2Model`): token embeddings, blocks, final norm.
///
/// Positions are `inputs.positionIds` when given, else `past..<past+S` for every row, as Hugging
/// Face's forward defaults them. For left-padded batches pass the positions `generate` uses
/// (`positionIds(fromAttentionMask:)`), which is what the registry's forward does.
///
/// ```swift
/// let llama = try LlamaModel.fromPretrained(directory: url)
/// let states = try llama(DecoderInputs(inputIds: ids))      // [B, S, hidden]
/// ```
public final class LlamaModel: Module {
    public let config: LlamaConfig
    @ModuleInfo(key: "embed_tokens") public var embedTokens: Embedding
    public let layers: [LlamaDecoderLayer]
    public let norm: RMSNorm
    /// The rotary frequencies (computed from the config, not stored in checkpoints).
    public let rotary: RotaryEmbedding

    public init(config: LlamaConfig) {
        self.config = config
        _embedTokens.wrappedValue = embedding(config.vocabSize, config.hiddenSize)
        layers = (0..<config.numHiddenLayers).map { LlamaDecoderLayer(config, layerIndex: $0) }
        norm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
        rotary = RotaryEmbedding(config)
        super.init()
        WeightInitialization.apply(self, range: config.initializerRange)
    }

    /// The forward pass on trusted inputs (what the tracer records). With a `cache`, `inputIds` are
    /// the new positions only; their keys and values are appended to it.
    public func forward(_ inputs: DecoderInputs, cache: KVCache? = nil) -> Tensor {
        let past = cache?.offset ?? 0
        let length = inputs.inputIds.size(1)
        let positions = inputs.positionIds ?? Tensor.arange(past, past + length).unsqueezed(at: 0)
        let (cos, sin) = rotary(positions)
        var x = embedTokens(inputs.inputIds)
        var masks: [Int?: Tensor] = [:]
        for layer in layers {
            let mask = masks[layer.window] ?? decoderMask(queryLength: length, keyLength: past + length,
                                                          attentionMask: inputs.attentionMask, window: layer.window)
            masks[layer.window] = mask
            x = layer(x, cos: cos, sin: sin, mask: mask, cache: cache)
        }
        return norm(x)
    }

    /// Validates `inputs` (ids in the vocabulary, mask and positions shaped right, within
    /// `max_position_embeddings`), then runs.
    public func callAsFunction(_ inputs: DecoderInputs, cache: KVCache? = nil) throws(TransformersError) -> Tensor {
        try validateLlamaInputs(inputs, past: cache?.offset ?? 0, config: config)
        return withNoGradIfEval(self) { forward(inputs, cache: cache) }
    }
}

/// The additive mask of a decoder layer: causal (keys at absolute index ≤ the query's), padding
/// when `attentionMask` `[B, past+S]` is given, and keys within `window` of the query when a sliding
/// window is set (`sliding_window_overlay`: key index > query index − window).
func decoderMask(queryLength: Int, keyLength: Int, attentionMask: Tensor?, window: Int?) -> Tensor {
    guard var window else { return causalMask(queryLength: queryLength, keyLength: keyLength, attentionMask: attentionMask) }
    // A window past 2^40 keys masks nothing more than 2^40 does (no sequence is that long), and keeps
    // `rows - window` an exact integer op: `sliding_window: 2^62` made it a float op that then
    // trapped comparing int64 with float32 (found by the hostile set).
    window = min(window, 1 << 40)
    let rows = Tensor.arange(keyLength - queryLength, keyLength).unsqueezed(at: 1)
    let columns = Tensor.arange(0, keyLength).unsqueezed(at: 0)
    var keep = (columns .<= rows) .& (columns .> (rows - Float(window)))
    if let padding = attentionMask { keep = keep .& (padding .!= 0).unsqueezed(at: 1).unsqueezed(at: 1) }
    return AttentionMask.additive(keep)
}

/// Position ids of a left-padded batch as `generate` computes them: `cumsum(mask) − 1`, padding
/// at 1 (`position_ids.masked_fill_(attention_mask == 0, 1)`). Float32 `[B, S]`; traces.
public func positionIds(fromAttentionMask mask: Tensor) -> Tensor {
    let positions = cumulativeSum(mask) - 1
    return Tensor.where(mask .== 0, Tensor(Float(1)), positions)
}

/// Checks Llama-family inputs against the config before a forward pass.
func validateLlamaInputs(_ inputs: DecoderInputs, past: Int, config: LlamaConfig) throws(TransformersError) {
    try validateIds(inputs.inputIds, limit: config.vocabSize, name: "input_ids", configField: "vocab_size")
    let (batch, length) = (inputs.inputIds.size(0), inputs.inputIds.size(1))
    if let mask = inputs.attentionMask, mask.shape != [batch, past + length] {
        throw .invalidInput(argument: "attention_mask", reason: "has shape \(mask.shape); expected [\(batch), \(past + length)] (past \(past) + new \(length))")
    }
    if let positions = inputs.positionIds {
        guard positions.shape == [batch, length] || positions.shape == [1, length] else {
            throw .invalidInput(argument: "position_ids", reason: "has shape \(positions.shape); expected [\(batch), \(length)]")
        }
        if positions.dtype.isInteger {
            try validateIds(positions, limit: config.maxPositionEmbeddings, name: "position_ids", configField: "max_position_embeddings")
        } else if let bad = positions.toFloatArray().first(where: { !($0 >= 0 && $0 < Float(config.maxPositionEmbeddings)) }) {
            throw .invalidInput(argument: "position_ids", reason: "holds \(bad), outside 0..<\(config.maxPositionEmbeddings) (max_position_embeddings)")
        }
    } else if past + length > config.maxPositionEmbeddings {
        throw .invalidInput(argument: "input_ids", reason: "positions up to \(past + length) exceed max_position_embeddings \(config.maxPositionEmbeddings)")
    }
}

/// The decoder with a language-modeling head (`LlamaForCausalLM`, `MistralForCausalLM`,
/// `Qwen2ForCausalLM`), tied to the token embeddings when `tie_word_embeddings`.
public final class LlamaForCausalLM: Module {
    public let config: LlamaConfig
    public let model: LlamaModel
    @ModuleInfo(key: "lm_head") public var lmHead: Linear

    /// A randomly initialized model.
    public init(config: LlamaConfig) {
        self.config = config
        let model = LlamaModel(config: config)
        self.model = model
        let head = linear(config.hiddenSize, config.vocabSize, bias: false)
        if config.common.tieWordEmbeddings { head.weight = model.embedTokens.weight }
        _lmHead.wrappedValue = head
    }

    /// Trusted-input forward: logits of the last `logitsToKeep` positions (all when nil), the loss
    /// over `labels` `[B, S]` shifted by one (−100 = ignore).
    public func forward(_ inputs: DecoderInputs, cache: KVCache? = nil, labels: Tensor? = nil,
                        logitsToKeep: Int? = nil) -> CausalLMOutput {
        let hidden = model.forward(inputs, cache: cache)
        return CausalLMOutput(hidden, head: lmHead, labels: labels, logitsToKeep: logitsToKeep)
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: DecoderInputs, cache: KVCache? = nil,
                               labels: Tensor? = nil) throws(TransformersError) -> CausalLMOutput {
        try validateLlamaInputs(inputs, past: cache?.offset ?? 0, config: config)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, cache: cache, labels: labels) }
    }
}

/// The decoder with a linear `score` over the last real token (`LlamaForSequenceClassification`,
/// `GenericForSequenceClassification`): the last position whose id is not `pad_token_id` (the last
/// position when the config has none), the loss by `problem_type`.
public final class LlamaForSequenceClassification: Module {
    public let config: LlamaConfig
    public let model: LlamaModel
    public let score: Linear

    /// A randomly initialized classifier.
    public init(config: LlamaConfig) {
        self.config = config
        model = LlamaModel(config: config)
        score = linear(config.hiddenSize, config.common.numLabels, bias: false)
        super.init()
        WeightInitialization.apply(self, range: config.initializerRange)
    }

    /// Trusted-input forward: logits `[B, labels]` of each row's last non-padding token.
    public func forward(_ inputs: DecoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = score(model.forward(inputs))                     // [B, S, labels]
        let length = inputs.inputIds.size(1)
        let pooled: Tensor
        if let pad = config.common.padTokenId {
            // (arange(S) · (ids ≠ pad)).argmax(-1), then that row of the logits as a one-hot product.
            let real = (inputs.inputIds .!= Float(pad)).cast(to: .float32)
            let last = (Tensor.arange(0, length, dtype: .float32).unsqueezed(at: 0) * real).argmax(dim: -1)
            let pick = (Tensor.arange(0, length).unsqueezed(at: 0) .== last.unsqueezed(at: 1)).cast(to: .float32)
            pooled = pick.unsqueezed(at: 1).matmul(logits).squeezed(at: 1)
        } else {
            pooled = logits.sliced(dim: 1, start: length - 1).squeezed(at: 1)
        }
        return HeadOutput(logits: pooled, loss: labels.map { classificationLoss(pooled, $0, config: config.common) })
    }

    /// Validates (a batch of several rows needs `pad_token_id`, as in Hugging Face), then runs `forward`.
    public func callAsFunction(_ inputs: DecoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateLlamaInputs(inputs, past: 0, config: config)
        if config.common.padTokenId == nil, inputs.inputIds.size(0) > 1 {
            throw .invalidInput(argument: "input_ids", reason: "a batch of \(inputs.inputIds.size(0)) rows needs pad_token_id in config.json to find each row's last token")
        }
        if let labels { try validateClassificationLabels(labels, batch: inputs.inputIds.size(0), config: config.common) }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

// MARK: - Loading and pipelines

extension LlamaModel: PretrainedModel {
    public static var basePrefix: String { "model" }
    public convenience init(config: LlamaConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension LlamaForCausalLM: PretrainedModel {
    public static var basePrefix: String { "model" }
    public convenience init(config: LlamaConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension LlamaForSequenceClassification: PretrainedModel {
    public static var basePrefix: String { "model" }
    public convenience init(config: LlamaConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension LlamaForSequenceClassification: SequenceClassifier {
    /// Logits of encoded texts, positions from the attention mask.
    public func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor {
        try self(DecoderInputs(inputIds: inputs.inputIds, attentionMask: inputs.attentionMask,
                               positionIds: inputs.attentionMask.map(positionIds(fromAttentionMask:)))).logits
    }
    public var commonConfig: CommonConfig { config.common }
}

extension LlamaForCausalLM: CausalLanguageModel {
    /// `vocab_size`.
    public var vocabularySize: Int { config.vocabSize }
    /// `max_position_embeddings`.
    public var maxPositions: Int { config.maxPositionEmbeddings }
    /// `num_hidden_layers`.
    public var layerCount: Int { config.numHiddenLayers }
    /// The config's shared fields (`eos_token_id`, `pad_token_id`, …).
    public var commonConfig: CommonConfig { config.common }
}

extension TaskInputs {
    /// Decoder inputs whose positions come from the attention mask as `generate` computes them, so a
    /// left-padded row gives the logits it gives alone.
    var leftPaddedDecoder: DecoderInputs {
        let mask = optional(.attentionMask)
        return DecoderInputs(inputIds: self[.inputIds], attentionMask: mask, positionIds: mask.map(positionIds(fromAttentionMask:)))
    }
}

extension ModelFamily {
    /// The tasks of the Llama-style families; `prefix` names their classes (`Llama`, `Mistral`, `Qwen2`).
    static func llamaStyle(_ modelType: String, prefix: String, tokenizer: TokenizerKind) -> ModelFamily {
        ModelFamily(
            modelType: modelType, config: LlamaConfig.self, tokenizer: tokenizer,
            inputs: [.inputIds, .attentionMask],
            tasks: [
                .task(.textGeneration, LlamaForCausalLM.self, architectures: ["\(prefix)ForCausalLM"],
                      outputs: ["logits"]) { m, x in [("logits", m.forward(x.leftPaddedDecoder).logits)] },
                .task(.featureExtraction, LlamaModel.self, architectures: ["\(prefix)Model"],
                      outputs: ["last_hidden_state"]) { m, x in [("last_hidden_state", m.forward(x.leftPaddedDecoder))] },
                .task(.textClassification, LlamaForSequenceClassification.self, architectures: ["\(prefix)ForSequenceClassification"],
                      outputs: ["logits"]) { m, x in [("logits", m.forward(x.leftPaddedDecoder).logits)] },
            ])
    }

    /// Llama (`model_type` `llama`): SentencePiece BPE with byte fallback; ids and attention mask, causal.
    public static let llama = llamaStyle("llama", prefix: "Llama", tokenizer: .sentencePiece)
    /// Mistral (`model_type` `mistral`): Llama with a sliding window.
    public static let mistral = llamaStyle("mistral", prefix: "Mistral", tokenizer: .sentencePiece)
    /// Qwen2 (`model_type` `qwen2`): Llama with q/k/v biases; byte-level BPE.
    public static let qwen2 = llamaStyle("qwen2", prefix: "Qwen2", tokenizer: .byteLevelBPE)
}
