// Ports transformers/models/albert/modeling_albert.py: AlbertModel (factorized embeddings and layers
// shared across depth) and its heads, with HF's names (`encoder.albert_layer_groups.G.albert_layers.L`).
import NN
import Tensors

// MARK: - Building blocks

/// Self-attention with its output projection and residual layer norm in one module (`AlbertAttention`).
public final class AlbertAttention: Module {
    public let query: Linear, key: Linear, value: Linear, dense: Linear
    @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm
    let attentionDropout: Dropout, outputDropout: Dropout
    let heads: Int

    /// Attention sized by `config`.
    public init(_ config: BertConfig) {
        query = linear(config.hiddenSize, config.hiddenSize)
        key = linear(config.hiddenSize, config.hiddenSize)
        value = linear(config.hiddenSize, config.hiddenSize)
        dense = linear(config.hiddenSize, config.hiddenSize)
        _layerNorm.wrappedValue = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        attentionDropout = Dropout(config.attentionProbsDropoutProb)
        outputDropout = Dropout(config.hiddenDropoutProb)
        heads = config.numAttentionHeads
    }

    /// `LayerNorm(x + dropout(dense(attention(x))))`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let q = splitHeads(query(x), heads: heads), k = splitHeads(key(x), heads: heads), v = splitHeads(value(x), heads: heads)
        let attended = mergeHeads(attend(q, k, v, scale: 1 / Float(q.size(-1)).squareRoot(), mask: mask, dropout: attentionDropout))
        return layerNorm(x + outputDropout(dense(attended)))
    }
}

/// One layer: attention, then `ffn_output(act(ffn(x)))` with `full_layer_layer_norm` (`AlbertLayer`).
public final class AlbertLayer: Module {
    @ModuleInfo(key: "full_layer_layer_norm") public var fullLayerLayerNorm: LayerNorm
    public let attention: AlbertAttention
    public let ffn: Linear
    @ModuleInfo(key: "ffn_output") public var ffnOutput: Linear
    let activation: any UnaryLayer

    /// A layer sized by `config`.
    public init(_ config: BertConfig) {
        _fullLayerLayerNorm.wrappedValue = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        attention = AlbertAttention(config)
        ffn = linear(config.hiddenSize, config.intermediateSize)
        _ffnOutput.wrappedValue = linear(config.intermediateSize, config.hiddenSize)
        activation = configActivation(config.hiddenAct)
    }

    /// `[B, S, H]` → `[B, S, H]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let attended = attention(x, mask: mask)
        return fullLayerLayerNorm(ffnOutput(activation(ffn(attended))) + attended)
    }
}

/// `inner_group_num` layers with their own weights (`AlbertLayerGroup`).
public final class AlbertLayerGroup: Module {
    @ModuleInfo(key: "albert_layers") public var layers: [AlbertLayer]

    /// A group sized by `config`.
    public init(_ config: AlbertConfig) {
        _layers.wrappedValue = (0..<config.innerGroupNum).map { _ in AlbertLayer(config.bert) }
    }

    /// Runs the group's layers in order.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        layers.reduce(x) { $1($0, mask: mask) }
    }
}

/// The embedding-to-hidden mapping and `num_hidden_layers` passes through the shared groups
/// (`AlbertTransformer`): the weights exist once per group, whatever the depth, and stay one tensor
/// each in the traced graph (the tracer names a constant once per tensor).
public final class AlbertTransformer: Module {
    @ModuleInfo(key: "embedding_hidden_mapping_in") public var embeddingHiddenMappingIn: Linear
    @ModuleInfo(key: "albert_layer_groups") public var groups: [AlbertLayerGroup]
    let config: AlbertConfig

    /// `num_hidden_groups` groups.
    public init(_ config: AlbertConfig) {
        self.config = config
        _embeddingHiddenMappingIn.wrappedValue = linear(config.embeddingSize, config.bert.hiddenSize)
        _groups.wrappedValue = (0..<config.numHiddenGroups).map { _ in AlbertLayerGroup(config) }
    }

    /// `[B, S, E]` → `[B, S, H]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        (0..<config.bert.numHiddenLayers).reduce(embeddingHiddenMappingIn(x)) { h, layer in
            groups[config.group(ofLayer: layer)](h, mask: mask)
        }
    }
}

