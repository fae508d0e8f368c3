// Ports transformers/models/bert/modeling_bert.py: BertModel and its heads, with Hugging Face's
// parameter names bound by property wrappers so that checkpoints load without renaming.
import NN
import Tensors

// MARK: - Building blocks

/// Word, position and token-type embeddings, summed and layer-normalized (`BertEmbeddings`).
public final class BertEmbeddings: Module {
    @ModuleInfo(key: "word_embeddings") public var wordEmbeddings: Embedding
    @ModuleInfo(key: "position_embeddings") public var positionEmbeddings: Embedding
    @ModuleInfo(key: "token_type_embeddings") public var tokenTypeEmbeddings: Embedding
    @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm
    let dropout: Dropout

    /// Embeddings sized by `config`.
    public init(_ config: BertConfig) {
        _wordEmbeddings.wrappedValue = embedding(config.vocabSize, config.hiddenSize, paddingIndex: config.common.padTokenId)
        _positionEmbeddings.wrappedValue = embedding(config.maxPositionEmbeddings, config.hiddenSize)
        _tokenTypeEmbeddings.wrappedValue = embedding(config.typeVocabSize, config.hiddenSize)
        _layerNorm.wrappedValue = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        dropout = Dropout(config.hiddenDropoutProb)
    }

    /// `[B, S]` ids → `[B, S, H]`. Positions default to `0..<S`; token types to 0.
    public func callAsFunction(_ inputIds: Tensor, tokenTypeIds: Tensor? = nil, positionIds: Tensor? = nil) -> Tensor {
        let positions = positionIds.map { positionEmbeddings($0) }
            ?? positionEmbeddings(Tensor.arange(0, inputIds.size(1))).unsqueezed(at: 0)
        // Token type 0 everywhere is row 0 broadcast: no [B, S] lookup needed.
        let types = tokenTypeIds.map { tokenTypeEmbeddings($0) } ?? tokenTypeEmbeddings.weight.sliced(dim: 0, start: 0, end: 1)
        return dropout(layerNorm(wordEmbeddings(inputIds) + types + positions))
    }
}

/// Query, key and value projections and scaled dot-product attention (`BertSelfAttention`).
public final class BertSelfAttention: Module {
    public let query: Linear, key: Linear, value: Linear
    let dropout: Dropout
    let heads: Int

    /// Self-attention sized by `config`.
    public init(_ config: BertConfig) {
        query = linear(config.hiddenSize, config.hiddenSize)
        key = linear(config.hiddenSize, config.hiddenSize)
        value = linear(config.hiddenSize, config.hiddenSize)
        dropout = Dropout(config.attentionProbsDropoutProb)
        heads = config.numAttentionHeads
    }

    /// `[B, S, H]` with an additive mask broadcastable to `[B, heads, S, S]` → `[B, S, H]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let q = splitHeads(query(x), heads: heads), k = splitHeads(key(x), heads: heads), v = splitHeads(value(x), heads: heads)
        return mergeHeads(attend(q, k, v, scale: 1 / Float(q.size(-1)).squareRoot(), mask: mask, dropout: dropout))
    }
}

/// A dense layer, dropout, and a residual layer norm (`BertSelfOutput` and `BertOutput`).
public final class BertResidualOutput: Module {
    public let dense: Linear
    @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm
    let dropout: Dropout

    /// `inputSize` → hidden, normalized over the hidden size.
    public init(_ config: BertConfig, inputSize: Int) {
        dense = linear(inputSize, config.hiddenSize)
        _layerNorm.wrappedValue = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        dropout = Dropout(config.hiddenDropoutProb)
    }

    /// `LayerNorm(dropout(dense(x)) + residual)`.
    public func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
        layerNorm(dropout(dense(x)) + residual)
    }
}

/// Self-attention followed by its output projection (`BertAttention`).
public final class BertAttention: Module {
    @ModuleInfo(key: "self") public var selfAttention: BertSelfAttention
    public let output: BertResidualOutput

