// Ports transformers/models/roberta/modeling_roberta.py: RoBERTa is BERT with position ids that
// count only real tokens and start past the padding index, and its own heads.
import NN
import Tensors

/// The RoBERTa encoder (`RobertaModel`): BERT's layers with RoBERTa's position ids.
///
/// ```swift
/// let roberta = try RobertaModel.fromPretrained(directory: url)
/// let states = try roberta(EncoderInputs(inputIds: ids, attentionMask: mask)).lastHiddenState
/// ```
public final class RobertaModel: Module {
    public let config: RobertaConfig
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder
    public let pooler: BertPooler?

    /// A randomly initialized model; `addPoolingLayer: false` drops the pooler (as the heads do).
    public init(config: RobertaConfig, addPoolingLayer: Bool = true) {
        self.config = config
        embeddings = BertEmbeddings(config.bert)
        encoder = BertEncoder(config.bert)
        pooler = addPoolingLayer ? BertPooler(config.bert) : nil
        super.init()
        WeightInitialization.apply(self, range: config.bert.initializerRange)
    }

    /// Position `padding_idx + k` for the k-th real token (1-based), `padding_idx` for padding
    /// (`create_position_ids_from_input_ids`), computed with tensor ops so that it traces.
    public func positionIds(for inputIds: Tensor) -> Tensor {
        let pad = config.bert.common.padTokenId ?? 1
        let real = (inputIds .!= Float(pad)).cast(to: .float32)
        return (cumulativeSum(real) * real + Float(pad)).cast(to: .int64)
    }

    /// The forward pass on trusted inputs, with RoBERTa's position ids unless `positionIds` are given.
    public func forward(_ inputs: EncoderInputs, positionIds: Tensor? = nil) -> BaseModelOutput {
        let positions = positionIds ?? self.positionIds(for: inputs.inputIds)
        let x = embeddings(inputs.inputIds, tokenTypeIds: inputs.tokenTypeIds, positionIds: positions)
        let hidden = encoder(x, mask: inputs.attentionMask.map(paddingMask))
        return BaseModelOutput(lastHiddenState: hidden, poolerOutput: pooler?(hidden))
    }

    /// Validates `inputs` (ids, mask, and that positions past the padding offset fit), then runs.
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> BaseModelOutput {
        try validateRobertaInputs(inputs, config: config)
        return withNoGradIfEval(self) { forward(inputs) }
    }
}

/// RoBERTa's inputs: BERT's checks with the positions starting past the padding index.
func validateRobertaInputs(_ inputs: EncoderInputs, config: RobertaConfig) throws(TransformersError) {
    try validateEncoderInputs(inputs, config: config.bert, positionOffset: (config.bert.common.padTokenId ?? 1) + 1)
}

/// The masked-LM head: dense, GELU, layer norm, and a decoder tied to the word embeddings
/// (`RobertaLMHead`); `bias` is shared with `decoder.bias`.
public final class RobertaLMHead: Module, UnaryLayer {
    public let dense: Linear
    @ModuleInfo(key: "layer_norm") public var layerNorm: LayerNorm
    public let decoder: Linear
    /// The output bias, shared with `decoder.bias`.
    public var bias: Tensor

    init(_ config: BertConfig, wordEmbeddings: Tensor) {
        dense = linear(config.hiddenSize, config.hiddenSize)
        _layerNorm.wrappedValue = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        let decoder = linear(config.hiddenSize, config.vocabSize)
        if config.common.tieWordEmbeddings { decoder.weight = wordEmbeddings }
        let bias = Tensor.zeros([config.vocabSize]).requiringGrad()
        decoder.bias = bias
        self.decoder = decoder
        self.bias = bias
    }

    /// `[B, S, H]` → `[B, S, vocab]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { decoder(layerNorm(dense(x).gelu())) }
}

/// RoBERTa with the masked-LM head (`RobertaForMaskedLM`).
public final class RobertaForMaskedLM: Module {
    public let config: RobertaConfig
    public let roberta: RobertaModel
    @ModuleInfo(key: "lm_head") public var lmHead: RobertaLMHead

    /// A randomly initialized model.
    public init(config: RobertaConfig) {
        self.config = config
        let roberta = RobertaModel(config: config, addPoolingLayer: false)
        self.roberta = roberta
        _lmHead.wrappedValue = RobertaLMHead(config.bert, wordEmbeddings: roberta.embeddings.wordEmbeddings.weight)
        super.init()
        WeightInitialization.apply(lmHead, range: config.bert.initializerRange)
    }

    /// Trusted-input forward: logits `[B, S, vocab]` and the MLM loss over `labels` (−100 = ignore).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = lmHead(roberta.forward(inputs).lastHiddenState)
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateRobertaInputs(inputs, config: config)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.bert.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// The classifier on the first token (`<s>`, `[CLS]`): dropout, dense, an activation, dropout,
/// projection — `RobertaClassificationHead` (tanh) and `ElectraClassificationHead` (GELU) are this
/// with their activation. Keys `dense`, `out_proj`.
public final class FirstTokenClassificationHead: Module, UnaryLayer {
    public let dense: Linear
    let dropout: Dropout
    @ModuleInfo(key: "out_proj") public var outProj: Linear
    /// The activation after `dense`.
    public let activation: UnaryOp

