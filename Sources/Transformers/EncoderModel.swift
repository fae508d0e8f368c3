import Foundation
import NN
import Tensors

/// The config fields every token-level head and sentence embedding reads from an encoder's config.
public protocol EncoderConfig: PretrainedConfig {
    /// Width of the final token states (`hidden_size`).
    var hiddenStateSize: Int { get }
    /// Dropout before a classifier: `classifier_dropout`, else `hidden_dropout_prob`, as HF's heads.
    var classifierDropoutProbability: Float { get }
    /// `initializer_range`, for heads initialized fresh.
    var initializerRange: Float { get }
    /// Labels, special tokens and tying.
    var common: CommonConfig { get }
}

/// An encoder that yields token states `[B, S, H]` (`BertModel`, `RobertaModel`): the base of the
/// generic token-level heads (`ForTokenClassification`, `ForQuestionAnswering`), of sentence
/// embeddings, and of the feature-extraction pipeline. A new encoder family conforms once and gets
/// all of them.
public protocol EncoderModel: PretrainedModel where Config: EncoderConfig {
    /// A randomly initialized encoder without a pooler: what HF's token-level heads build on
    /// (`add_pooling_layer=False`).
    init(poolerlessConfig config: Config)
    /// Token states on trusted inputs (what the tracer records).
    func lastHiddenState(_ inputs: EncoderInputs) -> Tensor
    /// Checks inputs against the config (ids in the vocabulary, shapes, length).
    func validate(_ inputs: EncoderInputs) throws(TransformersError)
    /// `pad_token_id`, for padding batches.
    var padTokenId: Int { get }
}

extension EncoderModel {
    /// Validated last hidden states `[B, S, H]` (no gradients in eval mode).
    public func hiddenStates(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor {
        try validate(inputs)
        return withNoGradIfEval(self) { lastHiddenState(inputs) }
    }
}
