// Ports transformers/models/t5/modeling_t5.py: pre-norm encoder and decoder blocks with RMS layer norm
// (`T5LayerNorm`, no bias), unscaled attention with a learned relative-position bias (bucketed,
// bidirectional in the encoder, causal in the decoder; computed by each stack's first block and shared
// by the others), `d_kv · num_heads` independent of `d_model`, ReLU or gated feed-forward, an LM head
// on the shared embeddings, with decoder outputs scaled by d_model^-0.5 in v1.0.
import Foundation
import NN
import Tensors

/// T5's bucket of each relative position `key − query` (`_relative_position_bucket`): half the
/// buckets per direction when bidirectional, exact for small distances, logarithmic up to
/// `maxDistance`, computed in float32 as transformers does.
func t5RelativeBucket(_ relative: Int, bidirectional: Bool, buckets: Int, maxDistance: Int) -> Int {
    var n = buckets, bucket = 0, distance = relative
    if bidirectional {
        n /= 2
        if relative > 0 { bucket += n }
        distance = Swift.abs(relative)
    } else {
        distance = -Swift.min(relative, 0)
    }
    let maxExact = n / 2
    if distance < maxExact { return bucket + distance }
    let scaled = Foundation.log(Float(distance) / Float(maxExact)) / Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
        * Float(n - maxExact)
    let large = maxExact + Int(scaled.isFinite ? Swift.min(Swift.max(scaled, 0), Float(n)) : Float(n))
    return bucket + Swift.min(large, n - 1)
}

/// T5 attention (`T5Attention`): bias-free q/k/v/o, no score scaling, an optional relative-position
/// bias table `[buckets, heads]`.
public final class T5Attention: Module {
    public let q: Linear, k: Linear, v: Linear, o: Linear
    @ModuleInfo(key: "relative_attention_bias") public var relativeAttentionBias: Embedding?
    let heads: Int, buckets: Int, maxDistance: Int, bidirectional: Bool
    let dropout: Dropout

    init(_ config: T5Config, relativeBias: Bool, bidirectional: Bool) {
        q = linear(config.dModel, config.innerDim, bias: false)
        k = linear(config.dModel, config.innerDim, bias: false)
        v = linear(config.dModel, config.innerDim, bias: false)
        o = linear(config.innerDim, config.dModel, bias: false)
        _relativeAttentionBias.wrappedValue = relativeBias ? embedding(config.relativeAttentionNumBuckets, config.numHeads) : nil
        heads = config.numHeads
        buckets = config.relativeAttentionNumBuckets
        maxDistance = config.relativeAttentionMaxDistance
        self.bidirectional = bidirectional
        dropout = Dropout(config.dropoutRate)
    }

    /// The bias `[1, heads, queries, keys]` of queries at `past..<past+queries` over keys `0..<keys`.
    /// Built from tensor ops so it traces with symbolic lengths: the relative positions `key − query`
    /// (from `arange`) are clamped to `±max_distance`, beyond which every bucket is the last one,
    /// and looked up in a constant table of the `2·max_distance + 1` buckets `t5RelativeBucket` gives.
    func positionBias(queries: Int, keys: Int, past: Int) -> Tensor {
        guard let table = relativeAttentionBias else { return Tensor.zeros([1, heads, queries, keys]) }
        let span = maxDistance
        // key − query + span, for every (query, key) pair: [queries, keys].
        let shifted = Tensor.arange(span, keys + span).unsqueezed(at: 0) - Tensor.arange(past, past + queries).unsqueezed(at: 1)
        let index = shifted.clamped(min: 0, max: Float(2 * span))
        let bucketOf = Tensor((-span...span).map { t5RelativeBucket($0, bidirectional: bidirectional, buckets: buckets, maxDistance: span) },
                              shape: [2 * span + 1])
        return table(bucketOf.indexSelect(dim: 0, index: index)).permuted([2, 0, 1]).unsqueezed(at: 0)
    }

