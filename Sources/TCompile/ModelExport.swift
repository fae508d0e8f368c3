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

/// Traces a Hugging Face checkpoint directory into a graph: builds the eager model for the task, puts
/// it in eval mode, and records it with `batch` and `seq` (and nothing else) dynamic.
public enum ModelExport {
    /// The graph for `task` on the checkpoint at `directory`, with `batch ≤ maxBatch`, `seq ≤ maxSeq`.
    /// Inputs and outputs carry Hugging Face's names (`input_ids`, `attention_mask`, `token_type_ids`;
    /// `last_hidden_state`, `pooler_output`, `logits`, `prediction_logits`, `seq_relationship_logits`).
    public static func trace(directory: URL, task: ExportTask, maxBatch: Int, maxSeq: Int) throws -> (name: String, graph: Graph) {
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ExportError("\(configURL.path): missing or not a JSON object")
        }
        guard let modelType = object["model_type"] as? String else { throw ExportError("\(configURL.path): no model_type") }
        guard maxBatch >= 1, maxSeq >= 2 else { throw ExportError("--max-batch must be ≥ 1 and --max-seq ≥ 2") }
        let name = directory.lastPathComponent.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
        switch (modelType, task) {
        case ("bert", .featureExtraction):
            let m = try BertModel.fromPretrained(directory: directory)
            return (name, try encoder(m, "bert", maxBatch, maxSeq, typeIds: true) { out in
                let o = m.forward(out)
                return [("last_hidden_state", o.lastHiddenState)] + (o.poolerOutput.map { [("pooler_output", $0)] } ?? [])
            })
        case ("bert", .fillMask):
            let m = try BertForMaskedLM.fromPretrained(directory: directory)
            return (name, try encoder(m, "bert", maxBatch, maxSeq, typeIds: true) { [("logits", m.forward($0).logits)] })
        case ("bert", .nextSentencePrediction):
            let m = try BertForNextSentencePrediction.fromPretrained(directory: directory)
            return (name, try encoder(m, "bert", maxBatch, maxSeq, typeIds: true) { [("logits", m.forward($0).logits)] })
        case ("bert", .pretraining):
            let m = try BertForPreTraining.fromPretrained(directory: directory)
            return (name, try encoder(m, "bert", maxBatch, maxSeq, typeIds: true) { inputs in
                let o = m.forward(inputs)
                return [("prediction_logits", o.predictionLogits), ("seq_relationship_logits", o.seqRelationshipLogits)]
            })
        case ("bert", .textClassification):
            let m = try BertForSequenceClassification.fromPretrained(directory: directory)
            return (name, try encoder(m, "bert", maxBatch, maxSeq, typeIds: true) { [("logits", m.forward($0).logits)] })
        case ("roberta", .featureExtraction):
            let m = try RobertaModel.fromPretrained(directory: directory)
            return (name, try encoder(m, "roberta", maxBatch, maxSeq, typeIds: false) { out in
                let o = m.forward(out)
                return [("last_hidden_state", o.lastHiddenState)] + (o.poolerOutput.map { [("pooler_output", $0)] } ?? [])
            })
        case ("roberta", .fillMask):
            let m = try RobertaForMaskedLM.fromPretrained(directory: directory)
            return (name, try encoder(m, "roberta", maxBatch, maxSeq, typeIds: false) { [("logits", m.forward($0).logits)] })
        case ("roberta", .textClassification):
            let m = try RobertaForSequenceClassification.fromPretrained(directory: directory)
            return (name, try encoder(m, "roberta", maxBatch, maxSeq, typeIds: false) { [("logits", m.forward($0).logits)] })
        case ("gpt2", .featureExtraction), ("gpt2", .textGeneration):
            let lm = task == .textGeneration ? try GPT2LMHeadModel.fromPretrained(directory: directory) : nil
            let base = lm == nil ? try GPT2Model.fromPretrained(directory: directory) : nil
            let module: Module = lm ?? base!
            module.eval()
            let graph = try Tracer.trace(
                inputs: [("input_ids", Tensor.zeros([2, 6], dtype: .int64)), ("attention_mask", Tensor.ones([2, 6], dtype: .int64))],
                dynamicDims: dims(["input_ids", "attention_mask"], maxBatch, maxSeq),
                constants: Dictionary(module.namedParameters() + module.namedBuffers(), uniquingKeysWith: { a, _ in a })) { x in
                    let inputs = DecoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!)
                    if let lm { return [("logits", lm.forward(inputs).logits)] }
                    return [("last_hidden_state", base!.forward(inputs))]
                }
            return (name, graph)
        default:
            throw ExportError("task '\(task.rawValue)' is not available for model_type '\(modelType)' (bert: feature-extraction, fill-mask, next-sentence-prediction, pretraining, text-classification; roberta: feature-extraction, fill-mask, text-classification; gpt2: feature-extraction, text-generation)")
        }
    }

    static func dims(_ inputs: [String], _ maxBatch: Int, _ maxSeq: Int) -> [DynamicDim] {
        inputs.flatMap { [DynamicDim(input: $0, dim: 0, symbol: "batch", max: maxBatch), DynamicDim(input: $0, dim: 1, symbol: "seq", max: maxSeq)] }
    }

    static func encoder(_ model: Module, _ kind: String, _ maxBatch: Int, _ maxSeq: Int, typeIds: Bool,
                        _ body: @escaping (EncoderInputs) -> [(name: String, tensor: Tensor)]) throws -> Graph {
        model.eval()
        var inputs: [(name: String, tensor: Tensor)] = [("input_ids", Tensor.ones([2, 6], dtype: .int64)), ("attention_mask", Tensor.ones([2, 6], dtype: .int64))]
        if typeIds { inputs.append(("token_type_ids", Tensor.zeros([2, 6], dtype: .int64))) }
        return try Tracer.trace(inputs: inputs, dynamicDims: dims(inputs.map(\.name), maxBatch, maxSeq),
                                constants: Dictionary(model.namedParameters() + model.namedBuffers(), uniquingKeysWith: { a, _ in a })) { x in
            body(EncoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!, tokenTypeIds: x["token_type_ids"]))
        }
    }
}
