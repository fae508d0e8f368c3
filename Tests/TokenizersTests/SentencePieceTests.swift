import Foundation
import Testing
@testable import Tokenizers

/// The SentencePiece models trained on the corpus by scripts/fixtures/sentencepiece_fixtures.py: their
/// converted tokenizer.json give what Hugging Face `tokenizers` gives (ids, tokens, offsets, decode), and the
/// `.model` files read directly give what the `sentencepiece` library gives (ids, tokens, decode), on every
/// corpus line.
@Suite struct SentencePieceTests {
    enum Model: String, CaseIterable {
        case unigramNFKC = "unigram-nfkc", unigramIdentity = "unigram-identity"
        case unigramByteFallback = "unigram-bytefallback", bpeByteFallback = "bpe-bytefallback"
    }

    struct Expected: Decodable {
        struct Fast: Decodable {
            let ids: [[Int]]
            let offsets: [[Int]]
            let decoded: [String]
        }
        struct Slow: Decodable {
            /// By line, where they differ from the fast ids without special tokens, mapped by spelling.
            let ids: [String: [Int]]
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

extension SentencePieceTests {
    @Test(arguments: Model.allCases)
    func modelFileMatchesSentencePiece(_ model: Model) throws {
        let tokenizer = try Tokenizer.fromSentencePieceModel(Fixtures.path("sentencepiece/\(model.rawValue).model"))
        let fast = try Tokenizer.fromFile(Fixtures.path("sentencepiece/\(model.rawValue)/tokenizer.json"))
        let expected = try Self.expected(model)
        #expect(expected.fast.ids.count == Fixtures.corpus.count)
        var failures: [String] = []
        for (i, line) in Fixtures.corpus.enumerated() {
            let encoding = try tokenizer.encode(line)
            let want = expected.slow.ids["\(i)"] ?? expected.fast.ids[i].filter { !fast.core.specialIds.contains($0) }
                .map { tokenizer.id(for: fast.token(for: $0) ?? "") ?? -1 }
            if encoding.ids != want {
                failures.append("line \(i) \(line.debugDescription): ids \(encoding.ids) != \(want)")
                continue
            }
            let pieces = expected.slow.tokens["\(i)"] ?? encoding.ids.map { tokenizer.token(for: $0) ?? "" }
            if encoding.tokens != pieces {
                failures.append("line \(i): tokens \(encoding.tokens) != \(pieces)")
            }
            let decoded = tokenizer.decode(encoding.ids)
            let wantText = expected.slow.decoded["\(i)"] ?? expected.fast.decoded[i]
            if decoded != wantText {
                failures.append("line \(i): decoded \(decoded.debugDescription) != \(wantText.debugDescription)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) lines differ; first: \(failures.prefix(4))")
    }
}

/// Malformed `.model` files are errors naming the file, never crashes.
@Suite struct MalformedModelFileTests {
    static let real = [UInt8](try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("sentencepiece/bpe-bytefallback.model"))))

    static func error(_ bytes: [UInt8]) -> TokenizerError? {
        do {
            _ = try Tokenizer(sentencePieceModel: bytes, file: "x.model")
            return nil
        } catch {
            return error
        }
    }

    @Test func truncatedFilesAreErrors() {
        var cuts = Array(stride(from: 0, to: Self.real.count, by: max(1, Self.real.count / 300)))
        cuts += [1, 2, 3, Self.real.count - 1]
        for cut in cuts {
            let e = Self.error(Array(Self.real[..<cut]))
            guard case let .notSentencePieceModel(file, _)? = e else {
                Issue.record("cut at \(cut): \(String(describing: e))")
                continue
            }
            #expect(file == "x.model")
        }
    }

