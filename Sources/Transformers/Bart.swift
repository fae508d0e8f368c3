// Ports transformers/models/bart/modeling_bart.py: a post-LayerNorm encoder and decoder with learned
// positions (offset 2), `layernorm_embedding`, optional √d_model embedding scale, decoder
// self-attention with a KV cache and cross-attention to the encoder output (its keys and values
// computed once per generation), and an LM head tied to the shared embeddings plus `final_logits_bias`.
import Foundation
import NN
import Tensors

/// Keys and values of an encoder-decoder's decoder (`EncoderDecoderCache`): the self-attention cache
/// that grows by one position per step, and the cross-attention keys and values of each layer,
/// computed from the encoder output on the first step and reused afterwards.
public final class EncoderDecoderCache {
    /// The decoder self-attention cache (nil: every step recomputes the whole decoder sequence).
    public let selfAttention: DynamicKVCache?
    /// Cross-attention keys per layer, `[B, heads, source, D]`; nil until the first step.
    public private(set) var crossKeys: [Tensor?]
    /// Cross-attention values per layer.
    public private(set) var crossValues: [Tensor?]

    /// An empty cache for `layers` decoder layers; `selfAttention` false keeps only the cross part.
    public init(layers: Int, selfAttention: Bool = true) {
        self.selfAttention = selfAttention ? DynamicKVCache(layers: layers) : nil
        crossKeys = Array(repeating: nil, count: layers)
        crossValues = Array(repeating: nil, count: layers)
    }

    /// A cache holding a decoder's state as plain tensors (how a traced decode step takes it as graph
    /// inputs): the self-attention cache `selfAttention` and each layer's cross keys and values.
    public init(selfAttention: DynamicKVCache, crossKeys: [Tensor], crossValues: [Tensor]) {
        self.selfAttention = selfAttention
        self.crossKeys = crossKeys
        self.crossValues = crossValues
    }

    /// Layer `layer`'s cross keys and values, computed by `make` the first time.
    func cross(layer: Int, _ make: () -> (Tensor, Tensor)) -> (Tensor, Tensor) {
        if let k = crossKeys[layer], let v = crossValues[layer] { return (k, v) }
        let (k, v) = make()
        crossKeys[layer] = k
        crossValues[layer] = v
        return (k, v)
    }
}

/// Multi-head attention with biased q/k/v/out projections (`BartAttention`): the query is scaled by
/// `head_dim^-0.5`; self-attention appends to a KV cache, cross-attention attends to encoder states.
public final class BartAttention: Module {
    @ModuleInfo(key: "q_proj") public var queryProjection: Linear
    @ModuleInfo(key: "k_proj") public var keyProjection: Linear
    @ModuleInfo(key: "v_proj") public var valueProjection: Linear
    @ModuleInfo(key: "out_proj") public var outputProjection: Linear
    let dropout: Dropout
    let heads: Int, scale: Float

    /// Attention over `dimensions` split into `heads` heads.
    public init(dimensions: Int, heads: Int, dropout: Float) {
        _queryProjection.wrappedValue = linear(dimensions, dimensions)
        _keyProjection.wrappedValue = linear(dimensions, dimensions)
        _valueProjection.wrappedValue = linear(dimensions, dimensions)
        _outputProjection.wrappedValue = linear(dimensions, dimensions)
        self.dropout = Dropout(dropout)
        self.heads = heads
        scale = 1 / Float(dimensions / heads).squareRoot()
    }

    /// Self-attention of `x` `[B, S, E]` with an additive `mask`; appends to `cache` as layer `layer`.
    func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KVCache?, layer: Int) -> Tensor {
        let q = splitHeads(queryProjection(x), heads: heads)
        var k = splitHeads(keyProjection(x), heads: heads), v = splitHeads(valueProjection(x), heads: heads)
        if let cache { (k, v) = cache.update(layer: layer, keys: k, values: v) }
        return outputProjection(mergeHeads(attend(q, k, v, scale: scale, mask: mask, dropout: dropout)))
    }

    /// Cross-attention from `x` to the encoder's `states` `[B, source, E]` (keys and values taken from
    /// `cache` when it holds them).
    func callAsFunction(_ x: Tensor, encoderStates states: Tensor, mask: Tensor?, cache: EncoderDecoderCache?, layer: Int) -> Tensor {
        let q = splitHeads(queryProjection(x), heads: heads)
        let make = { (splitHeads(self.keyProjection(states), heads: self.heads), splitHeads(self.valueProjection(states), heads: self.heads)) }
        let (k, v) = cache.map { $0.cross(layer: layer, make) } ?? make()
        return outputProjection(mergeHeads(attend(q, k, v, scale: scale, mask: mask, dropout: dropout)))
    }
}

