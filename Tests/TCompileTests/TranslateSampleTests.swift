import Foundation
import Testing
import TCompile
import Tokenizers
import Transformers

/// The shipped number-words → digits translator (samples/translate/model, a small BART trained in
/// eager Swift by samples/translate/train): on its 500 held-out numbers (samples/translate/data/test.tsv)
/// eager greedy decoding gets exactly the accuracy and the misses samples/translate/README.md states,
/// and the compiled generator (`CompiledSeq2SeqGenerator`, what `samples/translate/run.sh` runs
/// through `tcompile generate`) picks the same tokens as eager.
@Suite(.serialized) struct TranslateSampleTests {
    static let sample = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../samples/translate").standardized

    /// (words, digits) of the held-out set, in file order.
    static func heldOut() throws -> [(String, String)] {
        try String(contentsOf: sample.appendingPathComponent("data/test.tsv"), encoding: .utf8).split(separator: "\n").map { line in
            let fields = line.split(separator: "\t")
            try #require(fields.count == 2, "test.tsv: \(line)")
            return (String(fields[0]), String(fields[1]))
        }
    }

    /// Numbers the model translates wrongly, with what it prints: none (the README states 500 / 500).
    static let misses: [String: String] = [:]

    @Test func heldOutAccuracyIsTheReadmes() throws {
        let directory = Self.sample.appendingPathComponent("model")
        let model = try BartForConditionalGeneration.fromPretrained(directory: directory)
        let tokenizer = try Tokenizer.fromDirectory(directory.path)
        let examples = try Self.heldOut()
        #expect(examples.count == 500)
        var wrong: [String: String] = [:]
        for start in stride(from: 0, to: examples.count, by: 100) {
            let chunk = examples[start..<min(start + 100, examples.count)]
            let sources = try chunk.map { try tokenizer.encode($0.0).ids }
            for ((_, digits), tokens) in zip(chunk, try model.generate(sources, config: .greedy(maxNewTokens: 10))) {
                let text = tokenizer.decode(tokens)
                if text != digits { wrong[digits] = text }
            }
        }
        #expect(wrong == Self.misses, "misses: \(wrong)")
        #expect(examples.count - wrong.count == 500 - Self.misses.count)
    }

    @Test func compiledGreedyEqualsEager() throws {
        let directory = Self.sample.appendingPathComponent("model")
        let model = try BartForConditionalGeneration.fromPretrained(directory: directory)
        model.eval()
        let tokenizer = try Tokenizer.fromDirectory(directory.path)
        let examples = Array(try Self.heldOut().prefix(40))
        let sources = try examples.map { try tokenizer.encode($0.0).ids }
        let compiled = try CompiledSeq2SeqGenerator(model: model, maxBatch: 40, maxSource: 32, maxTarget: 12)
        let config = GenerationConfig.greedy(maxNewTokens: 10)
        let eager = try model.generate(sources, config: config)
        #expect(try compiled.generate(sources, config: config) == eager)
        // One source at a time as run.sh's single text does (no padding in the batch).
        for i in [0, 7, 23] { #expect(try compiled.generate([sources[i]], config: config) == [eager[i]], "\(examples[i].0)") }
        #expect(eager.allSatisfy { $0.last == 3 }, "every translation ends with [SEP]")
    }
}