    /// Attention from `x` to itself (appending to `cache` as `layer`) or to `states` (cross, keys and
    /// values from `crossCache` when it holds them); `bias` is the position bias plus the mask.
    func callAsFunction(_ x: Tensor, states: Tensor?, bias: Tensor, cache: KVCache?, crossCache: EncoderDecoderCache?, layer: Int) -> Tensor {
        let query = splitHeads(q(x), heads: heads)
        let keys: Tensor, values: Tensor
        if let states {
            let make = { (splitHeads(self.k(states), heads: self.heads), splitHeads(self.v(states), heads: self.heads)) }
            (keys, values) = crossCache.map { $0.cross(layer: layer, make) } ?? make()
        } else {
            var kk = splitHeads(k(x), heads: heads), vv = splitHeads(v(x), heads: heads)
            if let cache { (kk, vv) = cache.update(layer: layer, keys: kk, values: vv) }
            (keys, values) = (kk, vv)
        }
        return o(mergeHeads(attend(query, keys, values, scale: 1, mask: bias, dropout: dropout)))
    }
}

/// The feed-forward block (`T5DenseActDense` / `T5DenseGatedActDense`): `wo(act(wi(x)))` or
/// `wo(act(wi_0(x)) · wi_1(x))`.
public final class T5FeedForward: Module {
    public let wi: Linear?
    @ModuleInfo(key: "wi_0") public var wi0: Linear?
    @ModuleInfo(key: "wi_1") public var wi1: Linear?
    public let wo: Linear
    let activation: any UnaryLayer
    let dropout: Dropout

    init(_ config: T5Config) {
        let (gated, act) = config.feedForward
        wi = gated ? nil : linear(config.dModel, config.dFf, bias: false)
        _wi0.wrappedValue = gated ? linear(config.dModel, config.dFf, bias: false) : nil
        _wi1.wrappedValue = gated ? linear(config.dModel, config.dFf, bias: false) : nil
        wo = linear(config.dFf, config.dModel, bias: false)
        activation = configActivation(act)
        dropout = Dropout(config.dropoutRate)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if let wi0, let wi1 { return wo(dropout(activation(wi0(x)) * wi1(x))) }
        guard let wi else { return x }
        return wo(dropout(activation(wi(x))))
    }
}

/// One sub-layer of a block: `x + dropout(f(layer_norm(x)))` (`T5LayerSelfAttention`,
/// `T5LayerCrossAttention`, `T5LayerFF`), holding the attention or the feed-forward under HF's name.
public final class T5SubLayer: Module {
    @ModuleInfo(key: "SelfAttention") public var selfAttention: T5Attention?
    @ModuleInfo(key: "EncDecAttention") public var crossAttention: T5Attention?
    @ModuleInfo(key: "DenseReluDense") public var feedForward: T5FeedForward?
    @ModuleInfo(key: "layer_norm") public var layerNorm: RMSNorm
    let dropout: Dropout

    init(_ config: T5Config, selfAttention: T5Attention? = nil, crossAttention: T5Attention? = nil, feedForward: T5FeedForward? = nil) {
        _selfAttention.wrappedValue = selfAttention
        _crossAttention.wrappedValue = crossAttention
        _feedForward.wrappedValue = feedForward
        _layerNorm.wrappedValue = RMSNorm(config.dModel, eps: config.layerNormEpsilon)
        dropout = Dropout(config.dropoutRate)
    }
}

/// A block (`T5Block`): self-attention, cross-attention in the decoder, feed-forward.
public final class T5Block: Module {
    @ModuleInfo(key: "layer") public var layers: [T5SubLayer]
    let index: Int

    init(_ config: T5Config, decoder: Bool, index: Int) {
        var layers = [T5SubLayer(config, selfAttention: T5Attention(config, relativeBias: index == 0, bidirectional: !decoder))]
        if decoder { layers.append(T5SubLayer(config, crossAttention: T5Attention(config, relativeBias: false, bidirectional: true))) }
        layers.append(T5SubLayer(config, feedForward: T5FeedForward(config)))
        _layers.wrappedValue = layers
        self.index = index
    }