/// A post-norm encoder layer (`BartEncoderLayer`): `norm(x + attn(x))`, then `norm(x + ffn(x))`.
public final class BartEncoderLayer: Module {
    @ModuleInfo(key: "self_attn") public var selfAttention: BartAttention
    @ModuleInfo(key: "self_attn_layer_norm") public var selfAttentionNorm: LayerNorm
    public let fc1: Linear
    public let fc2: Linear
    @ModuleInfo(key: "final_layer_norm") public var finalNorm: LayerNorm
    let activation: any UnaryLayer
    let dropout: Dropout, activationDropout: Dropout
    /// mBART's order: normalize, block, add the residual.
    let preNorm: Bool

    init(_ config: BartConfig) {
        preNorm = config.isPreNorm
        _selfAttention.wrappedValue = BartAttention(dimensions: config.dModel, heads: config.encoderAttentionHeads,
                                                    dropout: config.attentionDropout)
        _selfAttentionNorm.wrappedValue = LayerNorm(config.dModel)
        fc1 = linear(config.dModel, config.encoderFfnDim)
        fc2 = linear(config.encoderFfnDim, config.dModel)
        _finalNorm.wrappedValue = LayerNorm(config.dModel)
        activation = configActivation(config.activationFunction)
        dropout = Dropout(config.dropout)
        activationDropout = Dropout(config.activationDropout)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        if preNorm {
            let h = x + dropout(selfAttention(selfAttentionNorm(x), mask: mask, cache: nil, layer: 0))
            return h + dropout(fc2(activationDropout(activation(fc1(finalNorm(h))))))
        }
        let h = selfAttentionNorm(x + dropout(selfAttention(x, mask: mask, cache: nil, layer: 0)))
        return finalNorm(h + dropout(fc2(activationDropout(activation(fc1(h))))))
    }
}

/// A post-norm decoder layer (`BartDecoderLayer`): causal self-attention, cross-attention to the
/// encoder, feed-forward; each followed by its residual and LayerNorm.
public final class BartDecoderLayer: Module {
    @ModuleInfo(key: "self_attn") public var selfAttention: BartAttention
    @ModuleInfo(key: "self_attn_layer_norm") public var selfAttentionNorm: LayerNorm
    @ModuleInfo(key: "encoder_attn") public var crossAttention: BartAttention
    @ModuleInfo(key: "encoder_attn_layer_norm") public var crossAttentionNorm: LayerNorm
    public let fc1: Linear
    public let fc2: Linear
    @ModuleInfo(key: "final_layer_norm") public var finalNorm: LayerNorm
    let activation: any UnaryLayer
    let dropout: Dropout, activationDropout: Dropout
    let layerIndex: Int
    /// mBART's order: normalize, block, add the residual.
    let preNorm: Bool

    init(_ config: BartConfig, layerIndex: Int) {
        preNorm = config.isPreNorm
        _selfAttention.wrappedValue = BartAttention(dimensions: config.dModel, heads: config.decoderAttentionHeads,
                                                    dropout: config.attentionDropout)
        _selfAttentionNorm.wrappedValue = LayerNorm(config.dModel)
        _crossAttention.wrappedValue = BartAttention(dimensions: config.dModel, heads: config.decoderAttentionHeads,
                                                     dropout: config.attentionDropout)
        _crossAttentionNorm.wrappedValue = LayerNorm(config.dModel)
        fc1 = linear(config.dModel, config.decoderFfnDim)
        fc2 = linear(config.decoderFfnDim, config.dModel)
        _finalNorm.wrappedValue = LayerNorm(config.dModel)
        activation = configActivation(config.activationFunction)
        dropout = Dropout(config.dropout)
        activationDropout = Dropout(config.activationDropout)
        self.layerIndex = layerIndex
    }

