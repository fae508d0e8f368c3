import Foundation
import Testing
@testable import Tokenizers

/// Ids, offsets, masks and decode outputs identical to Hugging Face `tokenizers` on every corpus line, for
/// the real MiniLM WordPiece tokenizer and for both configurations of the byte-level BPE trained on the
/// corpus.
@Suite struct CorpusTests {
    enum Reference: String, CaseIterable {
        case minilm, gpt2, roberta

        func tokenizer() throws -> Tokenizer {
            switch self {
            case .minilm:
                var t = try Tokenizer.fromFile(Fixtures.miniLM + "/tokenizer.json")
                t.truncation = nil
                t.padding = nil
                return t
            case .gpt2: return try Tokenizer.fromFile(Fixtures.path("bpe/gpt2/tokenizer.json"))
            case .roberta: return try Tokenizer.fromFile(Fixtures.path("bpe/roberta/tokenizer.json"))
            }
        }

        var pad: (id: Int, token: String) {
            switch self {
            case .minilm: return (0, "[PAD]")
            case .gpt2: return (0, "<|endoftext|>")
            case .roberta: return (2, "<pad>")
            }
        }
    }

    @Test(arguments: Reference.allCases)
    func singleTextsMatchHuggingFace(_ reference: Reference) throws {
        let tokenizer = try reference.tokenizer()
        let expected = Fixtures.expected(reference.rawValue)
        #expect(expected.single.count == Fixtures.corpus.count)
        #expect(Fixtures.corpus.count >= 2000)
        var failures: [String] = []
        for (i, line) in Fixtures.corpus.enumerated() {
            let encoding = try tokenizer.encode(line)
            if let d = difference(encoding, expected.single[i], texts: [line], full: false) {
                failures.append("line \(i) \(line.debugDescription): \(d)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) lines differ; first: \(failures.prefix(3))")
    }

    @Test(arguments: Reference.allCases)
    func decodingMatchesHuggingFace(_ reference: Reference) throws {
        let tokenizer = try reference.tokenizer()
        let expected = Fixtures.expected(reference.rawValue)
        var failures: [String] = []
        for (i, record) in expected.single.enumerated() {
            let ids = record.ids ?? []
            let decoded = tokenizer.decode(ids)
            if decoded != expected.decoded[i] {
                failures.append("line \(i): \(decoded.debugDescription) != \(expected.decoded[i].debugDescription)")
            }
            if i < expected.decoded_with_special.count {
                let withSpecial = tokenizer.decode(ids, skipSpecialTokens: false)
                if withSpecial != expected.decoded_with_special[i] {
                    failures.append("line \(i) with special tokens: \(withSpecial.debugDescription)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) decodes differ; first: \(failures.prefix(3))")
    }

    @Test(arguments: Reference.allCases)
    func pairsTruncationAndPaddingMatchHuggingFace(_ reference: Reference) throws {
        let base = try reference.tokenizer()
        let expected = Fixtures.expected(reference.rawValue)
        for variant in expected.variants {
            var tokenizer = base
            if let t = variant.truncation {
                let strategies: [String: Truncation.Strategy] = [
                    "longest_first": .longestFirst, "only_first": .onlyFirst, "only_second": .onlySecond]
                tokenizer.truncation = Truncation(maxLength: t.max_length, strategy: strategies[t.strategy]!)
            }
            if let p = variant.padding {
                tokenizer.padding = Padding(length: p.length.map { .fixed($0) } ?? .longest,
                                            direction: p.direction == "left" ? .left : .right,
                                            padToMultipleOf: p.pad_to_multiple_of, padId: reference.pad.id,
                                            padToken: reference.pad.token)
            }
            let pairs = Fixtures.pairs(variant.pair_count)
            let size = variant.padding != nil && variant.padding?.length == nil ? 8 : 1
            var results: [Result<Encoding, TokenizerError>] = []
            for start in stride(from: 0, to: pairs.count, by: size) {
                let batch = Array(pairs[start..<min(start + size, pairs.count)])
                do {
                    let encodings = variant.single == true
                        ? try tokenizer.encodeBatch(batch.map(\.0)) : try tokenizer.encodeBatch(pairs: batch)
                    results += encodings.map { .success($0) }
                } catch {
                    results += batch.map { _ in .failure(error) }
                }
            }
            var failures: [String] = []
            for (i, (result, record)) in zip(results, variant.results).enumerated() {
                switch result {
                case let .success(encoding):
                    if record.error != nil {
                        failures.append("pair \(i): HF fails, we give \(encoding.ids)")
                    } else if let d = difference(encoding, record, texts: variant.single == true ? [pairs[i].0] : [pairs[i].0, pairs[i].1], full: true) {
                        failures.append("pair \(i): \(d)")
                    }
                case let .failure(error):
                    if record.error == nil { failures.append("pair \(i): \(error)") }
                }
            }
            #expect(failures.isEmpty, "\(variant.name): \(failures.count) differ; first: \(failures.prefix(2))")
        }
    }

    @Test func miniLMFileDefaultsTruncateAndPadTo128() throws {
        let tokenizer = try Tokenizer.fromFile(Fixtures.miniLM + "/tokenizer.json")
        #expect(tokenizer.truncation == Truncation(maxLength: 128))
        #expect(tokenizer.padding?.length == .fixed(128))
        let expected = Fixtures.expected("minilm").file_defaults ?? []
        #expect(expected.count == 40)
        for (i, record) in expected.enumerated() {
            let encoding = try tokenizer.encode(Fixtures.corpus[i])
            #expect(difference(encoding, record, texts: [Fixtures.corpus[i]], full: true) == nil, "line \(i)")
        }
    }

    @Test func byteLevelRoundTripsTheWholeCorpus() throws {
        let tokenizer = try Reference.gpt2.tokenizer()
        var failures: [Int] = []
        for (i, line) in Fixtures.corpus.enumerated() {
            let ids = try tokenizer.encode(line).ids
            if tokenizer.decode(ids, skipSpecialTokens: false) != line { failures.append(i) }
        }
        #expect(failures.isEmpty, "lines that do not round trip: \(failures.prefix(10))")
    }

    @Test func vocabularyFilesGiveTheSameIdsAsTokenizerJSON() throws {
        let loaded: [(Tokenizer, Reference)] = [
            (try Tokenizer.fromWordPieceVocabulary(Fixtures.miniLM + "/vocab.txt"), .minilm),
            (try Tokenizer.fromBPEFiles(vocabulary: Fixtures.path("bpe/vocab.json"),
                                        merges: Fixtures.path("bpe/merges.txt")), .gpt2),
            (try Tokenizer.fromBPEFiles(vocabulary: Fixtures.path("bpe/vocab.json"),
                                        merges: Fixtures.path("bpe/merges.txt"), style: .roberta,
                                        addPrefixSpace: true), .roberta),
        ]
        for (tokenizer, reference) in loaded {
            let expected = Fixtures.expected(reference.rawValue)
            var failures: [Int] = []
            for (i, line) in Fixtures.corpus.enumerated() where try tokenizer.encode(line).ids != expected.single[i].ids {
                failures.append(i)
            }
            #expect(failures.isEmpty, "\(reference): lines \(failures.prefix(5)) differ")
        }
    }
}

/// Ids identical to HF on seeded random strings over every Unicode plane (see expected-random.json).
@Suite struct RandomTextTests {
    struct RandomExpected: Decodable {
        let texts: [String]
        let minilm: [[Int]]
        let gpt2: [[Int]]
        let roberta: [[Int]]
    }

    @Test func randomStringsMatchHuggingFace() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("expected-random.json")))
        let expected = try JSONDecoder().decode(RandomExpected.self, from: data)
        let references: [(CorpusTests.Reference, [[Int]])] = [
            (.minilm, expected.minilm), (.gpt2, expected.gpt2), (.roberta, expected.roberta)]
        for (reference, ids) in references {
            let tokenizer = try reference.tokenizer()
            var failures: [String] = []
            for (i, text) in expected.texts.enumerated() where try tokenizer.encode(text).ids != ids[i] {
                failures.append("\(i): \(text.unicodeScalars.map { String($0.value, radix: 16) })")
            }
            #expect(failures.isEmpty, "\(reference): \(failures.count) differ; first: \(failures.prefix(3))")
        }
    }
}

/// The MiniLM vocabulary under other BertNormalizer settings (cased, accents kept, no CJK spacing, no
/// clean-up), against HF on every 6th corpus line (expected-bert-variants.json).
@Suite struct BertNormalizerVariantTests {
    struct Variants: Decodable {
        struct Variant: Decodable {
            struct Options: Decodable {
                let clean_text: Bool
                let handle_chinese_chars: Bool
                let strip_accents: Bool?
                let lowercase: Bool
            }
            let normalizer: Options
            let ids: [[Int]]
        }
        let variants: [String: Variant]
    }

    @Test func normalizerOptionsMatchHuggingFace() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("expected-bert-variants.json")))
        let expected = try JSONDecoder().decode(Variants.self, from: data)
        #expect(expected.variants.count == 4)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.miniLM + "/tokenizer.json")))
        let lines = stride(from: 0, to: Fixtures.corpus.count, by: 6).map { Fixtures.corpus[$0] }
        for (name, variant) in expected.variants.sorted(by: { $0.key < $1.key }) {
            let o = variant.normalizer
            let json = String(decoding: original, as: UTF8.self).replacingOccurrences(
                of: #""normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}"#,
                with: #""normalizer":{"type":"BertNormalizer","clean_text":\#(o.clean_text),"handle_chinese_chars":\#(o.handle_chinese_chars),"strip_accents":\#(o.strip_accents.map(String.init) ?? "null"),"lowercase":\#(o.lowercase)}"#)
            #expect(json.utf8.count != original.count, "\(name): the normalizer was not replaced")
            var tokenizer = try Tokenizer(tokenizerJSON: Array(json.utf8))
            tokenizer.padding = nil
            tokenizer.truncation = nil
            var failures: [Int] = []
            for (i, line) in lines.enumerated() where try tokenizer.encode(line).ids != variant.ids[i] { failures.append(i * 6) }
            #expect(failures.isEmpty, "\(name): lines \(failures.prefix(5)) differ")
            if name == "cased" {
                let fromVocab = try Tokenizer.fromWordPieceVocabulary(Fixtures.miniLM + "/vocab.txt", lowercase: false)
                for (i, line) in lines.enumerated().prefix(100) {
                    #expect(try fromVocab.encode(line).ids == variant.ids[i], "vocab.txt, cased, line \(i * 6)")
                }
            }
        }
    }
}
