import Foundation
import NN
import Tensors

/// The tokenizer interface the pipelines need: text to ids (with special tokens) and back. The
/// `Tokenizers` module's `Tokenizer` conforms; tests can pass a table.
public protocol TextEncoder: Sendable {
    /// Ids and token-type ids of `text` (and `pair`, as sentence B), with the model's special tokens.
    func encodeText(_ text: String, pair: String?) throws -> (ids: [Int], typeIds: [Int])
    /// Text of `ids`, leaving special tokens out when `skipSpecialTokens`.
    func decodeIds(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// The id of a token spelled `token` (e.g. `[MASK]`), if the vocabulary has it.
    func tokenId(for token: String) -> Int?
}

/// A padded batch of token-id rows: ids `[B, S]` (padded on the right with `pad`), the mask and types.
func paddedBatch(_ rows: [[Int]], typeIds: [[Int]]? = nil, pad: Int) throws(TransformersError) -> EncoderInputs {
    guard !rows.isEmpty, rows.allSatisfy({ !$0.isEmpty }) else { throw .invalidInput(argument: "inputs", reason: "needs at least one non-empty row") }
    let width = rows.map(\.count).max()!
    func padded(_ r: [Int], _ value: Int) -> [Int] { r + Array(repeating: value, count: width - r.count) }
    let ids = rows.flatMap { padded($0, pad) }
    let mask = rows.flatMap { padded(Array(repeating: 1, count: $0.count), 0) }
    let types = typeIds.map { Tensor($0.flatMap { padded($0, 0) }, shape: [rows.count, width]) }
    return EncoderInputs(inputIds: Tensor(ids, shape: [rows.count, width]), attentionMask: Tensor(mask, shape: [rows.count, width]),
                         tokenTypeIds: types)
}

// MARK: - Fill-mask

/// A model that predicts masked tokens: `BertForMaskedLM`, `RobertaForMaskedLM`.
public protocol MaskedLanguageModel: PretrainedModel {
    /// Validated masked-LM logits `[B, S, vocab]`.
    func maskedLMLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor
    /// `pad_token_id`.
    var padTokenId: Int { get }
}

/// One candidate for a masked position.
public struct FillMaskPrediction: Sendable, Equatable {
    /// The token id.
    public var token: Int
    /// Its probability at that position.
    public var score: Float
    /// Its text, when the pipeline has a tokenizer.
    public var tokenString: String?
    /// The input with the mask replaced, when the pipeline has a tokenizer.
    public var sequence: String?
}

/// Top-k predictions for each mask token (`pipeline("fill-mask")`).
///
/// ```swift
/// let fill = FillMaskPipeline(model: mlm, maskTokenId: 103, tokenizer: tokenizer)
/// let best = try fill("The capital of France is [MASK].", topK: 5)[0]
/// ```
public struct FillMaskPipeline<Model: MaskedLanguageModel> {
    public let model: Model
    public let maskTokenId: Int
    public let tokenizer: (any TextEncoder)?

    public init(model: Model, maskTokenId: Int, tokenizer: (any TextEncoder)? = nil) {
        self.model = model
        self.maskTokenId = maskTokenId
        self.tokenizer = tokenizer
    }

    /// A pipeline on a loaded checkpoint, with its tokenizer and its mask token (`[MASK]` or `<mask>`).
    public init(_ pretrained: Pretrained<Model>) throws(TransformersError) {
        guard let tokenizer = pretrained.tokenizer else { throw .missingFile(path: "tokenizer.json (or vocab.txt / vocab.json) of the checkpoint") }
        guard let mask = tokenizer.tokenId(for: "[MASK]") ?? tokenizer.tokenId(for: "<mask>") else {
            throw .invalidInput(argument: "tokenizer", reason: "has no mask token ([MASK] or <mask>)")
        }
        self.init(model: pretrained.model, maskTokenId: mask, tokenizer: tokenizer)
    }