    func callAsFunction(_ x: Tensor, mask: Tensor, encoderStates: Tensor, encoderMask: Tensor?, cache: EncoderDecoderCache?) -> Tensor {
        if preNorm {
            var h = x + dropout(selfAttention(selfAttentionNorm(x), mask: mask, cache: cache?.selfAttention, layer: layerIndex))
            h = h + dropout(crossAttention(crossAttentionNorm(h), encoderStates: encoderStates, mask: encoderMask, cache: cache, layer: layerIndex))
            return h + dropout(fc2(activationDropout(activation(fc1(finalNorm(h))))))
        }
        var h = selfAttentionNorm(x + dropout(selfAttention(x, mask: mask, cache: cache?.selfAttention, layer: layerIndex)))
        h = crossAttentionNorm(h + dropout(crossAttention(h, encoderStates: encoderStates, mask: encoderMask, cache: cache, layer: layerIndex)))
        return finalNorm(h + dropout(fc2(activationDropout(activation(fc1(h))))))
    }
}

/// `arange(past, past + length) + offset` looked up in the position table: BART's learned one
/// (`BartLearnedPositionalEmbedding`, offset 2) or Marian's sinusoidal one (offset 0).
func bartPositions(_ table: Embedding, past: Int, length: Int, offset: Int) -> Tensor {
    table(Tensor.arange(past + offset, past + offset + length).unsqueezed(at: 0))
}

/// Marian's fixed position table (`MarianSinusoidalPositionalEmbedding.create_weight`): row `p` holds
/// `sin(p / 10000^(2k/dim))` in its first ⌈dim/2⌉ columns and `cos` of the same angles in the rest
/// (not interleaved), computed in double precision as NumPy does there.
func marianPositionTable(positions: Int, dim: Int) -> Tensor {
    let half = (dim + 1) / 2
    var values = [Float](repeating: 0, count: positions * dim)
    for p in 0..<positions {
        for j in 0..<dim {
            let k = j < half ? j : j - half
            let angle = Double(p) / pow(10000, Double(2 * k) / Double(dim))
            values[p * dim + j] = Float(j < half ? sin(angle) : cos(angle))
        }
    }
    return Tensor(values, shape: [positions, dim])
}

/// The BART encoder (`BartEncoder`): scaled token embeddings + learned positions, `layernorm_embedding`,
/// post-norm layers. Marian's (`MarianEncoder`): sinusoidal positions and no `layernorm_embedding`.
public final class BartEncoder: Module {
    @ModuleInfo(key: "embed_tokens") public var embedTokens: Embedding
    @ModuleInfo(key: "embed_positions") public var embedPositions: Embedding
    @ModuleInfo(key: "layernorm_embedding") public var embeddingNorm: LayerNorm?
    /// mBART's LayerNorm after the last layer.
    @ModuleInfo(key: "layer_norm") public var finalLayerNorm: LayerNorm?
    public let layers: [BartEncoderLayer]
    let dropout: Dropout
    let embeddingScale: Float
    let positionOffset: Int

    init(_ config: BartConfig, embedTokens: Embedding) {
        _embedTokens.wrappedValue = embedTokens
        _embedPositions.wrappedValue = embedding(config.positionTableRows, config.dModel)
        _embeddingNorm.wrappedValue = config.isMarian ? nil : LayerNorm(config.dModel)
        _finalLayerNorm.wrappedValue = config.isPreNorm ? LayerNorm(config.dModel) : nil
        layers = (0..<config.encoderLayers).map { _ in BartEncoderLayer(config) }
        dropout = Dropout(config.dropout)
        embeddingScale = config.embeddingScale
        positionOffset = config.positionOffset
    }

