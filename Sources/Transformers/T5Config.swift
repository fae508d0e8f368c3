import Foundation

/// A T5 config as `transformers.T5Config` decodes it from `config.json`, with the same defaults
/// (t5-small: 6 + 6 layers of 512, 8 heads of 64, feed-forward 2048, 32 relative-position buckets up
/// to distance 128, vocabulary 32128, pad 0, eos 1, decoder start 0).
public struct T5Config: PretrainedConfig, Equatable {
    public static let modelTypes = ["t5"]

    /// `model_type`.
    public var modelType: String
    /// `vocab_size`.
    public var vocabSize: Int
    /// `d_model`.
    public var dModel: Int
    /// `d_kv`: dims per head (heads · d_kv need not be d_model).
    public var dKv: Int
    /// `d_ff`.
    public var dFf: Int
    /// `num_layers`: encoder layers.
    public var numLayers: Int
    /// `num_decoder_layers` (`num_layers` when absent).
    public var numDecoderLayers: Int
    /// `num_heads`.
    public var numHeads: Int
    /// `relative_attention_num_buckets`.
    public var relativeAttentionNumBuckets: Int
    /// `relative_attention_max_distance`.
    public var relativeAttentionMaxDistance: Int
    /// `dropout_rate`.
    public var dropoutRate: Float
    /// `layer_norm_epsilon`.
    public var layerNormEpsilon: Double
    /// `initializer_factor`.
    public var initializerFactor: Float
    /// `feed_forward_proj`: `relu` (v1.0) or `gated-gelu` (v1.1, FLAN), in general `[gated-]<activation>`.
    public var feedForwardProj: String
    /// `is_encoder_decoder`.
    public var isEncoderDecoder: Bool
    /// `use_cache`.
    public var useCache: Bool
    /// `decoder_start_token_id` (0: the pad token).
    public var decoderStartTokenId: Int?
    /// Whether decoder outputs are multiplied by d_model^-0.5 before the LM head: config.json's
    /// `scale_decoder_outputs` (transformers 5), else `tie_word_embeddings` (v1.0 true, v1.1 false).
    public var scaleDecoderOutputs: Bool
    /// `classifier_dropout`, kept for round trips.
    public var classifierDropout: Float
    /// Labels, special tokens and tying.
    public var common: CommonConfig

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", dModel = "d_model", dKv = "d_kv", dFf = "d_ff"
        case numLayers = "num_layers", numDecoderLayers = "num_decoder_layers", numHeads = "num_heads"
        case relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance", dropoutRate = "dropout_rate"
        case layerNormEpsilon = "layer_norm_epsilon", initializerFactor = "initializer_factor"
        case feedForwardProj = "feed_forward_proj", isEncoderDecoder = "is_encoder_decoder", useCache = "use_cache"
        case decoderStartTokenId = "decoder_start_token_id", scaleDecoderOutputs = "scale_decoder_outputs"
        case classifierDropout = "classifier_dropout"
    }

    /// `T5Config()` with its defaults.
    public init() {
        modelType = "t5"
        vocabSize = 32128
        dModel = 512
        dKv = 64
        dFf = 2048
        numLayers = 6
        numDecoderLayers = 6
        numHeads = 8
        relativeAttentionNumBuckets = 32
        relativeAttentionMaxDistance = 128
        dropoutRate = 0.1
        layerNormEpsilon = 1e-6
        initializerFactor = 1
        feedForwardProj = "relu"
        isEncoderDecoder = true
        useCache = true
        decoderStartTokenId = 0
        scaleDecoderOutputs = true
        classifierDropout = 0
        common = CommonConfig(padTokenId: 0, bosTokenId: nil, eosTokenIds: [1])
    }

    public init(from decoder: Decoder) throws {
        let d = T5Config()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? d.dModel
        dKv = try c.decodeIfPresent(Int.self, forKey: .dKv) ?? d.dKv
        dFf = try c.decodeIfPresent(Int.self, forKey: .dFf) ?? d.dFf
        numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? d.numLayers
        numDecoderLayers = try c.decodeIfPresent(Int.self, forKey: .numDecoderLayers) ?? numLayers
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? d.numHeads
        relativeAttentionNumBuckets = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionNumBuckets) ?? d.relativeAttentionNumBuckets
        relativeAttentionMaxDistance = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionMaxDistance) ?? d.relativeAttentionMaxDistance
        dropoutRate = try c.decodeIfPresent(Float.self, forKey: .dropoutRate) ?? d.dropoutRate
        layerNormEpsilon = try c.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
        initializerFactor = try c.decodeIfPresent(Float.self, forKey: .initializerFactor) ?? d.initializerFactor
        feedForwardProj = try c.decodeIfPresent(String.self, forKey: .feedForwardProj) ?? d.feedForwardProj
        isEncoderDecoder = try c.decodeIfPresent(Bool.self, forKey: .isEncoderDecoder) ?? true
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache) ?? true
        decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId)
            ?? (c.contains(.decoderStartTokenId) ? nil : d.decoderStartTokenId)
        classifierDropout = try c.decodeIfPresent(Float.self, forKey: .classifierDropout) ?? 0
        common = try CommonConfig(from: decoder, defaults: d.common)
        scaleDecoderOutputs = try c.decodeIfPresent(Bool.self, forKey: .scaleDecoderOutputs) ?? common.tieWordEmbeddings
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(dModel, forKey: .dModel)
        try c.encode(dKv, forKey: .dKv)
        try c.encode(dFf, forKey: .dFf)
        try c.encode(numLayers, forKey: .numLayers)
        try c.encode(numDecoderLayers, forKey: .numDecoderLayers)
        try c.encode(numHeads, forKey: .numHeads)
        try c.encode(relativeAttentionNumBuckets, forKey: .relativeAttentionNumBuckets)
        try c.encode(relativeAttentionMaxDistance, forKey: .relativeAttentionMaxDistance)
        try c.encode(dropoutRate, forKey: .dropoutRate)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encode(initializerFactor, forKey: .initializerFactor)
        try c.encode(feedForwardProj, forKey: .feedForwardProj)
        try c.encode(isEncoderDecoder, forKey: .isEncoderDecoder)
        try c.encode(useCache, forKey: .useCache)
        try c.encodeIfPresent(decoderStartTokenId, forKey: .decoderStartTokenId)
        try c.encode(scaleDecoderOutputs, forKey: .scaleDecoderOutputs)
        try c.encode(classifierDropout, forKey: .classifierDropout)
        try common.encode(to: encoder)
    }

    /// T5's positions are relative: no table bounds the length; this is the bound TCompile applies.
    public var maxSequenceLength: Int { 1 << 16 }

    /// `feed_forward_proj` split as `T5Config` does: whether gated, and the activation's name
    /// (`gated-gelu` is `gelu_new`).
    public var feedForward: (gated: Bool, activation: String) {
        let parts = feedForwardProj.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        if feedForwardProj == "gated-gelu" { return (true, "gelu_new") }
        return (parts.count == 2 && parts[0] == "gated", parts.last ?? feedForwardProj)
    }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(vocabSize, "vocab_size"), (dModel, "d_model"), (dKv, "d_kv"), (dFf, "d_ff"),
                               (numLayers, "num_layers"), (numDecoderLayers, "num_decoder_layers"), (numHeads, "num_heads"),
                               (relativeAttentionNumBuckets, "relative_attention_num_buckets"),
                               (relativeAttentionMaxDistance, "relative_attention_max_distance")] {
            try requirePositive(value, field, file: file)
        }
        for (value, field) in [(numLayers, "num_layers"), (numDecoderLayers, "num_decoder_layers"), (dFf, "d_ff"), (dModel, "d_model")] {
            guard value <= maximumParameterCount else {
                throw .invalidConfigField(file: file, field: field, reason: "(\(value)) is too large")
            }
        }
        guard relativeAttentionNumBuckets >= 4 else {
            throw .invalidConfigField(file: file, field: "relative_attention_num_buckets",
                                      reason: "must be at least 4 (half per direction, half of those exact), got \(relativeAttentionNumBuckets)")
        }
        guard numHeads <= maximumParameterCount / dKv else {
            throw .invalidConfigField(file: file, field: "num_heads", reason: "(\(numHeads)) × d_kv (\(dKv)) is too large")
        }
        try requireBuildable(tables: [vocabSize, relativeAttentionNumBuckets], width: max(dModel, numHeads * dKv),
                             layers: numLayers + 2 * numDecoderLayers, inner: 2 * dFf, file: file)
        let parts = feedForwardProj.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || (parts.count == 2 && parts[0] == "gated") else {
            throw .invalidConfigField(file: file, field: "feed_forward_proj", reason: "is '\(feedForwardProj)'; expected '<activation>' or 'gated-<activation>'")
        }
        try requireActivation(feedForward.activation, "feed_forward_proj", file: file)
        try requireProbability(dropoutRate, "dropout_rate", file: file)
        guard layerNormEpsilon > 0 else { throw .invalidConfigField(file: file, field: "layer_norm_epsilon", reason: "must be positive") }
        guard isEncoderDecoder else {
            throw .invalidConfigField(file: file, field: "is_encoder_decoder", reason: "is false; only the encoder-decoder T5 is supported")
        }
        let ids: [(Int?, String)] = [(common.padTokenId, "pad_token_id"), (common.bosTokenId, "bos_token_id"),
                                     (decoderStartTokenId, "decoder_start_token_id")] + (common.eosTokenIds ?? []).map { ($0, "eos_token_id") }
        for (id, field) in ids {
            if let id, id < 0 || id >= vocabSize {
                throw .invalidConfigField(file: file, field: field, reason: "(\(id)) is outside the vocabulary of \(vocabSize)")
            }
        }
        try common.validate(file: file)
    }

    /// `num_heads · d_kv`: the attention's inner width.
    public var innerDim: Int { numHeads * dKv }
}