    /// Attention sized by `config`.
    public init(_ config: BertConfig) {
        _selfAttention.wrappedValue = BertSelfAttention(config)
        output = BertResidualOutput(config, inputSize: config.hiddenSize)
    }

    /// Attends and adds the residual.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        output(selfAttention(x, mask: mask), residual: x)
    }
}

/// The feed-forward expansion with the config's activation (`BertIntermediate`).
public final class BertIntermediate: Module, UnaryLayer {
    public let dense: Linear
    let activation: any UnaryLayer

    /// hidden → intermediate.
    public init(_ config: BertConfig) {
        dense = linear(config.hiddenSize, config.intermediateSize)
        activation = configActivation(config.hiddenAct)
    }

    /// `act(dense(x))`.
    public func callAsFunction(_ x: Tensor) -> Tensor { activation(dense(x)) }
}

/// One encoder layer: attention, then the feed-forward block (`BertLayer`).
public final class BertLayer: Module {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertResidualOutput

    /// A layer sized by `config`.
    public init(_ config: BertConfig) {
        attention = BertAttention(config)
        intermediate = BertIntermediate(config)
        output = BertResidualOutput(config, inputSize: config.intermediateSize)
    }

    /// `[B, S, H]` → `[B, S, H]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let attended = attention(x, mask: mask)
        return output(intermediate(attended), residual: attended)
    }
}

/// The stack of encoder layers (`BertEncoder`).
public final class BertEncoder: Module {
    @ModuleInfo(key: "layer") public var layers: [BertLayer]

    /// `num_hidden_layers` layers.
    public init(_ config: BertConfig) {
        _layers.wrappedValue = (0..<config.numHiddenLayers).map { _ in BertLayer(config) }
    }

    /// Runs every layer.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        layers.reduce(x) { $1($0, mask: mask) }
    }
}

/// `tanh(dense(h[:, 0]))`: the first token's state as a sequence summary (`BertPooler`).
public final class BertPooler: Module {
    public let dense: Linear

    /// hidden → hidden.
    public init(_ config: BertConfig) { dense = linear(config.hiddenSize, config.hiddenSize) }

    /// `[B, S, H]` → `[B, H]`.
    public func callAsFunction(_ hidden: Tensor) -> Tensor { dense(hidden.selected(dim: 1, index: 0)).tanh() }
}

// MARK: - Inputs and outputs

/// What the BERT-family encoders read: `[B, S]` ids with optional padding mask and token types.
public struct EncoderInputs {
    /// Token ids `[B, S]`, int64 or int32.
    public var inputIds: Tensor
    /// 1 (or true) where a token is real, 0 for padding; `[B, S]`. All ones when nil.
    public var attentionMask: Tensor?
    /// Segment ids `[B, S]` (0 for sentence A, 1 for B). All zeros when nil.
    public var tokenTypeIds: Tensor?

    public init(inputIds: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.tokenTypeIds = tokenTypeIds
    }
}

/// The encoder's final states and, when the model has a pooler, the pooled first token.
public struct BaseModelOutput {
    /// `[B, S, H]`.
    public var lastHiddenState: Tensor
    /// `[B, H]`, or nil for a model without a pooler.
    public var poolerOutput: Tensor?
}

/// Logits of a head and, when labels were given, the loss.
public struct HeadOutput {
    /// `[B, S, vocab]` for language modeling, `[B, classes]` for classification.
    public var logits: Tensor
    /// The mean loss over the labels (0-d), when labels were given.
    public var loss: Tensor?
}

/// The two pre-training heads' logits and their combined loss.
public struct PreTrainingOutput {
    /// Masked-LM logits `[B, S, vocab]`.
    public var predictionLogits: Tensor
    /// Next-sentence logits `[B, 2]`.
    public var seqRelationshipLogits: Tensor
    /// MLM loss + NSP loss, when both label sets were given.
    public var loss: Tensor?
}

// MARK: - Models

/// The bare BERT encoder with an optional pooler (`BertModel`).
///
/// ```swift
/// let bert = try BertModel.fromPretrained(directory: url)
/// let out = try bert(EncoderInputs(inputIds: ids, attentionMask: mask))
/// print(out.lastHiddenState.shape)        // [B, S, hidden]
/// ```
public final class BertModel: Module {
    public let config: BertConfig
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder
    public let pooler: BertPooler?

