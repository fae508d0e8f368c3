/// A `Decoder` over a parsed `JSONValue`, so that `Codable` configs (with `CodingKeys` mirroring the
/// file) decode through the hardened parser and fail with a field path:
/// `config.json: hidden_size: must be an integer, got "abc"`. Integers decode only from integers
/// (`12.0` is not an `Int`); floating-point types accept any number that fits them.
///
/// ```swift
/// let config = try JSONValueDecoder(file: "config.json").decode(BertConfig.self, from: value)
/// ```
public struct JSONValueDecoder: Sendable {
    /// The file as errors name it.
    public let file: String

    public init(file: String) { self.file = file }

    /// Decodes `type` from `value`, which sits at `path` of the file.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, at path: JSONPath = JSONPath()) throws(JSONError) -> T {
        do {
            return try T(from: ValueDecoder(reader: JSONReader(value, file: file, path: path), codingPath: []))
        } catch let error as JSONError {
            throw error
        } catch let error as DecodingError {
            throw translate(error, base: path)
        } catch {
            throw JSONError(.invalid, file: file, path: path, reason: "\(error)")
        }
    }

    /// A `DecodingError` thrown by a type's own `init(from:)`, as a `JSONError` with its path.
    func translate(_ error: DecodingError, base: JSONPath) -> JSONError {
        func at(_ keys: [CodingKey]) -> JSONPath {
            JSONPath(base.components + keys.map { $0.intValue.map(JSONPath.Component.index) ?? .key($0.stringValue) })
        }
        switch error {
        case let .keyNotFound(key, context): return JSONError(.missing, file: file, path: at(context.codingPath + [key]), reason: "is missing")
        case let .typeMismatch(type, context): return JSONError(.invalid, file: file, path: at(context.codingPath), reason: "must be \(type)")
        case let .valueNotFound(type, context): return JSONError(.invalid, file: file, path: at(context.codingPath), reason: "is null; expected \(type)")
        case let .dataCorrupted(context): return JSONError(.invalid, file: file, path: at(context.codingPath), reason: context.debugDescription)
        @unknown default: return JSONError(.invalid, file: file, path: base, reason: "\(error)")
        }
    }
}

/// A coding key for array indices and dictionary keys.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}

/// The decoder at one value; containers hand out decoders one step deeper.
struct ValueDecoder: Decoder {
    let reader: JSONReader
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        _ = try reader.object()
        return KeyedDecodingContainer(KeyedContainer<Key>(reader: reader, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        UnkeyedContainer(elements: try reader.array(), reader: reader, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleValue(reader: reader, codingPath: codingPath) }
}

/// Scalar decoding shared by the three containers.
extension JSONReader {
    func decodeScalar<T: Decodable>(_ type: T.Type, codingPath: [CodingKey]) throws -> T {
        switch type {
        case is Bool.Type: return try bool() as! T
        case is String.Type: return try string() as! T
        case is Double.Type: return try double() as! T
        case is Float.Type:
            let d = try double()
            guard Float(d).isFinite else { throw mismatch("a number that fits Float") }
            return Float(d) as! T
        case is Int.Type: return try int() as! T
        case is Int64.Type: return Int64(try int()) as! T
        case is Int32.Type: return try exactly(Int32.self) as! T
        case is Int16.Type: return try exactly(Int16.self) as! T
        case is Int8.Type: return try exactly(Int8.self) as! T
        case is UInt.Type: return try exactly(UInt.self) as! T
        case is UInt64.Type: return try exactly(UInt64.self) as! T
        case is UInt32.Type: return try exactly(UInt32.self) as! T
        case is UInt16.Type: return try exactly(UInt16.self) as! T
        case is UInt8.Type: return try exactly(UInt8.self) as! T
        default: return try T(from: ValueDecoder(reader: self, codingPath: codingPath))
        }
    }

    func exactly<I: FixedWidthInteger>(_ type: I.Type) throws(JSONError) -> I {
        let n = try int()
        guard let v = I(exactly: n) else { throw error("must be an integer in \(I.min)...\(I.max), got \(n)") }
        return v
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: JSONReader
    let codingPath: [CodingKey]

    var allKeys: [Key] { (reader.value.objectMembers ?? []).compactMap { Key(stringValue: $0.0) } }
    func contains(_ key: Key) -> Bool { reader.value[key.stringValue] != nil }

    func child(_ key: Key) throws -> JSONReader { try reader.field(key.stringValue) }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try child(key).decodeScalar(type, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(reader: child(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(reader: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { ValueDecoder(reader: try child(Key(stringValue: "super")!), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> Decoder { ValueDecoder(reader: try child(key), codingPath: codingPath + [key]) }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONReader]
    let reader: JSONReader
    let codingPath: [CodingKey]
    var currentIndex = 0

    init(elements: [JSONReader], reader: JSONReader, codingPath: [CodingKey]) {
        self.elements = elements
        self.reader = reader
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func next() throws -> JSONReader {
        guard !isAtEnd else { throw reader.error("has only \(elements.count) elements") }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let key = AnyCodingKey(intValue: currentIndex)
        return try next().decodeScalar(type, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let key = AnyCodingKey(intValue: currentIndex)
        return try ValueDecoder(reader: next(), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let key = AnyCodingKey(intValue: currentIndex)
        return try ValueDecoder(reader: next(), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let key = AnyCodingKey(intValue: currentIndex)
        return ValueDecoder(reader: try next(), codingPath: codingPath + [key])
    }
}

struct SingleValue: SingleValueDecodingContainer {
    let reader: JSONReader
    let codingPath: [CodingKey]

    func decodeNil() -> Bool { reader.isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.decodeScalar(type, codingPath: codingPath) }
}
