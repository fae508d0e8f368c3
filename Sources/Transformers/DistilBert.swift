// Ports transformers/models/distilbert/modeling_distilbert.py: DistilBertModel and its heads, with
// Hugging Face's parameter names (`transformer.layer.N.attention.q_lin`, `sa_layer_norm`, `ffn.lin1`…).
import Foundation
import NN
import Tensors

// MARK: - Building blocks

/// Word and position embeddings, summed and layer-normalized; no token types (`Embeddings`).
public final class DistilBertEmbeddings: Module {
    @ModuleInfo(key: "word_embeddings") public var wordEmbeddings: Embedding
    @ModuleInfo(key: "position_embeddings") public var positionEmbeddings: Embedding
    @ModuleInfo(key: "LayerNorm") public var layerNorm: LayerNorm
    let dropout: Dropout

    /// Embeddings sized by `config` (the position table is filled by `DistilBertModel` when sinusoidal).
    public init(_ config: DistilBertConfig) {
        _wordEmbeddings.wrappedValue = embedding(config.vocabSize, config.dim, paddingIndex: config.common.padTokenId)
        _positionEmbeddings.wrappedValue = embedding(config.maxPositionEmbeddings, config.dim)
        _layerNorm.wrappedValue = LayerNorm(config.dim, eps: 1e-12)
        dropout = Dropout(config.dropout)
    }

    /// `[B, S]` ids → `[B, S, dim]`, positions `0..<S`.
    public func callAsFunction(_ inputIds: Tensor) -> Tensor {
        let positions = positionEmbeddings(Tensor.arange(0, inputIds.size(1))).unsqueezed(at: 0)
        return dropout(layerNorm(wordEmbeddings(inputIds) + positions))
    }
}

/// The fixed position table of `sinusoidal_pos_embds` (`create_sinusoidal_embeddings`): row `p`,
/// column `j` is `sin` (even `j`) or `cos` (odd `j`) of `p / 10000^(2⌊j/2⌋/dim)`, computed in double
/// precision as NumPy does there.
func sinusoidalPositionTable(positions: Int, dim: Int) -> Tensor {
    var values = [Float](repeating: 0, count: positions * dim)
    for p in 0..<positions {
        for j in 0..<dim {
            let angle = Double(p) / pow(10000, Double(2 * (j / 2)) / Double(dim))
            values[p * dim + j] = Float(j % 2 == 0 ? sin(angle) : cos(angle))
        }
    }
    return Tensor(values, shape: [positions, dim])
}

/// `q_lin`, `k_lin`, `v_lin`, scaled dot-product attention and `out_lin` (`DistilBertSelfAttention`).
public final class DistilBertSelfAttention: Module {
    @ModuleInfo(key: "q_lin") public var qLin: Linear
    @ModuleInfo(key: "k_lin") public var kLin: Linear
    @ModuleInfo(key: "v_lin") public var vLin: Linear
    @ModuleInfo(key: "out_lin") public var outLin: Linear
    let dropout: Dropout
    let heads: Int

    /// Self-attention sized by `config`.
    public init(_ config: DistilBertConfig) {
        _qLin.wrappedValue = linear(config.dim, config.dim)
        _kLin.wrappedValue = linear(config.dim, config.dim)
        _vLin.wrappedValue = linear(config.dim, config.dim)
        _outLin.wrappedValue = linear(config.dim, config.dim)
        dropout = Dropout(config.attentionDropout)
        heads = config.nHeads
    }

    /// `[B, S, dim]` with an additive mask → `[B, S, dim]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let q = splitHeads(qLin(x), heads: heads), k = splitHeads(kLin(x), heads: heads), v = splitHeads(vLin(x), heads: heads)
        return outLin(mergeHeads(attend(q, k, v, scale: 1 / Float(q.size(-1)).squareRoot(), mask: mask, dropout: dropout)))
    }
}

/// `lin2(act(lin1(x)))` with dropout (`FFN`).
public final class DistilBertFFN: Module, UnaryLayer {
    public let lin1: Linear, lin2: Linear
    let activation: any UnaryLayer
    let dropout: Dropout

    /// dim → hidden_dim → dim.
    public init(_ config: DistilBertConfig) {
        lin1 = linear(config.dim, config.hiddenDim)
        lin2 = linear(config.hiddenDim, config.dim)
        activation = configActivation(config.activation)
        dropout = Dropout(config.dropout)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(lin2(activation(lin1(x)))) }
}

/// One layer: attention and `sa_layer_norm`, then the feed-forward block and `output_layer_norm`
/// (`TransformerBlock`).
public final class DistilBertBlock: Module {
    public let attention: DistilBertSelfAttention
    @ModuleInfo(key: "sa_layer_norm") public var saLayerNorm: LayerNorm
    public let ffn: DistilBertFFN
    @ModuleInfo(key: "output_layer_norm") public var outputLayerNorm: LayerNorm

