import Foundation
import Tokenizers

// What Hugging Face's token-classification and question-answering pipelines do with logits
// (`pipelines/token_classification.py` with `aggregation_strategy="simple"`, and
// `pipelines/question_answering.py`'s `decode_spans`), on plain arrays so that eager, JIT and AOT
// outputs are decoded by the same code.

/// A group of adjacent tokens with one entity label (`aggregation_strategy="simple"`).
public struct TokenEntity: Sendable, Equatable, Codable {
    /// The label without its `B-`/`I-` prefix (`PER`, `LOC`).
    public var label: String
    /// The mean of the tokens' top probabilities.
    public var score: Float
    /// The text the tokens cover.
    public var word: String
    /// UTF-8 byte offsets of that text in the input.
    public var start: Int
    public var end: Int
}

/// Groups token predictions into entities as HF's `simple` aggregation: every non-special token takes
/// its argmax label; consecutive tokens with the same tag join unless the later one starts with `B-`;
/// groups labelled `O` are dropped. `logits` is `[tokens][labels]`, `labels` the id2label names.
public func groupEntities(logits: [[Float]], labels: [String], encoding: Encoding, text: String) -> [TokenEntity] {
    struct Token { var label: String; var score: Float; var range: Range<Int> }
    var tokens: [Token] = []
    for (i, row) in logits.enumerated() where i < encoding.count && encoding.specialTokensMask[i] == 0 && encoding.attentionMask[i] == 1 {
        let probabilities = softmaxed(row)
        guard let best = probabilities.indices.max(by: { probabilities[$0] < probabilities[$1] }) else { continue }
        tokens.append(Token(label: best < labels.count ? labels[best] : "LABEL_\(best)", score: probabilities[best], range: encoding.offsets[i]))
    }
    func tag(_ label: String) -> (begins: Bool, tag: String) {
        if label.hasPrefix("B-") { return (true, String(label.dropFirst(2))) }
        if label.hasPrefix("I-") { return (false, String(label.dropFirst(2))) }
        return (false, label)
    }
    var groups: [[Token]] = []
    for token in tokens {
        if let last = groups.last?.last, tag(token.label).tag == tag(last.label).tag, !tag(token.label).begins {
            groups[groups.count - 1].append(token)
        } else {
            groups.append([token])
        }
    }
    let bytes = Array(text.utf8)
    return groups.compactMap { group in
        let label = tag(group[0].label).tag
        guard label != "O", let first = group.first, let last = group.last else { return nil }
        let start = min(first.range.lowerBound, bytes.count), end = min(max(last.range.upperBound, start), bytes.count)
        let word = String(decoding: bytes[start..<end], as: UTF8.self)
        return TokenEntity(label: label, score: group.map(\.score).reduce(0, +) / Float(group.count), word: word, start: start, end: end)
    }
}

/// An answer span in the context (`pipeline("question-answering")`).
public struct AnswerSpan: Sendable, Equatable, Codable {
    /// The answer text.
    public var answer: String
    /// p(start) · p(end), the probabilities taken over the context tokens.
    public var score: Float
    /// UTF-8 byte offsets of the answer in the context.
    public var start: Int
    public var end: Int
}

/// The most probable span of at most `maxAnswerLength` tokens inside the context (the tokens of
/// sequence `contextSequence` of `encoding`), as HF's `decode_spans`: probabilities are softmaxes
/// over the context tokens only, and the span maximizes p(start)·p(end) with start ≤ end.
public func bestAnswerSpan(startLogits: [Float], endLogits: [Float], encoding: Encoding, context: String,
                           contextSequence: Int = 1, maxAnswerLength: Int = 15) -> AnswerSpan? {
    let candidates = encoding.sequenceIds.indices.filter {
        $0 < startLogits.count && $0 < endLogits.count && encoding.sequenceIds[$0] == contextSequence
    }
    guard !candidates.isEmpty else { return nil }
    let inContext = Set(candidates)
    func probabilities(_ logits: [Float]) -> [Float] {
        softmaxed(logits.indices.map { inContext.contains($0) ? logits[$0] : -10_000 })
    }
    let ps = probabilities(startLogits), pe = probabilities(endLogits)
    var best: (Int, Int, Float)? = nil
    for s in candidates {
        for e in candidates where e >= s && e - s < maxAnswerLength {
            let score = ps[s] * pe[e]
            if let current = best, current.2 >= score { continue }
            best = (s, e, score)
        }
    }
    guard let (s, e, score) = best else { return nil }
    let bytes = Array(context.utf8)
    let start = min(encoding.offsets[s].lowerBound, bytes.count), end = min(max(encoding.offsets[e].upperBound, start), bytes.count)
    return AnswerSpan(answer: String(decoding: bytes[start..<end], as: UTF8.self), score: score, start: start, end: end)
}

/// A numerically stable softmax of one row.
public func softmaxed(_ row: [Float]) -> [Float] {
    guard let top = row.max() else { return [] }
    let exps = row.map { Foundation.exp($0 - top) }
    let total = exps.reduce(0, +)
    return exps.map { $0 / total }
}
