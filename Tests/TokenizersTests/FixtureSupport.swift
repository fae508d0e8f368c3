import Foundation
@testable import Tokenizers

/// The committed fixtures (see Fixtures/README.md) and the MiniLM checkpoint fetched by
/// scripts/fetch-minilm.sh.
enum Fixtures {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    /// The repository root: three levels above this file.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static let miniLM = repositoryRoot + "/.models/all-MiniLM-L6-v2"

    static func path(_ name: String) -> String { directory + "/" + name }

    struct Corpus: Decodable { let lines: [String] }

    static let corpus: [String] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: path("corpus.json")))
        return try! JSONDecoder().decode(Corpus.self, from: data).lines
    }()

    /// expected-NAME.json, decoded once per test process.
    static func expected(_ name: String) -> Expected {
        switch name {
        case "minilm": return expectedMiniLM
        case "gpt2": return expectedGPT2
        case "roberta": return expectedRoBERTa
        default: preconditionFailure("no fixture expected-\(name).json")
        }
    }

    private static let expectedMiniLM = load("minilm")
    private static let expectedGPT2 = load("gpt2")
    private static let expectedRoBERTa = load("roberta")

    private static func load(_ name: String) -> Expected {
        let data = try! Data(contentsOf: URL(fileURLWithPath: path("expected-\(name).json")))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }

    /// The pairs the variants were computed on: lines (0, 1), (2, 3), …
    static func pairs(_ count: Int) -> [(String, String)] {
        (0..<count).map { (corpus[2 * $0], corpus[2 * $0 + 1]) }
    }
}

/// One expected-*.json file.
struct Expected: Decodable {
    struct Record: Decodable {
        let ids: [Int]?
        let offsets: [Int]?
        let type_ids: [Int]?
        let attention_mask: [Int]?
        let special_tokens_mask: [Int]?
        let error: String?
    }

    struct TruncationSpec: Decodable {
        let max_length: Int
        let strategy: String
    }

    struct PaddingSpec: Decodable {
        let length: Int?
        let direction: String
        let pad_to_multiple_of: Int?
    }

    struct Variant: Decodable {
        let name: String
        let truncation: TruncationSpec?
        let padding: PaddingSpec?
        let single: Bool?
        let pair_count: Int
        let results: [Record]
    }

    let single: [Record]
    let decoded: [String]
    let decoded_with_special: [String]
    let variants: [Variant]
    let file_defaults: [Record]?
    let invalid_utf8: [InvalidUTF8]?

    struct InvalidUTF8: Decodable {
        let bytes: [UInt8]
        let ids: [Int]
        let decoded: String
    }
}

/// For each UTF-8 byte offset of `text` (and its end), the index of the character that holds it: how
/// Hugging Face's Python binding turns the Rust byte offsets into character offsets.
func characterIndexOfBytes(_ text: String) -> [Int] {
    var table: [Int] = []
    for (i, scalar) in text.unicodeScalars.enumerated() {
        table += repeatElement(i, count: String(scalar).utf8.count)
    }
    table.append(text.unicodeScalars.count)
    return table
}

/// Compares `encoding` with a fixture record; returns a description of the first difference, or nil.
/// Offsets are compared as HF's Python binding reports them (characters): a byte offset inside a
/// character counts as that character, as in HF's `BytesToCharOffsetConverter`.
func difference(_ encoding: Encoding, _ record: Expected.Record, texts: [String], full: Bool) -> String? {
    if encoding.ids != record.ids { return "ids \(encoding.ids) != \(record.ids ?? [])" }
    let tables = texts.map(characterIndexOfBytes)
    let expected = record.offsets ?? []
    for (t, offset) in encoding.offsets.enumerated() {
        let theirs = (expected[2 * t], expected[2 * t + 1])
        guard let k = encoding.sequenceIds[t] else {
            if theirs != (offset.lowerBound, offset.upperBound) { return "offset \(t): \(offset) != \(theirs)" }
            continue
        }
        let ours = (tables[k][offset.lowerBound], tables[k][offset.upperBound])
        if ours != (tables[k][theirs.0], tables[k][theirs.1]) { return "offset \(t): \(offset) != \(theirs)" }
    }
    guard full else { return nil }
    if encoding.typeIds != record.type_ids { return "type ids \(encoding.typeIds) != \(record.type_ids ?? [])" }
    if encoding.attentionMask != record.attention_mask { return "attention mask differs" }
    if encoding.specialTokensMask != record.special_tokens_mask {
        return "special tokens mask \(encoding.specialTokensMask) != \(record.special_tokens_mask ?? [])"
    }
    return nil
}