    /// `[B, S]` ids and an optional `[B, S]` padding mask → `[B, S, d_model]`.
    public func forward(inputIds: Tensor, attentionMask: Tensor?) -> Tensor {
        var x = embedTokens(inputIds)
        if embeddingScale != 1 { x = x * embeddingScale }
        x = x + bartPositions(embedPositions, past: 0, length: inputIds.size(1), offset: positionOffset)
        x = dropout(embeddingNorm.map { $0(x) } ?? x)
        let mask = attentionMask.map(paddingMask)
        for layer in layers { x = layer(x, mask: mask) }
        return finalLayerNorm.map { $0(x) } ?? x
    }
}

/// The BART decoder (`BartDecoder`): like the encoder, with causal self-attention (cached) and
/// cross-attention to the encoder output (Marian's likewise).
public final class BartDecoder: Module {
    @ModuleInfo(key: "embed_tokens") public var embedTokens: Embedding
    @ModuleInfo(key: "embed_positions") public var embedPositions: Embedding
    @ModuleInfo(key: "layernorm_embedding") public var embeddingNorm: LayerNorm?
    /// mBART's LayerNorm after the last layer.
    @ModuleInfo(key: "layer_norm") public var finalLayerNorm: LayerNorm?
    public let layers: [BartDecoderLayer]
    let dropout: Dropout
    let embeddingScale: Float
    let positionOffset: Int

    init(_ config: BartConfig, embedTokens: Embedding) {
        _embedTokens.wrappedValue = embedTokens
        _embedPositions.wrappedValue = embedding(config.positionTableRows, config.dModel)
        _embeddingNorm.wrappedValue = config.isMarian ? nil : LayerNorm(config.dModel)
        _finalLayerNorm.wrappedValue = config.isPreNorm ? LayerNorm(config.dModel) : nil
        layers = (0..<config.decoderLayers).map { BartDecoderLayer(config, layerIndex: $0) }
        dropout = Dropout(config.dropout)
        embeddingScale = config.embeddingScale
        positionOffset = config.positionOffset
    }

    /// Decoder ids `[B, T]` (the new positions only when `cache` holds the past), the encoder output
    /// `[B, S, d_model]` and its padding mask `[B, S]`; an optional decoder padding mask `[B, past + T]`.
    public func forward(inputIds: Tensor, encoderStates: Tensor, encoderAttentionMask: Tensor?,
                        attentionMask: Tensor? = nil, cache: EncoderDecoderCache? = nil) -> Tensor {
        let past = cache?.selfAttention?.offset ?? 0
        let length = inputIds.size(1)
        var x = embedTokens(inputIds)
        if embeddingScale != 1 { x = x * embeddingScale }
        x = x + bartPositions(embedPositions, past: past, length: length, offset: positionOffset)
        x = dropout(embeddingNorm.map { $0(x) } ?? x)
        let mask = causalMask(queryLength: length, keyLength: past + length, attentionMask: attentionMask)
        let encoderMask = encoderAttentionMask.map(paddingMask)
        for layer in layers { x = layer(x, mask: mask, encoderStates: encoderStates, encoderMask: encoderMask, cache: cache) }
        return finalLayerNorm.map { $0(x) } ?? x
    }
}

/// What an encoder-decoder reads: source ids and mask, decoder ids and an optional decoder mask.
public struct Seq2SeqInputs {
    /// Source token ids `[B, S]`.
    public var inputIds: Tensor
    /// 1 for real source tokens, 0 for padding, `[B, S]`; all ones when nil.
    public var attentionMask: Tensor?
    /// Decoder token ids `[B, T]`; nil with `labels` means the labels shifted right.
    public var decoderInputIds: Tensor?
    /// Decoder padding mask `[B, T]`; causal only when nil.
    public var decoderAttentionMask: Tensor?

    public init(inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil, decoderAttentionMask: Tensor? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.decoderInputIds = decoderInputIds
        self.decoderAttentionMask = decoderAttentionMask
    }
}

/// The outputs of an encoder-decoder: decoder states or logits, the encoder's last states and the loss.
public struct Seq2SeqOutput {
    /// `[B, T, vocab]` logits (the LM) or `[B, T, d_model]` decoder states (the bare model).
    public var logits: Tensor
    /// `[B, S, d_model]`.
    public var encoderLastHiddenState: Tensor
    /// Mean cross entropy over the labels that are not −100, when labels were given.
    public var loss: Tensor?
}

