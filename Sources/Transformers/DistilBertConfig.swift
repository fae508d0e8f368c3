import Foundation

/// A DistilBERT config as `transformers.DistilBertConfig` decodes it from `config.json`, with its own
/// field names (`dim`, `n_layers`, `n_heads`, `hidden_dim`) and defaults (distilbert-base-uncased).
///
/// ```swift
/// let config = try DistilBertConfig.load(from: directory.appendingPathComponent("config.json"))
/// ```
public struct DistilBertConfig: PretrainedConfig, Equatable {
    public static let modelTypes = ["distilbert"]

    /// `model_type`.
    public var modelType: String
    /// `vocab_size`.
    public var vocabSize: Int
    /// `max_position_embeddings`.
    public var maxPositionEmbeddings: Int
    /// `sinusoidal_pos_embds`: the position table is the fixed sinusoidal one (computed when a
    /// checkpoint lacks it).
    public var sinusoidalPosEmbds: Bool
    /// `n_layers`.
    public var nLayers: Int
    /// `n_heads`.
    public var nHeads: Int
    /// `dim`: the hidden size.
    public var dim: Int
    /// `hidden_dim`: the feed-forward size.
    public var hiddenDim: Int
    /// `dropout`.
    public var dropout: Float
    /// `attention_dropout`.
    public var attentionDropout: Float
    /// `activation`: the feed-forward and MLM-transform activation.
    public var activation: String
    /// `initializer_range`.
    public var initializerRange: Float
    /// `qa_dropout`: dropout before `qa_outputs`.
    public var qaDropout: Float
    /// `seq_classif_dropout`: dropout before the sequence classifier.
    public var seqClassifDropout: Float
    /// Labels, special tokens and tying.
    public var common: CommonConfig

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", maxPositionEmbeddings = "max_position_embeddings"
        case sinusoidalPosEmbds = "sinusoidal_pos_embds", nLayers = "n_layers", nHeads = "n_heads", dim
        case hiddenDim = "hidden_dim", dropout, attentionDropout = "attention_dropout", activation
        case initializerRange = "initializer_range", qaDropout = "qa_dropout", seqClassifDropout = "seq_classif_dropout"
    }

    /// `DistilBertConfig()` with its defaults, optionally resized.
    public init(vocabSize: Int = 30522, dim: Int = 768, nLayers: Int = 6, nHeads: Int = 12, hiddenDim: Int = 3072,
                maxPositionEmbeddings: Int = 512, sinusoidalPosEmbds: Bool = false, activation: String = "gelu",
                numLabels: Int = 2) {
        modelType = "distilbert"
        self.vocabSize = vocabSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.sinusoidalPosEmbds = sinusoidalPosEmbds
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.dim = dim
        self.hiddenDim = hiddenDim
        dropout = 0.1
        attentionDropout = 0.1
        self.activation = activation
        initializerRange = 0.02
        qaDropout = 0.1
        seqClassifDropout = 0.2
        common = CommonConfig(padTokenId: 0)
        common.numLabels = numLabels
    }

    public init(from decoder: Decoder) throws {
        let d = DistilBertConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        sinusoidalPosEmbds = try c.decodeIfPresent(Bool.self, forKey: .sinusoidalPosEmbds) ?? d.sinusoidalPosEmbds
        nLayers = try c.decodeIfPresent(Int.self, forKey: .nLayers) ?? d.nLayers
        nHeads = try c.decodeIfPresent(Int.self, forKey: .nHeads) ?? d.nHeads
        dim = try c.decodeIfPresent(Int.self, forKey: .dim) ?? d.dim
        hiddenDim = try c.decodeIfPresent(Int.self, forKey: .hiddenDim) ?? d.hiddenDim
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        attentionDropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? d.attentionDropout
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? d.activation
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? d.initializerRange
        qaDropout = try c.decodeIfPresent(Float.self, forKey: .qaDropout) ?? d.qaDropout
        seqClassifDropout = try c.decodeIfPresent(Float.self, forKey: .seqClassifDropout) ?? d.seqClassifDropout
        common = try CommonConfig(from: decoder, defaults: d.common)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(sinusoidalPosEmbds, forKey: .sinusoidalPosEmbds)
        try c.encode(nLayers, forKey: .nLayers)
        try c.encode(nHeads, forKey: .nHeads)
        try c.encode(dim, forKey: .dim)
        try c.encode(hiddenDim, forKey: .hiddenDim)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(attentionDropout, forKey: .attentionDropout)
        try c.encode(activation, forKey: .activation)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(qaDropout, forKey: .qaDropout)
        try c.encode(seqClassifDropout, forKey: .seqClassifDropout)
        try common.encode(to: encoder)
    }

    /// `max_position_embeddings`: one position per token.
    public var maxSequenceLength: Int { maxPositionEmbeddings }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(vocabSize, "vocab_size"), (dim, "dim"), (nLayers, "n_layers"), (nHeads, "n_heads"),
                               (hiddenDim, "hidden_dim"), (maxPositionEmbeddings, "max_position_embeddings")] {
            try requirePositive(value, field, file: file)
        }
        try requireBuildable(tables: [vocabSize, maxPositionEmbeddings], width: dim, layers: nLayers, inner: hiddenDim, file: file)
        guard dim % nHeads == 0 else {
            throw .invalidConfigField(file: file, field: "n_heads", reason: "(\(nHeads)) does not divide dim (\(dim))")
        }
        try requireActivation(activation, "activation", file: file)
        for (value, field) in [(dropout, "dropout"), (attentionDropout, "attention_dropout"), (qaDropout, "qa_dropout"),
                               (seqClassifDropout, "seq_classif_dropout")] {
            try requireProbability(value, field, file: file)
        }
        if let pad = common.padTokenId, pad < 0 || pad >= vocabSize {
            throw .invalidConfigField(file: file, field: "pad_token_id", reason: "(\(pad)) is outside the vocabulary of \(vocabSize)")
        }
        try common.validate(file: file)
    }
}
