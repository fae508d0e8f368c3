import Foundation
import Tensors

/// What a task pipeline returns for a batch of texts.
public enum PipelineResult {
    /// feature-extraction: mean-pooled, unit-length embeddings `[B, hidden]`.
    case embeddings(Tensor)
    /// text-classification: every label with its score, best first, per text.
    case labels([[LabelScore]])
    /// fill-mask: per text, per mask token, the top candidates.
    case fillMask([[[FillMaskPrediction]]])
    /// text-generation: the continuation of each prompt; text2text-generation: each source's output.
    case generated([String])
}

/// `pipeline(task, model: directory)` as Hugging Face has it: the family comes from config.json's
/// `model_type` through `ModelRegistry`, the model class from the family's entry for the task, and
/// the tokenizer from the directory. The typed pipelines (`FillMaskPipeline`, …) stay available for
/// code that knows its model class.
///
/// ```swift
/// let classify = try TaskPipeline(task: .textClassification, directory: url)
/// if case .labels(let scores) = try classify(["The striker scored."]) { print(scores[0][0].label) }
/// ```
public struct TaskPipeline {
    /// The task.
    public let task: ModelTask
    let body: ([String]) throws -> PipelineResult

    /// Loads the checkpoint at `directory` with its tokenizer for `task` (the task `architectures`
    /// selects when nil). Tasks without a text pipeline (pre-training, next-sentence prediction) say so.
    public init(task: ModelTask?, directory: URL) throws {
        let kind = try ModelRegistry.kind(ofCheckpoint: directory)
        let entry = try task.map { t throws(TransformersError) in try kind.family.entry(t) }
            ?? ModelRegistry.inferredTask(for: kind, file: directory.appendingPathComponent("config.json").path)
        guard let make = entry.pipeline else {
            throw TransformersError.invalidInput(argument: "task", reason: "'\(entry.task.rawValue)' has no text pipeline; load the model with fromPretrained and call it")
        }
        self.task = entry.task
        body = try make(directory)
    }

    /// Runs the pipeline on `texts`.
    public func callAsFunction(_ texts: [String]) throws -> PipelineResult { try body(texts) }

    /// The text pipeline of `Model` for `task`, if the model class provides one: decided by the
    /// protocols it conforms to, so a family gets pipelines by conforming, not by registering them.
    static func maker<Model: PretrainedModel>(_ model: Model.Type, task: ModelTask) -> (@Sendable (URL) throws -> ([String]) throws -> PipelineResult)? {
        switch task {
        case .featureExtraction:
            guard let m = model as? any EncoderModel.Type else { return nil }
            return { directory in try featureExtraction(m, directory) }
        case .fillMask:
            guard let m = model as? any MaskedLanguageModel.Type else { return nil }
            return { directory in try fillMask(m, directory) }
        case .textClassification:
            guard let m = model as? any SequenceClassifier.Type else { return nil }
            return { directory in try textClassification(m, directory) }
        case .textGeneration:
            guard let m = model as? any (CausalLanguageModel & PretrainedModel).Type else { return nil }
            return { directory in try textGeneration(m, directory) }
        case .text2textGeneration:
            guard let m = model as? any (Seq2SeqLanguageModel & PretrainedModel).Type else { return nil }
            return { directory in try text2textGeneration(m, directory) }
        case .nextSentencePrediction, .pretraining, .tokenClassification, .questionAnswering, .sentenceEmbedding:
            // sentence-embedding's pipeline comes with its entry (`TaskEntry.sentenceEmbedding`).
            return nil
        }
    }

    private static func featureExtraction<M: EncoderModel>(_: M.Type, _ directory: URL) throws -> ([String]) throws -> PipelineResult {
        let loaded = try M.loadPretrained(directory: directory)
        let pipeline = FeatureExtractionPipeline(model: loaded.model, tokenizer: loaded.tokenizer)
        return { texts in .embeddings(try pipeline(texts)) }
    }

    private static func fillMask<M: MaskedLanguageModel>(_: M.Type, _ directory: URL) throws -> ([String]) throws -> PipelineResult {
        let pipeline = try FillMaskPipeline(M.loadPretrained(directory: directory))
        return { texts in .fillMask(try texts.map { try pipeline($0) }) }
    }

    private static func textClassification<M: SequenceClassifier>(_: M.Type, _ directory: URL) throws -> ([String]) throws -> PipelineResult {
        let loaded = try M.loadPretrained(directory: directory)
        let pipeline = TextClassificationPipeline(model: loaded.model, tokenizer: loaded.tokenizer)
        return { texts in .labels(try pipeline(texts)) }
    }

    /// The checkpoint's generation options (`generation_config.json`, else config.json's), as
    /// transformers' pipeline uses them.
    private static func text2textGeneration<M: Seq2SeqLanguageModel & PretrainedModel>(_: M.Type, _ directory: URL) throws -> ([String]) throws -> PipelineResult {
        let loaded = try M.loadPretrained(directory: directory)
        let pipeline = Text2TextGenerationPipeline(model: loaded.model, tokenizer: loaded.tokenizer)
        let config = try GenerationConfig(checkpoint: directory)
        return { texts in .generated(try pipeline(texts, config: config)) }
    }

    private static func textGeneration<M: CausalLanguageModel & PretrainedModel>(_: M.Type, _ directory: URL) throws -> ([String]) throws -> PipelineResult {
        let loaded = try M.loadPretrained(directory: directory)
        let pipeline = TextGenerationPipeline(model: loaded.model, tokenizer: loaded.tokenizer)
        return { texts in .generated(try pipeline(texts)) }
    }
}
