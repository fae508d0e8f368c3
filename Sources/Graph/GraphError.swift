/// What went wrong while building, checking, parsing, loading, tracing or running a graph. Each
/// message names the node, field or file at fault and, where known, the Swift source line.
public struct GraphError: Error, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public enum Kind: String, Sendable {
        case verification, parse, format, trace, interpreter
    }

    /// The kind of failure.
    public var kind: Kind
    /// What is wrong, naming the node or field.
    public var message: String
    /// The eager source line involved, if known.
    public var location: SourceLocation?

    public init(_ kind: Kind, _ message: String, at location: SourceLocation? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    public var description: String {
        "\(kind.rawValue) error: \(message)" + (location.map { " [traced from \($0)]" } ?? "")
    }
}
