import Foundation

/// A GPT-2 config as `transformers.GPT2Config` decodes it from `config.json`, with the same defaults
/// (gpt2 small: 12 layers of 768 with 12 heads, 1024 positions, vocabulary 50257).
public struct GPT2Config: PretrainedConfig, Equatable {
    public static let modelTypes = ["gpt2"]

    /// `model_type`.
    public var modelType: String
    /// `vocab_size`.
    public var vocabSize: Int
    /// `n_positions`: the longest sequence (prompt plus generated tokens).
    public var nPositions: Int
    /// `n_embd`: the hidden size.
    public var nEmbd: Int
    /// `n_layer`.
    public var nLayer: Int
    /// `n_head`.
    public var nHead: Int
    /// `n_inner`: the feed-forward size, `4 · n_embd` when nil.
    public var nInner: Int?
    /// `activation_function` (`gelu_new` by default).
    public var activationFunction: String
    /// `resid_pdrop`.
    public var residPdrop: Float
    /// `embd_pdrop`.
    public var embdPdrop: Float
    /// `attn_pdrop`.
    public var attnPdrop: Float
    /// `layer_norm_epsilon`.
    public var layerNormEpsilon: Double
    /// `initializer_range`.
    public var initializerRange: Float
    /// `scale_attn_weights`: divide attention scores by √head size.
    public var scaleAttnWeights: Bool
    /// `scale_attn_by_inverse_layer_idx`: also divide layer i's scores by i + 1.
    public var scaleAttnByInverseLayerIdx: Bool
    /// `reorder_and_upcast_attn`: a half-precision stability switch; in float32 it changes nothing.
    public var reorderAndUpcastAttn: Bool
    /// `add_cross_attention`: must be false.
    public var addCrossAttention: Bool
    /// `use_cache`.
    public var useCache: Bool
    /// `summary_type`, `summary_use_proj`, … belong to the double-heads model; kept for round trips.
    public var summaryType: String
    /// `summary_use_proj`.
    public var summaryUseProj: Bool
    /// `summary_activation`.
    public var summaryActivation: String?
    /// `summary_proj_to_labels`.
    public var summaryProjToLabels: Bool
    /// `summary_first_dropout`.
    public var summaryFirstDropout: Float
    /// Labels, special tokens and tying.
    public var common: CommonConfig

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", nPositions = "n_positions", nEmbd = "n_embd"
        case nLayer = "n_layer", nHead = "n_head", nInner = "n_inner", activationFunction = "activation_function"
        case residPdrop = "resid_pdrop", embdPdrop = "embd_pdrop", attnPdrop = "attn_pdrop"
        case layerNormEpsilon = "layer_norm_epsilon", initializerRange = "initializer_range"
        case scaleAttnWeights = "scale_attn_weights", scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttn = "reorder_and_upcast_attn", addCrossAttention = "add_cross_attention"
        case useCache = "use_cache", summaryType = "summary_type", summaryUseProj = "summary_use_proj"
        case summaryActivation = "summary_activation", summaryProjToLabels = "summary_proj_to_labels"
        case summaryFirstDropout = "summary_first_dropout"
    }

    /// `GPT2Config()` with its defaults, optionally resized.
    public init(vocabSize: Int = 50257, nPositions: Int = 1024, nEmbd: Int = 768, nLayer: Int = 12, nHead: Int = 12,
                nInner: Int? = nil, activationFunction: String = "gelu_new") {
        modelType = "gpt2"
        self.vocabSize = vocabSize
        self.nPositions = nPositions
        self.nEmbd = nEmbd
        self.nLayer = nLayer
        self.nHead = nHead
        self.nInner = nInner
        self.activationFunction = activationFunction
        residPdrop = 0.1
        embdPdrop = 0.1
        attnPdrop = 0.1
        layerNormEpsilon = 1e-5
        initializerRange = 0.02
        scaleAttnWeights = true
        scaleAttnByInverseLayerIdx = false
        reorderAndUpcastAttn = false
        addCrossAttention = false
        useCache = true
        summaryType = "cls_index"
        summaryUseProj = true
        summaryActivation = nil
        summaryProjToLabels = true
        summaryFirstDropout = 0.1
        common = CommonConfig(padTokenId: nil, bosTokenId: 50256, eosTokenIds: [50256])
    }

    public init(from decoder: Decoder) throws {
        let d = GPT2Config()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        nPositions = try c.decodeIfPresent(Int.self, forKey: .nPositions) ?? d.nPositions
        nEmbd = try c.decodeIfPresent(Int.self, forKey: .nEmbd) ?? d.nEmbd
        nLayer = try c.decodeIfPresent(Int.self, forKey: .nLayer) ?? d.nLayer
        nHead = try c.decodeIfPresent(Int.self, forKey: .nHead) ?? d.nHead
        nInner = try c.decodeIfPresent(Int.self, forKey: .nInner)
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? d.activationFunction
        residPdrop = try c.decodeIfPresent(Float.self, forKey: .residPdrop) ?? d.residPdrop
        embdPdrop = try c.decodeIfPresent(Float.self, forKey: .embdPdrop) ?? d.embdPdrop
        attnPdrop = try c.decodeIfPresent(Float.self, forKey: .attnPdrop) ?? d.attnPdrop
        layerNormEpsilon = try c.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? d.initializerRange
        scaleAttnWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttnWeights) ?? d.scaleAttnWeights
        scaleAttnByInverseLayerIdx = try c.decodeIfPresent(Bool.self, forKey: .scaleAttnByInverseLayerIdx) ?? false
        reorderAndUpcastAttn = try c.decodeIfPresent(Bool.self, forKey: .reorderAndUpcastAttn) ?? false
        addCrossAttention = try c.decodeIfPresent(Bool.self, forKey: .addCrossAttention) ?? false
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache) ?? true
        summaryType = try c.decodeIfPresent(String.self, forKey: .summaryType) ?? d.summaryType
        summaryUseProj = try c.decodeIfPresent(Bool.self, forKey: .summaryUseProj) ?? d.summaryUseProj
        summaryActivation = try c.decodeIfPresent(String.self, forKey: .summaryActivation)
        summaryProjToLabels = try c.decodeIfPresent(Bool.self, forKey: .summaryProjToLabels) ?? d.summaryProjToLabels
        summaryFirstDropout = try c.decodeIfPresent(Float.self, forKey: .summaryFirstDropout) ?? d.summaryFirstDropout
        common = try CommonConfig(from: decoder, defaults: d.common)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(nPositions, forKey: .nPositions)
        try c.encode(nEmbd, forKey: .nEmbd)
        try c.encode(nLayer, forKey: .nLayer)
        try c.encode(nHead, forKey: .nHead)
        try c.encodeIfPresent(nInner, forKey: .nInner)
        try c.encode(activationFunction, forKey: .activationFunction)
        try c.encode(residPdrop, forKey: .residPdrop)
        try c.encode(embdPdrop, forKey: .embdPdrop)
        try c.encode(attnPdrop, forKey: .attnPdrop)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(scaleAttnWeights, forKey: .scaleAttnWeights)
        try c.encode(scaleAttnByInverseLayerIdx, forKey: .scaleAttnByInverseLayerIdx)
        try c.encode(reorderAndUpcastAttn, forKey: .reorderAndUpcastAttn)
        try c.encode(addCrossAttention, forKey: .addCrossAttention)
        try c.encode(useCache, forKey: .useCache)
        try c.encode(summaryType, forKey: .summaryType)
        try c.encode(summaryUseProj, forKey: .summaryUseProj)
        try c.encodeIfPresent(summaryActivation, forKey: .summaryActivation)
        try c.encode(summaryProjToLabels, forKey: .summaryProjToLabels)
        try c.encode(summaryFirstDropout, forKey: .summaryFirstDropout)
        try common.encode(to: encoder)
    }

    /// `n_positions`: prompt and generated tokens together.
    public var maxSequenceLength: Int { nPositions }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(vocabSize, "vocab_size"), (nPositions, "n_positions"), (nEmbd, "n_embd"),
                               (nLayer, "n_layer"), (nHead, "n_head"), (nInner ?? 1, "n_inner")] {
            try requirePositive(value, field, file: file)
        }
        // The default inner size is 4 × n_embd; n_embd is bounded by the check before 4 × is taken.
        try requireBuildable(tables: [vocabSize, nPositions], width: nEmbd, layers: nLayer,
                             inner: nInner ?? nEmbd, file: file)
        if nInner == nil { try requireBuildable(tables: [vocabSize, nPositions], width: nEmbd, layers: nLayer, inner: 4 * nEmbd, file: file) }
        guard nEmbd % nHead == 0 else {
            throw .invalidConfigField(file: file, field: "n_head", reason: "(\(nHead)) does not divide n_embd (\(nEmbd))")
        }
        try requireActivation(activationFunction, "activation_function", file: file)
        try requireProbability(residPdrop, "resid_pdrop", file: file)
        try requireProbability(embdPdrop, "embd_pdrop", file: file)
        try requireProbability(attnPdrop, "attn_pdrop", file: file)
        guard layerNormEpsilon > 0 else { throw .invalidConfigField(file: file, field: "layer_norm_epsilon", reason: "must be positive") }
        guard !addCrossAttention else {
            throw .invalidConfigField(file: file, field: "add_cross_attention", reason: "is true; cross-attention is not supported")
        }
        for (id, field) in [(common.padTokenId, "pad_token_id"), (common.bosTokenId, "bos_token_id")] {
            if let id, id < 0 || id >= vocabSize {
                throw .invalidConfigField(file: file, field: field, reason: "(\(id)) is outside the vocabulary of \(vocabSize)")
            }
        }
        try common.validate(file: file)
    }

    /// The feed-forward size.
    public var innerSize: Int { nInner ?? 4 * nEmbd }
    /// Dims per attention head.
    public var headSize: Int { nEmbd / nHead }
}