    /// Predictions for every mask in `ids` (one row with special tokens), best first.
    public func callAsFunction(ids: [Int], topK: Int = 5) throws(TransformersError) -> [[FillMaskPrediction]] {
        let positions = ids.indices.filter { ids[$0] == maskTokenId }
        guard !positions.isEmpty else { throw .invalidInput(argument: "inputs", reason: "holds no mask token (id \(maskTokenId))") }
        guard topK >= 1 else { throw .invalidInput(argument: "top_k", reason: "must be at least 1") }
        let logits = try model.maskedLMLogits(paddedBatch([ids], pad: model.padTokenId))
        let probabilities = withNoGrad { logits.selected(dim: 0, index: 0).softmax(dim: -1) }
        return positions.map { position in
            let p = probabilities.selected(dim: 0, index: position).toFloatArray()
            let best = topIndices(p, k: topK)
            return best.map { token in
                var filled = ids
                filled[position] = token
                return FillMaskPrediction(token: token, score: p[token],
                                          tokenString: tokenizer?.decodeIds([token], skipSpecialTokens: false),
                                          sequence: tokenizer?.decodeIds(filled, skipSpecialTokens: true))
            }
        }
    }

    /// Predictions for every mask in `text`; needs a tokenizer.
    public func callAsFunction(_ text: String, topK: Int = 5) throws -> [[FillMaskPrediction]] {
        try self(ids: requireTokenizer(tokenizer).encodeText(text, pair: nil).ids, topK: topK)
    }
}

/// Indices of the `k` largest values, largest first (ties: lower index first, as `torch.topk` on CPU).
func topIndices(_ values: [Float], k: Int) -> [Int] {
    Array(values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.prefix(k))
}

func requireTokenizer(_ tokenizer: (any TextEncoder)?) throws(TransformersError) -> any TextEncoder {
    guard let tokenizer else { throw .invalidInput(argument: "tokenizer", reason: "this pipeline was made without a tokenizer; pass token ids") }
    return tokenizer
}

// MARK: - Feature extraction

/// Sentence embeddings: token states averaged over the real tokens (mean pooling) and, by default,
/// scaled to unit length — what sentence-transformers' all-MiniLM-L6-v2 does
/// (`pipeline("feature-extraction")` plus pooling).
///
/// ```swift
/// let embed = FeatureExtractionPipeline(model: try BertModel.fromPretrained(directory: miniLM))
/// let vectors = try embed(ids: batchOfIdRows)          // [B, 384], unit length
/// ```
public struct FeatureExtractionPipeline<Model: EncoderModel> {
    public let model: Model
    public let tokenizer: (any TextEncoder)?
    /// Scale each embedding to unit L2 norm.
    public var normalize: Bool

    public init(model: Model, tokenizer: (any TextEncoder)? = nil, normalize: Bool = true) {
        self.model = model
        self.tokenizer = tokenizer
        self.normalize = normalize
    }

    /// Embeddings `[B, H]` of already padded inputs.
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor {
        let hidden = try model.hiddenStates(inputs)
        return withNoGrad {
            let pooled = meanPooling(hidden, attentionMask: inputs.attentionMask)
            return normalize ? l2Normalized(pooled) : pooled
        }
    }

    /// Embeddings `[B, H]` of id rows (with special tokens), padded here.
    public func callAsFunction(ids: [[Int]]) throws(TransformersError) -> Tensor {
        try self(paddedBatch(ids, pad: model.padTokenId))
    }

    /// Embeddings `[B, H]` of texts; needs a tokenizer.
    public func callAsFunction(_ texts: [String]) throws -> Tensor {
        let encoder = try requireTokenizer(tokenizer)
        let encoded = try texts.map { try encoder.encodeText($0, pair: nil) }
        return try self(paddedBatch(encoded.map(\.ids), typeIds: encoded.map(\.typeIds), pad: model.padTokenId))
    }
}

/// The mean of `hidden` `[B, S, H]` over positions where `attentionMask` is nonzero.
public func meanPooling(_ hidden: Tensor, attentionMask: Tensor?) -> Tensor {
    guard let attentionMask else { return hidden.mean(dim: 1) }
    let weights = (attentionMask .!= 0).cast(to: .float32).unsqueezed(at: -1)
    return (hidden * weights).sum(dim: 1) / (weights.sum(dim: 1)).clamped(min: 1e-9)
}

/// Rows scaled to unit L2 norm (`F.normalize(p=2, dim=-1)`, eps 1e-12).
public func l2Normalized(_ x: Tensor) -> Tensor {
    x / x.square().sum(dim: -1, keepDim: true).sqrt().clamped(min: 1e-12)
}

// MARK: - Text classification

/// A sequence classifier: `BertForSequenceClassification`, `RobertaForSequenceClassification`.
public protocol SequenceClassifier: PretrainedModel {
    /// Validated logits `[B, labels]`.
    func classificationLogits(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor
    /// Labels, special tokens and problem type.
    var commonConfig: CommonConfig { get }
}

/// A label with its score.
public struct LabelScore: Sendable, Equatable {
    public var label: String
    public var score: Float
}

/// Labels with scores, best first (`pipeline("text-classification", top_k=None)`): softmax over the
/// labels, or a sigmoid per label for multi-label and one-label models, as Hugging Face picks.
public struct TextClassificationPipeline<Model: SequenceClassifier> {
    public let model: Model
    public let tokenizer: (any TextEncoder)?

