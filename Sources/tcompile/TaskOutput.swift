import Foundation
import TCompile
import Tokenizers
import Transformers

/// What `tcompile run --text` shows a person: the outputs of a model decoded for its task, as
/// Hugging Face's pipelines would (top-k words, labels, entity spans, an answer span, an embedding).
/// `--json` prints the same as one JSON document.
enum TaskOutput {
    /// The task a graph's outputs answer: from its output names, else from the checkpoint directory
    /// (`--tokenizer`) through the registry.
    static func task(of graph: Graph, checkpoint: String?) -> ModelTask? {
        let names = Set(graph.outputs.map(\.name))
        if names.contains("sentence_embedding") { return .sentenceEmbedding }
        if names.isSuperset(of: ["start_logits", "end_logits"]) { return .questionAnswering }
        guard let checkpoint, let kind = try? ModelRegistry.kind(ofCheckpoint: URL(fileURLWithPath: checkpoint)) else { return nil }
        var plain = kind
        plain.isSentenceTransformers = false     // a sentence_embedding output was ruled out above
        return (try? ModelRegistry.inferredTask(for: plain))?.task
    }

    /// One result per text (or per question).
    enum Result: Encodable {
        case fillMask(text: String, masks: [[Candidate]])
        case labels(text: String, labels: [Scored])
        case entities(text: String, entities: [TokenEntity])
        case answer(question: String, answer: AnswerSpan?)
        case embedding(text: String, dimension: Int, values: [Float])

