// Ports transformers/models/electra/modeling_electra.py: ElectraModel (BERT's layers over embeddings of
// `embedding_size`, projected by `embeddings_project` when it differs from the hidden size), the
// discriminator (ElectraForPreTraining), the generator (ElectraForMaskedLM) and the classifier.
import NN
import Tensors

/// The ELECTRA encoder (`ElectraModel`); no pooler.
///
/// ```swift
/// let electra = try ElectraModel.fromPretrained(directory: url)
/// let states = try electra(EncoderInputs(inputIds: ids, attentionMask: mask)).lastHiddenState
/// ```
public final class ElectraModel: Module {
    public let config: ElectraConfig
    /// BERT's embeddings at `embedding_size`.
    public let embeddings: BertEmbeddings
    /// `embedding_size` → `hidden_size`, present when they differ.
    @ModuleInfo(key: "embeddings_project") public var embeddingsProject: Linear?
    public let encoder: BertEncoder

    /// A randomly initialized model.
    public init(config: ElectraConfig) {
        self.config = config
        embeddings = BertEmbeddings(config.embeddingConfig)
        _embeddingsProject.wrappedValue = config.embeddingSize != config.bert.hiddenSize
            ? linear(config.embeddingSize, config.bert.hiddenSize) : nil
        encoder = BertEncoder(config.bert)
        super.init()
        WeightInitialization.apply(self, range: config.bert.initializerRange)
    }

    /// The forward pass on trusted inputs (what the tracer records); `callAsFunction` validates first.
    public func forward(_ inputs: EncoderInputs) -> BaseModelOutput {
        var x = embeddings(inputs.inputIds, tokenTypeIds: inputs.tokenTypeIds)
        if let embeddingsProject { x = embeddingsProject(x) }
        return BaseModelOutput(lastHiddenState: encoder(x, mask: inputs.attentionMask.map(paddingMask)), poolerOutput: nil)
    }

    /// Validates `inputs` against the config, then runs.
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> BaseModelOutput {
        try validateEncoderInputs(inputs, config: config.bert)
        return withNoGradIfEval(self) { forward(inputs) }
    }
}

/// The discriminator's head: dense, the config's activation, and one logit per token saying whether
/// it was replaced (`ElectraDiscriminatorPredictions`).
public final class ElectraDiscriminatorPredictions: Module, UnaryLayer {
    public let dense: Linear
    @ModuleInfo(key: "dense_prediction") public var densePrediction: Linear
    let activation: any UnaryLayer

    init(_ config: BertConfig) {
        dense = linear(config.hiddenSize, config.hiddenSize)
        _densePrediction.wrappedValue = linear(config.hiddenSize, 1)
        activation = configActivation(config.hiddenAct)
    }

    /// `[B, S, H]` → `[B, S]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { densePrediction(activation(dense(x))).squeezed(at: -1) }
}

/// The ELECTRA discriminator (`ElectraForPreTraining`): replaced-token logits `[B, S]`.
public final class ElectraForPreTraining: Module {
    public let config: ElectraConfig
    public let electra: ElectraModel
    @ModuleInfo(key: "discriminator_predictions") public var discriminatorPredictions: ElectraDiscriminatorPredictions

    /// A randomly initialized model.
    public init(config: ElectraConfig) {
        self.config = config
        electra = ElectraModel(config: config)
        _discriminatorPredictions.wrappedValue = ElectraDiscriminatorPredictions(config.bert)
        super.init()
        WeightInitialization.apply(discriminatorPredictions, range: config.bert.initializerRange)
    }

    /// Trusted-input forward: logits `[B, S]` and, with `labels` `[B, S]` (1 = replaced), the binary
    /// cross entropy over the tokens the attention mask keeps.
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = discriminatorPredictions(electra.forward(inputs).lastHiddenState)
        let loss = labels.map { labels in
            let each = Loss.binaryCrossEntropyWithLogits(logits, labels.cast(to: .float32), reduction: .none)
            guard let mask = inputs.attentionMask else { return each.mean() }
            let kept = (mask .== 1).cast(to: .float32)
            return (each * kept).sum() / kept.sum()
        }
        return HeadOutput(logits: logits, loss: loss)
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config.bert)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: 2, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// The generator's transform: dense to `embedding_size`, GELU, LayerNorm (`ElectraGeneratorPredictions`).
public final class ElectraGeneratorPredictions: Module, UnaryLayer {
    public let dense: Linear
    @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm

    init(_ config: ElectraConfig) {
        dense = linear(config.bert.hiddenSize, config.embeddingSize)
        _layerNorm.wrappedValue = LayerNorm(config.embeddingSize, eps: config.bert.layerNormEps)
    }

    /// `[B, S, H]` → `[B, S, E]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(dense(x).gelu()) }
}

/// The ELECTRA generator (`ElectraForMaskedLM`): `generator_predictions` and `generator_lm_head`, tied
/// to the word embeddings.
public final class ElectraForMaskedLM: Module {
    public let config: ElectraConfig
    public let electra: ElectraModel
    @ModuleInfo(key: "generator_predictions") public var generatorPredictions: ElectraGeneratorPredictions
    @ModuleInfo(key: "generator_lm_head") public var generatorLMHead: Linear

