import Foundation
import Testing
@testable import Tokenizers

/// Broken or unsupported tokenizer files give a `TokenizerError` naming the file and the field or
/// component, never a crash.
@Suite struct MalformedFileTests {
    /// A minimal valid WordPiece tokenizer.json with `patch` applied to its top-level members.
    static func wordPieceJSON(_ patch: [String: String] = [:]) -> String {
        var members: [String: String] = [
            "version": "\"1.0\"",
            "normalizer": #"{"type": "BertNormalizer", "lowercase": true}"#,
            "pre_tokenizer": #"{"type": "BertPreTokenizer"}"#,
            "model": ###"{"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "hello": 1, "##s": 2}}"###,
            "decoder": #"{"type": "WordPiece"}"#,
        ]
        for (k, v) in patch { members[k] = v }
        return "{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    static func load(_ json: String) throws(TokenizerError) -> Tokenizer {
        try Tokenizer(tokenizerJSON: Array(json.utf8))
    }

    static func error(_ json: String) -> TokenizerError? {
        do { _ = try load(json); return nil } catch { return error }
    }

    @Test func theMinimalFileLoads() throws {
        let tokenizer = try Self.load(Self.wordPieceJSON())
        #expect(try tokenizer.encode("Hellos HELLO x").ids == [1, 2, 1, 0])
    }