    func callAsFunction(_ x: Tensor, bias: Tensor, encoderStates: Tensor?, crossBias: Tensor?, cache: EncoderDecoderCache?) -> Tensor {
        var h = x
        for sub in layers {
            let normed = sub.layerNorm(h)
            if let attention = sub.selfAttention {
                h = h + sub.dropout(attention(normed, states: nil, bias: bias, cache: cache?.selfAttention, crossCache: nil, layer: index))
            } else if let attention = sub.crossAttention, let encoderStates, let crossBias {
                h = h + sub.dropout(attention(normed, states: encoderStates, bias: crossBias, cache: nil, crossCache: cache, layer: index))
            } else if let feedForward = sub.feedForward {
                h = h + sub.dropout(feedForward(normed))
            }
        }
        return h
    }
}

/// An encoder or decoder stack (`T5Stack`): embeddings, blocks, final RMS norm.
public final class T5Stack: Module {
    @ModuleInfo(key: "embed_tokens") public var embedTokens: Embedding
    @ModuleInfo(key: "block") public var blocks: [T5Block]
    @ModuleInfo(key: "final_layer_norm") public var finalLayerNorm: RMSNorm
    let dropout: Dropout
    let isDecoder: Bool

    init(_ config: T5Config, embedTokens: Embedding, decoder: Bool) {
        _embedTokens.wrappedValue = embedTokens
        _blocks.wrappedValue = (0..<(decoder ? config.numDecoderLayers : config.numLayers)).map { T5Block(config, decoder: decoder, index: $0) }
        _finalLayerNorm.wrappedValue = RMSNorm(config.dModel, eps: config.layerNormEpsilon)
        dropout = Dropout(config.dropoutRate)
        isDecoder = decoder
    }

    /// The encoder (`encoderStates` nil) over `ids` with padding `mask`, or the decoder over `ids` (the
    /// new positions when `cache` holds the past) attending to `encoderStates` with `encoderMask`.
    func forward(_ ids: Tensor, mask: Tensor?, encoderStates: Tensor? = nil, encoderMask: Tensor? = nil,
                 cache: EncoderDecoderCache? = nil) -> Tensor {
        let past = cache?.selfAttention?.offset ?? 0
        let length = ids.size(1), keys = past + length
        var x = dropout(embedTokens(ids))
        guard let first = blocks.first?.layers.first?.selfAttention else { return dropout(finalLayerNorm(x)) }
        let positions = first.positionBias(queries: length, keys: keys, past: past)
        let bias: Tensor = isDecoder ? positions + causalMask(queryLength: length, keyLength: keys, attentionMask: mask)
            : mask.map { positions + paddingMask($0) } ?? positions
        var crossBias: Tensor? = nil
        if let encoderStates {
            let zeros = Tensor.zeros([1, first.heads, length, encoderStates.size(1)])
            crossBias = encoderMask.map { zeros + paddingMask($0) } ?? zeros
        }
        for block in blocks { x = block(x, bias: bias, encoderStates: encoderStates, crossBias: crossBias, cache: cache) }
        return dropout(finalLayerNorm(x))
    }
}

/// T5 with its LM head (`T5ForConditionalGeneration`).
///
/// ```swift
/// let t5 = try T5ForConditionalGeneration.fromPretrained(directory: url)
/// let out = try t5(Seq2SeqInputs(inputIds: source, attentionMask: mask, decoderInputIds: target))
/// let tokens = try t5.generate([[13959, 1566, 12, 2968, 10, 571, 1]], config: .greedy(maxNewTokens: 20))
/// ```
public final class T5ForConditionalGeneration: Module {
    public let config: T5Config
    public let shared: Embedding
    public let encoder: T5Stack
    public let decoder: T5Stack
    @ModuleInfo(key: "lm_head") public var lmHead: Linear

