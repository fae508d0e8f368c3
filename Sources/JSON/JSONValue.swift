/// A parsed JSON value. Integers stay exact and apart from other numbers (`1` is `.integer(1)`, `1.0`
/// is `.number(1.0)`), booleans are never numbers, and objects keep their members in document order.
///
/// ```swift
/// let value = try JSONParser.parse(Array(#"{"hidden_size": 384}"#.utf8), file: "config.json")
/// value["hidden_size"]   // .integer(384)
/// ```
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits `Int`.
    case integer(Int)
    /// Any other number (a fraction, an exponent, or an integer too large for `Int`).
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order; keys are unique (the parser rejects duplicates).
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member named `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The string, if this is one.
    public var stringValue: String? { if case let .string(s) = self { s } else { nil } }
    /// The integer, if this is one (`1.0` is not).
    public var intValue: Int? { if case let .integer(n) = self { n } else { nil } }
    /// The number as a `Double`, for integers and other numbers.
    public var doubleValue: Double? {
        switch self {
        case let .integer(n): Double(n)
        case let .number(d): d
        default: nil
        }
    }
    /// The boolean, if this is one.
    public var boolValue: Bool? { if case let .bool(b) = self { b } else { nil } }
    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { a } else { nil } }
    /// The members in document order, if this is an object.
    public var objectMembers: [(String, JSONValue)]? { if case let .object(o) = self { o } else { nil } }

    /// A short name of the value's type, for error messages ("a string", "an object").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as an error message shows it: scalars as written (strings quoted and cut at 40
    /// characters), containers by type, so that a message never quotes a whole document.
    public var shortDescription: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .integer(n): return String(n)
        case let .number(d): return "\(d)"
        case let .string(s):
            let cut = s.count > 40 ? String(s.prefix(40)) + "…" : s
            return quoted(cut)
        case .array, .object: return typeName
        }
    }
}
