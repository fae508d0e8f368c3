import FoundationEssentials

/// Typed, path-aware access to a parsed JSON value: every error names the file and the field's path,
/// as `model.json: nodes[3].type.shape[1]: must be an integer, got "abc"`.
///
/// A reader is a value with its place in the document; member and element accessors return readers
/// one step deeper, so paths are never spelled by hand.
///
/// ```swift
/// let root = try JSONReader(contentsOf: path)
/// try root.rejectUnknownFields(["format", "checkpoint", "dynamic_dims", "options"])
/// guard try root.requireString("format") == "tcompile.model/1" else { throw root.error(at: "format", "is not …") }
/// let batch = try root.object(at: "dynamic_dims").object(at: "batch")
/// try batch.rejectUnknownFields(["max"])
/// let maxBatch = try batch.requireInt("max")           // "dynamic_dims.batch.max: is missing"
/// let threads = try root.optionalObject(at: "options")?.optionalInt("threads")
/// ```
public struct JSONReader: Sendable {
    /// The value at this place.
    public let value: JSONValue
    /// The file as errors name it.
    public let file: String
    /// Where `value` sits in the document.
    public let path: JSONPath

    /// A reader at `path` of `file`.
    public init(_ value: JSONValue, file: String, path: JSONPath = JSONPath()) {
        self.value = value
        self.file = file
        self.path = path
    }

    /// Parses `bytes` (see `JSONParser`); `file` names the document in errors.
    public init(parsing bytes: [UInt8], file: String) throws(JSONError) {
        self.init(try JSONParser.parse(bytes, file: file), file: file)
    }

    /// Reads and parses the file at `path`, naming it `file` in errors (the path by default).
    public init(contentsOf path: String, file: String? = nil) throws(JSONError) {
        let name = file ?? path
        let bytes: [UInt8]
        do { bytes = try RegularFile.read(path) } catch {
            throw JSONError(.unreadable, file: name, path: JSONPath(), reason: error.reason)
        }
        try self.init(parsing: bytes, file: name)
    }

    // MARK: Errors

    /// An error about this value: `file: path: reason`.
    public func error(_ reason: String) -> JSONError { JSONError(.invalid, file: file, path: path, reason: reason) }

    /// An error about the member `key` of this object.
    public func error(at key: String, _ reason: String) -> JSONError {
        JSONError(.invalid, file: file, path: path.appending(key: key), reason: reason)
    }

    func mismatch(_ expected: String) -> JSONError { error("must be \(expected), got \(value.shortDescription)") }

    // MARK: This value as a type

    public var isNull: Bool { value.isNull }

    /// The string this value must be.
    public func string() throws(JSONError) -> String {
        guard let s = value.stringValue else { throw mismatch("a string") }
        return s
    }

    /// The integer this value must be (`1.0` is not one).
    public func int() throws(JSONError) -> Int {
        guard let n = value.intValue else { throw mismatch("an integer") }
        return n
    }

    /// The number this value must be (an integer or not).
    public func double() throws(JSONError) -> Double {
        guard let d = value.doubleValue else { throw mismatch("a number") }
        return d
    }

    /// The boolean this value must be.
    public func bool() throws(JSONError) -> Bool {
        guard let b = value.boolValue else { throw mismatch("a boolean") }
        return b
    }

    /// The elements of the array this value must be, each with its path.
    public func array() throws(JSONError) -> [JSONReader] {
        guard let a = value.arrayValue else { throw mismatch("an array") }
        return a.enumerated().map { JSONReader($1, file: file, path: path.appending(index: $0)) }
    }

    /// The members of the object this value must be, in document order, each with its path.
    public func members() throws(JSONError) -> [(key: String, value: JSONReader)] {
        guard let o = value.objectMembers else { throw mismatch("an object") }
        return o.map { (key: $0.0, value: JSONReader($0.1, file: file, path: path.appending(key: $0.0))) }
    }

    /// This reader, after checking that the value is an object.
    public func object() throws(JSONError) -> JSONReader {
        guard value.objectMembers != nil else { throw mismatch("an object") }
        return self
    }

    /// Decodes this value as `T` through `JSONValueDecoder`, with paths in errors.
    public func decode<T: Decodable>(_ type: T.Type) throws(JSONError) -> T {
        try JSONValueDecoder(file: file).decode(type, from: value, at: path)
    }

    // MARK: Members of this object

    /// The member `key`, or nil when it is absent or null. Throws if this value is not an object.
    public func optionalField(_ key: String) throws(JSONError) -> JSONReader? {
        guard let o = value.objectMembers else { throw mismatch("an object") }
        guard let v = o.first(where: { $0.0 == key })?.1, !v.isNull else { return nil }
        return JSONReader(v, file: file, path: path.appending(key: key))
    }

    /// The member `key`; "is missing" when it is absent (a null is returned, for the type check to name).
    public func field(_ key: String) throws(JSONError) -> JSONReader {
        guard let o = value.objectMembers else { throw mismatch("an object") }
        guard let v = o.first(where: { $0.0 == key })?.1 else {
            throw JSONError(.missing, file: file, path: path.appending(key: key), reason: "is missing")
        }
        return JSONReader(v, file: file, path: path.appending(key: key))
    }

    /// Whether this object has the member `key` with a non-null value.
    public func contains(_ key: String) -> Bool { (value[key]).map { !$0.isNull } ?? false }

    public func object(at key: String) throws(JSONError) -> JSONReader { try field(key).object() }
    public func array(at key: String) throws(JSONError) -> [JSONReader] { try field(key).array() }
    public func requireString(_ key: String) throws(JSONError) -> String { try field(key).string() }
    public func requireInt(_ key: String) throws(JSONError) -> Int { try field(key).int() }
    public func requireDouble(_ key: String) throws(JSONError) -> Double { try field(key).double() }
    public func requireBool(_ key: String) throws(JSONError) -> Bool { try field(key).bool() }

    public func optionalObject(at key: String) throws(JSONError) -> JSONReader? { try optionalField(key)?.object() }
    public func optionalArray(at key: String) throws(JSONError) -> [JSONReader]? { try optionalField(key)?.array() }
    public func optionalString(_ key: String) throws(JSONError) -> String? { try optionalField(key)?.string() }
    public func optionalInt(_ key: String) throws(JSONError) -> Int? { try optionalField(key)?.int() }
    public func optionalDouble(_ key: String) throws(JSONError) -> Double? { try optionalField(key)?.double() }
    public func optionalBool(_ key: String) throws(JSONError) -> Bool? { try optionalField(key)?.bool() }

    /// Throws for the first member (in document order) not in `known`:
    /// `options.colour: is not a known field (expected one of precision, threads)`.
    public func rejectUnknownFields(_ known: some Collection<String>) throws(JSONError) {
        guard let o = value.objectMembers else { throw mismatch("an object") }
        if let unknown = o.first(where: { !known.contains($0.0) })?.0 {
            throw error(at: unknown, "is not a known field (expected one of \(known.sorted().joined(separator: ", ")))")
        }
    }
}