// MARK: - Models

/// The bare ALBERT encoder with an optional pooler (`AlbertModel`): `pooler` is a linear layer with tanh
/// on the first token.
///
/// ```swift
/// let albert = try AlbertModel.fromPretrained(directory: url)
/// let out = try albert(EncoderInputs(inputIds: ids, attentionMask: mask))
/// ```
public final class AlbertModel: Module {
    public let config: AlbertConfig
    /// BERT's embeddings at `embedding_size`.
    public let embeddings: BertEmbeddings
    public let encoder: AlbertTransformer
    public let pooler: Linear?

    /// A randomly initialized model; `addPoolingLayer: false` drops the pooler (as the token-level heads do).
    public init(config: AlbertConfig, addPoolingLayer: Bool = true) {
        self.config = config
        embeddings = BertEmbeddings(config.embeddingConfig)
        encoder = AlbertTransformer(config)
        pooler = addPoolingLayer ? linear(config.bert.hiddenSize, config.bert.hiddenSize) : nil
        super.init()
        WeightInitialization.apply(self, range: config.bert.initializerRange)
    }

    /// The forward pass on trusted inputs (what the tracer records); `callAsFunction` validates first.
    public func forward(_ inputs: EncoderInputs) -> BaseModelOutput {
        let hidden = encoder(embeddings(inputs.inputIds, tokenTypeIds: inputs.tokenTypeIds), mask: inputs.attentionMask.map(paddingMask))
        return BaseModelOutput(lastHiddenState: hidden, poolerOutput: pooler.map { $0(hidden.selected(dim: 1, index: 0)).tanh() })
    }

    /// Validates `inputs` against the config, then runs.
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> BaseModelOutput {
        try validateEncoderInputs(inputs, config: config.bert)
        return withNoGradIfEval(self) { forward(inputs) }
    }
}

/// The masked-LM head: dense to `embedding_size`, activation, LayerNorm, and a decoder tied to the word
/// embeddings (`AlbertMLMHead`); `bias` is shared with `decoder.bias`.
public final class AlbertMLMHead: Module, UnaryLayer {
    @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm
    /// The output bias, shared with `decoder.bias`.
    public var bias: Tensor
    public let dense: Linear
    public let decoder: Linear
    let activation: any UnaryLayer

    init(_ config: AlbertConfig, wordEmbeddings: Tensor) {
        _layerNorm.wrappedValue = LayerNorm(config.embeddingSize, eps: config.bert.layerNormEps)
        dense = linear(config.bert.hiddenSize, config.embeddingSize)
        let decoder = linear(config.embeddingSize, config.bert.vocabSize)
        if config.bert.common.tieWordEmbeddings { decoder.weight = wordEmbeddings }
        let bias = Tensor.zeros([config.bert.vocabSize]).requiringGrad()
        decoder.bias = bias
        self.decoder = decoder
        self.bias = bias
        activation = configActivation(config.bert.hiddenAct)
    }

    /// `[B, S, H]` → `[B, S, vocab]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { decoder(layerNorm(activation(dense(x)))) }
}

/// ALBERT with the masked-LM head (`AlbertForMaskedLM`); no pooler.
public final class AlbertForMaskedLM: Module {
    public let config: AlbertConfig
    public let albert: AlbertModel
    public let predictions: AlbertMLMHead

    /// A randomly initialized model.
    public init(config: AlbertConfig) {
        self.config = config
        let albert = AlbertModel(config: config, addPoolingLayer: false)
        self.albert = albert
        predictions = AlbertMLMHead(config, wordEmbeddings: albert.embeddings.wordEmbeddings.weight)
        super.init()
        WeightInitialization.apply(predictions, range: config.bert.initializerRange)
    }

    /// Trusted-input forward: logits `[B, S, vocab]` and the MLM loss over `labels` (−100 = ignore).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = predictions(albert.forward(inputs).lastHiddenState)
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config.bert)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.bert.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// ALBERT with a classifier on the pooled output (`AlbertForSequenceClassification`): single-label,
/// multi-label or regression by `problem_type`.
public final class AlbertForSequenceClassification: Module {
    public let config: AlbertConfig
    public let albert: AlbertModel
    let dropout: Dropout
    public let classifier: Linear

