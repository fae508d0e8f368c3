import Foundation

/// The rotary position embedding parameters: `rope_parameters` (transformers 5) or the older
/// top-level `rope_theta` with `rope_scaling`, as `standardize_rope_params` merges them.
public struct RopeParameters: Codable, Sendable, Equatable {
    /// `rope_type` (or the older `type`): `default`, `linear`, `dynamic` or `llama3`.
    public var ropeType: String
    /// `rope_theta`: the base wavelength.
    public var ropeTheta: Double
    /// `factor`: the scaling factor of `linear`, `dynamic` and `llama3`.
    public var factor: Double?
    /// `low_freq_factor` (`llama3`).
    public var lowFreqFactor: Double?
    /// `high_freq_factor` (`llama3`).
    public var highFreqFactor: Double?
    /// `original_max_position_embeddings` (`llama3`; `max_position_embeddings` when absent).
    public var originalMaxPositionEmbeddings: Int?
    /// `partial_rotary_factor`: only 1 (the whole head) is supported.
    public var partialRotaryFactor: Double?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor, lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case partialRotaryFactor = "partial_rotary_factor"
    }

    /// Plain RoPE with base `theta`.
    public init(ropeType: String = "default", ropeTheta: Double = 10000, factor: Double? = nil) {
        self.ropeType = ropeType
        self.ropeTheta = ropeTheta
        self.factor = factor
    }

    /// Decodes `rope_parameters` / `rope_scaling`; `theta` is the top-level `rope_theta` (or the
    /// default) used when the dictionary has none.
    init(from decoder: Decoder, theta: Double) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ropeType = try c.decodeIfPresent(String.self, forKey: .ropeType) ?? c.decodeIfPresent(String.self, forKey: .type) ?? "default"
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? theta
        factor = try c.decodeIfPresent(Double.self, forKey: .factor)
        lowFreqFactor = try c.decodeIfPresent(Double.self, forKey: .lowFreqFactor)
        highFreqFactor = try c.decodeIfPresent(Double.self, forKey: .highFreqFactor)
        originalMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
        partialRotaryFactor = try c.decodeIfPresent(Double.self, forKey: .partialRotaryFactor)
    }

    public init(from decoder: Decoder) throws { try self.init(from: decoder, theta: 10000) }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ropeType, forKey: .ropeType)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encodeIfPresent(factor, forKey: .factor)
        try c.encodeIfPresent(lowFreqFactor, forKey: .lowFreqFactor)
        try c.encodeIfPresent(highFreqFactor, forKey: .highFreqFactor)
        try c.encodeIfPresent(originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
        try c.encodeIfPresent(partialRotaryFactor, forKey: .partialRotaryFactor)
    }

    /// The RoPE types this port computes.
    public static let supportedTypes = ["default", "linear", "dynamic", "llama3"]
}

/// The config of the Llama-style decoders — `llama`, `mistral` and `qwen2` — as `transformers`'
/// `LlamaConfig`, `MistralConfig` and `Qwen2Config` decode `config.json`, each with its own defaults.
/// The three differ only in flags this one type carries: Qwen2's q/k/v biases, Mistral's
/// `sliding_window` on every layer, Qwen2's sliding window on the layers `layer_types` names.
///
/// ```swift
/// let config = try LlamaConfig.load(from: directory.appendingPathComponent("config.json"))
/// ```
public struct LlamaConfig: PretrainedConfig, Equatable {
    public static let modelTypes = ["llama", "mistral", "qwen2"]