/// The decoder inputs made from `ids` (labels, or the source): BART's `shift_tokens_right`, or mBART's,
/// which starts each row with its last non-pad token (the language code) instead of a fixed token.
func shiftedDecoderInputs(_ ids: Tensor, config: BartConfig) -> Tensor {
    let pad = config.common.padTokenId ?? 0
    guard config.isPreNorm else { return shiftTokensRight(ids, pad: pad, start: config.decoderStartTokenId ?? pad) }
    let filled = ids.maskedFill(ids .== -100, Float(pad))
    let last = (filled .!= Float(pad)).cast(to: .int64).sum(dim: 1, keepDim: true) - 1
    let start = filled.gather(dim: 1, index: Tensor.maximum(last, Tensor.zeros(like: last)))
    return Tensor.concat([start, filled.sliced(dim: 1, end: filled.size(1) - 1)], dim: 1)
}

/// `labels` shifted one position right with `start` first, −100 replaced by `pad` (`shift_tokens_right`).
func shiftTokensRight(_ labels: Tensor, pad: Int, start: Int) -> Tensor {
    let first = Tensor.full([labels.size(0), 1], Double(start), dtype: labels.dtype)
    let shifted = Tensor.concat([first, labels.sliced(dim: 1, end: labels.size(1) - 1)], dim: 1)
    return shifted.maskedFill(shifted .== -100, Float(pad))
}

/// The bare encoder-decoder (`BartModel`): `shared` token embeddings (used by both sides unless
/// `tie_word_embeddings` is false and the checkpoint has each side's own), encoder, decoder.
public final class BartModel: Module {
    public let config: BartConfig
    public let shared: Embedding
    public let encoder: BartEncoder
    public let decoder: BartDecoder

    /// A randomly initialized model; `separateEmbeddings` gives each side its own token table
    /// (transformers 5 unties them with `tie_word_embeddings` false).
    public init(config: BartConfig, separateEmbeddings: Bool = false) {
        self.config = config
        let shared = embedding(config.vocabSize, config.dModel, paddingIndex: config.common.padTokenId)
        self.shared = shared
        func side() -> Embedding {
            guard separateEmbeddings else { return shared }
            return embedding(config.vocabSize, config.dModel, paddingIndex: config.common.padTokenId)
        }
        encoder = BartEncoder(config, embedTokens: side())
        decoder = BartDecoder(config, embedTokens: side())
        super.init()
        WeightInitialization.apply(self, range: config.initStd)
        if config.isMarian {
            // Fixed, not in checkpoints (`_keys_to_ignore_on_save`): computed here, after the random init.
            let table = marianPositionTable(positions: config.positionTableRows, dim: config.dModel)
            encoder.embedPositions.weight = table
            decoder.embedPositions.weight = table
        }
    }

    /// Marian's sinusoidal position tables, which checkpoints do not hold.
    var positionTables: [Tensor] { config.isMarian ? [encoder.embedPositions.weight, decoder.embedPositions.weight] : [] }

    /// Trusted-input forward: the decoder's last states (as `logits`) and the encoder's.
    public func forward(_ inputs: Seq2SeqInputs, decoderInputIds: Tensor, cache: EncoderDecoderCache? = nil,
                        encoderStates: Tensor? = nil) -> Seq2SeqOutput {
        let encoded = encoderStates ?? encoder.forward(inputIds: inputs.inputIds, attentionMask: inputs.attentionMask)
        let decoded = decoder.forward(inputIds: decoderInputIds, encoderStates: encoded, encoderAttentionMask: inputs.attentionMask,
                                      attentionMask: inputs.decoderAttentionMask, cache: cache)
        return Seq2SeqOutput(logits: decoded, encoderLastHiddenState: encoded, loss: nil)
    }

    /// Validates, then runs; without `decoderInputIds`, the source shifted right (as `BartModel` does).
    public func callAsFunction(_ inputs: Seq2SeqInputs) throws(TransformersError) -> Seq2SeqOutput {
        try validateSeq2SeqInputs(inputs, labels: nil, config: config)
        return withNoGradIfEval(self) {
            forward(inputs, decoderInputIds: inputs.decoderInputIds ?? shiftedDecoderInputs(inputs.inputIds, config: config))
        }
    }
}

