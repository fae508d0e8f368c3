import Foundation

/// A BERT config as `transformers.BertConfig` decodes it from `config.json`: every field the
/// encoder and its heads use, with the same defaults.
///
/// ```swift
/// let config = try BertConfig.load(from: directory.appendingPathComponent("config.json"))
/// ```
public struct BertConfig: PretrainedConfig, Equatable {
    public static let modelTypes = ["bert"]

    /// `model_type`.
    public var modelType: String
    /// `vocab_size`.
    public var vocabSize: Int
    /// `hidden_size`.
    public var hiddenSize: Int
    /// `num_hidden_layers`.
    public var numHiddenLayers: Int
    /// `num_attention_heads`.
    public var numAttentionHeads: Int
    /// `intermediate_size`.
    public var intermediateSize: Int
    /// `hidden_act`: the feed-forward activation (`gelu`, `gelu_new`, `relu`, …).
    public var hiddenAct: String
    /// `hidden_dropout_prob`.
    public var hiddenDropoutProb: Float
    /// `attention_probs_dropout_prob`.
    public var attentionProbsDropoutProb: Float
    /// `max_position_embeddings`.
    public var maxPositionEmbeddings: Int
    /// `type_vocab_size`.
    public var typeVocabSize: Int
    /// `initializer_range`.
    public var initializerRange: Float
    /// `layer_norm_eps`.
    public var layerNormEps: Double
    /// `position_embedding_type`: only `absolute` is supported.
    public var positionEmbeddingType: String
    /// `classifier_dropout`: dropout before classification heads (`hidden_dropout_prob` when nil).
    public var classifierDropout: Float?
    /// `is_decoder`: must be false (decoder BERT is not supported).
    public var isDecoder: Bool
    /// `add_cross_attention`: must be false.
    public var addCrossAttention: Bool
    /// `use_cache`.
    public var useCache: Bool
    /// Labels, special tokens and tying.
    public var common: CommonConfig

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", hiddenAct = "hidden_act"
        case hiddenDropoutProb = "hidden_dropout_prob", attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case initializerRange = "initializer_range", layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type", classifierDropout = "classifier_dropout"
        case isDecoder = "is_decoder", addCrossAttention = "add_cross_attention", useCache = "use_cache"
    }

    /// `BertConfig()` with its defaults (bert-base-uncased), optionally resized.
    public init(vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                intermediateSize: Int = 3072, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
                hiddenAct: String = "gelu", layerNormEps: Double = 1e-12, numLabels: Int = 2) {
        modelType = "bert"
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        hiddenDropoutProb = 0.1
        attentionProbsDropoutProb = 0.1
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        initializerRange = 0.02
        self.layerNormEps = layerNormEps
        positionEmbeddingType = "absolute"
        isDecoder = false
        addCrossAttention = false
        useCache = true
        common = CommonConfig(padTokenId: 0)
        common.numLabels = numLabels
    }

    public init(from decoder: Decoder) throws { try self.init(from: decoder, defaults: BertConfig()) }

    /// Decodes with `defaults` for absent fields (RoBERTa shares the fields with other defaults).
    init(from decoder: Decoder, defaults d: BertConfig) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        hiddenDropoutProb = try c.decodeIfPresent(Float.self, forKey: .hiddenDropoutProb) ?? d.hiddenDropoutProb
        attentionProbsDropoutProb = try c.decodeIfPresent(Float.self, forKey: .attentionProbsDropoutProb) ?? d.attentionProbsDropoutProb
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? d.typeVocabSize
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? d.initializerRange
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? d.positionEmbeddingType
        classifierDropout = try c.decodeIfPresent(Float.self, forKey: .classifierDropout)
        isDecoder = try c.decodeIfPresent(Bool.self, forKey: .isDecoder) ?? false
        addCrossAttention = try c.decodeIfPresent(Bool.self, forKey: .addCrossAttention) ?? false
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache) ?? true
        common = try CommonConfig(from: decoder, defaults: d.common)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(hiddenDropoutProb, forKey: .hiddenDropoutProb)
        try c.encode(attentionProbsDropoutProb, forKey: .attentionProbsDropoutProb)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(positionEmbeddingType, forKey: .positionEmbeddingType)
        try c.encodeIfPresent(classifierDropout, forKey: .classifierDropout)
        try c.encode(isDecoder, forKey: .isDecoder)
        try c.encode(addCrossAttention, forKey: .addCrossAttention)
        try c.encode(useCache, forKey: .useCache)
        try common.encode(to: encoder)
    }

    /// `max_position_embeddings`: one position per token.
    public var maxSequenceLength: Int { maxPositionEmbeddings }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(vocabSize, "vocab_size"), (hiddenSize, "hidden_size"), (numHiddenLayers, "num_hidden_layers"),
                               (numAttentionHeads, "num_attention_heads"), (intermediateSize, "intermediate_size"),
                               (maxPositionEmbeddings, "max_position_embeddings"), (typeVocabSize, "type_vocab_size")] {
            try requirePositive(value, field, file: file)
        }
        try requireBuildable(tables: [vocabSize, maxPositionEmbeddings, typeVocabSize], width: hiddenSize,
                             layers: numHiddenLayers, inner: intermediateSize, file: file)
        guard hiddenSize % numAttentionHeads == 0 else {
            throw .invalidConfigField(file: file, field: "num_attention_heads",
                                      reason: "(\(numAttentionHeads)) does not divide hidden_size (\(hiddenSize))")
        }
        try requireActivation(hiddenAct, "hidden_act", file: file)
        try requireProbability(hiddenDropoutProb, "hidden_dropout_prob", file: file)
        try requireProbability(attentionProbsDropoutProb, "attention_probs_dropout_prob", file: file)
        if let classifierDropout { try requireProbability(classifierDropout, "classifier_dropout", file: file) }
        guard positionEmbeddingType == "absolute" else {
            throw .invalidConfigField(file: file, field: "position_embedding_type",
                                      reason: "is '\(positionEmbeddingType)'; only 'absolute' is supported")
        }
        guard !isDecoder else { throw .invalidConfigField(file: file, field: "is_decoder", reason: "is true; decoder BERT is not supported") }
        guard !addCrossAttention else {
            throw .invalidConfigField(file: file, field: "add_cross_attention", reason: "is true; cross-attention is not supported")
        }
        guard layerNormEps > 0 else { throw .invalidConfigField(file: file, field: "layer_norm_eps", reason: "must be positive") }
        if let pad = common.padTokenId, pad < 0 || pad >= vocabSize {
            throw .invalidConfigField(file: file, field: "pad_token_id", reason: "(\(pad)) is outside the vocabulary of \(vocabSize)")
        }
        try common.validate(file: file)
    }

    /// Dims per attention head.
    public var headSize: Int { hiddenSize / numAttentionHeads }
}