    /// Found by the tokenizer.json fuzzer: an added token re-using a vocabulary token's spelling with a
    /// smaller id left the largest vocabulary id outside the id → spelling table (an index trap).
    @Test func addedTokenRemappingAVocabularySpellingLoads() throws {
        let tokenizer = try Self.load(Self.wordPieceJSON(["added_tokens": ###"[{"id": 1, "content": "##s"}]"###]))
        #expect(try tokenizer.encode("Hellos").ids == [1, 2])
        #expect(tokenizer.token(for: 2) == "##s")
        _ = tokenizer.decode([0, 1, 2, 3])
    }

    @Test func badJSONNamesThePosition() {
        for text in ["", "{", "{\"model\": }", "[1, 2", "{\"a\": tru}", "{\"a\": \"\\u12\"}", "{} x", "\u{FEFF}{}"] {
            guard case let .invalidJSON(file, reason)? = Self.error(text) else {
                Issue.record("no invalidJSON for \(text.debugDescription)")
                continue
            }
            #expect(file == "tokenizer.json")
            #expect(reason.contains("at byte"))
        }
    }

    @Test func aTokenTwiceInTheVocabularyIsAnError() {
        let e = Self.error(Self.wordPieceJSON(["model": #"{"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "[UNK]": 2}}"#]))
        guard case let .invalidField(file, field, reason)? = e else { Issue.record("\(String(describing: e))"); return }
        #expect(file == "tokenizer.json" && field == "model.vocab" && reason.hasPrefix(#"has the key "[UNK]" twice"#))
    }

    @Test func deepNestingIsAnErrorNotAStackOverflow() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        guard case let .invalidJSON(_, reason)? = Self.error(text) else { Issue.record("accepted"); return }
        #expect(reason.contains("nesting"))
    }

    @Test func missingModel() {
        let text = Self.wordPieceJSON().replacingOccurrences(of: "\"model\":", with: "\"modle\":")
        #expect(Self.error(text) == .missingField(file: "tokenizer.json", field: "model"))
    }

    @Test func unknownModelType() {
        let e = Self.error(Self.wordPieceJSON(["model": #"{"type": "WordLevel", "vocab": {}}"#]))
        #expect(e == .unsupported(file: "tokenizer.json", component: "model type", detail: "'WordLevel'"))
        #expect(e?.description == "tokenizer.json: model type 'WordLevel' is not supported")
        let unigram = Self.error(Self.wordPieceJSON(["model": #"{"type": "Unigram", "vocab": {}}"#]))
        #expect(unigram?.description == "tokenizer.json: field 'model.vocab' must be an array of [piece, score], got an object")
    }

    @Test func unsupportedNormalizerAndPreTokenizer() {
        let n = Self.error(Self.wordPieceJSON(["normalizer": #"{"type": "Nmt"}"#]))
        #expect(n?.description == "tokenizer.json: normalizer type 'Nmt' is not supported")
        let p = Self.error(Self.wordPieceJSON(["pre_tokenizer": #"{"type": "Digits"}"#]))
        #expect(p?.description == "tokenizer.json: pre_tokenizer type 'Digits' is not supported")
        let d = Self.error(Self.wordPieceJSON(["decoder": #"{"type": "CTC"}"#]))
        #expect(d?.description == "tokenizer.json: decoder type 'CTC' is not supported")
        let inSequence = Self.error(Self.wordPieceJSON(["decoder": #"{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "ByteLevel"}]}"#]))
        #expect(inSequence?.description == "tokenizer.json: decoder type 'ByteLevel' inside a Sequence is not supported")
        let regex = Self.error(Self.wordPieceJSON(["normalizer": #"{"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}"#]))
        #expect(regex?.description == #"tokenizer.json: Replace regex '\s+' is not supported"#)
        let metaspace = Self.error(Self.wordPieceJSON(["pre_tokenizer": #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}"#]))
        #expect(metaspace?.description == "tokenizer.json: field 'pre_tokenizer.prepend_scheme' must be always, first or never")
        let pp = Self.error(Self.wordPieceJSON(["post_processor": #"{"type": "Sequence", "processors": []}"#]))
        #expect(pp?.description == "tokenizer.json: post_processor type 'Sequence' is not supported")
    }

    @Test func wrongFieldTypes() {
        let e = Self.error(Self.wordPieceJSON(["model": #"{"type": "WordPiece", "vocab": {"[UNK]": "zero"}}"#]))
        #expect(e == .invalidField(file: "tokenizer.json", field: "model.vocab[\"[UNK]\"]",
                                   reason: "must be an integer, got \"zero\""))
        let negative = Self.error(Self.wordPieceJSON(["model": #"{"type": "WordPiece", "vocab": {"[UNK]": -4}}"#]))
        #expect(negative?.description.contains("impossible id") == true)
        let addedWithoutId = Self.error(Self.wordPieceJSON(["added_tokens": #"[{"content": "[X]"}]"#]))
        #expect(addedWithoutId == .missingField(file: "tokenizer.json", field: "added_tokens[0].id"))
        #expect(Self.error("[]") == .invalidField(file: "tokenizer.json", field: "(document)", reason: "must be an object, got an array"))
    }

    @Test func impossiblePaddingIsAnError() throws {
        let huge = Self.error(Self.wordPieceJSON(["padding": #"{"strategy": {"Fixed": 100000000000}}"#]))
        #expect(huge?.description.contains("impossible length") == true)
        let fixed = try Self.load(Self.wordPieceJSON(["padding": #"{"strategy": {"Fixed": 4}, "direction": "Left"}"#]))
        #expect(try fixed.encode("hello").ids == [0, 0, 0, 1])
        let bad = Self.error(Self.wordPieceJSON(["truncation": #"{"max_length": 8, "strategy": "Sideways"}"#]))
        #expect(bad?.description == "tokenizer.json: truncation strategy 'Sideways' is not supported")
    }

    @Test func unknownTokenForWordPiece() {
        let e = Self.error(Self.wordPieceJSON(["model": #"{"type": "WordPiece", "unk_token": "<unk>", "vocab": {"a": 0}}"#]))
        #expect(e == .unknownToken(file: "tokenizer.json", field: "unk_token", token: "<unk>"))
    }

    static func bpeJSON(merges: String, preTokenizer: String = #"{"type": "ByteLevel", "add_prefix_space": false}"#) -> String {
        #"{"pre_tokenizer": \#(preTokenizer), "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": \#(merges)}}"#
    }

    @Test func mergesReferencingUnknownTokens() throws {
        #expect(try Self.load(Self.bpeJSON(merges: #"["a b"]"#)).encode("abba").ids == [2, 1, 0])
        #expect(try Self.load(Self.bpeJSON(merges: #"[["a", "b"]]"#)).encode("ab").ids == [2])
        #expect(Self.error(Self.bpeJSON(merges: #"["a c"]"#))
                == .unknownToken(file: "tokenizer.json", field: "merges[0]", token: "c"))
        #expect(Self.error(Self.bpeJSON(merges: #"["a b", "b a"]"#))
                == .unknownToken(file: "tokenizer.json", field: "merges[1]", token: "ba"))
        #expect(Self.error(Self.bpeJSON(merges: #"["a b c"]"#))?.description
                == "tokenizer.json: field 'model.merges[0]' must be two tokens separated by one space")
        #expect(Self.error(Self.bpeJSON(merges: #"[["a"]]"#)) != nil)
    }

    @Test func bpeRefusesTheBertPreTokenizer() {
        let e = Self.error(Self.bpeJSON(merges: "[]", preTokenizer: #"{"type": "BertPreTokenizer"}"#))
        #expect(e?.description == "tokenizer.json: model BPE with a BertPreTokenizer is not supported")
    }

    @Test func missingFiles() throws {
        let missing = "/nonexistent/tokenizer.json"
        #expect(throws: TokenizerError.unreadableFile(path: missing, reason: "no such file")) {
            try Tokenizer.fromFile(missing)
        }
        #expect(throws: TokenizerError.unreadableFile(path: "/nonexistent/vocab.txt", reason: "no such file")) {
            try Tokenizer.fromWordPieceVocabulary("/nonexistent/vocab.txt")
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer.fromBPEFiles(vocabulary: Fixtures.path("bpe/vocab.json"), merges: "/nonexistent/merges.txt")
        }
        #expect(throws: TokenizerError.noTokenizerFiles(directory: Fixtures.directory)) {
            try Tokenizer.fromDirectory(Fixtures.directory)
        }
    }

    @Test func malformedVocabularyFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocab = dir.appendingPathComponent("vocab.json").path
        let merges = dir.appendingPathComponent("merges.txt").path
        try Data(#"{"a": 0, "b": 1, "ab": 2}"#.utf8).write(to: URL(fileURLWithPath: vocab))
        try Data("#version: 0.2\na b\n".utf8).write(to: URL(fileURLWithPath: merges))
        #expect(try Tokenizer.fromBPEFiles(vocabulary: vocab, merges: merges).encode("ab").ids == [2])
        try Data("#version: 0.2\na x\n".utf8).write(to: URL(fileURLWithPath: merges))
        #expect(throws: TokenizerError.unknownToken(file: "merges.txt", field: "merges[0]", token: "x")) {
            try Tokenizer.fromBPEFiles(vocabulary: vocab, merges: merges)
        }
        try Data("a b c\n".utf8).write(to: URL(fileURLWithPath: merges))
        #expect(throws: TokenizerError.self) { try Tokenizer.fromBPEFiles(vocabulary: vocab, merges: merges) }
        try Data(#"{"a": 0"#.utf8).write(to: URL(fileURLWithPath: vocab))
        #expect(throws: TokenizerError.self) { try Tokenizer.fromBPEFiles(vocabulary: vocab, merges: merges) }
        let txt = dir.appendingPathComponent("vocab.txt").path
        try Data("hello\nworld\n".utf8).write(to: URL(fileURLWithPath: txt))
        #expect(throws: TokenizerError.unknownToken(file: "vocab.txt", field: "unk_token", token: "[UNK]")) {
            try Tokenizer.fromWordPieceVocabulary(txt)
        }
        try Data([0x5B, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: txt))
        #expect(throws: TokenizerError.self) { try Tokenizer.fromWordPieceVocabulary(txt) }
    }

    /// Issue #21: a CRLF vocab.txt was read as one line ("\r\n" is one Character), so loading it said
    /// "[UNK]" was missing; a token on two lines kept its first id where transformers and the
    /// tokenizers crate keep the last. A FIFO is refused instead of blocking the read.
    @Test func vocabularyLinesAsHuggingFaceReadsThem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let txt = dir.appendingPathComponent("vocab.txt").path
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s"]
        try Data(tokens.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: txt))
        let lf = try Tokenizer.fromWordPieceVocabulary(txt).encode("hello worlds").ids
        #expect(lf == [2, 4, 5, 6, 3])
        try Data((tokens.joined(separator: "\r\n") + "\r\n").utf8).write(to: URL(fileURLWithPath: txt))
        #expect(try Tokenizer.fromWordPieceVocabulary(txt).encode("hello worlds").ids == lf)
        try Data((tokens + ["hello"]).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: txt))
        let duplicate = try Tokenizer.fromWordPieceVocabulary(txt)
        #expect(try duplicate.encode("hello").ids == [2, 7, 3], "the later line's id, as load_vocab gives")
        let fifo = dir.appendingPathComponent("fifo.txt").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: TokenizerError.unreadableFile(path: fifo, reason: "not a regular file (a FIFO)")) {
            try Tokenizer.fromWordPieceVocabulary(fifo)
        }
    }

    @Test func truncationThatCannotHoldIsAnError() throws {
        var tokenizer = try Self.load(Self.wordPieceJSON())
        tokenizer.truncation = Truncation(maxLength: 1, strategy: .onlySecond)
        #expect(throws: TokenizerError.self) { try tokenizer.encode("hello hello") }
        tokenizer.truncation = Truncation(maxLength: 1, strategy: .onlyFirst)
        #expect(throws: TokenizerError.self) { try tokenizer.encodePair("hello", "hello hello") }
    }

    /// Seeded random damage to a real tokenizer.json: every variant loads or throws, none traps.
    @Test func mutatedFilesNeverCrash() throws {
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bpe/roberta/tokenizer.json"))))
        var generator = SplitMix(seed: 7)
        var loaded = 0, rejected = 0
        for _ in 0..<60 {
            var bytes = original
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let i = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.remove(at: i)
                default: bytes.removeSubrange(i..<min(bytes.count, i + Int(generator.next() % 64)))
                }
            }
            do {
                let tokenizer = try Tokenizer(tokenizerJSON: bytes)
                _ = try? tokenizer.encodePair("Hello <mask> wörld", "second 中文 text")
                loaded += 1
            } catch {
                rejected += 1
            }
        }
        #expect(loaded + rejected == 60)
        #expect(rejected > 0)
    }
}

/// A small seeded generator (SplitMix64), so that the random tests are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