    /// A randomly initialized model.
    public init(config: ElectraConfig) {
        self.config = config
        electra = ElectraModel(config: config)
        _generatorPredictions.wrappedValue = ElectraGeneratorPredictions(config)
        let head = linear(config.embeddingSize, config.bert.vocabSize)
        _generatorLMHead.wrappedValue = head
        super.init()
        WeightInitialization.apply(generatorPredictions, range: config.bert.initializerRange)
        WeightInitialization.apply(head, range: config.bert.initializerRange)
        if config.bert.common.tieWordEmbeddings { head.weight = electra.embeddings.wordEmbeddings.weight }
    }

    /// Trusted-input forward: logits `[B, S, vocab]` and the MLM loss over `labels` (−100 = ignore).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = generatorLMHead(generatorPredictions(electra.forward(inputs).lastHiddenState))
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config.bert)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.bert.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// ELECTRA's classification head: GELU (`ElectraClassificationHead`).
public typealias ElectraClassificationHead = FirstTokenClassificationHead

/// ELECTRA with a classification head on the first token (`ElectraForSequenceClassification`).
public final class ElectraForSequenceClassification: Module {
    public let config: ElectraConfig
    public let electra: ElectraModel
    public let classifier: ElectraClassificationHead

    /// A randomly initialized model with `config.common.numLabels` outputs.
    public init(config: ElectraConfig) {
        self.config = config
        electra = ElectraModel(config: config)
        classifier = FirstTokenClassificationHead(config.bert, activation: .gelu)
        super.init()
        WeightInitialization.apply(classifier, range: config.bert.initializerRange)
    }

    /// Trusted-input forward: logits `[B, labels]` and the loss over `labels` (by `problem_type`).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = classifier(electra.forward(inputs).lastHiddenState)
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

extension ElectraConfig: EncoderConfig {
    public var hiddenStateSize: Int { bert.hiddenSize }
    public var classifierDropoutProbability: Float { bert.classifierDropout ?? bert.hiddenDropoutProb }
    public var initializerRange: Float { bert.initializerRange }
    public var common: CommonConfig { bert.common }
}

extension ElectraModel: EncoderModel {
    public convenience init(poolerlessConfig config: ElectraConfig) { self.init(config: config) }
    public func lastHiddenState(_ inputs: EncoderInputs) -> Tensor { forward(inputs).lastHiddenState }
    public func validate(_ inputs: EncoderInputs) throws(TransformersError) { try validateEncoderInputs(inputs, config: config.bert) }
    public var padTokenId: Int { config.bert.common.padTokenId ?? 0 }
}

extension ElectraModel: PretrainedModel {
    public static var basePrefix: String { "electra" }
    public convenience init(config: ElectraConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension ElectraForPreTraining: PretrainedModel {
    public static var basePrefix: String { "electra" }
    public convenience init(config: ElectraConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension ElectraForMaskedLM: PretrainedModel {
    public static var basePrefix: String { "electra" }
    public convenience init(config: ElectraConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension ElectraForSequenceClassification: PretrainedModel {
    public static var basePrefix: String { "electra" }
    public convenience init(config: ElectraConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension ElectraForMaskedLM: MaskedLanguageModel {
    public func maskedLMLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var padTokenId: Int { config.bert.common.padTokenId ?? 0 }
}

extension ElectraForSequenceClassification: SequenceClassifier {
    public func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var commonConfig: CommonConfig { config.bert.common }
}

public typealias ElectraForTokenClassification = ForTokenClassification<ElectraModel>
public typealias ElectraForQuestionAnswering = ForQuestionAnswering<ElectraModel>

extension ModelFamily {
    /// ELECTRA (`model_type` `electra`): WordPiece ids, attention mask and token types; discriminator
    /// (pretraining) and generator (fill-mask) checkpoints.
    public static let electra = ModelFamily(
        modelType: "electra", config: ElectraConfig.self, tokenizer: .wordPiece,
        inputs: [.inputIds, .attentionMask, .tokenTypeIds],
        tasks: [
            .task(.featureExtraction, ElectraModel.self, architectures: ["ElectraModel"],
                  outputs: ["last_hidden_state"]) { m, x in m.forward(x.encoder).namedOutputs },
            .task(.pretraining, ElectraForPreTraining.self, architectures: ["ElectraForPreTraining"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .task(.fillMask, ElectraForMaskedLM.self, architectures: ["ElectraForMaskedLM"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .task(.textClassification, ElectraForSequenceClassification.self, architectures: ["ElectraForSequenceClassification"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .tokenClassification(ElectraModel.self, architectures: ["ElectraForTokenClassification"]),
            .questionAnswering(ElectraModel.self, architectures: ["ElectraForQuestionAnswering"]),
            .sentenceEmbedding(ElectraModel.self),
        ])
}