    /// A randomly initialized model (Hugging Face's `_init_weights`); `addPoolingLayer: false` drops the pooler.
    public init(config: BertConfig, addPoolingLayer: Bool = true) {
        self.config = config
        embeddings = BertEmbeddings(config)
        encoder = BertEncoder(config)
        pooler = addPoolingLayer ? BertPooler(config) : nil
        super.init()
        WeightInitialization.apply(self, range: config.initializerRange)
    }

    /// The forward pass on trusted inputs (what the tracer records); `callAsFunction` validates first.
    public func forward(_ inputs: EncoderInputs, positionIds: Tensor? = nil) -> BaseModelOutput {
        let x = embeddings(inputs.inputIds, tokenTypeIds: inputs.tokenTypeIds, positionIds: positionIds)
        let hidden = encoder(x, mask: inputs.attentionMask.map(paddingMask))
        return BaseModelOutput(lastHiddenState: hidden, poolerOutput: pooler?(hidden))
    }

    /// Validates `inputs` against the config (ids within the vocabulary, shapes, length), then runs.
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> BaseModelOutput {
        try validateEncoderInputs(inputs, config: config)
        return withNoGradIfEval(self) { forward(inputs) }
    }
}

/// The masked-LM head: transform (dense, activation, LayerNorm) and a decoder tied to the word
/// embeddings, with its own bias (`BertLMPredictionHead`).
public final class BertLMPredictionHead: Module {
    /// `dense`, activation and `LayerNorm` (`BertPredictionHeadTransform`).
    public final class Transform: Module, UnaryLayer {
        public let dense: Linear
        @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm
        let activation: any UnaryLayer

        init(_ config: BertConfig) {
            dense = linear(config.hiddenSize, config.hiddenSize)
            _layerNorm.wrappedValue = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
            activation = configActivation(config.hiddenAct)
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(activation(dense(x))) }
    }

    public let transform: Transform
    public let decoder: Linear
    /// The output bias, shared with `decoder.bias`.
    public var bias: Tensor

    /// A head whose decoder weight is `wordEmbeddings` when `tie` (the same tensor, so training keeps them equal).
    public init(_ config: BertConfig, wordEmbeddings: Tensor, tie: Bool) {
        transform = Transform(config)
        let decoder = linear(config.hiddenSize, config.vocabSize)
        if tie { decoder.weight = wordEmbeddings }
        let bias = Tensor.zeros([config.vocabSize]).requiringGrad()
        decoder.bias = bias
        self.decoder = decoder
        self.bias = bias
    }

    /// `[B, S, H]` → `[B, S, vocab]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { decoder(transform(x)) }
}

/// The pre-training heads under `cls`: `predictions` (masked LM) and `seq_relationship` (next sentence).
public final class BertPreTrainingHeads: Module {
    public let predictions: BertLMPredictionHead?
    @ModuleInfo(key: "seq_relationship") public var seqRelationship: Linear?

    init(_ config: BertConfig, wordEmbeddings: Tensor, masked: Bool, nextSentence: Bool) {
        predictions = masked ? BertLMPredictionHead(config, wordEmbeddings: wordEmbeddings, tie: config.common.tieWordEmbeddings) : nil
        _seqRelationship.wrappedValue = nextSentence ? linear(config.hiddenSize, 2) : nil
    }
}

/// BERT with the masked-LM head (`BertForMaskedLM`): no pooler, decoder tied to the word embeddings.
public final class BertForMaskedLM: Module {
    public let config: BertConfig
    public let bert: BertModel
    public let cls: BertPreTrainingHeads

    /// A randomly initialized model.
    public init(config: BertConfig) {
        self.config = config
        let bert = BertModel(config: config, addPoolingLayer: false)
        self.bert = bert
        cls = BertPreTrainingHeads(config, wordEmbeddings: bert.embeddings.wordEmbeddings.weight, masked: true, nextSentence: false)
        super.init()
        WeightInitialization.apply(cls, range: config.initializerRange)
    }

