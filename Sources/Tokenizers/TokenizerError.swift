/// Everything that can go wrong when loading a tokenizer or encoding with it.
///
/// Each case names the file (`tokenizer.json`, `vocab.txt`, …) and the field or component concerned, so that
/// `print(error)` tells the user what to fix, e.g. `tokenizer.json: pre_tokenizer type 'Digits' is not
/// supported`.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not valid JSON (or not valid UTF-8); `reason` says where.
    case invalidJSON(file: String, reason: String)
    /// A required field is absent.
    case missingField(file: String, field: String)
    /// A field is present but has the wrong type or an impossible value.
    case invalidField(file: String, field: String, reason: String)
    /// A component (normalizer, pre-tokenizer, model, post-processor, decoder) or option this module does
    /// not implement.
    case unsupported(file: String, component: String, detail: String)
    /// A token that the file refers to (a merge, the unknown token, a special token) is not in the
    /// vocabulary.
    case unknownToken(file: String, field: String, token: String)
    /// Truncation cannot satisfy `maxLength` (HF: "Sequence to truncate too short …"), or it needs a second
    /// sequence that was not given.
    case truncationImpossible(reason: String)
    /// A file read as a SentencePiece `.model` is not one (not protobuf, truncated, wrong field types, or
    /// inconsistent: no pieces, an id out of range).
    case notSentencePieceModel(file: String, reason: String)
    /// A directory holds none of the files a tokenizer can be loaded from.
    case noTokenizerFiles(directory: String)

    /// The message, naming the file and the field or component.
    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "\(path): cannot read the file (\(reason))"
        case let .invalidJSON(file, reason): return "\(file): invalid JSON: \(reason)"
        case let .missingField(file, field): return "\(file): missing field '\(field)'"
        case let .invalidField(file, field, reason): return "\(file): field '\(field)' \(reason)"
        case let .unsupported(file, component, detail):
            return "\(file): \(component) \(detail) is not supported"
        case let .unknownToken(file, field, token):
            return "\(file): \(field) refers to '\(token)', which is not in the vocabulary"
        case let .truncationImpossible(reason): return "truncation: \(reason)"
        case let .notSentencePieceModel(file, reason): return "\(file) is not a SentencePiece model: \(reason)"
        case let .noTokenizerFiles(directory):
            return "\(directory): no tokenizer.json, SentencePiece .model, vocab.txt or vocab.json + merges.txt"
        }
    }
}
