// Ports transformers/models/gpt2/modeling_gpt2.py: pre-LayerNorm decoder blocks with Conv1D
// projections (weight stored [in, out]), a causal mask, and an LM head tied to the token embeddings.
import NN
import Tensors

/// `y = x·W + b` with `W` stored `[in, out]` (`transformers.pytorch_utils.Conv1D`), as GPT-2
/// checkpoints hold it; used without transposing.
public final class Conv1D: Module, UnaryLayer {
    /// `[inFeatures, outFeatures]`.
    public var weight: Tensor
    /// `[outFeatures]`.
    public var bias: Tensor

    /// A projection from `inFeatures` to `outFeatures`, weight normal(0, 0.02) as Hugging Face draws it.
    public init(_ inFeatures: Int, _ outFeatures: Int) {
        weight = (WeightInitialization.skip ? Tensor.placeholder([inFeatures, outFeatures])
                  : Init.normal([inFeatures, outFeatures], std: 0.02)).requiringGrad()
        bias = Tensor.zeros([outFeatures]).requiringGrad()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.matmul(weight) + bias }
}

/// Causal self-attention with a fused QKV projection (`GPT2Attention`).
public final class GPT2Attention: Module {
    @ModuleInfo(key: "c_attn") public var qkv: Conv1D
    @ModuleInfo(key: "c_proj") public var projection: Conv1D
    let attentionDropout: Dropout, residualDropout: Dropout
    let heads: Int, layerIndex: Int, scale: Float

    /// Layer `layerIndex`'s attention (the index matters with `scale_attn_by_inverse_layer_idx`).
    public init(_ config: GPT2Config, layerIndex: Int) {
        _qkv.wrappedValue = Conv1D(config.nEmbd, 3 * config.nEmbd)
        _projection.wrappedValue = Conv1D(config.nEmbd, config.nEmbd)
        attentionDropout = Dropout(config.attnPdrop)
        residualDropout = Dropout(config.residPdrop)
        heads = config.nHead
        self.layerIndex = layerIndex
        var s: Float = config.scaleAttnWeights ? 1 / Float(config.headSize).squareRoot() : 1
        if config.scaleAttnByInverseLayerIdx { s /= Float(layerIndex + 1) }
        scale = s
    }

    /// `[B, S, E]` with an additive mask `[S, past+S]` or `[B, 1, S, past+S]`; appends to `cache`.
    public func callAsFunction(_ x: Tensor, mask: Tensor, cache: KVCache?) -> Tensor {
        let parts = qkv(x).chunked(3, dim: -1)
        let q = splitHeads(parts[0], heads: heads)
        var k = splitHeads(parts[1], heads: heads), v = splitHeads(parts[2], heads: heads)
        if let cache { (k, v) = cache.update(layer: layerIndex, keys: k, values: v) }
        return residualDropout(projection(mergeHeads(attend(q, k, v, scale: scale, mask: mask, dropout: attentionDropout))))
    }
}

/// The feed-forward block: `c_fc`, activation, `c_proj`, dropout (`GPT2MLP`).
public final class GPT2MLP: Module, UnaryLayer {
    @ModuleInfo(key: "c_fc") public var expand: Conv1D
    @ModuleInfo(key: "c_proj") public var project: Conv1D
    let activation: any UnaryLayer
    let dropout: Dropout

    /// n_embd → n_inner → n_embd.
    public init(_ config: GPT2Config) {
        _expand.wrappedValue = Conv1D(config.nEmbd, config.innerSize)
        _project.wrappedValue = Conv1D(config.innerSize, config.nEmbd)
        activation = configActivation(config.activationFunction)
        dropout = Dropout(config.residPdrop)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(project(activation(expand(x)))) }
}

/// A pre-LayerNorm decoder block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))` (`GPT2Block`).
public final class GPT2Block: Module {
    @ModuleInfo(key: "ln_1") public var ln1: LayerNorm
    public let attn: GPT2Attention
    @ModuleInfo(key: "ln_2") public var ln2: LayerNorm
    public let mlp: GPT2MLP

    /// Block `layerIndex`.
    public init(_ config: GPT2Config, layerIndex: Int) {
        _ln1.wrappedValue = LayerNorm(config.nEmbd, eps: config.layerNormEpsilon)
        attn = GPT2Attention(config, layerIndex: layerIndex)
        _ln2.wrappedValue = LayerNorm(config.nEmbd, eps: config.layerNormEpsilon)
        mlp = GPT2MLP(config)
    }