/// BART with the LM head (`BartForConditionalGeneration`): logits `lm_head(decoder states) +
/// final_logits_bias`, the head tied to the shared embeddings unless `tie_word_embeddings` is false.
///
/// ```swift
/// let bart = try BartForConditionalGeneration.fromPretrained(directory: url)
/// let out = try bart(Seq2SeqInputs(inputIds: source, attentionMask: mask, decoderInputIds: target))
/// let tokens = try bart.generate([[0, 31414, 232, 2]], config: .greedy(maxNewTokens: 20))
/// ```
public final class BartForConditionalGeneration: Module {
    public let config: BartConfig
    public let model: BartModel
    @ModuleInfo(key: "lm_head") public var lmHead: Linear
    @BufferInfo(key: "final_logits_bias") public var finalLogitsBias: Tensor

    /// A randomly initialized model.
    public init(config: BartConfig, separateEmbeddings: Bool = false) {
        self.config = config
        let model = BartModel(config: config, separateEmbeddings: separateEmbeddings)
        self.model = model
        let head = linear(config.dModel, config.vocabSize, bias: false)
        if config.common.tieWordEmbeddings { head.weight = model.shared.weight }
        _lmHead.wrappedValue = head
        _finalLogitsBias.wrappedValue = Tensor.zeros([1, config.vocabSize])
    }

    /// Trusted-input forward. Decoder ids are `inputs.decoderInputIds`, else `labels` shifted right;
    /// `encoderStates` skips the encoder (generation runs it once). Loss: cross entropy over `labels`
    /// `[B, T]`, −100 ignored.
    public func forward(_ inputs: Seq2SeqInputs, labels: Tensor? = nil, cache: EncoderDecoderCache? = nil,
                        encoderStates: Tensor? = nil) -> Seq2SeqOutput {
        let decoderIds = inputs.decoderInputIds ?? labels.map { shiftedDecoderInputs($0, config: config) }
            ?? shiftedDecoderInputs(inputs.inputIds, config: config)
        var out = model.forward(inputs, decoderInputIds: decoderIds, cache: cache, encoderStates: encoderStates)
        out.logits = lmHead(out.logits) + finalLogitsBias
        if let labels {
            out.loss = Loss.crossEntropy(out.logits.flattened(endDim: -2), labels.flattened())
        }
        return out
    }