    @Test func wrongWireTypesHugeLengthsAndNotProtobuf() {
        #expect(Self.error([0x08, 0x01])?.description == "x.model is not a SentencePiece model: field pieces has wire type 0, expected 2")
        #expect(Self.error([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])?.description
                == "x.model is not a SentencePiece model: field at byte 1 declares 4294967295 bytes, but 0 remain")
        #expect(Self.error([0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])?.description
                == "x.model is not a SentencePiece model: varint longer than 10 bytes at byte 1")
        #expect(Self.error(Array(#"{"model": {"type": "Unigram"}}"#.utf8))?.description
                == "x.model is not a SentencePiece model: unsupported wire type 3 at byte 0")
        #expect(Self.error([])?.description == "x.model is not a SentencePiece model: it has no pieces")
        // A piece whose score is a varint instead of a float.
        #expect(Self.error([0x0A, 0x05, 0x0A, 0x01, 0x61, 0x10, 0x01])?.description
                == "x.model is not a SentencePiece model: field pieces.score has wire type 0, expected 5")
        let tokenizerJSON = Fixtures.path("sentencepiece/unigram-identity/tokenizer.json")
        #expect(throws: TokenizerError.self) { try Tokenizer.fromSentencePieceModel(tokenizerJSON) }
    }

    @Test func randomMutationsLoadOrThrow() {
        var state: UInt64 = 0x5EED
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<200 {
            var bytes = Self.real
            for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            if let tokenizer = try? Tokenizer(sentencePieceModel: bytes, file: "x.model") {
                _ = try? tokenizer.encode("Hello wörld ☃ 中文 <mask>")
                _ = tokenizer.decode(Array(0..<50))
            }
        }
    }

    @Test func directoriesPickTokenizerJSONThenAModelFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Fixtures.path("sentencepiece/unigram-identity.model"), toPath: directory + "/spiece.model")
        let slow = try Tokenizer.fromDirectory(directory)
        #expect(try slow.encode("Hello world").ids == Tokenizer.fromSentencePieceModel(directory + "/spiece.model").encode("Hello world").ids)
        #expect(try slow.encode("Hello world").ids.last != 2)  // no </s>: the model file adds no special tokens
        try FileManager.default.copyItem(atPath: Fixtures.path("sentencepiece/unigram-identity/tokenizer.json"), toPath: directory + "/tokenizer.json")
        #expect(try Tokenizer.fromDirectory(directory).encode("Hello world").ids.last == 2)  // T5's `$A </s>`
    }
}

extension SentencePieceTests {
    struct VariantExpected: Decodable {
        let fast: Expected.Fast
        /// Corpus line numbers, or
        let lines: [Int]?
        /// the texts themselves.
        let texts: [String]?
    }

    /// Components the converters do not write (WhitespaceSplit before Metaspace, Lowercase, the older
    /// Metaspace add_prefix_space, Strip on both sides) on every 4th corpus line; and the Unicode normalizers
    /// (ALBERT's NFKD + StripAccents chain, NFD + StripAccents, NFKD, NFC, NFKC) on the texts where
    /// normalization changes something, with their offsets.
    @Test(arguments: ["wsplit-lowercase", "old-metaspace", "albert", "nfd-strip-accents", "nfkd", "nfc", "nfkc"])
    func variantsMatchHuggingFace(_ name: String) throws {
        let tokenizer = try Tokenizer.fromFile(Fixtures.path("sentencepiece/\(name)/tokenizer.json"))
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("sentencepiece/expected-\(name).json")))
        let expected = try JSONDecoder().decode(VariantExpected.self, from: data)
        var texts: [String] = []
        var labels: [String] = []
        if let given = expected.texts {
            #expect(given.count >= 1_000)
            texts = given
            labels = given.indices.map { (i: Int) -> String in "text \(i)" }
        } else {
            let lines: [Int] = expected.lines ?? []
            #expect(lines.count == (Fixtures.corpus.count + 3) / 4)
            texts = lines.map { (i: Int) -> String in Fixtures.corpus[i] }
            labels = lines.map { (i: Int) -> String in "line \(i)" }
        }
        #expect(texts.count == expected.fast.ids.count)
        var failures: [String] = []
        for k in 0..<min(texts.count, expected.fast.ids.count) {
            let line = texts[k], label = labels[k]
            let encoding = try tokenizer.encode(line)
            let offsets = encoding.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
            if encoding.ids != expected.fast.ids[k] {
                failures.append("\(label) \(line.debugDescription): ids \(encoding.ids) != \(expected.fast.ids[k])")
            } else if offsets != expected.fast.offsets[k] {
                failures.append("\(label) \(line.debugDescription): offsets \(offsets) != \(expected.fast.offsets[k])")
            }
            let decoded = tokenizer.decode(expected.fast.ids[k])
            if decoded != expected.fast.decoded[k] {
                failures.append("\(label): decoded \(decoded.debugDescription) != \(expected.fast.decoded[k].debugDescription)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) lines differ; first: \(failures.prefix(4))")
    }
}