    public func callAsFunction(_ x: Tensor, mask: Tensor, cache: KVCache?) -> Tensor {
        let h = x + attn(ln1(x), mask: mask, cache: cache)
        return h + mlp(ln2(h))
    }
}

/// What GPT-2 reads: `[B, S]` ids, an optional `[B, past+S]` padding mask, optional position ids.
public struct DecoderInputs {
    /// Token ids `[B, S]` (the new positions only when a cache holds the past).
    public var inputIds: Tensor
    /// 1 where a token (past or new) is real, 0 for padding: `[B, past+S]`. All ones when nil.
    public var attentionMask: Tensor?
    /// Positions of the new tokens `[B, S]`; `past..<past+S` when nil.
    public var positionIds: Tensor?

    public init(inputIds: Tensor, attentionMask: Tensor? = nil, positionIds: Tensor? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.positionIds = positionIds
    }
}

/// The bare GPT-2 decoder (`GPT2Model`): token and position embeddings, blocks, final layer norm.
///
/// ```swift
/// let gpt2 = try GPT2Model.fromPretrained(directory: url)
/// let states = try gpt2(DecoderInputs(inputIds: ids))      // [B, S, n_embd]
/// ```
public final class GPT2Model: Module {
    public let config: GPT2Config
    public let wte: Embedding, wpe: Embedding
    let drop: Dropout
    @ModuleInfo(key: "h") public var blocks: [GPT2Block]
    @ModuleInfo(key: "ln_f") public var lnF: LayerNorm

    /// A randomly initialized model.
    public init(config: GPT2Config) {
        self.config = config
        wte = embedding(config.vocabSize, config.nEmbd)
        wpe = embedding(config.nPositions, config.nEmbd)
        drop = Dropout(config.embdPdrop)
        _blocks.wrappedValue = (0..<config.nLayer).map { GPT2Block(config, layerIndex: $0) }
        _lnF.wrappedValue = LayerNorm(config.nEmbd, eps: config.layerNormEpsilon)
        super.init()
        WeightInitialization.apply(self, range: config.initializerRange)
        if !WeightInitialization.skip { GPT2Model.initializeResidualProjections(self, config: config) }
    }

    /// Hugging Face's GPT-2 init: Conv1D weights normal(0, range), `c_proj` scaled by 1/√(2·n_layer).
    static func initializeResidualProjections(_ model: Module, config: GPT2Config) {
        withNoGrad {
            for (key, module) in model.namedModules() {
                guard let conv = module as? Conv1D else { continue }
                let std = config.initializerRange / (key.hasSuffix("c_proj") ? Float(2 * config.nLayer).squareRoot() : 1)
                conv.weight.assign(Init.normal(conv.weight.shape, std: std))
                conv.bias.assign(Tensor.zeros([1]))
            }
        }
    }

    /// The forward pass on trusted inputs (what the tracer records). With a `cache`, `inputIds` are
    /// the new positions only; their keys and values are appended to it.
    public func forward(_ inputs: DecoderInputs, cache: KVCache? = nil) -> Tensor {
        let past = cache?.offset ?? 0
        let length = inputs.inputIds.size(1)
        let positions = inputs.positionIds ?? Tensor.arange(past, past + length).unsqueezed(at: 0)
        var x = drop(wte(inputs.inputIds) + wpe(positions))
        let mask = causalMask(queryLength: length, keyLength: past + length, attentionMask: inputs.attentionMask)
        for block in blocks { x = block(x, mask: mask, cache: cache) }
        return lnF(x)
    }

    /// Validates `inputs` (ids in the vocabulary, mask and positions shaped right, within `n_positions`), then runs.
    public func callAsFunction(_ inputs: DecoderInputs, cache: KVCache? = nil) throws(TransformersError) -> Tensor {
        try validateDecoderInputs(inputs, past: cache?.offset ?? 0, config: config)
        return withNoGradIfEval(self) { forward(inputs, cache: cache) }
    }
}

/// Checks GPT-2 inputs against the config before a forward pass.
func validateDecoderInputs(_ inputs: DecoderInputs, past: Int, config: GPT2Config) throws(TransformersError) {
    try validateIds(inputs.inputIds, limit: config.vocabSize, name: "input_ids", configField: "vocab_size")
    let (batch, length) = (inputs.inputIds.size(0), inputs.inputIds.size(1))
    if let mask = inputs.attentionMask, mask.shape != [batch, past + length] {
        throw .invalidInput(argument: "attention_mask", reason: "has shape \(mask.shape); expected [\(batch), \(past + length)] (past \(past) + new \(length))")
    }
    if let positions = inputs.positionIds {
        guard positions.shape == [batch, length] || positions.shape == [1, length] else {
            throw .invalidInput(argument: "position_ids", reason: "has shape \(positions.shape); expected [\(batch), \(length)]")
        }
        try validateIds(positions, limit: config.nPositions, name: "position_ids", configField: "n_positions")
    } else if past + length > config.nPositions {
        throw .invalidInput(argument: "input_ids", reason: "positions up to \(past + length) exceed n_positions \(config.nPositions)")
    }
}