    /// Validates inputs and labels, then runs `forward`.
    public func callAsFunction(_ inputs: Seq2SeqInputs, labels: Tensor? = nil) throws(TransformersError) -> Seq2SeqOutput {
        try validateSeq2SeqInputs(inputs, labels: labels, config: config)
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// Checks encoder-decoder inputs against a BART config.
func validateSeq2SeqInputs(_ inputs: Seq2SeqInputs, labels: Tensor?, config: BartConfig) throws(TransformersError) {
    try validateSeq2SeqInputs(inputs, labels: labels, vocabSize: config.vocabSize, maxPositions: config.maxPositionEmbeddings,
                              positionsField: "max_position_embeddings", pad: config.common.padTokenId, start: config.decoderStartTokenId,
                              needsStart: !config.isPreNorm)   // mBART starts each row with its own last token
}

/// Checks encoder-decoder inputs: ids in the vocabulary, masks shaped like their ids, lengths within
/// `maxPositions` (named `positionsField`), labels shaped like the decoder ids, and the special tokens
/// (`pad`, `start`) shifting right needs.
func validateSeq2SeqInputs(_ inputs: Seq2SeqInputs, labels: Tensor?, vocabSize: Int, maxPositions: Int, positionsField: String,
                           pad: Int?, start: Int?, needsStart: Bool = true) throws(TransformersError) {
    try validateIds(inputs.inputIds, limit: vocabSize, name: "input_ids", configField: "vocab_size")
    if let mask = inputs.attentionMask { try validateMask(mask, like: inputs.inputIds) }
    guard inputs.inputIds.size(1) <= maxPositions else {
        throw .invalidInput(argument: "input_ids", reason: "sequence of \(inputs.inputIds.size(1)) tokens exceeds \(positionsField) \(maxPositions)")
    }
    if let decoderIds = inputs.decoderInputIds {
        try validateIds(decoderIds, limit: vocabSize, name: "decoder_input_ids", configField: "vocab_size")
        guard decoderIds.size(0) == inputs.inputIds.size(0) else {
            throw .invalidInput(argument: "decoder_input_ids", reason: "has batch \(decoderIds.size(0)) but input_ids has \(inputs.inputIds.size(0))")
        }
        guard decoderIds.size(1) <= maxPositions else {
            throw .invalidInput(argument: "decoder_input_ids", reason: "sequence of \(decoderIds.size(1)) tokens exceeds \(positionsField) \(maxPositions)")
        }
        if let mask = inputs.decoderAttentionMask { try validateMask(mask, like: decoderIds, name: "decoder_attention_mask") }
        if let labels { try validateLabels(labels, like: decoderIds, classes: vocabSize, name: "labels") }
    } else if let labels {
        guard labels.rank == 2, labels.size(0) == inputs.inputIds.size(0), labels.count > 0 else {
            throw .invalidInput(argument: "labels", reason: "has shape \(labels.shape); expected [\(inputs.inputIds.size(0)), target length]")
        }
        try validateLabels(labels, like: labels, classes: vocabSize, name: "labels")
        guard labels.size(1) <= maxPositions else {
            throw .invalidInput(argument: "labels", reason: "sequence of \(labels.size(1)) tokens exceeds \(positionsField) \(maxPositions)")
        }
        if inputs.decoderAttentionMask != nil {
            throw .invalidInput(argument: "decoder_attention_mask", reason: "is given without decoder_input_ids")
        }
    } else if inputs.decoderAttentionMask != nil {
        throw .invalidInput(argument: "decoder_attention_mask", reason: "is given without decoder_input_ids")
    }
    if inputs.decoderInputIds == nil {
        guard pad != nil else {
            throw .invalidInput(argument: "decoder_input_ids", reason: "are needed: config.json has no pad_token_id to shift labels right with")
        }
        guard start != nil || !needsStart else {
            throw .invalidInput(argument: "decoder_input_ids", reason: "are needed: config.json has no decoder_start_token_id")
        }
    }
}

// MARK: - Generation

extension BartForConditionalGeneration: Seq2SeqLanguageModel {
    public var vocabularySize: Int { config.vocabSize }
    public var maxPositions: Int { config.maxPositionEmbeddings }
    public var positionsName: String { "max_position_embeddings" }
    public var decoderLayerCount: Int { config.decoderLayers }
    public var commonConfig: CommonConfig { config.common }
    public var configDecoderStartTokenId: Int? { config.decoderStartTokenId }
    public func encode(inputIds: Tensor, attentionMask: Tensor?) -> Tensor {
        model.encoder.forward(inputIds: inputIds, attentionMask: attentionMask)
    }
}

/// Right-pads `sources` into `[B, S]` ids with `pad` and the matching mask, after checking each is
/// non-empty, in the vocabulary and within the position table.
func seq2seqSourceBatch(_ sources: [[Int]], vocabularySize: Int, maxPositions: Int, positionsName: String,
                        pad: Int) throws(TransformersError) -> (Tensor, Tensor) {
    guard !sources.isEmpty else { throw .invalidInput(argument: "sources", reason: "is empty") }
    for (i, source) in sources.enumerated() {
        guard !source.isEmpty else { throw .invalidInput(argument: "sources[\(i)]", reason: "is empty") }
        if let bad = source.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw .invalidInput(argument: "sources[\(i)]", reason: "holds \(bad), outside 0..<\(vocabularySize) (vocab_size)")
        }
        guard source.count <= maxPositions else {
            throw .invalidInput(argument: "sources[\(i)]", reason: "has \(source.count) tokens, more than \(positionsName) \(maxPositions)")
        }
    }
    guard pad >= 0 && pad < vocabularySize else { throw .invalidInput(argument: "pad_token_id", reason: "\(pad) is outside the vocabulary") }
    let width = sources.map(\.count).max() ?? 0
    let ids = sources.flatMap { $0 + Array(repeating: pad, count: width - $0.count) }
    let mask = sources.flatMap { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: width - $0.count) }
    return (Tensor(ids, shape: [sources.count, width]), Tensor(mask, shape: [sources.count, width]))
}

