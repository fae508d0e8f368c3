/// A JSON document that cannot be read as asked: bytes that are not JSON, or a field that is missing,
/// has the wrong type or value. Names the file and the field's path, as
/// `config.json: hidden_size: must be an integer, got "abc"`.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, so that modules with their own error types can map it.
    public enum Kind: Equatable, Sendable {
        /// The file could not be read (missing, a directory, no permission).
        case unreadable
        /// The bytes are not a JSON document (the reason carries the byte offset).
        case syntax
        /// An object has the same key twice (the path names the second occurrence).
        case duplicateKey
        /// A required field is absent.
        case missing
        /// A field has the wrong type or an unacceptable value.
        case invalid
    }

    public let kind: Kind
    /// The file as the caller named it.
    public let file: String
    /// The field at fault (for syntax errors, where the parser was).
    public let path: JSONPath
    /// What is wrong, phrased to follow the path: `must be an integer, got "abc"`.
    public let reason: String

    public init(_ kind: Kind, file: String, path: JSONPath, reason: String) {
        self.kind = kind
        self.file = file
        self.path = path
        self.reason = reason
    }

    /// The path as messages show it (`(document)` for the root).
    public var field: String { path.isEmpty ? "(document)" : path.description }

    public var description: String {
        switch kind {
        case .unreadable: "\(file): cannot read the file (\(reason))"
        case .syntax: "\(file): not valid JSON: \(reason)"
        case .duplicateKey, .missing, .invalid: "\(file): \(field): \(reason)"
        }
    }
}