    public init(model: Model, tokenizer: (any TextEncoder)? = nil) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Scores for each row of ids (optionally with segment ids for pairs).
    public func callAsFunction(ids: [[Int]], typeIds: [[Int]]? = nil) throws(TransformersError) -> [[LabelScore]] {
        let config = model.commonConfig
        let logits = try model.classificationLogits(paddedBatch(ids, typeIds: typeIds, pad: config.padTokenId ?? 0))
        let sigmoid = config.problemType == "multi_label_classification" || config.numLabels == 1
        let scores = withNoGrad { (sigmoid ? logits.sigmoid() : logits.softmax(dim: -1)).toFloatArray() }
        let labels = config.labels
        return (0..<ids.count).map { row in
            let p = Array(scores[(row * labels.count)..<((row + 1) * labels.count)])
            return topIndices(p, k: labels.count).map { LabelScore(label: labels[$0], score: p[$0]) }
        }
    }

    /// Scores for each text (or text pair); needs a tokenizer.
    public func callAsFunction(_ texts: [String], pairs: [String]? = nil) throws -> [[LabelScore]] {
        let encoder = try requireTokenizer(tokenizer)
        let encoded = try texts.enumerated().map { i, t in try encoder.encodeText(t, pair: pairs?[i]) }
        return try self(ids: encoded.map(\.ids), typeIds: encoded.map(\.typeIds))
    }
}

// MARK: - Text generation

/// Prompt in, continuation out (`pipeline("text-generation")`) on any causal language model's `generate`.
public struct TextGenerationPipeline {
    public let model: any CausalLanguageModel
    public let tokenizer: (any TextEncoder)?

    public init(model: any CausalLanguageModel, tokenizer: (any TextEncoder)? = nil) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// New token ids for each prompt of ids.
    public func callAsFunction(ids: [[Int]], config: GenerationConfig = GenerationConfig()) throws(TransformersError) -> [[Int]] {
        try model.generate(ids, config: config)
    }

    /// The generated continuation of each prompt as text; needs a tokenizer.
    public func callAsFunction(_ prompts: [String], config: GenerationConfig = GenerationConfig()) throws -> [String] {
        let encoder = try requireTokenizer(tokenizer)
        let ids = try prompts.map { try encoder.encodeText($0, pair: nil).ids }
        return try self(ids: ids, config: config).map { encoder.decodeIds($0, skipSpecialTokens: true) }
    }
}

// MARK: - Text-to-text generation

/// Source text in, generated text out (`pipeline("text2text-generation")`, also `summarization` and
/// `translation`) on any encoder-decoder's `generate` (BART, T5, Marian).
public struct Text2TextGenerationPipeline {
    public let model: any Seq2SeqLanguageModel
    public let tokenizer: (any TextEncoder)?

    public init(model: any Seq2SeqLanguageModel, tokenizer: (any TextEncoder)? = nil) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generated ids (without the decoder start token) for each source of ids.
    public func callAsFunction(ids: [[Int]], config: GenerationConfig = GenerationConfig()) throws(TransformersError) -> [[Int]] {
        try model.generate(ids, config: config)
    }

    /// The generated text of each source text (special tokens skipped); needs a tokenizer.
    public func callAsFunction(_ texts: [String], config: GenerationConfig = GenerationConfig()) throws -> [String] {
        let encoder = try requireTokenizer(tokenizer)
        let ids = try texts.map { try encoder.encodeText($0, pair: nil).ids }
        return try self(ids: ids, config: config).map { encoder.decodeIds($0, skipSpecialTokens: true) }
    }
}