    /// Trusted-input forward: logits `[B, S, vocab]`, and the MLM loss over `labels` (−100 = ignore).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = cls.predictions!(bert.forward(inputs).lastHiddenState)
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// BERT with the next-sentence head on the pooled output (`BertForNextSentencePrediction`).
public final class BertForNextSentencePrediction: Module {
    public let config: BertConfig
    public let bert: BertModel
    public let cls: BertPreTrainingHeads

    /// A randomly initialized model.
    public init(config: BertConfig) {
        self.config = config
        let bert = BertModel(config: config)
        self.bert = bert
        cls = BertPreTrainingHeads(config, wordEmbeddings: bert.embeddings.wordEmbeddings.weight, masked: false, nextSentence: true)
        super.init()
        WeightInitialization.apply(cls, range: config.initializerRange)
    }

    /// Trusted-input forward: logits `[B, 2]` (0 = B follows A) and the loss over `labels` `[B]`.
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = cls.seqRelationship!(bert.forward(inputs).poolerOutput!)
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits, $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config)
        if let labels { try validateLabels(labels, batch: inputs.inputIds.size(0), classes: 2, name: "next_sentence_label") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// BERT with both pre-training heads (`BertForPreTraining`); the loss is MLM + NSP.
public final class BertForPreTraining: Module {
    public let config: BertConfig
    public let bert: BertModel
    public let cls: BertPreTrainingHeads

    /// A randomly initialized model.
    public init(config: BertConfig) {
        self.config = config
        let bert = BertModel(config: config)
        self.bert = bert
        cls = BertPreTrainingHeads(config, wordEmbeddings: bert.embeddings.wordEmbeddings.weight, masked: true, nextSentence: true)
        super.init()
        WeightInitialization.apply(cls, range: config.initializerRange)
    }

    /// Trusted-input forward; the loss needs both `labels` `[B, S]` and `nextSentenceLabel` `[B]`.
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil, nextSentenceLabel: Tensor? = nil) -> PreTrainingOutput {
        let out = bert.forward(inputs)
        let prediction = cls.predictions!(out.lastHiddenState)
        let relationship = cls.seqRelationship!(out.poolerOutput!)
        var loss: Tensor?
        if let labels, let nextSentenceLabel {
            loss = Loss.crossEntropy(prediction.flattened(endDim: -2), labels.flattened())
                + Loss.crossEntropy(relationship, nextSentenceLabel.flattened())
        }
        return PreTrainingOutput(predictionLogits: prediction, seqRelationshipLogits: relationship, loss: loss)
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil,
                               nextSentenceLabel: Tensor? = nil) throws(TransformersError) -> PreTrainingOutput {
        try validateEncoderInputs(inputs, config: config)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.vocabSize, name: "labels") }
        if let nextSentenceLabel {
            try validateLabels(nextSentenceLabel, batch: inputs.inputIds.size(0), classes: 2, name: "next_sentence_label")
        }
        return withNoGradIfEval(self) { forward(inputs, labels: labels, nextSentenceLabel: nextSentenceLabel) }
    }
}

/// BERT with a linear classifier on the pooled output (`BertForSequenceClassification`); the loss
/// follows `problem_type` (MSE for one label, cross entropy, or BCE for multi-label).
public final class BertForSequenceClassification: Module {
    public let config: BertConfig
    public let bert: BertModel
    let dropout: Dropout
    public let classifier: Linear

    /// A randomly initialized model with `config.common.numLabels` outputs.
    public init(config: BertConfig) {
        self.config = config
        bert = BertModel(config: config)
        dropout = Dropout(config.classifierDropout ?? config.hiddenDropoutProb)
        classifier = linear(config.hiddenSize, config.common.numLabels)
        super.init()
        WeightInitialization.apply(classifier, range: config.initializerRange)
    }

