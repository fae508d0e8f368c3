import Foundation
import NN
import Tensors

// The token-level heads, written once for every encoder (`modeling_bert.py`'s
// `BertForTokenClassification` and `BertForQuestionAnswering`; RoBERTa's and the other encoders'
// are the same code on another base). Checkpoint keys: the base under its prefix (`bert.`,
// `roberta.`), then `classifier.*` or `qa_outputs.*`.

/// A linear classifier on every token's state (`XForTokenClassification`): NER, POS tagging.
///
/// ```swift
/// let ner = try BertForTokenClassification.fromPretrained(directory: url)
/// let logits = try ner(EncoderInputs(inputIds: ids, attentionMask: mask)).logits   // [B, S, labels]
/// ```
public final class ForTokenClassification<Base: EncoderModel>: Module {
    /// The encoder's config (labels in `common`).
    public let config: Base.Config
    /// The encoder, keyed under its Hugging Face prefix.
    public let base: Base
    let dropout: Dropout
    /// `classifier`: hidden → labels.
    public let classifier: Linear

    /// A randomly initialized model with `config.common.numLabels` outputs per token.
    public init(config: Base.Config) {
        self.config = config
        base = Base(poolerlessConfig: config)
        dropout = Dropout(config.classifierDropoutProbability)
        classifier = linear(config.hiddenStateSize, config.common.numLabels)
        super.init()
        WeightInitialization.apply(classifier, range: config.initializerRange)
    }

    /// The base under its Hugging Face prefix (`bert`, `roberta`, …), then `classifier`.
    public override func namedChildren() -> [(String, Module)] {
        [(Base.basePrefix, base), ("dropout", dropout), ("classifier", classifier)]
    }

    /// Trusted-input forward: logits `[B, S, labels]` and the cross entropy over `labels` `[B, S]`
    /// (−100 ignored).
    public func forward(_ inputs: EncoderInputs, labels: Tensor? = nil) -> HeadOutput {
        let logits = classifier(dropout(base.lastHiddenState(inputs)))
        return HeadOutput(logits: logits, loss: labels.map { Loss.crossEntropy(logits.flattened(endDim: -2), $0.flattened()) })
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, labels: Tensor? = nil) throws(TransformersError) -> HeadOutput {
        try base.validate(inputs)
        if let labels { try validateLabels(labels, like: inputs.inputIds, classes: config.common.numLabels, name: "labels") }
        return withNoGradIfEval(self) { forward(inputs, labels: labels) }
    }
}

/// Start and end logits of an answer span (`XForQuestionAnswering`, extractive QA as SQuAD).
public final class ForQuestionAnswering<Base: EncoderModel>: Module {
    /// The encoder's config.
    public let config: Base.Config
    /// The encoder, keyed under its Hugging Face prefix.
    public let base: Base
    /// `qa_outputs`: hidden → 2 (start, end).
    public let qaOutputs: Linear

    /// A randomly initialized model.
    public init(config: Base.Config) {
        self.config = config
        base = Base(poolerlessConfig: config)
        qaOutputs = linear(config.hiddenStateSize, 2)
        super.init()
        WeightInitialization.apply(qaOutputs, range: config.initializerRange)
    }

    /// The base under its Hugging Face prefix, then `qa_outputs`.
    public override func namedChildren() -> [(String, Module)] { [(Base.basePrefix, base), ("qa_outputs", qaOutputs)] }

    /// Trusted-input forward: `start_logits` and `end_logits` `[B, S]`; with positions `[B]`, the mean of
    /// the two cross entropies (positions past the sequence are ignored, as HF clamps them).
    public func forward(_ inputs: EncoderInputs, startPositions: Tensor? = nil, endPositions: Tensor? = nil) -> QuestionAnsweringOutput {
        let logits = qaOutputs(base.lastHiddenState(inputs))
        let start = logits.selected(dim: -1, index: 0), end = logits.selected(dim: -1, index: 1)
        var loss: Tensor? = nil
        if let startPositions, let endPositions {
            let length = inputs.inputIds.size(1)
            // Labels, not traced: positions outside the sequence become the ignored class.
            func ignoringOutside(_ p: Tensor) -> Tensor {
                Tensor(p.toIntArray().map { (0..<length).contains($0) ? $0 : -100 }, shape: [p.count])
            }
            loss = (Loss.crossEntropy(start, ignoringOutside(startPositions)) + Loss.crossEntropy(end, ignoringOutside(endPositions))) * 0.5
        }
        return QuestionAnsweringOutput(startLogits: start, endLogits: end, loss: loss)
    }

    /// Validates, then runs `forward`.
    public func callAsFunction(_ inputs: EncoderInputs, startPositions: Tensor? = nil, endPositions: Tensor? = nil) throws(TransformersError) -> QuestionAnsweringOutput {
        try base.validate(inputs)
        let batch = inputs.inputIds.size(0)
        for (positions, name) in [(startPositions, "start_positions"), (endPositions, "end_positions")] {
            guard let positions else { continue }
            guard positions.count == batch, positions.dtype.isInteger else {
                throw .invalidInput(argument: name, reason: "must be \(batch) integer positions, got \(positions.dtype) \(positions.shape)")
            }
        }
        guard (startPositions == nil) == (endPositions == nil) else {
            throw .invalidInput(argument: "start_positions", reason: "and end_positions go together")
        }
        return withNoGradIfEval(self) { forward(inputs, startPositions: startPositions, endPositions: endPositions) }
    }
}

/// Span logits of a question-answering head.
public struct QuestionAnsweringOutput {
    /// `[B, S]`.
    public var startLogits: Tensor
    /// `[B, S]`.
    public var endLogits: Tensor
    /// The mean of the start and end cross entropies, when positions were given.
    public var loss: Tensor?
}

extension ForTokenClassification: PretrainedModel {
    public static var basePrefix: String { Base.basePrefix }
    public convenience init(config: Base.Config, checkpointKeys: Set<String>) { self.init(config: config) }
    public var derivedTensors: [Tensor] { base.derivedTensors }
}

extension ForQuestionAnswering: PretrainedModel {
    public static var basePrefix: String { Base.basePrefix }
    public convenience init(config: Base.Config, checkpointKeys: Set<String>) { self.init(config: config) }
    public var derivedTensors: [Tensor] { base.derivedTensors }
}

public typealias BertForTokenClassification = ForTokenClassification<BertModel>
public typealias BertForQuestionAnswering = ForQuestionAnswering<BertModel>
public typealias RobertaForTokenClassification = ForTokenClassification<RobertaModel>
public typealias RobertaForQuestionAnswering = ForQuestionAnswering<RobertaModel>

extension TaskEntry {
    /// token-classification on `Base`: output `logits` `[B, S, labels]`.
    public static func tokenClassification<Base: EncoderModel>(_ base: Base.Type, architectures: [String]) -> TaskEntry {
        .task(.tokenClassification, ForTokenClassification<Base>.self, architectures: architectures, outputs: ["logits"]) { m, x in
            [("logits", m.forward(x.encoder).logits)]
        }
    }

    /// question-answering on `Base`: outputs `start_logits`, `end_logits` `[B, S]`.
    public static func questionAnswering<Base: EncoderModel>(_ base: Base.Type, architectures: [String]) -> TaskEntry {
        .task(.questionAnswering, ForQuestionAnswering<Base>.self, architectures: architectures, outputs: ["start_logits", "end_logits"]) { m, x in
            let o = m.forward(x.encoder)
            return [("start_logits", o.startLogits), ("end_logits", o.endLogits)]
        }
    }
}