    /// A randomly initialized model with `config.common.numLabels` outputs.
    public init(config: AlbertConfig) {
        self.config = config
        albert = AlbertModel(config: config)
        dropout = Dropout(config.classifierDropoutProbability)
        classifier = linear(config.bert.hiddenSize, config.bert.common.numLabels)
        super.init()
        WeightInitialization.apply(classifier, range: config.bert.initializerRange)
    }

    /// Trusted-input forward: logits `[B, labels]` and the loss over `labels`.
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = classifier(dropout(albert.forward(inputs).poolerOutput!))
        return HeadOutput(logits: logits, loss: labels.map { classificationLoss(logits, $0, config: config.bert.common) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config.bert)
        if let labels { try validateClassificationLabels(labels, batch: inputs.inputIds.size(0), config: config.bert.common) }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

// MARK: - Loading and pipelines

extension AlbertConfig: EncoderConfig {
    public var hiddenStateSize: Int { bert.hiddenSize }
    /// `classifier_dropout_prob`, else `hidden_dropout_prob`.
    public var classifierDropoutProbability: Float { classifierDropoutProb ?? bert.hiddenDropoutProb }
    public var initializerRange: Float { bert.initializerRange }
    public var common: CommonConfig { bert.common }
}

extension AlbertModel: EncoderModel {
    public convenience init(poolerlessConfig config: AlbertConfig) { self.init(config: config, addPoolingLayer: false) }
    public func lastHiddenState(_ inputs: EncoderInputs) -> Tensor { forward(inputs).lastHiddenState }
    public func validate(_ inputs: EncoderInputs) throws(TransformersError) { try validateEncoderInputs(inputs, config: config.bert) }
    public var padTokenId: Int { config.bert.common.padTokenId ?? 0 }
}

extension AlbertModel: PretrainedModel {
    public static var basePrefix: String { "albert" }
    /// Has a pooler exactly when the checkpoint has one (or when it is empty).
    public convenience init(config: AlbertConfig, checkpointKeys: Set<String>) {
        self.init(config: config, addPoolingLayer: checkpointKeys.isEmpty || checkpointKeys.contains { $0.hasSuffix("pooler.weight") })
    }
}

extension AlbertForMaskedLM: PretrainedModel {
    public static var basePrefix: String { "albert" }
    public convenience init(config: AlbertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension AlbertForSequenceClassification: PretrainedModel {
    public static var basePrefix: String { "albert" }
    public convenience init(config: AlbertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension AlbertForMaskedLM: MaskedLanguageModel {
    public func maskedLMLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var padTokenId: Int { config.bert.common.padTokenId ?? 0 }
}

extension AlbertForSequenceClassification: SequenceClassifier {
    public func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var commonConfig: CommonConfig { config.bert.common }
}

public typealias AlbertForTokenClassification = ForTokenClassification<AlbertModel>
public typealias AlbertForQuestionAnswering = ForQuestionAnswering<AlbertModel>

extension ModelFamily {
    /// ALBERT (`model_type` `albert`): SentencePiece ids, attention mask and token types.
    public static let albert = ModelFamily(
        modelType: "albert", config: AlbertConfig.self, tokenizer: .sentencePiece,
        inputs: [.inputIds, .attentionMask, .tokenTypeIds],
        tasks: [
            .task(.featureExtraction, AlbertModel.self, architectures: ["AlbertModel"],
                  outputs: ["last_hidden_state", "pooler_output"]) { m, x in m.forward(x.encoder).namedOutputs },
            .task(.fillMask, AlbertForMaskedLM.self, architectures: ["AlbertForMaskedLM"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .task(.textClassification, AlbertForSequenceClassification.self, architectures: ["AlbertForSequenceClassification"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .tokenClassification(AlbertModel.self, architectures: ["AlbertForTokenClassification"]),
            .questionAnswering(AlbertModel.self, architectures: ["AlbertForQuestionAnswering"]),
            .sentenceEmbedding(AlbertModel.self),
        ])
}
