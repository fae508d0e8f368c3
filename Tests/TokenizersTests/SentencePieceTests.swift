import Foundation
import Testing
@testable import Tokenizers

/// The SentencePiece models trained on the corpus by scripts/fixtures/sentencepiece_fixtures.py: their
/// converted tokenizer.json give what Hugging Face `tokenizers` gives (ids, tokens, offsets, decode), and the
/// `.model` files read directly give what the `sentencepiece` library gives (ids, tokens, decode), on every
/// corpus line.
@Suite struct SentencePieceTests {
    enum Model: String, CaseIterable {
        case unigramNFKC = "unigram-nfkc", unigramIdentity = "unigram-identity", bpeByteFallback = "bpe-bytefallback"
    }

    struct Expected: Decodable {
        struct Fast: Decodable {
            let ids: [[Int]]
            let offsets: [[Int]]
            let decoded: [String]
        }
        struct Slow: Decodable {
            let ids: [[Int]]
            let decoded: [String: String]
            let tokens: [String: [String]]
        }
        let fast: Fast
        let slow: Slow
    }

    static func expected(_ model: Model) throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("sentencepiece/expected-\(model.rawValue).json")))
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    @Test(arguments: Model.allCases)
    func tokenizerJSONMatchesHuggingFace(_ model: Model) throws {
        let tokenizer = try Tokenizer.fromFile(Fixtures.path("sentencepiece/\(model.rawValue)/tokenizer.json"))
        let expected = try Self.expected(model)
        #expect(expected.fast.ids.count == Fixtures.corpus.count)
        var failures: [String] = []
        for (i, line) in Fixtures.corpus.enumerated() {
            let encoding = try tokenizer.encode(line)
            let offsets = encoding.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
            if encoding.ids != expected.fast.ids[i] {
                failures.append("line \(i) \(line.debugDescription): ids \(encoding.ids) != \(expected.fast.ids[i])")
            } else if offsets != expected.fast.offsets[i] {
                failures.append("line \(i) \(line.debugDescription): offsets \(offsets) != \(expected.fast.offsets[i])")
            } else if encoding.tokens != encoding.ids.map({ tokenizer.token(for: $0) ?? "" }) {
                failures.append("line \(i): tokens \(encoding.tokens)")
            }
            let decoded = tokenizer.decode(expected.fast.ids[i])
            if decoded != expected.fast.decoded[i] {
                failures.append("line \(i): decoded \(decoded.debugDescription) != \(expected.fast.decoded[i].debugDescription)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) lines differ; first: \(failures.prefix(4))")
    }
}