    /// A randomly initialized model; `separateHead` gives the LM head its own weight (v1.1
    /// checkpoints saved before transformers 5 carry `lm_head.weight`).
    public init(config: T5Config, separateHead: Bool = false) {
        self.config = config
        let shared = embedding(config.vocabSize, config.dModel)
        self.shared = shared
        encoder = T5Stack(config, embedTokens: shared, decoder: false)
        decoder = T5Stack(config, embedTokens: shared, decoder: true)
        let head = linear(config.dModel, config.vocabSize, bias: false)
        if !separateHead { head.weight = shared.weight }
        _lmHead.wrappedValue = head
        super.init()
        WeightInitialization.apply(self, range: config.initializerFactor * 0.05)
    }

    /// Trusted-input forward, as `BartForConditionalGeneration.forward`.
    public func forward(_ inputs: Seq2SeqInputs, labels: Tensor? = nil, cache: EncoderDecoderCache? = nil,
                        encoderStates: Tensor? = nil) -> Seq2SeqOutput {
        let pad = config.common.padTokenId ?? 0, start = config.decoderStartTokenId ?? pad
        let decoderIds = inputs.decoderInputIds ?? labels.map { shiftTokensRight($0, pad: pad, start: start) }
            ?? shiftTokensRight(inputs.inputIds, pad: pad, start: start)
        let encoded = encoderStates ?? encoder.forward(inputs.inputIds, mask: inputs.attentionMask)
        var states = decoder.forward(decoderIds, mask: inputs.decoderAttentionMask, encoderStates: encoded,
                                     encoderMask: inputs.attentionMask, cache: cache)
        if config.scaleDecoderOutputs { states = states * (1 / Float(config.dModel).squareRoot()) }
        let logits = lmHead(states)
        let loss = labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) }
        return Seq2SeqOutput(logits: logits, encoderLastHiddenState: encoded, loss: loss)
    }

    /// Validates inputs and labels, then runs `forward`.
    public func callAsFunction(_ inputs: Seq2SeqInputs, labels: Tensor? = nil) throws(TransformersError) -> Seq2SeqOutput {
        try validateSeq2SeqInputs(inputs, labels: labels, vocabSize: config.vocabSize, maxPositions: config.maxSequenceLength,
                                  positionsField: "the supported sequence length", pad: config.common.padTokenId,
                                  start: config.decoderStartTokenId)
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

extension T5ForConditionalGeneration: Seq2SeqLanguageModel {
    public var vocabularySize: Int { config.vocabSize }
    public var maxPositions: Int { config.maxSequenceLength }
    public var positionsName: String { "the supported sequence length" }
    public var decoderLayerCount: Int { config.numDecoderLayers }
    public var commonConfig: CommonConfig { config.common }
    public var configDecoderStartTokenId: Int? { config.decoderStartTokenId }
    public func encode(inputIds: Tensor, attentionMask: Tensor?) -> Tensor { encoder.forward(inputIds, mask: attentionMask) }
}

extension T5ForConditionalGeneration: PretrainedModel {
    public static var basePrefix: String { "" }
    public convenience init(config: T5Config, checkpointKeys: Set<String>) {
        self.init(config: config, separateHead: !config.common.tieWordEmbeddings && checkpointKeys.contains("lm_head.weight"))
    }
}

extension ModelFamily {
    /// T5 (`model_type` `t5`): SentencePiece (Unigram) source ids, mask and decoder ids. Its export is a
    /// manifest: `tcompile run` traces the teacher-forced forward (`logits`, `encoder_last_hidden_state`),
    /// generation and the AOT library trace the encoder and decoder step (`Seq2SeqGraphs`).
    public static let t5 = ModelFamily(
        modelType: "t5", config: T5Config.self, tokenizer: .sentencePiece,
        inputs: [.inputIds, .attentionMask, .decoderInputIds],
        tasks: [
            .task(.text2textGeneration, T5ForConditionalGeneration.self, architectures: ["T5ForConditionalGeneration"],
                  outputs: ["logits", "encoder_last_hidden_state"]) { m, x in
                let out = m.forward(x.seq2seq)
                return [("logits", out.logits), ("encoder_last_hidden_state", out.encoderLastHiddenState)]
            },
        ])
}
