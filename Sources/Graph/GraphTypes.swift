import Tensors

/// A node's result type: element type and a shape whose dims may be symbolic.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    /// Element type.
    public var dtype: DType
    /// Dims, each a constant or an expression over dynamic dims.
    public var shape: [SymbolicInt]

    public init(_ dtype: DType, _ shape: [SymbolicInt]) {
        self.dtype = dtype
        self.shape = shape
    }

    /// `f32[batch, seq, 384]`.
    public var description: String {
        "\(dtype.shortName)[" + shape.map(\.description).joined(separator: ", ") + "]"
    }

    /// The concrete shape under `bindings`, or nil when a symbol is unbound.
    public func concreteShape(_ bindings: [String: Int]) -> [Int]? {
        var out: [Int] = []
        for d in shape { guard let v = d.evaluate(bindings) else { return nil }; out.append(v) }
        return out
    }
}

/// A dynamic dim with its inclusive bounds (`seq ≤ 512`): one compiled graph serves every value.
public struct DimSymbol: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The symbol's name, as it appears in shapes.
    public var name: String
    /// Largest value a run may use (sizes the memory plan).
    public var max: Int
    /// Smallest value a run may use.
    public var min: Int

    public init(_ name: String, max: Int, min: Int = 1) {
        self.name = name
        self.max = max
        self.min = min
    }

    /// `seq <= 512`, or `past in 0...1024` when the lower bound is not 1.
    public var description: String { min == 1 ? "\(name) <= \(max)" : "\(name) in \(min)...\(max)" }
}

/// Where the eager code that produced a node lives: a Swift file and line, and the module path
/// (`encoder.layer.0.attention.self`) when known.
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Source file, relative to the package when possible (`Sources/Transformers/Bert.swift`).
    public var file: String
    /// Line in `file`.
    public var line: Int
    /// The module path of the layer that ran the op, if known.
    public var scope: String?

    public init(file: String, line: Int, scope: String? = nil) {
        self.file = file
        self.line = line
        self.scope = scope
    }

    /// `Bert.swift:120 (encoder.layer.0.attention)`.
    public var description: String { "\(file):\(line)" + (scope.map { " (\($0))" } ?? "") }
}

/// Identifies a node's result within a graph.
public typealias ValueID = Int

extension DType {
    /// The IR's short spelling: `f32`, `i32`, `i64`, `bool`.
    public var shortName: String {
        switch self {
        case .float32: "f32"
        case .int32: "i32"
        case .int64: "i64"
        case .bool: "bool"
        }
    }

    /// The dtype with this short name.
    public init?(shortName: String) {
        guard let d = DType.allCases.first(where: { $0.shortName == shortName }) else { return nil }
        self = d
    }
}
