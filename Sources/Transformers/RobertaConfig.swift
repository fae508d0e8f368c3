import Foundation

/// A RoBERTa config (`transformers.RobertaConfig`): BERT's fields with RoBERTa's defaults
/// (vocabulary 50265, padding id 1, `<s>` 0, `</s>` 2). Fields read through to `bert`.
@dynamicMemberLookup
public struct RobertaConfig: PretrainedConfig, Equatable {
    /// RoBERTa and the families that are RoBERTa's model under another name.
    public static let modelTypes = ["roberta", "xlm-roberta", "camembert"]

    /// The shared BERT fields.
    public var bert: BertConfig

    /// `RobertaConfig()` with its defaults (roberta-base), optionally resized.
    public init(vocabSize: Int = 50265, hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                intermediateSize: Int = 3072, maxPositionEmbeddings: Int = 514, typeVocabSize: Int = 1,
                layerNormEps: Double = 1e-5, numLabels: Int = 2) {
        bert = BertConfig(vocabSize: vocabSize, hiddenSize: hiddenSize, numHiddenLayers: numHiddenLayers,
                          numAttentionHeads: numAttentionHeads, intermediateSize: intermediateSize,
                          maxPositionEmbeddings: maxPositionEmbeddings, typeVocabSize: typeVocabSize,
                          layerNormEps: layerNormEps, numLabels: numLabels)
        bert.modelType = "roberta"
        bert.common.padTokenId = 1
        bert.common.bosTokenId = 0
        bert.common.eosTokenIds = [2]
    }

    /// The defaults `transformers.RobertaConfig()` uses for absent fields.
    static var defaults: BertConfig {
        var d = RobertaConfig(maxPositionEmbeddings: 512, typeVocabSize: 2, layerNormEps: 1e-12).bert
        d.modelType = "roberta"
        return d
    }

    public init(from decoder: Decoder) throws { bert = try BertConfig(from: decoder, defaults: Self.defaults) }
    public func encode(to encoder: Encoder) throws { try bert.encode(to: encoder) }

    /// `max_position_embeddings` less the positions up to the padding index (RoBERTa's positions
    /// start at `pad_token_id + 1`).
    public var maxSequenceLength: Int { bert.maxPositionEmbeddings - ((bert.common.padTokenId ?? 1) + 1) }

    public func validate(file: String) throws(TransformersError) {
        try bert.validate(file: file)
        guard let pad = bert.common.padTokenId else { throw .missingConfigField(file: file, field: "pad_token_id") }
        guard bert.maxPositionEmbeddings > pad + 1 else {
            throw .invalidConfigField(file: file, field: "max_position_embeddings",
                                      reason: "(\(bert.maxPositionEmbeddings)) leaves no positions past the padding index \(pad)")
        }
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<BertConfig, T>) -> T {
        get { bert[keyPath: keyPath] }
        set { bert[keyPath: keyPath] = newValue }
    }
}