// MARK: - Loading

/// Whether a checkpoint has each side's own token table (transformers 5 saves them when untied).
private func hasSeparateEmbeddings(_ config: BartConfig, _ keys: Set<String>) -> Bool {
    !config.common.tieWordEmbeddings && keys.contains { $0.hasSuffix("encoder.embed_tokens.weight") }
        && keys.contains { $0.hasSuffix("decoder.embed_tokens.weight") }
}

extension BartModel: PretrainedModel {
    public static var basePrefix: String { "model" }
    public convenience init(config: BartConfig, checkpointKeys: Set<String>) {
        self.init(config: config, separateEmbeddings: hasSeparateEmbeddings(config, checkpointKeys))
    }
    /// Marian's position tables are computed, not loaded.
    public var derivedTensors: [Tensor] { positionTables }
}

extension BartForConditionalGeneration: PretrainedModel {
    public static var basePrefix: String { "model" }
    public convenience init(config: BartConfig, checkpointKeys: Set<String>) {
        self.init(config: config, separateEmbeddings: hasSeparateEmbeddings(config, checkpointKeys))
    }
    /// `final_logits_bias` is zeros when a checkpoint lacks it (`_keys_to_ignore_on_load_missing`);
    /// Marian's position tables are computed.
    public var derivedTensors: [Tensor] { [finalLogitsBias] + model.positionTables }
}

extension ModelFamily {
    /// BART (`model_type` `bart`): byte-level BPE source ids, mask and decoder ids. Its export is a
    /// manifest: `tcompile run` traces the teacher-forced forward (`logits`, `encoder_last_hidden_state`),
    /// generation and the AOT library trace the encoder and decoder step (`Seq2SeqGraphs`).
    public static let bart = ModelFamily(
        modelType: "bart", config: BartConfig.self, tokenizer: .byteLevelBPE,
        inputs: [.inputIds, .attentionMask, .decoderInputIds],
        tasks: [
            .task(.text2textGeneration, BartForConditionalGeneration.self, architectures: ["BartForConditionalGeneration"],
                  outputs: ["logits", "encoder_last_hidden_state"]) { m, x in
                let out = m.forward(x.seq2seq)
                return [("logits", out.logits), ("encoder_last_hidden_state", out.encoderLastHiddenState)]
            },
        ])
}

extension ModelFamily {
    /// Marian (`model_type` `marian`, `MarianMTModel`): BART's model with sinusoidal positions and no
    /// `layernorm_embedding` (`BartConfig.isMarian`); source ids, mask and decoder ids; SentencePiece
    /// `source.spm` / `target.spm` with `vocab.json` (`MarianTokenizer`). Export and compilation as BART.
    public static let mbart = ModelFamily(
        modelType: "mbart", config: BartConfig.self, tokenizer: .sentencePiece,
        inputs: [.inputIds, .attentionMask, .decoderInputIds],
        tasks: [
            .task(.text2textGeneration, BartForConditionalGeneration.self, architectures: ["MBartForConditionalGeneration"],
                  outputs: ["logits", "encoder_last_hidden_state"]) { m, x in
                let out = m.forward(x.seq2seq)
                return [("logits", out.logits), ("encoder_last_hidden_state", out.encoderLastHiddenState)]
            },
        ])

    public static let marian = ModelFamily(
        modelType: "marian", config: BartConfig.self, tokenizer: .sentencePiece,
        inputs: [.inputIds, .attentionMask, .decoderInputIds],
        tasks: [
            .task(.text2textGeneration, BartForConditionalGeneration.self, architectures: ["MarianMTModel"],
                  outputs: ["logits", "encoder_last_hidden_state"]) { m, x in
                let out = m.forward(x.seq2seq)
                return [("logits", out.logits), ("encoder_last_hidden_state", out.encoderLastHiddenState)]
            },
        ])
}
