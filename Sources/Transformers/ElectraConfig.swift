import Foundation

/// An ELECTRA config (`transformers.ElectraConfig`): BERT's fields with ELECTRA's defaults (the small
/// discriminator: hidden 256, 4 heads, intermediate 1024) and `embedding_size`, the width of the
/// embeddings, projected to the hidden size when they differ. BERT's fields read through to `bert`.
///
/// ```swift
/// let config = try ElectraConfig.load(from: directory.appendingPathComponent("config.json"))
/// ```
@dynamicMemberLookup
public struct ElectraConfig: PretrainedConfig, Equatable {
    public static let modelTypes = ["electra"]

    /// The shared BERT fields.
    public var bert: BertConfig
    /// `embedding_size`.
    public var embeddingSize: Int

    enum CodingKeys: String, CodingKey {
        case embeddingSize = "embedding_size"
    }

    /// `ElectraConfig()` with its defaults, optionally resized.
    public init(vocabSize: Int = 30522, embeddingSize: Int = 128, hiddenSize: Int = 256, numHiddenLayers: Int = 12,
                numAttentionHeads: Int = 4, intermediateSize: Int = 1024, maxPositionEmbeddings: Int = 512,
                hiddenAct: String = "gelu", numLabels: Int = 2) {
        bert = BertConfig(vocabSize: vocabSize, hiddenSize: hiddenSize, numHiddenLayers: numHiddenLayers,
                          numAttentionHeads: numAttentionHeads, intermediateSize: intermediateSize,
                          maxPositionEmbeddings: maxPositionEmbeddings, hiddenAct: hiddenAct, numLabels: numLabels)
        bert.modelType = "electra"
        self.embeddingSize = embeddingSize
    }

    public init(from decoder: Decoder) throws {
        let d = ElectraConfig()
        bert = try BertConfig(from: decoder, defaults: d.bert)
        embeddingSize = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Int.self, forKey: .embeddingSize) ?? d.embeddingSize
    }

    public func encode(to encoder: Encoder) throws {
        try bert.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(embeddingSize, forKey: .embeddingSize)
    }

    /// `max_position_embeddings`.
    public var maxSequenceLength: Int { bert.maxPositionEmbeddings }

    public func validate(file: String) throws(TransformersError) {
        try requirePositive(embeddingSize, "embedding_size", file: file)
        try bert.validate(file: file)
        try requireBuildable(tables: [bert.vocabSize, bert.maxPositionEmbeddings, bert.typeVocabSize], width: embeddingSize,
                             layers: 0, inner: 0, file: file)
    }

    /// The BERT fields with the hidden size set to `embedding_size`: what the embeddings are built from.
    var embeddingConfig: BertConfig {
        var c = bert
        c.hiddenSize = embeddingSize
        return c
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<BertConfig, T>) -> T {
        get { bert[keyPath: keyPath] }
        set { bert[keyPath: keyPath] = newValue }
    }
}