    /// A layer sized by `config`.
    public init(_ config: DistilBertConfig) {
        attention = DistilBertSelfAttention(config)
        _saLayerNorm.wrappedValue = LayerNorm(config.dim, eps: 1e-12)
        ffn = DistilBertFFN(config)
        _outputLayerNorm.wrappedValue = LayerNorm(config.dim, eps: 1e-12)
    }

    /// `[B, S, dim]` → `[B, S, dim]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let attended = saLayerNorm(attention(x, mask: mask) + x)
        return outputLayerNorm(ffn(attended) + attended)
    }
}

/// The stack of layers (`Transformer`).
public final class DistilBertTransformer: Module {
    @ModuleInfo(key: "layer") public var layers: [DistilBertBlock]

    /// `n_layers` layers.
    public init(_ config: DistilBertConfig) {
        _layers.wrappedValue = (0..<config.nLayers).map { _ in DistilBertBlock(config) }
    }

    /// Runs every layer.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        layers.reduce(x) { $1($0, mask: mask) }
    }
}

// MARK: - Models

/// The bare DistilBERT encoder (`DistilBertModel`): no token types, no pooler.
///
/// ```swift
/// let model = try DistilBertModel.fromPretrained(directory: url)
/// let states = try model(EncoderInputs(inputIds: ids, attentionMask: mask)).lastHiddenState
/// ```
public final class DistilBertModel: Module {
    public let config: DistilBertConfig
    public let embeddings: DistilBertEmbeddings
    public let transformer: DistilBertTransformer

    /// A randomly initialized model (Hugging Face's `_init_weights`, which writes the sinusoidal table
    /// over the position embeddings when `sinusoidal_pos_embds`).
    public init(config: DistilBertConfig) {
        self.config = config
        embeddings = DistilBertEmbeddings(config)
        transformer = DistilBertTransformer(config)
        super.init()
        WeightInitialization.apply(self, range: config.initializerRange)
        if config.sinusoidalPosEmbds {
            embeddings.positionEmbeddings.weight = sinusoidalPositionTable(positions: config.maxPositionEmbeddings, dim: config.dim)
        }
    }

    /// The forward pass on trusted inputs (what the tracer records); token types are ignored.
    public func forward(_ inputs: EncoderInputs) -> BaseModelOutput {
        let hidden = transformer(embeddings(inputs.inputIds), mask: inputs.attentionMask.map(paddingMask))
        return BaseModelOutput(lastHiddenState: hidden, poolerOutput: nil)
    }

    /// Validates `inputs` against the config, then runs.
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> BaseModelOutput {
        try validate(inputs)
        return withNoGradIfEval(self) { forward(inputs) }
    }
}

/// DistilBERT's inputs: ids in the vocabulary, mask, length; token types are not read.
func validateDistilBertInputs(_ inputs: EncoderInputs, config: DistilBertConfig) throws(TransformersError) {
    try validateEncoderInputs(inputs, vocabSize: config.vocabSize, maxPositionEmbeddings: config.maxPositionEmbeddings, typeVocabSize: nil)
}

/// DistilBERT with the masked-LM head (`DistilBertForMaskedLM`): `vocab_transform`, activation,
/// `vocab_layer_norm`, and `vocab_projector` tied to the word embeddings.
public final class DistilBertForMaskedLM: Module {
    public let config: DistilBertConfig
    public let distilbert: DistilBertModel
    @ModuleInfo(key: "vocab_transform") public var vocabTransform: Linear
    @ModuleInfo(key: "vocab_layer_norm") public var vocabLayerNorm: LayerNorm
    @ModuleInfo(key: "vocab_projector") public var vocabProjector: Linear
    let activation: any UnaryLayer

    /// A randomly initialized model.
    public init(config: DistilBertConfig) {
        self.config = config
        distilbert = DistilBertModel(config: config)
        _vocabTransform.wrappedValue = linear(config.dim, config.dim)
        _vocabLayerNorm.wrappedValue = LayerNorm(config.dim, eps: 1e-12)
        let projector = linear(config.dim, config.vocabSize)
        _vocabProjector.wrappedValue = projector
        activation = configActivation(config.activation)
        super.init()
        WeightInitialization.apply(vocabTransform, range: config.initializerRange)
        WeightInitialization.apply(vocabLayerNorm, range: config.initializerRange)
        WeightInitialization.apply(projector, range: config.initializerRange)
        if config.common.tieWordEmbeddings { projector.weight = distilbert.embeddings.wordEmbeddings.weight }
    }