    /// `model_type`.
    public var modelType: String
    /// `vocab_size`.
    public var vocabSize: Int
    /// `hidden_size`.
    public var hiddenSize: Int
    /// `intermediate_size`: the SwiGLU MLP's width.
    public var intermediateSize: Int
    /// `num_hidden_layers`.
    public var numHiddenLayers: Int
    /// `num_attention_heads`.
    public var numAttentionHeads: Int
    /// `num_key_value_heads`: grouped-query attention (`num_attention_heads` when absent).
    public var numKeyValueHeads: Int
    /// `head_dim` (`hidden_size / num_attention_heads` when absent).
    public var headDim: Int
    /// `hidden_act` (`silu`).
    public var hiddenAct: String
    /// `max_position_embeddings`: the longest sequence.
    public var maxPositionEmbeddings: Int
    /// `initializer_range`.
    public var initializerRange: Float
    /// `rms_norm_eps`.
    public var rmsNormEps: Double
    /// `rope_parameters` (or `rope_theta` + `rope_scaling`).
    public var rope: RopeParameters
    /// Bias on the q, k and v projections (Llama's `attention_bias`; always for Qwen2).
    public var qkvBias: Bool
    /// Bias on the output projection (Llama's `attention_bias`).
    public var outputBias: Bool
    /// `mlp_bias` (Llama).
    public var mlpBias: Bool
    /// `attention_dropout`.
    public var attentionDropout: Float
    /// The sliding window of each layer (nil: full causal attention): Mistral's `sliding_window` on
    /// every layer; Qwen2's on the layers `layer_types` marks `sliding_attention` when
    /// `use_sliding_window`.
    public var layerWindows: [Int?]
    /// `use_cache`.
    public var useCache: Bool
    /// Labels, special tokens and tying.
    public var common: CommonConfig

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim", hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case initializerRange = "initializer_range", rmsNormEps = "rms_norm_eps", ropeParameters = "rope_parameters"
        case ropeScaling = "rope_scaling", ropeTheta = "rope_theta", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case attentionDropout = "attention_dropout", slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
        case maxWindowLayers = "max_window_layers", layerTypes = "layer_types", useCache = "use_cache"
    }

    /// The defaults of `modelType`'s config class (Llama-2-7B, Mistral-7B, Qwen2-7B sized), optionally resized.
    public init(modelType: String = "llama", vocabSize: Int? = nil, hiddenSize: Int = 4096, intermediateSize: Int? = nil,
                numHiddenLayers: Int = 32, numAttentionHeads: Int = 32, numKeyValueHeads: Int? = nil, headDim: Int? = nil,
                maxPositionEmbeddings: Int? = nil) {
        self.modelType = modelType
        let (mistral, qwen) = (modelType == "mistral", modelType == "qwen2")
        self.vocabSize = vocabSize ?? (qwen ? 151936 : 32000)
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize ?? (mistral ? 14336 : qwen ? 22016 : 11008)
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? (mistral ? 8 : numAttentionHeads)
        self.headDim = headDim ?? hiddenSize / max(numAttentionHeads, 1)
        hiddenAct = "silu"
        self.maxPositionEmbeddings = maxPositionEmbeddings ?? (mistral ? 4096 * 32 : qwen ? 32768 : 2048)
        initializerRange = 0.02
        rmsNormEps = 1e-6
        rope = RopeParameters()
        qkvBias = qwen
        outputBias = false
        mlpBias = false
        attentionDropout = 0
        layerWindows = Array(repeating: mistral ? 4096 : nil, count: numHiddenLayers)
        useCache = true
        common = CommonConfig(padTokenId: nil, bosTokenId: qwen ? nil : 1, eosTokenIds: qwen ? nil : [2])
        common.tieWordEmbeddings = false
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        let d = LlamaConfig(modelType: modelType)
        let (llama, mistral, qwen) = (modelType == "llama", modelType == "mistral", modelType == "qwen2")
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? (mistral ? 8 : numAttentionHeads)
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? d.initializerRange
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? d.rmsNormEps
        // `rope_scaling` wins over `rope_parameters`; a top-level `rope_theta` fills a missing theta.
        let theta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000
        if c.contains(.ropeScaling), try !c.decodeNil(forKey: .ropeScaling) {
            rope = try RopeParameters(from: c.superDecoder(forKey: .ropeScaling), theta: theta)
        } else if c.contains(.ropeParameters), try !c.decodeNil(forKey: .ropeParameters) {
            rope = try RopeParameters(from: c.superDecoder(forKey: .ropeParameters), theta: theta)
        } else {
            rope = RopeParameters(ropeTheta: theta)
        }
        let attentionBias = llama ? try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false : false
        qkvBias = qwen || attentionBias
        outputBias = attentionBias
        mlpBias = llama ? try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false : false
        attentionDropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? 0
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache) ?? true
        let window: Int? = c.contains(.slidingWindow) ? try c.decodeIfPresent(Int.self, forKey: .slidingWindow) : (mistral ? 4096 : nil)
        if mistral {
            layerWindows = Array(repeating: window, count: max(numHiddenLayers, 0))
        } else if qwen {
            // Qwen2Config: the window only with use_sliding_window, on layers ≥ max_window_layers
            // unless layer_types lists each layer.
            let use = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
            let effective = use ? (c.contains(.slidingWindow) ? window : 4096) : nil
            let firstWindowed = try c.decodeIfPresent(Int.self, forKey: .maxWindowLayers) ?? 28
            if let types = try c.decodeIfPresent([String].self, forKey: .layerTypes) {
                // Only the two kinds Qwen2 has: another (`chunked_attention`, a typo) used to run as
                // full attention without a word.
                if let other = types.first(where: { $0 != "sliding_attention" && $0 != "full_attention" }) {
                    throw DecodingError.dataCorruptedError(forKey: .layerTypes, in: c, debugDescription:
                        "lists '\(other)'; a Qwen2 layer is 'full_attention' or 'sliding_attention'")
                }
                layerWindows = types.map { $0 == "sliding_attention" ? (effective ?? -1) : nil }
            } else {
                layerWindows = (0..<max(numHiddenLayers, 0)).map { effective != nil && $0 >= firstWindowed ? effective : nil }
            }
        } else {
            layerWindows = Array(repeating: nil, count: max(numHiddenLayers, 0))
        }
        common = try CommonConfig(from: decoder, defaults: d.common)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(rope, forKey: .ropeParameters)
        if modelType == "llama" {
            try c.encode(qkvBias, forKey: .attentionBias)
            try c.encode(mlpBias, forKey: .mlpBias)
        }
        try c.encode(attentionDropout, forKey: .attentionDropout)
        try c.encode(useCache, forKey: .useCache)
        let window = layerWindows.compactMap { $0 }.first
        if modelType == "mistral" { try c.encode(window, forKey: .slidingWindow) }
        if modelType == "qwen2" {
            try c.encode(window != nil, forKey: .useSlidingWindow)
            try c.encode(window, forKey: .slidingWindow)
            try c.encode(layerWindows.map { $0 == nil ? "full_attention" : "sliding_attention" }, forKey: .layerTypes)
        }
        try common.encode(to: encoder)
    }

    /// `max_position_embeddings`: prompt and generated tokens together. (Within it, `dynamic` RoPE
    /// uses the unscaled frequencies, as Hugging Face does below its cached length.)
    public var maxSequenceLength: Int { maxPositionEmbeddings }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(vocabSize, "vocab_size"), (hiddenSize, "hidden_size"), (intermediateSize, "intermediate_size"),
                               (numHiddenLayers, "num_hidden_layers"), (numAttentionHeads, "num_attention_heads"),
                               (numKeyValueHeads, "num_key_value_heads"), (headDim, "head_dim"),
                               (maxPositionEmbeddings, "max_position_embeddings")] {
            try requirePositive(value, field, file: file)
        }
        guard numAttentionHeads <= 1 << 16, headDim <= 1 << 16 else {
            throw .invalidConfigField(file: file, field: "num_attention_heads", reason: "× head_dim (\(numAttentionHeads) × \(headDim)) is too large")
        }
        try requireBuildable(tables: [vocabSize], width: max(hiddenSize, numAttentionHeads * headDim), layers: numHiddenLayers,
                             inner: intermediateSize, file: file)
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw .invalidConfigField(file: file, field: "num_key_value_heads", reason: "(\(numKeyValueHeads)) does not divide num_attention_heads (\(numAttentionHeads))")
        }
        guard headDim % 2 == 0 else {
            throw .invalidConfigField(file: file, field: "head_dim", reason: "(\(headDim)) must be even for rotary embeddings")
        }
        try requireActivation(hiddenAct, "hidden_act", file: file)
        try requireProbability(attentionDropout, "attention_dropout", file: file)
        guard rmsNormEps > 0 else { throw .invalidConfigField(file: file, field: "rms_norm_eps", reason: "must be positive") }
        try validateRope(file: file)
        guard layerWindows.count == numHiddenLayers else {
            throw .invalidConfigField(file: file, field: "layer_types", reason: "lists \(layerWindows.count) layers; num_hidden_layers is \(numHiddenLayers)")
        }
        if let bad = layerWindows.compactMap({ $0 }).first(where: { $0 <= 0 }) {
            let field = modelType == "qwen2" && bad == -1 ? "layer_types" : "sliding_window"
            throw .invalidConfigField(file: file, field: field, reason: bad == -1
                ? "marks sliding_attention layers but use_sliding_window is false or sliding_window is null"
                : "must be positive, got \(bad)")
        }
        for (id, field) in [(common.padTokenId, "pad_token_id"), (common.bosTokenId, "bos_token_id")] {
            if let id, id < 0 || id >= vocabSize {
                throw .invalidConfigField(file: file, field: field, reason: "(\(id)) is outside the vocabulary of \(vocabSize)")
            }
        }
        try common.validate(file: file)
    }

    func validateRope(file: String) throws(TransformersError) {
        let field = "rope_parameters"
        guard RopeParameters.supportedTypes.contains(rope.ropeType) else {
            throw .invalidConfigField(file: file, field: field + ".rope_type", reason: "is '\(rope.ropeType)'; supported: \(RopeParameters.supportedTypes)")
        }
        guard rope.ropeTheta > 0, rope.ropeTheta.isFinite else {
            throw .invalidConfigField(file: file, field: field + ".rope_theta", reason: "must be positive, got \(rope.ropeTheta)")
        }
        if let p = rope.partialRotaryFactor, p != 1 {
            throw .invalidConfigField(file: file, field: field + ".partial_rotary_factor", reason: "is \(p); only 1 is supported")
        }
        guard rope.ropeType != "default" else { return }
        guard let factor = rope.factor, factor.isFinite, factor >= 1 || (rope.ropeType == "linear" && factor > 0) else {
            throw .invalidConfigField(file: file, field: field + ".factor", reason: "must be a positive number (≥ 1 for \(rope.ropeType)), got \(rope.factor.map { "\($0)" } ?? "none")")
        }
        if rope.ropeType == "llama3" {
            guard let low = rope.lowFreqFactor, let high = rope.highFreqFactor, low > 0, high > low else {
                throw .invalidConfigField(file: file, field: field + ".low_freq_factor", reason: "and high_freq_factor must be given with 0 < low < high for llama3")
            }
            if let original = rope.originalMaxPositionEmbeddings, original <= 0 {
                throw .invalidConfigField(file: file, field: field + ".original_max_position_embeddings", reason: "must be positive, got \(original)")
            }
        }
    }

    /// Query heads sharing one key/value head.
    public var groupSize: Int { numAttentionHeads / numKeyValueHeads }

    /// The rotary inverse frequencies `[head_dim / 2]` of the config's `rope_type`, as
    /// `ROPE_INIT_FUNCTIONS` computes them at `max_position_embeddings` (float32, from double math).
    public var inverseFrequencies: [Float] {
        let dim = headDim
        let base = rope.ropeTheta
        // HF divides arange(0, dim, 2) by dim in float32, then raises the base to it.
        var freqs = stride(from: 0, to: dim, by: 2).map { 1 / Foundation.pow(base, Double(Float($0) / Float(dim))) }
        switch rope.ropeType {
        case "linear": freqs = freqs.map { $0 / (rope.factor ?? 1) }
        case "llama3":
            let factor = rope.factor ?? 1, low = rope.lowFreqFactor ?? 1, high = rope.highFreqFactor ?? 4
            let old = Double(rope.originalMaxPositionEmbeddings ?? maxPositionEmbeddings)
            let (lowWavelen, highWavelen) = (old / low, old / high)
            freqs = freqs.map { f in
                let wavelen = 2 * Double.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / factor }
                let smooth = (old / wavelen - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        default: break      // default, and dynamic below its cached length
        }
        return freqs.map { Float($0) }
    }
}