        struct Candidate: Encodable { var token: String; var id: Int; var score: Float }
        struct Scored: Encodable { var label: String; var score: Float }

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .fillMask(let text, let masks): try c.encode(["text": AnyEncodable(text), "masks": AnyEncodable(masks)])
            case .labels(let text, let labels): try c.encode(["text": AnyEncodable(text), "labels": AnyEncodable(labels)])
            case .entities(let text, let entities): try c.encode(["text": AnyEncodable(text), "entities": AnyEncodable(entities)])
            case .answer(let question, let answer): try c.encode(["question": AnyEncodable(question), "answer": AnyEncodable(answer)])
            case .embedding(let text, let dimension, let values):
                try c.encode(["text": AnyEncodable(text), "dimension": AnyEncodable(dimension), "embedding": AnyEncodable(values)])
            }
        }
    }

    /// Decodes `outputs` for `task`; `encodings` are the rows' encodings in batch order.
    /// `contexts` are the question-answering contexts, one per row.
    static func results(task: ModelTask, outputs: [String: Tensor], texts: [String], contexts: [String], encodings: [Encoding],
                        tokenizer: Tokenizer, labels config: CommonConfig?, topK: Int) -> [Result] {
        let labels = config?.labels ?? []
        func rows(_ t: Tensor, batch: Int) -> [[Float]] {
            let flat = t.toFloatArray(), width = flat.count / max(batch, 1)
            return (0..<batch).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
        }
        let batch = encodings.count
        switch task {
        case .sentenceEmbedding, .featureExtraction:
            guard let e = outputs["sentence_embedding"] ?? outputs["pooler_output"] else { return [] }
            return zip(texts, rows(e, batch: batch)).map { .embedding(text: $0, dimension: $1.count, values: $1) }
        case .questionAnswering:
            guard let s = outputs["start_logits"], let e = outputs["end_logits"] else { return [] }
            let starts = rows(s, batch: batch), ends = rows(e, batch: batch)
            return (0..<batch).map { i in
                .answer(question: texts[i], answer: bestAnswerSpan(startLogits: starts[i], endLogits: ends[i], encoding: encodings[i],
                                                                  context: contextText(i)))
            }
        case .tokenClassification:
            guard let logits = outputs["logits"], logits.rank == 3 else { return [] }
            let width = logits.size(-1)
            return zip(texts, rows(logits, batch: batch)).enumerated().map { i, pair in
                let perToken = stride(from: 0, to: pair.1.count, by: width).map { Array(pair.1[$0..<($0 + width)]) }
                return .entities(text: pair.0, entities: groupEntities(logits: perToken, labels: labels, encoding: encodings[i], text: pair.0))
            }
        case .fillMask:
            guard let logits = outputs["logits"], logits.rank == 3, let mask = tokenizer.id(for: "[MASK]") ?? tokenizer.id(for: "<mask>") else { return [] }
            let vocabulary = logits.size(-1)
            return zip(texts, rows(logits, batch: batch)).enumerated().map { i, pair in
                let masks = encodings[i].ids.indices.filter { encodings[i].ids[$0] == mask }.map { position -> [Result.Candidate] in
                    let probabilities = softmaxed(Array(pair.1[(position * vocabulary)..<((position + 1) * vocabulary)]))
                    return probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(topK).map {
                        Result.Candidate(token: tokenizer.decode([$0], skipSpecialTokens: false), id: $0, score: probabilities[$0])
                    }
                }
                return .fillMask(text: pair.0, masks: masks)
            }
        default:
            guard let logits = outputs["logits"], logits.rank == 2 else { return [] }
            // As HF's text-classification pipeline: sigmoid for one label (a cross-encoder's
            // relevance) or multi-label problems, softmax otherwise.
            let sigmoid = logits.size(-1) == 1 || config?.problemType == "multi_label_classification"
            return zip(texts, rows(logits, batch: batch)).map { text, row in
                let probabilities = sigmoid ? row.map { 1 / (1 + Foundation.exp(-$0)) } : softmaxed(row)
                let ranked = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(topK)
                return .labels(text: text, labels: ranked.map { Result.Scored(label: $0 < labels.count ? labels[$0] : "LABEL_\($0)", score: probabilities[$0]) })
            }
        }
        func contextText(_ i: Int) -> String { i < contexts.count ? contexts[i] : "" }
    }

    /// A person's view of one result.
    static func describe(_ result: Result) -> String {
        switch result {
        case .fillMask(let text, let masks):
            return "\"\(text)\"\n" + masks.enumerated().map { i, candidates in
                "  mask \(i + 1): " + candidates.map { "\($0.token) (\(String(format: "%.3f", $0.score)))" }.joined(separator: ", ")
            }.joined(separator: "\n")
        case .labels(let text, let labels):
            return "\"\(text)\" → " + labels.map { "\($0.label) (\(String(format: "%.3f", $0.score)))" }.joined(separator: ", ")
        case .entities(let text, let entities):
            return "\"\(text)\"\n" + (entities.isEmpty ? "  no entities" : entities.map {
                "  \($0.label): \"\($0.word)\" (\(String(format: "%.3f", $0.score)), bytes \($0.start)..<\($0.end))"
            }.joined(separator: "\n"))
        case .answer(let question, let answer):
            guard let answer else { return "\"\(question)\" → no answer in the context" }
            return "\"\(question)\" → \"\(answer.answer)\" (\(String(format: "%.3f", answer.score)), bytes \(answer.start)..<\(answer.end))"
        case .embedding(let text, let dimension, let values):
            let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return "\"\(text)\" → \(dimension) dimensions, norm \(String(format: "%.4f", norm)): [" + values.prefix(6).map { String(format: "%.5f", $0) }.joined(separator: ", ") + ", …]"
        }
    }
}

/// A type-erased encodable, for the mixed JSON objects above.
struct AnyEncodable: Encodable {
    let body: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { body = value.encode }
    func encode(to encoder: Encoder) throws { try body(encoder) }
}

/// `tcompile run --json`'s document.
struct JSONOutput: Encodable {
    var model: String
    var mode: String
    var task: String?
    var milliseconds: Double
    var results: [TaskOutput.Result]?
    var outputs: [String: TensorSummary]?

    /// An output without a task decoding: dtype, shape and values.
    struct TensorSummary: Encodable {
        var dtype: String
        var shape: [Int]
        var values: [Float]
        init(_ t: Tensor) {
            dtype = "\(t.dtype)"
            shape = t.shape
            values = t.toFloatArray()
        }
    }
}