    /// Trusted-input forward: logits `[B, labels]` and the loss over `labels`.
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = classifier(dropout(bert.forward(inputs).poolerOutput!))
        return HeadOutput(logits: logits, loss: labels.map { classificationLoss(logits, $0, config: config.common) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateEncoderInputs(inputs, config: config)
        if let labels { try validateClassificationLabels(labels, batch: inputs.inputIds.size(0), config: config.common) }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

// MARK: - Loading and pipelines

extension BertConfig: EncoderConfig {
    public var hiddenStateSize: Int { hiddenSize }
    public var classifierDropoutProbability: Float { classifierDropout ?? hiddenDropoutProb }
}

extension BertModel: EncoderModel {
    public convenience init(poolerlessConfig config: BertConfig) { self.init(config: config, addPoolingLayer: false) }
    public func lastHiddenState(_ inputs: EncoderInputs) -> Tensor { forward(inputs).lastHiddenState }
    public func validate(_ inputs: EncoderInputs) throws(TransformersError) { try validateEncoderInputs(inputs, config: config) }
    public var padTokenId: Int { config.common.padTokenId ?? 0 }
}

extension BertModel: PretrainedModel {
    public static var basePrefix: String { "bert" }
    /// Has a pooler exactly when the checkpoint has one (or when it is empty).
    public convenience init(config: BertConfig, checkpointKeys: Set<String>) {
        self.init(config: config, addPoolingLayer: checkpointKeys.isEmpty || checkpointKeys.contains { $0.hasSuffix("pooler.dense.weight") })
    }
}

extension BertForMaskedLM: PretrainedModel {
    public static var basePrefix: String { "bert" }
    public convenience init(config: BertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension BertForNextSentencePrediction: PretrainedModel {
    public static var basePrefix: String { "bert" }
    public convenience init(config: BertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension BertForPreTraining: PretrainedModel {
    public static var basePrefix: String { "bert" }
    public convenience init(config: BertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension BertForSequenceClassification: PretrainedModel {
    public static var basePrefix: String { "bert" }
    public convenience init(config: BertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
}

extension BertForMaskedLM: MaskedLanguageModel {
    public func maskedLMLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var padTokenId: Int { config.common.padTokenId ?? 0 }
}

extension BertForSequenceClassification: SequenceClassifier {
    public func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var commonConfig: CommonConfig { config.common }
}

extension ModelFamily {
    /// BERT (`model_type` `bert`): WordPiece ids, attention mask and token types.
    public static let bert = ModelFamily(
        modelType: "bert", config: BertConfig.self, tokenizer: .wordPiece,
        inputs: [.inputIds, .attentionMask, .tokenTypeIds],
        tasks: [
            .task(.featureExtraction, BertModel.self, architectures: ["BertModel"],
                  outputs: ["last_hidden_state", "pooler_output"]) { m, x in m.forward(x.encoder).namedOutputs },
            .task(.fillMask, BertForMaskedLM.self, architectures: ["BertForMaskedLM"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .task(.nextSentencePrediction, BertForNextSentencePrediction.self, architectures: ["BertForNextSentencePrediction"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .task(.pretraining, BertForPreTraining.self, architectures: ["BertForPreTraining"],
                  outputs: ["prediction_logits", "seq_relationship_logits"]) { m, x in
                let o = m.forward(x.encoder)
                return [("prediction_logits", o.predictionLogits), ("seq_relationship_logits", o.seqRelationshipLogits)]
            },
            .task(.textClassification, BertForSequenceClassification.self, architectures: ["BertForSequenceClassification"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .tokenClassification(BertModel.self, architectures: ["BertForTokenClassification"]),
            .questionAnswering(BertModel.self, architectures: ["BertForQuestionAnswering"]),
            .sentenceEmbedding(BertModel.self),
        ])
}

extension BaseModelOutput {
    /// `last_hidden_state` and, with a pooler, `pooler_output`: the outputs by Hugging Face's names.
    public var namedOutputs: [(name: String, tensor: Tensor)] {
        [("last_hidden_state", lastHiddenState)] + (poolerOutput.map { [("pooler_output", $0)] } ?? [])
    }
}