    /// Trusted-input forward: logits `[B, S, vocab]` and the MLM loss over `labels` (−100 = ignore).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let hidden = distilbert.forward(inputs).lastHiddenState
        let logits = vocabProjector(vocabLayerNorm(activation(vocabTransform(hidden))))
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateDistilBertInputs(inputs, config: config)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.vocabSize, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// DistilBERT with a classifier on the first token (`DistilBertForSequenceClassification`):
/// `pre_classifier`, ReLU, dropout, `classifier`.
public final class DistilBertForSequenceClassification: Module {
    public let config: DistilBertConfig
    public let distilbert: DistilBertModel
    @ModuleInfo(key: "pre_classifier") public var preClassifier: Linear
    public let classifier: Linear
    let dropout: Dropout

    /// A randomly initialized model with `config.common.numLabels` outputs.
    public init(config: DistilBertConfig) {
        self.config = config
        distilbert = DistilBertModel(config: config)
        _preClassifier.wrappedValue = linear(config.dim, config.dim)
        classifier = linear(config.dim, config.common.numLabels)
        dropout = Dropout(config.seqClassifDropout)
        super.init()
        WeightInitialization.apply(preClassifier, range: config.initializerRange)
        WeightInitialization.apply(classifier, range: config.initializerRange)
    }

    /// Trusted-input forward: logits `[B, labels]` and the loss over `labels` (by `problem_type`).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let first = distilbert.forward(inputs).lastHiddenState.selected(dim: 1, index: 0)
        let logits = classifier(dropout(preClassifier(first).relu()))
        return HeadOutput(logits: logits, loss: labels.map { classificationLoss(logits, $0, config: config.common) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try validateDistilBertInputs(inputs, config: config)
        if let labels { try validateClassificationLabels(labels, batch: inputs.inputIds.size(0), config: config.common) }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

// MARK: - Loading and pipelines

extension DistilBertConfig: EncoderConfig {
    public var hiddenStateSize: Int { dim }
    /// `dropout`, as `DistilBertForTokenClassification` uses before its classifier.
    public var classifierDropoutProbability: Float { dropout }
}

extension DistilBertModel: EncoderModel {
    public convenience init(poolerlessConfig config: DistilBertConfig) { self.init(config: config) }
    public func lastHiddenState(_ inputs: EncoderInputs) -> Tensor { forward(inputs).lastHiddenState }
    public func validate(_ inputs: EncoderInputs) throws(TransformersError) { try validateDistilBertInputs(inputs, config: config) }
    public var padTokenId: Int { config.common.padTokenId ?? 0 }
}

extension DistilBertModel: PretrainedModel {
    public static var basePrefix: String { "distilbert" }
    public convenience init(config: DistilBertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
    /// The sinusoidal position table, when the config asks for one.
    public var derivedTensors: [Tensor] { config.sinusoidalPosEmbds ? [embeddings.positionEmbeddings.weight] : [] }
}

extension DistilBertForMaskedLM: PretrainedModel {
    public static var basePrefix: String { "distilbert" }
    public convenience init(config: DistilBertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
    public var derivedTensors: [Tensor] { distilbert.derivedTensors }
}

extension DistilBertForSequenceClassification: PretrainedModel {
    public static var basePrefix: String { "distilbert" }
    public convenience init(config: DistilBertConfig, checkpointKeys: Set<String>) { self.init(config: config) }
    public var derivedTensors: [Tensor] { distilbert.derivedTensors }
}

extension DistilBertForMaskedLM: MaskedLanguageModel {
    public func maskedLMLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var padTokenId: Int { config.common.padTokenId ?? 0 }
}

extension DistilBertForSequenceClassification: SequenceClassifier {
    public func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor { try self(inputs).logits }
    public var commonConfig: CommonConfig { config.common }
}

public typealias DistilBertForTokenClassification = ForTokenClassification<DistilBertModel>
public typealias DistilBertForQuestionAnswering = ForQuestionAnswering<DistilBertModel>

extension ModelFamily {
    /// DistilBERT (`model_type` `distilbert`): WordPiece ids and attention mask; no token types.
    public static let distilbert = ModelFamily(
        modelType: "distilbert", config: DistilBertConfig.self, tokenizer: .wordPiece,
        inputs: [.inputIds, .attentionMask],
        tasks: [
            .task(.featureExtraction, DistilBertModel.self, architectures: ["DistilBertModel"],
                  outputs: ["last_hidden_state"]) { m, x in m.forward(x.encoder).namedOutputs },
            .task(.fillMask, DistilBertForMaskedLM.self, architectures: ["DistilBertForMaskedLM"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .task(.textClassification, DistilBertForSequenceClassification.self, architectures: ["DistilBertForSequenceClassification"],
                  outputs: ["logits"]) { m, x in [("logits", m.forward(x.encoder).logits)] },
            .tokenClassification(DistilBertModel.self, architectures: ["DistilBertForTokenClassification"]),
            .questionAnswering(DistilBertModel.self, architectures: ["DistilBertForQuestionAnswering"]),
            .sentenceEmbedding(DistilBertModel.self),
        ])
}
