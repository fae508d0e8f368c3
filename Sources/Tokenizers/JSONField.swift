import JSON

/// A place in a parsed tokenizer file: the JSON module's `JSONReader` (which decides types, paths and
/// wording) with its errors as `TokenizerError`s, since this module's loaders throw that type only.
struct JSONField {
    let reader: JSONReader

    init(_ reader: JSONReader) { self.reader = reader }

    /// Parses `bytes` with the hardened parser; `file` names the document in errors.
    init(parsing bytes: [UInt8], file: String) throws(TokenizerError) {
        do { reader = try JSONReader(parsing: bytes, file: file) } catch { throw JSONField.converted(error) }
    }

    var file: String { reader.file }
    var value: JSONValue { reader.value }
    /// The path as errors show it (`model.vocab["[UNK]"]`).
    var field: String { reader.path.isEmpty ? "(document)" : reader.path.description }

    /// A `JSONError` as this module's error: syntax errors are `invalidJSON` (with the byte offset).
    static func converted(_ error: JSONError) -> TokenizerError {
        switch error.kind {
        case .unreadable: .unreadableFile(path: error.file, reason: error.reason)
        case .syntax: .invalidJSON(file: error.file, reason: error.reason)
        case .missing: .missingField(file: error.file, field: error.field)
        case .duplicateKey, .invalid: .invalidField(file: error.file, field: error.field, reason: error.reason)
        }
    }

    /// Runs one `JSONReader` call with its error converted.
    func read<T>(_ body: (JSONReader) throws(JSONError) -> T) throws(TokenizerError) -> T {
        do { return try body(reader) } catch { throw JSONField.converted(error) }
    }

    /// An error about this value.
    func invalid(_ reason: String) -> TokenizerError { .invalidField(file: file, field: field, reason: reason) }

    /// The error for a component type (or option value) this module does not implement.
    func unsupported(_ component: String, _ type: String) -> TokenizerError {
        .unsupported(file: file, component: "\(component) type", detail: "'\(type)'")
    }

    func string() throws(TokenizerError) -> String { try read { r throws(JSONError) in try r.string() } }
    func int() throws(TokenizerError) -> Int { try read { r throws(JSONError) in try r.int() } }
    func bool() throws(TokenizerError) -> Bool { try read { r throws(JSONError) in try r.bool() } }
    func array() throws(TokenizerError) -> [JSONField] { try read { r throws(JSONError) in try r.array() }.map(JSONField.init) }
    func members() throws(TokenizerError) -> [(key: String, value: JSONField)] {
        try read { r throws(JSONError) in try r.members() }.map { (key: $0.key, value: JSONField($0.value)) }
    }

    /// The member `key`; `missingField` when it is absent.
    func field(_ key: String) throws(TokenizerError) -> JSONField { JSONField(try read { r throws(JSONError) in try r.field(key) }) }
    /// The member `key`, or nil when it is absent or null.
    func optional(_ key: String) throws(TokenizerError) -> JSONField? {
        try read { r throws(JSONError) in try r.optionalField(key) }.map(JSONField.init)
    }
    func optionalString(_ key: String) throws(TokenizerError) -> String? { try optional(key)?.string() }
    func optionalInt(_ key: String) throws(TokenizerError) -> Int? { try optional(key)?.int() }
    func optionalBool(_ key: String, default d: Bool) throws(TokenizerError) -> Bool { try optional(key)?.bool() ?? d }

    /// A component's `type`.
    func type() throws(TokenizerError) -> String { try field("type").string() }

    /// A vocabulary object {token: id}; ids must be in 0..<10,000,000. Members are read without a
    /// reader each (vocabularies have 50,000 of them); a bad one is then named by its path.
    func vocabulary() throws(TokenizerError) -> [String: Int] {
        guard let members = value.objectMembers else {
            throw invalid("must be an object of token ids, got \(value.shortDescription)")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(members.count)
        for (token, idValue) in members {
            guard let id = idValue.intValue, id >= 0 && id < 10_000_000 else {
                let member = JSONField(JSONReader(idValue, file: file, path: reader.path.appending(key: token)))
                let id = try member.int()
                throw member.invalid("has an impossible id \(id)")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }
}
