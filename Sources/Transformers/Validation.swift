import NN
import Tensors

// Checks of user inputs, run by the public entry points before a forward pass: the forward itself
// never reads tensor values on the host (it is traced), so bad ids must be caught here.

/// Throws unless `ids` is an integer `[B, S]` tensor with every id in `0..<limit`.
func validateIds(_ ids: Tensor, limit: Int, name: String, configField: String) throws(TransformersError) {
    guard ids.dtype.isInteger else { throw .invalidInput(argument: name, reason: "must be int32 or int64, got \(ids.dtype)") }
    guard ids.rank == 2 else { throw .invalidInput(argument: name, reason: "must be [batch, sequence], got shape \(ids.shape)") }
    guard ids.count > 0 else { throw .invalidInput(argument: name, reason: "is empty (shape \(ids.shape))") }
    if let bad = ids.toIntArray().first(where: { $0 < 0 || $0 >= limit }) {
        throw .invalidInput(argument: name, reason: "holds \(bad), outside 0..<\(limit) (\(configField))")
    }
}

/// Throws unless `mask` is a `[B, S]` padding mask matching `ids`.
func validateMask(_ mask: Tensor, like ids: Tensor, name: String = "attention_mask") throws(TransformersError) {
    guard mask.shape == ids.shape else {
        throw .invalidInput(argument: name, reason: "has shape \(mask.shape) but input_ids has \(ids.shape)")
    }
}

/// Validates encoder inputs against a BERT-shaped config: ids, types, mask and length
/// (`positionOffset` is RoBERTa's padding index + 1).
func validateEncoderInputs(_ inputs: EncoderInputs, config: BertConfig, positionOffset: Int = 0) throws(TransformersError) {
    try validateEncoderInputs(inputs, vocabSize: config.vocabSize, maxPositionEmbeddings: config.maxPositionEmbeddings,
                              typeVocabSize: config.typeVocabSize, positionOffset: positionOffset)
}

/// Validates encoder inputs against the sizes of any encoder's config: ids, mask, length and, when
/// the model reads token types (`typeVocabSize` not nil), the types; a model without token types
/// (DistilBERT) ignores them.
func validateEncoderInputs(_ inputs: EncoderInputs, vocabSize: Int, maxPositionEmbeddings: Int, typeVocabSize: Int?,
                           positionOffset: Int = 0) throws(TransformersError) {
    try validateIds(inputs.inputIds, limit: vocabSize, name: "input_ids", configField: "vocab_size")
    let length = inputs.inputIds.size(1)
    guard length + positionOffset <= maxPositionEmbeddings else {
        throw .invalidInput(argument: "input_ids", reason: "sequence of \(length) tokens exceeds max_position_embeddings \(maxPositionEmbeddings)\(positionOffset > 0 ? " minus the padding offset \(positionOffset)" : "")")
    }
    if let mask = inputs.attentionMask { try validateMask(mask, like: inputs.inputIds) }
    if let types = inputs.tokenTypeIds, let typeVocabSize {
        try validateMask(types, like: inputs.inputIds, name: "token_type_ids")
        try validateIds(types, limit: typeVocabSize, name: "token_type_ids", configField: "type_vocab_size")
    }
}

/// Token-level labels: the shape of `ids`, each a class in `0..<classes` or −100 (ignored).
func validateLabels(_ labels: Tensor, like ids: Tensor, classes: Int, name: String) throws(TransformersError) {
    guard labels.shape == ids.shape else { throw .invalidInput(argument: name, reason: "has shape \(labels.shape) but input_ids has \(ids.shape)") }
    try validateClassIds(labels, classes: classes, name: name)
}

/// Sequence-level labels: `[B]`, each a class in `0..<classes` or −100.
func validateLabels(_ labels: Tensor, batch: Int, classes: Int, name: String) throws(TransformersError) {
    guard labels.count == batch, labels.rank <= 2 else {
        throw .invalidInput(argument: name, reason: "has shape \(labels.shape); expected [\(batch)]")
    }
    try validateClassIds(labels, classes: classes, name: name)
}

private func validateClassIds(_ labels: Tensor, classes: Int, name: String) throws(TransformersError) {
    guard labels.dtype.isInteger else { throw .invalidInput(argument: name, reason: "must be integer class ids, got \(labels.dtype)") }
    if let bad = labels.toIntArray().first(where: { $0 != -100 && ($0 < 0 || $0 >= classes) }) {
        throw .invalidInput(argument: name, reason: "holds \(bad), outside 0..<\(classes) (and not -100)")
    }
}

/// The problem a classification head solves, as `transformers` infers it when `problem_type` is unset.
func problemType(_ config: CommonConfig, labels: Tensor) -> String {
    if let p = config.problemType { return p }
    if config.numLabels == 1 { return "regression" }
    return labels.dtype.isInteger ? "single_label_classification" : "multi_label_classification"
}

/// Labels for a sequence-classification head: class ids `[B]`, regression targets, or multi-hot `[B, labels]`.
func validateClassificationLabels(_ labels: Tensor, batch: Int, config: CommonConfig) throws(TransformersError) {
    switch problemType(config, labels: labels) {
    case "single_label_classification":
        try validateLabels(labels, batch: batch, classes: config.numLabels, name: "labels")
    case "multi_label_classification":
        guard labels.shape == [batch, config.numLabels] else {
            throw .invalidInput(argument: "labels", reason: "has shape \(labels.shape); multi-label needs [\(batch), \(config.numLabels)]")
        }
    default:
        guard labels.count == batch * config.numLabels else {
            throw .invalidInput(argument: "labels", reason: "has shape \(labels.shape); regression needs \(batch * config.numLabels) values")
        }
    }
}

/// The loss of a sequence-classification head (`BertForSequenceClassification.forward`).
func classificationLoss(_ logits: Tensor, _ labels: Tensor, config: CommonConfig) -> Tensor {
    switch problemType(config, labels: labels) {
    case "single_label_classification":
        return Loss.crossEntropy(logits.reshaped([-1, config.numLabels]), labels.flattened())
    case "multi_label_classification":
        return Loss.binaryCrossEntropyWithLogits(logits, labels.cast(to: .float32))
    default:
        return Loss.mse(logits.flattened(), labels.cast(to: .float32).flattened())
    }
}

/// Runs `body` without recording gradients when `model` is in eval mode (inference), with them otherwise.
func withNoGradIfEval<R>(_ model: Module, _ body: () -> R) -> R {
    model.training ? body() : withNoGrad(body)
}