/// Logits and, with labels, the shifted next-token loss of a causal LM.
public struct CausalLMOutput {
    /// `[B, S, vocab]` (or the last `logitsToKeep` positions).
    public var logits: Tensor
    /// Mean cross entropy of predicting token t+1 from positions ≤ t, when labels were given.
    public var loss: Tensor?

    /// The language-modeling head over decoder states `hidden` `[B, S, H]`: logits of the last
    /// `logitsToKeep` positions (all when nil), and the loss over `labels` `[B, S]` shifted by one.
    init(_ hidden: Tensor, head: Linear, labels: Tensor?, logitsToKeep: Int?) {
        let kept = logitsToKeep.map { hidden.sliced(dim: 1, start: hidden.size(1) - $0) } ?? hidden
        let logits = head(kept)
        self.logits = logits
        self.loss = labels.map { labels in
            let n = logits.size(1)
            return Loss.crossEntropy(logits.sliced(dim: 1, end: n - 1).flattened(endDim: -2),
                                     labels.sliced(dim: 1, start: 1).flattened())
        }
    }
}

/// GPT-2 with the language-modeling head tied to the token embeddings (`GPT2LMHeadModel`).
public final class GPT2LMHeadModel: Module {
    public let config: GPT2Config
    public let transformer: GPT2Model
    @ModuleInfo(key: "lm_head") public var lmHead: Linear

    /// A randomly initialized model.
    public init(config: GPT2Config) {
        self.config = config
        let transformer = GPT2Model(config: config)
        self.transformer = transformer
        let head = linear(config.nEmbd, config.vocabSize, bias: false)
        if config.common.tieWordEmbeddings { head.weight = transformer.wte.weight }
        _lmHead.wrappedValue = head
    }

    /// Trusted-input forward: logits of the last `logitsToKeep` positions (all when nil), the loss
    /// over `labels` `[B, S]` shifted by one (−100 = ignore).
    public func forward(_ inputs: DecoderInputs, cache: KVCache? = nil, labels: Tensor? = nil,
                        logitsToKeep: Int? = nil) -> CausalLMOutput {
        let hidden = transformer.forward(inputs, cache: cache)
        return CausalLMOutput(hidden, head: lmHead, labels: labels, logitsToKeep: logitsToKeep)
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: DecoderInputs, cache: KVCache? = nil,
                               labels: Tensor? = nil) throws(TransformersError) -> CausalLMOutput {
        try validateDecoderInputs(inputs, past: cache?.offset ?? 0, config: config)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, cache: cache, labels: labels) }
    }
}

// MARK: - Loading and pipelines

extension GPT2Model: PretrainedModel {
    public static var basePrefix: String { "transformer" }
    public convenience init(config: GPT2Config, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension GPT2LMHeadModel: PretrainedModel {
    public static var basePrefix: String { "transformer" }
    public convenience init(config: GPT2Config, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension GPT2LMHeadModel: CausalLanguageModel {
    /// `vocab_size`.
    public var vocabularySize: Int { config.vocabSize }
    /// `n_positions`.
    public var maxPositions: Int { config.nPositions }
    /// `n_layer`.
    public var layerCount: Int { config.nLayer }
    /// The config's shared fields (`eos_token_id`, `pad_token_id`, …).
    public var commonConfig: CommonConfig { config.common }
}

extension ModelFamily {
    /// GPT-2 (`model_type` `gpt2`): byte-level BPE ids and attention mask, causal.
    public static let gpt2 = ModelFamily(
        modelType: "gpt2", config: GPT2Config.self, tokenizer: .byteLevelBPE,
        inputs: [.inputIds, .attentionMask],
        tasks: [
            .task(.featureExtraction, GPT2Model.self, architectures: ["GPT2Model"],
                  outputs: ["last_hidden_state"]) { m, x in [("last_hidden_state", m.forward(x.decoder))] },
            .task(.textGeneration, GPT2LMHeadModel.self, architectures: ["GPT2LMHeadModel"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.decoder).logits)] },
        ])
}
