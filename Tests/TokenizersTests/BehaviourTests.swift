import Foundation
import Testing
@testable import Tokenizers

/// Details of HF's behaviour that the corpus covers only in passing.
@Suite struct BehaviourTests {
    static let gpt2 = try! Tokenizer.fromFile(Fixtures.path("bpe/gpt2/tokenizer.json"))
    static let roberta = try! Tokenizer.fromFile(Fixtures.path("bpe/roberta/tokenizer.json"))

    @Test func invalidUTF8DecodesAsHuggingFaceDoes() throws {
        let cases = Fixtures.expected("gpt2").invalid_utf8 ?? []
        #expect(cases.count > 10)
        for c in cases {
            #expect(Self.gpt2.decode(c.ids) == c.decoded, "bytes \(c.bytes)")
        }
    }

    @Test func byteLevelAlphabet() {
        #expect(ByteLevel.encode(Array(" hello\n".utf8)) == "Ġhello\u{10A}")
        #expect(ByteLevel.decode("Ġhello") == Array(" hello".utf8))
        #expect(Set(ByteLevel.byteToScalar).count == 256)
    }

    /// The GPT-2 pattern, piece by piece (the regex written by hand).
    @Test(arguments: [
        ("I'LL don't", ["I", "'", "LL", " don", "'t"]),
        ("a  b", ["a", " ", " b"]),
        ("a \t b", ["a", " \t", " b"]),
        ("x   ", ["x", "   "]),
        ("x\u{3000}y", ["x", "\u{3000}", "y"]),
        (" 123abc!!", [" 123", "abc", "!!"]),
        ("''s", ["''", "s"]),
        ("e\u{301}t\u{e9}", ["e", "\u{301}", "t\u{e9}"]),
    ])
    func gpt2Pattern(_ text: String, _ pieces: [String]) {
        var words: [Int] = []
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { ByteLevel.split($0, 0, $0.count, into: &words) }
        let split = stride(from: 0, to: words.count, by: 2).map {
            String(decoding: bytes[words[$0]..<words[$0 + 1]], as: UTF8.self)
        }
        #expect(split == pieces)
    }

    @Test func maskTakesTheSpaceBeforeIt() throws {
        let encoding = try Self.roberta.encode("hello <mask> world")
        let mask = try #require(Self.roberta.id(for: "<mask>"))
        #expect(encoding.ids.contains(mask))
        #expect(!encoding.ids.contains(try #require(Self.roberta.id(for: "Ġ"))))
        // HF: ['<s>', 'Ġhe', 'll', 'o', ' <mask>', 'Ġw', 'or', 'ld', '</s>'], offsets of <mask> (6, 12).
        #expect(encoding.tokens == ["<s>", "Ġhe", "ll", "o", " <mask>", "Ġw", "or", "ld", "</s>"])
        #expect(encoding.offsets[4] == 6..<12)
        // HF, truncated on the left to 5 then 6 tokens.
        var truncated = Self.roberta
        truncated.truncation = Truncation(maxLength: 5, direction: .left)
        #expect(try truncated.encode("hello <mask> world").tokens == ["<s>", "Ġw", "or", "ld", "</s>"])
        truncated.truncation = Truncation(maxLength: 6, direction: .left)
        #expect(try truncated.encode("hello <mask> world").tokens == ["<s>", " <mask>", "Ġw", "or", "ld", "</s>"])
    }

    @Test func offsetsAreUTF8ByteRanges() throws {
        var bert = try Tokenizer.fromFile(Fixtures.miniLM + "/tokenizer.json")
        bert.padding = nil
        let text = "Café 中文"
        let encoding = try bert.encode(text)
        let utf8 = Array(text.utf8)
        let pieces = encoding.offsets.map { String(decoding: utf8[$0], as: UTF8.self) }
        #expect(pieces == ["", "Café", "中", "文", ""])
        #expect(encoding.tokens == ["[CLS]", "cafe", "中", "文", "[SEP]"])
    }

    @Test func specialTokensAreNeverSplit() throws {
        var bert = try Tokenizer.fromFile(Fixtures.miniLM + "/tokenizer.json")
        bert.padding = nil
        let encoding = try bert.encode("a[MASK]b [mask]")
        #expect(encoding.tokens == ["[CLS]", "a", "[MASK]", "b", "[", "mask", "]", "[SEP]"])
        #expect(bert.decode(encoding.ids) == "a b [ mask ]")
        #expect(bert.decode(encoding.ids, skipSpecialTokens: false) == "[CLS] a [MASK] b [ mask ] [SEP]")
    }