    init(_ config: BertConfig, activation: UnaryOp) {
        dense = linear(config.hiddenSize, config.hiddenSize)
        dropout = Dropout(config.classifierDropout ?? config.hiddenDropoutProb)
        _outProj.wrappedValue = linear(config.hiddenSize, config.common.numLabels)
        self.activation = activation
    }

    /// `[B, S, H]` → `[B, labels]`.
    public func callAsFunction(_ hidden: Tensor) -> Tensor {
        outProj(dropout(Tensor.apply(.unary(activation), [dense(dropout(hidden.selected(dim: 1, index: 0)))])))
    }
}

/// RoBERTa's classification head: tanh.
public typealias RobertaClassificationHead = FirstTokenClassificationHead

/// RoBERTa with a classification head on `<s>` (`RobertaForSequenceClassification`); no pooler.
public final class RobertaForSequenceClassification: Module {
    public let config: RobertaConfig
    public let roberta: RobertaModel
    public let classifier: RobertaClassificationHead

    /// A randomly initialized model with `config.common.numLabels` outputs.
    public init(config: RobertaConfig) {
        self.config = config
        roberta = RobertaModel(config: config, addPoolingLayer: false)
        classifier = FirstTokenClassificationHead(config.bert, activation: .tanh)
        super.init()
        WeightInitialization.apply(classifier, range: config.bert.initializerRange)
    }

    /// Trusted-input forward: logits `[B, labels]` and the loss over `labels`.
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = classifier(roberta.forward(inputs).lastHiddenState)
        return HeadOutput(logits: logits, loss: labels.map { classificationLoss(logits, $0, config: config.bert.common) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateRobertaInputs(inputs, config: config)
        if let labels { try validateClassificationLabels(labels, batch: inputs.inputIds.size(0), config: config.bert.common) }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

// MARK: - Loading and pipelines

extension RobertaConfig: EncoderConfig {
    public var hiddenStateSize: Int { bert.hiddenSize }
    public var classifierDropoutProbability: Float { bert.classifierDropout ?? bert.hiddenDropoutProb }
    public var initializerRange: Float { bert.initializerRange }
    public var common: CommonConfig { bert.common }
}

extension RobertaModel: EncoderModel {
    public convenience init(poolerlessConfig config: RobertaConfig) { self.init(config: config, addPoolingLayer: false) }
    public func lastHiddenState(_ inputs: EncoderInputs) -> Tensor { forward(inputs).lastHiddenState }
    public func validate(_ inputs: EncoderInputs) throws(TransformersError) { try validateRobertaInputs(inputs, config: config) }
    public var padTokenId: Int { config.bert.common.padTokenId ?? 1 }
}

extension RobertaModel: PretrainedModel {
    public static var basePrefix: String { "roberta" }
    /// Has a pooler exactly when the checkpoint has one (or when it is empty).
    public convenience init(config: RobertaConfig, checkpointKeys: Set<String>) {
        self.init(config: config, addPoolingLayer: checkpointKeys.isEmpty || checkpointKeys.contains { $0.hasSuffix("pooler.dense.weight") })
    }
}

extension RobertaForMaskedLM: PretrainedModel {
    public static var basePrefix: String { "roberta" }
    public convenience init(config: RobertaConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension RobertaForSequenceClassification: PretrainedModel {
    public static var basePrefix: String { "roberta" }
    public convenience init(config: RobertaConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension RobertaForMaskedLM: MaskedLanguageModel {
    public func maskedLMLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var padTokenId: Int { config.bert.common.padTokenId ?? 1 }
}

extension RobertaForSequenceClassification: SequenceClassifier {
    public func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var commonConfig: CommonConfig { config.bert.common }
}

extension ModelFamily {
    /// RoBERTa (`model_type` `roberta`): byte-level BPE ids and attention mask; positions start past
    /// the padding index.
    public static let roberta = robertaBody(modelType: "roberta", classPrefix: "Roberta", tokenizer: .byteLevelBPE)

    /// A family whose model is RoBERTa's code under other class names (XLM-RoBERTa, CamemBERT):
    /// the checkpoints keep the `roberta.` prefix and RoBERTa's layer names.
    static func robertaBody(modelType: String, classPrefix p: String, tokenizer: TokenizerKind) -> ModelFamily {
        ModelFamily(
            modelType: modelType, config: RobertaConfig.self, tokenizer: tokenizer,
            inputs: [.inputIds, .attentionMask],
            tasks: [
                .task(.featureExtraction, RobertaModel.self, architectures: ["\(p)Model"],
                      outputs: ["last_hidden_state", "pooler_output"]) { m, x in m.forward(x.encoder).namedOutputs },
                .task(.fillMask, RobertaForMaskedLM.self, architectures: ["\(p)ForMaskedLM"],
                      outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
                .task(.textClassification, RobertaForSequenceClassification.self, architectures: ["\(p)ForSequenceClassification"],
                      outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
                .tokenClassification(RobertaModel.self, architectures: ["\(p)ForTokenClassification"]),
                .questionAnswering(RobertaModel.self, architectures: ["\(p)ForQuestionAnswering"]),
                .sentenceEmbedding(RobertaModel.self),
            ])
    }
}
