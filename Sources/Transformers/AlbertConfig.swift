import Foundation

/// An ALBERT config (`transformers.AlbertConfig`): BERT's fields with ALBERT's defaults (albert-xxlarge:
/// hidden 4096, 64 heads, `gelu_new`, no dropout; padding 0, `[CLS]` 2, `[SEP]` 3) plus the factorized
/// embeddings (`embedding_size`), the shared layers (`num_hidden_groups` groups of `inner_group_num`
/// layers, cycled through `num_hidden_layers` times) and `classifier_dropout_prob`. BERT's fields read
/// through to `bert`.
///
/// ```swift
/// let config = try AlbertConfig.load(from: directory.appendingPathComponent("config.json"))
/// ```
@dynamicMemberLookup
public struct AlbertConfig: PretrainedConfig, Equatable {
    public static let modelTypes = ["albert"]

    /// The shared BERT fields.
    public var bert: BertConfig
    /// `embedding_size`: the width of the embeddings, mapped to `hidden_size` by the encoder.
    public var embeddingSize: Int
    /// `num_hidden_groups`: groups of layers with their own weights.
    public var numHiddenGroups: Int
    /// `inner_group_num`: layers in each group.
    public var innerGroupNum: Int
    /// `classifier_dropout_prob`: dropout before the classifiers.
    public var classifierDropoutProb: Float?

    enum CodingKeys: String, CodingKey {
        case embeddingSize = "embedding_size", numHiddenGroups = "num_hidden_groups", innerGroupNum = "inner_group_num"
        case classifierDropoutProb = "classifier_dropout_prob"
    }

    /// `AlbertConfig()` with its defaults, optionally resized.
    public init(vocabSize: Int = 30000, embeddingSize: Int = 128, hiddenSize: Int = 4096, numHiddenLayers: Int = 12,
                numHiddenGroups: Int = 1, innerGroupNum: Int = 1, numAttentionHeads: Int = 64, intermediateSize: Int = 16384,
                maxPositionEmbeddings: Int = 512, hiddenAct: String = "gelu_new", numLabels: Int = 2) {
        bert = BertConfig(vocabSize: vocabSize, hiddenSize: hiddenSize, numHiddenLayers: numHiddenLayers,
                          numAttentionHeads: numAttentionHeads, intermediateSize: intermediateSize,
                          maxPositionEmbeddings: maxPositionEmbeddings, hiddenAct: hiddenAct, numLabels: numLabels)
        bert.modelType = "albert"
        bert.hiddenDropoutProb = 0
        bert.attentionProbsDropoutProb = 0
        bert.common.bosTokenId = 2
        bert.common.eosTokenIds = [3]
        self.embeddingSize = embeddingSize
        self.numHiddenGroups = numHiddenGroups
        self.innerGroupNum = innerGroupNum
        classifierDropoutProb = 0.1
    }

    public init(from decoder: Decoder) throws {
        let d = AlbertConfig()
        bert = try BertConfig(from: decoder, defaults: d.bert)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embeddingSize = try c.decodeIfPresent(Int.self, forKey: .embeddingSize) ?? d.embeddingSize
        numHiddenGroups = try c.decodeIfPresent(Int.self, forKey: .numHiddenGroups) ?? d.numHiddenGroups
        innerGroupNum = try c.decodeIfPresent(Int.self, forKey: .innerGroupNum) ?? d.innerGroupNum
        classifierDropoutProb = c.contains(.classifierDropoutProb)
            ? try c.decodeIfPresent(Float.self, forKey: .classifierDropoutProb) : d.classifierDropoutProb
    }

    public func encode(to encoder: Encoder) throws {
        try bert.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(embeddingSize, forKey: .embeddingSize)
        try c.encode(numHiddenGroups, forKey: .numHiddenGroups)
        try c.encode(innerGroupNum, forKey: .innerGroupNum)
        try c.encodeIfPresent(classifierDropoutProb, forKey: .classifierDropoutProb)
    }

    /// `max_position_embeddings`.
    public var maxSequenceLength: Int { bert.maxPositionEmbeddings }

    public func validate(file: String) throws(TransformersError) {
        for (value, field) in [(embeddingSize, "embedding_size"), (numHiddenGroups, "num_hidden_groups"), (innerGroupNum, "inner_group_num")] {
            try requirePositive(value, field, file: file)
        }
        try bert.validate(file: file)
        try requireBuildable(tables: [bert.vocabSize, bert.maxPositionEmbeddings, bert.typeVocabSize], width: embeddingSize,
                             layers: 0, inner: 0, file: file)
        // The weights are those of num_hidden_groups × inner_group_num layers, whatever num_hidden_layers is.
        let (stored, overflow) = numHiddenGroups.multipliedReportingOverflow(by: innerGroupNum)
        guard !overflow else { throw .invalidConfigField(file: file, field: "inner_group_num", reason: "(\(innerGroupNum)) times num_hidden_groups overflows") }
        try requireBuildable(tables: [], width: bert.hiddenSize, layers: stored, inner: bert.intermediateSize, file: file)
        if let classifierDropoutProb { try requireProbability(classifierDropoutProb, "classifier_dropout_prob", file: file) }
    }

    /// The BERT fields with the hidden size set to `embedding_size`: what the embeddings are built from.
    var embeddingConfig: BertConfig {
        var c = bert
        c.hiddenSize = embeddingSize
        return c
    }

    /// The group whose weights layer `layer` (of `num_hidden_layers`) runs: HF's
    /// `int(i / (num_hidden_layers / num_hidden_groups))`, in the same double arithmetic.
    public func group(ofLayer layer: Int) -> Int {
        min(Int(Double(layer) / (Double(bert.numHiddenLayers) / Double(numHiddenGroups))), numHiddenGroups - 1)
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<BertConfig, T>) -> T {
        get { bert[keyPath: keyPath] }
        set { bert[keyPath: keyPath] = newValue }
    }
}
