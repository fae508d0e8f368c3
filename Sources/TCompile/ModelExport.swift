import Foundation
import Graph
import NN
import Tensors
import Transformers

/// The pipeline tasks `tcompile export` traces, by their Hugging Face names.
public enum ExportTask: String, CaseIterable, Sendable {
    case featureExtraction = "feature-extraction"
    case fillMask = "fill-mask"
    case nextSentencePrediction = "next-sentence-prediction"
    case pretraining
    case textClassification = "text-classification"
    case textGeneration = "text-generation"
}

/// Why a checkpoint could not be exported.
public struct ExportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A checkpoint loaded for one task: the eager computation with Hugging Face input and output names,
/// ready to run or to trace. The same closure is what the tracer records, so tests can compare the
/// traced graph with it directly.
public struct ExportableModel {
    /// The module (in eval mode).
    public let module: Module
    /// Input names, in order (`input_ids`, `attention_mask`, and `token_type_ids` for BERT).
    public let inputNames: [String]
    /// The eager forward pass: named inputs to named outputs, in order.
    public let forward: ([String: Tensor]) -> [(name: String, tensor: Tensor)]

    /// Parameters and buffers by state-dict name, so the graph's constants keep them.
    public var constants: [String: Tensor] {
        Dictionary(module.namedParameters() + module.namedBuffers(), uniquingKeysWith: { a, _ in a })
    }

    /// Example inputs of `batch × seq`: ids 1 (valid in any vocabulary), mask 1, token types 0.
    public func exampleInputs(batch: Int, seq: Int) -> [(name: String, tensor: Tensor)] {
        inputNames.map { name in (name, name == "token_type_ids" ? Tensor.zeros([batch, seq], dtype: .int64) : Tensor.ones([batch, seq], dtype: .int64)) }
    }

    /// The graph, with `batch ≤ maxBatch` and `seq ≤ maxSeq` dynamic.
    public func trace(maxBatch: Int, maxSeq: Int) throws -> Graph {
        guard maxBatch >= 1, maxSeq >= 2 else { throw ExportError("--max-batch must be ≥ 1 and --max-seq ≥ 2") }
        // A batch bound of 1 makes the batch a static dim of 1.
        let dims = inputNames.flatMap { name in
            (maxBatch > 1 ? [DynamicDim(input: name, dim: 0, symbol: "batch", max: maxBatch)] : [])
                + [DynamicDim(input: name, dim: 1, symbol: "seq", max: maxSeq)]
        }
        return try Tracer.trace(inputs: exampleInputs(batch: min(2, maxBatch), seq: min(6, maxSeq)), dynamicDims: dims,
                                constants: constants, forward)
    }
}

/// Loads Hugging Face checkpoint directories for the tasks `tcompile export` knows.
public enum ModelExport {
    /// The eager model for `task` on the checkpoint at `directory`, in eval mode. Inputs and outputs
    /// carry Hugging Face's names (`input_ids`, `attention_mask`, `token_type_ids`; `last_hidden_state`,
    /// `pooler_output`, `logits`, `prediction_logits`, `seq_relationship_logits`).
    public static func load(directory: URL, task: ExportTask) throws -> ExportableModel {
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ExportError("\(configURL.path): missing or not a JSON object")
        }
        guard let modelType = object["model_type"] as? String else { throw ExportError("\(configURL.path): no model_type") }
        let bert = ["input_ids", "attention_mask", "token_type_ids"], plain = ["input_ids", "attention_mask"]
        func encoderInputs(_ x: [String: Tensor]) -> EncoderInputs {
            EncoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!, tokenTypeIds: x["token_type_ids"])
        }
        func make(_ m: Module, _ names: [String], _ body: @escaping ([String: Tensor]) -> [(name: String, tensor: Tensor)]) -> ExportableModel {
            m.eval()
            return ExportableModel(module: m, inputNames: names, forward: body)
        }
        func base(_ o: BaseModelOutput) -> [(name: String, tensor: Tensor)] {
            [("last_hidden_state", o.lastHiddenState)] + (o.poolerOutput.map { [("pooler_output", $0)] } ?? [])
        }
        switch (modelType, task) {
        case ("bert", .featureExtraction):
            let m = try BertModel.fromPretrained(directory: directory)
            return make(m, bert) { base(m.forward(encoderInputs($0))) }
        case ("bert", .fillMask):
            let m = try BertForMaskedLM.fromPretrained(directory: directory)
            return make(m, bert) { [("logits", m.forward(encoderInputs($0)).logits)] }
        case ("bert", .nextSentencePrediction):
            let m = try BertForNextSentencePrediction.fromPretrained(directory: directory)
            return make(m, bert) { [("logits", m.forward(encoderInputs($0)).logits)] }
        case ("bert", .pretraining):
            let m = try BertForPreTraining.fromPretrained(directory: directory)
            return make(m, bert) { x in
                let o = m.forward(encoderInputs(x))
                return [("prediction_logits", o.predictionLogits), ("seq_relationship_logits", o.seqRelationshipLogits)]
            }
        case ("bert", .textClassification):
            let m = try BertForSequenceClassification.fromPretrained(directory: directory)
            return make(m, bert) { [("logits", m.forward(encoderInputs($0)).logits)] }
        case ("roberta", .featureExtraction):
            let m = try RobertaModel.fromPretrained(directory: directory)
            return make(m, plain) { base(m.forward(encoderInputs($0))) }
        case ("roberta", .fillMask):
            let m = try RobertaForMaskedLM.fromPretrained(directory: directory)
            return make(m, plain) { [("logits", m.forward(encoderInputs($0)).logits)] }
        case ("roberta", .textClassification):
            let m = try RobertaForSequenceClassification.fromPretrained(directory: directory)
            return make(m, plain) { [("logits", m.forward(encoderInputs($0)).logits)] }
        case ("gpt2", .featureExtraction):
            let m = try GPT2Model.fromPretrained(directory: directory)
            return make(m, plain) { x in [("last_hidden_state", m.forward(DecoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!)))] }
        case ("gpt2", .textGeneration):
            let m = try GPT2LMHeadModel.fromPretrained(directory: directory)
            return make(m, plain) { x in [("logits", m.forward(DecoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!)).logits)] }
        default:
            throw ExportError("task '\(task.rawValue)' is not available for model_type '\(modelType)' (bert: feature-extraction, fill-mask, next-sentence-prediction, pretraining, text-classification; roberta: feature-extraction, fill-mask, text-classification; gpt2: feature-extraction, text-generation)")
        }
    }

    /// Loads and traces in one step; the name is the directory's, made a C identifier.
    public static func trace(directory: URL, task: ExportTask, maxBatch: Int, maxSeq: Int) throws -> (name: String, graph: Graph) {
        let name = directory.lastPathComponent.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return (String(name), try load(directory: directory, task: task).trace(maxBatch: maxBatch, maxSeq: maxSeq))
    }
}