    @Test func wordPieceDecoderCleansUpPerToken() {
        let decoder = TokenDecoder.wordPiece(prefix: "##", cleanup: true)
        #expect(decoder.decode(["hello", ",", "world", "!", "do", "n't", "it", "'s"]) == "hello, world! don't it's")
        #expect(decoder.decode(["un", "##believ", "##able", "."]) == "unbelievable.")
    }

    @Test func emptyInputs() throws {
        #expect(try Self.gpt2.encode("").ids.isEmpty)
        #expect(try Self.roberta.encode("").tokens == ["<s>", "</s>"])
        #expect(Self.gpt2.decode([]) == "")
        #expect(Self.gpt2.decode([-1, 1_000_000]) == "")
        #expect(try Self.gpt2.encodeBatch([]).isEmpty)
    }

    @Test func concurrentEncodingGivesTheSameIds() async throws {
        let lines = Array(Fixtures.corpus.prefix(400))
        let serial = try lines.map { try Self.gpt2.encode($0).ids }
        let parallel = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (i, line) in lines.enumerated() { group.addTask { (i, try Self.gpt2.encode(line).ids) } }
            var out = [[Int]](repeating: [], count: lines.count)
            for try await (i, ids) in group { out[i] = ids }
            return out
        }
        #expect(serial == parallel)
    }

    /// Seeded random text from every plane (controls, marks, emoji, unassigned and private-use scalars):
    /// no tokenizer traps, and byte-level BPE gives the text back.
    @Test func randomTextRoundTrips() throws {
        var generator = SplitMix(seed: 42)
        var bert = try Tokenizer.fromFile(Fixtures.miniLM + "/tokenizer.json")
        bert.padding = nil
        bert.truncation = nil
        for _ in 0..<300 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(generator.next() % 40) {
                let range: ClosedRange<UInt32> = [0...0x7F, 0x80...0x7FF, 0x800...0xFFFF, 0x10000...0x10FFFF][Int(generator.next() % 4)]
                if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &generator)) { scalars.append(scalar) }
            }
            let text = String(scalars)
            let ids = try Self.gpt2.encode(text).ids
            #expect(Self.gpt2.decode(ids, skipSpecialTokens: false) == text)
            _ = try Self.roberta.encodePair(text, text)
            let encoding = try bert.encode(text)
            #expect(encoding.offsets.allSatisfy { $0.upperBound <= text.utf8.count })
        }
    }

    /// A checkpoint directory loads from tokenizer.json, else vocab.txt + tokenizer_config.json, else
    /// vocab.json + merges.txt; each gives HF's ids.
    @Test func directoriesLoadWhicheverFilesTheyHold() throws {
        let expected = Fixtures.expected("minilm")
        let full = try Tokenizer.fromDirectory(Fixtures.miniLM)
        #expect(full.padding?.length == .fixed(128))
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("tokenizers-dir-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        for name in ["vocab.txt", "tokenizer_config.json"] {
            try fm.copyItem(atPath: Fixtures.miniLM + "/" + name, toPath: dir.appendingPathComponent(name).path)
        }
        let fromVocab = try Tokenizer.fromDirectory(dir.path)
        for i in 0..<200 { #expect(try fromVocab.encode(Fixtures.corpus[i]).ids == expected.single[i].ids) }

        let bpeDir = fm.temporaryDirectory.appendingPathComponent("tokenizers-bpe-\(UUID().uuidString)")
        try fm.createDirectory(at: bpeDir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: bpeDir) }
        for name in ["vocab.json", "merges.txt"] {
            try fm.copyItem(atPath: Fixtures.path("bpe/" + name), toPath: bpeDir.appendingPathComponent(name).path)
        }
        let gpt2 = Fixtures.expected("gpt2")
        let fromFiles = try Tokenizer.fromDirectory(bpeDir.path)
        for i in 0..<200 { #expect(try fromFiles.encode(Fixtures.corpus[i]).ids == gpt2.single[i].ids) }
        try Data(#"{"tokenizer_class": "RobertaTokenizer", "add_prefix_space": true}"#.utf8)
            .write(to: bpeDir.appendingPathComponent("tokenizer_config.json"))
        let roberta = Fixtures.expected("roberta")
        let robertaFromFiles = try Tokenizer.fromDirectory(bpeDir.path)
        for i in 0..<200 { #expect(try robertaFromFiles.encode(Fixtures.corpus[i]).ids == roberta.single[i].ids) }
    }
}
