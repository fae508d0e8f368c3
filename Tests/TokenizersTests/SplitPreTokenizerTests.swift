import Foundation
import Testing
@testable import Tokenizers

/// Byte-level BPE behind a Split pre-tokenizer with Qwen2's and Llama 3's regexes and an NFC
/// normalizer (`scripts/fixtures/decoder_tokenizers_fixtures.py`): ids, offsets and decodes identical
/// to Hugging Face `tokenizers` on every corpus line.
@Suite struct SplitPreTokenizerTests {
    static func expected(_ name: String) throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("expected-split-\(name).json"))))
    }

    @Test(arguments: ["qwen2", "llama3"])
    func corpusMatchesHuggingFace(_ name: String) throws {
        let tokenizer = try Tokenizer.fromFile(Fixtures.path("split/\(name)/tokenizer.json"))
        let expected = try Self.expected(name)
        #expect(expected.single.count == Fixtures.corpus.count)
        var failures: [String] = [], decodeFailures: [String] = []
        for (i, line) in Fixtures.corpus.enumerated() {
            let encoding = try tokenizer.encode(line)
            if let d = difference(encoding, expected.single[i], texts: [line], full: false) {
                failures.append("line \(i) \(line.debugDescription): \(d)")
            }
            let decoded = tokenizer.decode(expected.single[i].ids ?? [])
            if decoded != expected.decoded[i] { decodeFailures.append("line \(i): \(decoded.debugDescription)") }
        }
        #expect(failures.isEmpty, "\(name): \(failures.count) lines differ; first: \(failures.prefix(3))")
        #expect(decodeFailures.isEmpty, "\(name): \(decodeFailures.count) decodes differ; first: \(decodeFailures.prefix(3))")
    }

    /// The scanner on the pattern's corner cases: contractions in any case, one letter-run prefix,
    /// digit runs, punctuation with trailing newlines, whitespace before newlines and before words.
    @Test func pieces() throws {
        func pieces(_ text: String, digits: Int = 1) -> [String] {
            let rule = SplitRule(pattern: .wordsAndDigits(maxDigits: digits), behavior: .isolated, invert: false)
            var words: [Int] = []
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { rule.split($0, 0, $0.count, into: &words) }
            return stride(from: 0, to: words.count, by: 2).map { String(decoding: bytes[words[$0]..<words[$0 + 1]], as: UTF8.self) }
        }
        #expect(pieces("I'LL don't 'Re") == ["I", "'LL", " don", "'t", " '", "Re"])
        #expect(pieces("12345 abc", digits: 3) == ["123", "45", " abc"])
        #expect(pieces("12 a") == ["1", "2", " a"])
        #expect(pieces("x!!\n\ny  \n z   w") == ["x", "!!\n\n", "y", "  \n", " z", "  ", " w"])
        #expect(pieces("a\t\tb ") == ["a", "\t", "\tb", " "])
    }

    /// NFC composes marks with their base, conjoining Hangul jamo and Indic vowel signs with the
    /// starter before them, and a singleton (Ångström sign) to its canonical form.
    @Test func nfcComposes() throws {
        let tokenizer = try Tokenizer.fromFile(Fixtures.path("split/qwen2/tokenizer.json"))
        for (decomposed, composed) in [("e\u{301}cole", "\u{E9}cole"), ("\u{1100}\u{1161}\u{11A8}", "\u{AC01}"),
                                       ("\u{0B47}\u{0B3E}", "\u{0B4B}"), ("\u{212B}", "\u{C5}"), ("o\u{308}\u{304}", "\u{22B}")] {
            #expect(try tokenizer.encode(decomposed).ids == tokenizer.encode(composed).ids, "\(composed)")
        }
    }

    @Test func unsupportedRegexIsNamed() throws {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "Isolated", "invert": false}}"#
        #expect { _ = try Tokenizer(tokenizerJSON: Array(json.utf8)) } throws: { "\($0)".contains("\\d+") }
        let badBehavior = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}}"#
        #expect { _ = try Tokenizer(tokenizerJSON: Array(badBehavior.utf8)) } throws: { "\($0)".contains("behavior") }
    }

    /// Split on a literal with each behavior, as split.rs folds the pieces.
    @Test func behaviors() throws {
        func pieces(_ behavior: SplitRule.Behavior, invert: Bool = false) -> [String] {
            let rule = SplitRule(pattern: .literal(Array("-".utf8)), behavior: behavior, invert: invert)
            var words: [Int] = []
            let bytes = Array("a-b--c-".utf8)
            bytes.withUnsafeBufferPointer { rule.split($0, 0, $0.count, into: &words) }
            return stride(from: 0, to: words.count, by: 2).map { String(decoding: bytes[words[$0]..<words[$0 + 1]], as: UTF8.self) }
        }
        #expect(pieces(.removed) == ["a", "b", "c"])
        #expect(pieces(.isolated) == ["a", "-", "b", "-", "-", "c", "-"])
        #expect(pieces(.mergedWithPrevious) == ["a-", "b-", "-", "c-"])
        #expect(pieces(.mergedWithNext) == ["a", "-b", "-", "-c", "-"])
        #expect(pieces(.contiguous) == ["a", "-", "b", "--", "c", "-"])
        #expect(pieces(.removed, invert: true) == ["-", "-", "-", "-"])
    }

    /// Llama's SentencePiece BPE with byte fallback in the tokenizer.json layout transformers 5 writes
    /// (Metaspace with prepend_scheme "first", no normalizer), on every 4th corpus line.
    @Test func llamaV5LayoutMatchesHuggingFace() throws {
        struct Indexed: Decodable { let line_indices: [Int] }
        let url = URL(fileURLWithPath: Fixtures.path("sentencepiece/expected-llama-v5.json"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
        let indices = try JSONDecoder().decode(Indexed.self, from: Data(contentsOf: url)).line_indices
        let tokenizer = try Tokenizer.fromFile(Fixtures.path("sentencepiece/llama-v5/tokenizer.json"))
        var failures: [String] = []
        for (k, i) in indices.enumerated() {
            let line = Fixtures.corpus[i]
            if let d = difference(try tokenizer.encode(line), expected.single[k], texts: [line], full: false) {
                failures.append("line \(i) \(line.debugDescription): \(d)")
            }
            let decoded = tokenizer.decode(expected.single[k].ids ?? [])
            if decoded != expected.decoded[k] { failures.append("line \(i) decode: \(decoded.debugDescription)") }
        }
        #expect(indices.count == 700 && failures.isEmpty, "\(failures.count) differ; first: \(failures.prefix(3))")
    }
}
