import Foundation

/// A BART config as `transformers.BartConfig` decodes it from `config.json`, with the same defaults
/// (bart-large: 12 + 12 layers of 1024 with 16 heads, feed-forward 4096, 1024 positions, vocabulary
/// 50265, pad 1, bos 0, eos 2, decoder start 2). Also Marian's (`model_type` `marian`,
/// `transformers.MarianConfig`: the same fields, its own defaults — vocabulary 58101, pad and decoder
/// start 58100, eos 0, forced eos 0 — and `share_encoder_decoder_embeddings`), whose model is BART's
/// with sinusoidal positions and no `layernorm_embedding` (`isMarian`). And mBART's (`model_type` `mbart`,
/// `transformers.MBartConfig`: BART's defaults without a decoder start token), whose layers normalize
/// before each block and whose encoder and decoder end with a `layer_norm` (`isPreNorm`).
public struct BartConfig: PretrainedConfig, Equatable {
    public static let modelTypes = ["bart", "marian", "mbart"]

    /// `model_type`.
    public var modelType: String
    /// `vocab_size`.
    public var vocabSize: Int
    /// `max_position_embeddings`: positions of each side (the table has 2 more rows, BART's offset).
    public var maxPositionEmbeddings: Int
    /// `d_model`.
    public var dModel: Int
    /// `encoder_layers`.
    public var encoderLayers: Int
    /// `encoder_ffn_dim`.
    public var encoderFfnDim: Int
    /// `encoder_attention_heads`.
    public var encoderAttentionHeads: Int
    /// `decoder_layers`.
    public var decoderLayers: Int
    /// `decoder_ffn_dim`.
    public var decoderFfnDim: Int
    /// `decoder_attention_heads`.
    public var decoderAttentionHeads: Int
    /// `encoder_layerdrop`: must be 0 (layers are never skipped here).
    public var encoderLayerdrop: Float
    /// `decoder_layerdrop`: must be 0.
    public var decoderLayerdrop: Float
    /// `activation_function`.
    public var activationFunction: String
    /// `dropout`: on embeddings and residual branches.
    public var dropout: Float
    /// `attention_dropout`.
    public var attentionDropout: Float
    /// `activation_dropout`: after the feed-forward activation.
    public var activationDropout: Float
    /// `init_std`.
    public var initStd: Float
    /// `classifier_dropout`: for the classification head (not ported); kept for round trips.
    public var classifierDropout: Float
    /// `scale_embedding`: multiply token embeddings by √d_model.
    public var scaleEmbedding: Bool
    /// `use_cache`.
    public var useCache: Bool
    /// `is_encoder_decoder`.
    public var isEncoderDecoder: Bool
    /// `decoder_start_token_id`: the first decoder token of generation and of labels shifted right.
    public var decoderStartTokenId: Int?
    /// `forced_bos_token_id`.
    public var forcedBosTokenId: Int?
    /// `forced_eos_token_id`.
    public var forcedEosTokenIds: [Int]?
    /// `share_encoder_decoder_embeddings` (Marian): must be true (one token table for both sides).
    public var shareEncoderDecoderEmbeddings: Bool
    /// `decoder_vocab_size` (Marian): must equal `vocab_size` when given.
    public var decoderVocabSize: Int?
    /// Labels, special tokens and tying.
    public var common: CommonConfig

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", maxPositionEmbeddings = "max_position_embeddings"
        case dModel = "d_model", encoderLayers = "encoder_layers", encoderFfnDim = "encoder_ffn_dim"
        case encoderAttentionHeads = "encoder_attention_heads", decoderLayers = "decoder_layers"
        case decoderFfnDim = "decoder_ffn_dim", decoderAttentionHeads = "decoder_attention_heads"
        case encoderLayerdrop = "encoder_layerdrop", decoderLayerdrop = "decoder_layerdrop"
        case activationFunction = "activation_function", dropout, attentionDropout = "attention_dropout"
        case activationDropout = "activation_dropout", initStd = "init_std", classifierDropout = "classifier_dropout"
        case scaleEmbedding = "scale_embedding", useCache = "use_cache", isEncoderDecoder = "is_encoder_decoder"
        case decoderStartTokenId = "decoder_start_token_id", forcedBosTokenId = "forced_bos_token_id"
        case forcedEosTokenIds = "forced_eos_token_id"
        case shareEncoderDecoderEmbeddings = "share_encoder_decoder_embeddings", decoderVocabSize = "decoder_vocab_size"
    }

    /// `BartConfig()` with its defaults, optionally resized.
    public init(vocabSize: Int = 50265, maxPositionEmbeddings: Int = 1024, dModel: Int = 1024, encoderLayers: Int = 12,
                decoderLayers: Int = 12, ffnDim: Int = 4096, heads: Int = 16, activationFunction: String = "gelu") {
        modelType = "bart"
        self.vocabSize = vocabSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.dModel = dModel
        self.encoderLayers = encoderLayers
        encoderFfnDim = ffnDim
        encoderAttentionHeads = heads
        self.decoderLayers = decoderLayers
        decoderFfnDim = ffnDim
        decoderAttentionHeads = heads
        encoderLayerdrop = 0
        decoderLayerdrop = 0
        self.activationFunction = activationFunction
        dropout = 0.1
        attentionDropout = 0
        activationDropout = 0
        initStd = 0.02
        classifierDropout = 0
        scaleEmbedding = false
        useCache = true
        isEncoderDecoder = true
        decoderStartTokenId = 2
        forcedBosTokenId = nil
        forcedEosTokenIds = [2]
        shareEncoderDecoderEmbeddings = true
        decoderVocabSize = nil
        common = CommonConfig(padTokenId: 1, bosTokenId: 0, eosTokenIds: [2])
        common.numLabels = 3
    }

    /// `MarianConfig()`'s defaults.
    public static var marian: BartConfig {
        var c = BartConfig(vocabSize: 58101)
        c.modelType = "marian"
        c.decoderStartTokenId = 58100
        c.forcedEosTokenIds = [0]
        c.common = CommonConfig(padTokenId: 58100, bosTokenId: nil, eosTokenIds: [0])
        c.common.numLabels = 3
        return c
    }

    /// `MBartConfig()`'s defaults: BART's, with no `decoder_start_token_id` (mBART starts the decoder
    /// with a language code, which a checkpoint's config or generation config names).
    public static var mbart: BartConfig {
        var c = BartConfig()
        c.modelType = "mbart"
        c.decoderStartTokenId = nil
        return c
    }

    /// mBART (`modeling_mbart.py`): LayerNorm before each attention and feed-forward block, and a final
    /// `layer_norm` after the encoder's and the decoder's layers.
    public var isPreNorm: Bool { modelType == "mbart" }

    /// Marian: sinusoidal positions from 0, no `layernorm_embedding` (`modeling_marian.py`).
    public var isMarian: Bool { modelType == "marian" }
    /// The first position's row in the position table: BART's learned table starts at 2, Marian's at 0.
    public var positionOffset: Int { isMarian ? 0 : 2 }
    /// Rows of each position table.
    public var positionTableRows: Int { maxPositionEmbeddings + positionOffset }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        let d = modelType == "marian" ? BartConfig.marian : modelType == "mbart" ? BartConfig.mbart : BartConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? d.dModel
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? d.encoderLayers
        encoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .encoderFfnDim) ?? d.encoderFfnDim
        encoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .encoderAttentionHeads) ?? d.encoderAttentionHeads
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? d.decoderLayers
        decoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .decoderFfnDim) ?? d.decoderFfnDim
        decoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .decoderAttentionHeads) ?? d.decoderAttentionHeads
        encoderLayerdrop = try c.decodeIfPresent(Float.self, forKey: .encoderLayerdrop) ?? 0
        decoderLayerdrop = try c.decodeIfPresent(Float.self, forKey: .decoderLayerdrop) ?? 0
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? d.activationFunction
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        attentionDropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? 0
        activationDropout = try c.decodeIfPresent(Float.self, forKey: .activationDropout) ?? 0
        initStd = try c.decodeIfPresent(Float.self, forKey: .initStd) ?? d.initStd
        classifierDropout = try c.decodeIfPresent(Float.self, forKey: .classifierDropout) ?? 0
        scaleEmbedding = try c.decodeIfPresent(Bool.self, forKey: .scaleEmbedding) ?? false
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache) ?? true
        isEncoderDecoder = try c.decodeIfPresent(Bool.self, forKey: .isEncoderDecoder) ?? true
        decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId)
            ?? (c.contains(.decoderStartTokenId) ? nil : d.decoderStartTokenId)
        forcedBosTokenId = try c.decodeIfPresent(Int.self, forKey: .forcedBosTokenId)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .forcedEosTokenIds) {
            forcedEosTokenIds = [one]
        } else if let many = try c.decodeIfPresent([Int].self, forKey: .forcedEosTokenIds) {
            forcedEosTokenIds = many
        } else {
            forcedEosTokenIds = c.contains(.forcedEosTokenIds) ? nil : d.forcedEosTokenIds
        }
        shareEncoderDecoderEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .shareEncoderDecoderEmbeddings) ?? true
        decoderVocabSize = try c.decodeIfPresent(Int.self, forKey: .decoderVocabSize)
        common = try CommonConfig(from: decoder, defaults: d.common)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(dModel, forKey: .dModel)
        try c.encode(encoderLayers, forKey: .encoderLayers)
        try c.encode(encoderFfnDim, forKey: .encoderFfnDim)
        try c.encode(encoderAttentionHeads, forKey: .encoderAttentionHeads)
        try c.encode(decoderLayers, forKey: .decoderLayers)
        try c.encode(decoderFfnDim, forKey: .decoderFfnDim)
        try c.encode(decoderAttentionHeads, forKey: .decoderAttentionHeads)
        try c.encode(encoderLayerdrop, forKey: .encoderLayerdrop)
        try c.encode(decoderLayerdrop, forKey: .decoderLayerdrop)
        try c.encode(activationFunction, forKey: .activationFunction)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(attentionDropout, forKey: .attentionDropout)
        try c.encode(activationDropout, forKey: .activationDropout)
        try c.encode(initStd, forKey: .initStd)
        try c.encode(classifierDropout, forKey: .classifierDropout)
        try c.encode(scaleEmbedding, forKey: .scaleEmbedding)
        try c.encode(useCache, forKey: .useCache)
        try c.encode(isEncoderDecoder, forKey: .isEncoderDecoder)
        try c.encodeIfPresent(decoderStartTokenId, forKey: .decoderStartTokenId)
        try c.encodeIfPresent(forcedBosTokenId, forKey: .forcedBosTokenId)
        try c.encodeIfPresent(forcedEosTokenIds, forKey: .forcedEosTokenIds)
        if isMarian {
            try c.encode(shareEncoderDecoderEmbeddings, forKey: .shareEncoderDecoderEmbeddings)
            try c.encodeIfPresent(decoderVocabSize, forKey: .decoderVocabSize)
        }
        try common.encode(to: encoder)
    }

    /// `max_position_embeddings`: the longest source, and the longest decoder sequence.
    public var maxSequenceLength: Int { maxPositionEmbeddings }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(vocabSize, "vocab_size"), (maxPositionEmbeddings, "max_position_embeddings"), (dModel, "d_model"),
                               (encoderLayers, "encoder_layers"), (encoderFfnDim, "encoder_ffn_dim"),
                               (encoderAttentionHeads, "encoder_attention_heads"), (decoderLayers, "decoder_layers"),
                               (decoderFfnDim, "decoder_ffn_dim"), (decoderAttentionHeads, "decoder_attention_heads")] {
            try requirePositive(value, field, file: file)
        }
        // Position tables have max_position_embeddings (+ 2 for BART) rows; cross-attention adds 4 d² per decoder layer.
        for (value, field) in [(maxPositionEmbeddings, "max_position_embeddings"), (dModel, "d_model"), (decoderFfnDim, "decoder_ffn_dim")] {
            guard value < maximumParameterCount else {
                throw .invalidConfigField(file: file, field: field, reason: "(\(value)) is too large")
            }
        }
        try requireBuildable(tables: [vocabSize, positionTableRows, positionTableRows], width: dModel,
                             layers: encoderLayers, inner: encoderFfnDim, file: file)
        try requireBuildable(tables: [vocabSize], width: dModel, layers: decoderLayers,
                             inner: max(decoderFfnDim, 2 * dModel) + decoderFfnDim, file: file)
        for (heads, field) in [(encoderAttentionHeads, "encoder_attention_heads"), (decoderAttentionHeads, "decoder_attention_heads")] {
            guard dModel % heads == 0 else {
                throw .invalidConfigField(file: file, field: field, reason: "(\(heads)) does not divide d_model (\(dModel))")
            }
        }
        try requireActivation(activationFunction, "activation_function", file: file)
        for (value, field) in [(dropout, "dropout"), (attentionDropout, "attention_dropout"), (activationDropout, "activation_dropout"),
                               (classifierDropout, "classifier_dropout")] {
            try requireProbability(value, field, file: file)
        }
        for (value, field) in [(encoderLayerdrop, "encoder_layerdrop"), (decoderLayerdrop, "decoder_layerdrop")] where value != 0 {
            throw .invalidConfigField(file: file, field: field, reason: "is \(value); LayerDrop is not supported (must be 0)")
        }
        guard isEncoderDecoder else {
            throw .invalidConfigField(file: file, field: "is_encoder_decoder", reason: "is false; only the encoder-decoder \(isMarian ? "Marian" : "BART") is supported")
        }
        guard shareEncoderDecoderEmbeddings else {
            throw .invalidConfigField(file: file, field: "share_encoder_decoder_embeddings", reason: "is false; separate source and target vocabularies are not supported")
        }
        if let decoderVocabSize, decoderVocabSize != vocabSize {
            throw .invalidConfigField(file: file, field: "decoder_vocab_size", reason: "(\(decoderVocabSize)) differs from vocab_size (\(vocabSize)); separate vocabularies are not supported")
        }
        let ids: [(Int?, String)] = [(common.padTokenId, "pad_token_id"), (common.bosTokenId, "bos_token_id"),
                                     (decoderStartTokenId, "decoder_start_token_id"), (forcedBosTokenId, "forced_bos_token_id")]
            + (common.eosTokenIds ?? []).map { ($0, "eos_token_id") } + (forcedEosTokenIds ?? []).map { ($0, "forced_eos_token_id") }
        for (id, field) in ids {
            if let id, id < 0 || id >= vocabSize {
                throw .invalidConfigField(file: file, field: field, reason: "(\(id)) is outside the vocabulary of \(vocabSize)")
            }
        }
        try common.validate(file: file)
    }

    /// Dims per encoder attention head.
    public var encoderHeadSize: Int { dModel / encoderAttentionHeads }
    /// Dims per decoder attention head.
    public var decoderHeadSize: Int { dModel / decoderAttentionHeads }
    /// The token-embedding multiplier: √d_model with `scale_embedding`, else 1.
    public var embeddingScale: Float { scaleEmbedding ? Float(dModel).squareRoot() : 1 }
}
