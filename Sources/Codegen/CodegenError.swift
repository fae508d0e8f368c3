import Graph

/// Why a graph could not be compiled; names the op and the Swift line it was traced from.
public struct CodegenError: Error, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation?
    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }
    public var description: String { "codegen error: \(message)" + (location.map { " [traced from \($0)]" } ?? "") }
}
