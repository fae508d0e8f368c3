/// The element type of a tensor: `float32` for compute, `int32`/`int64` for ids, `bool` for masks.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case float32, int32, int64, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .int64: 8
        case .bool: 1
        }
    }

    /// Whether the type holds integers (ids, indices).
    public var isInteger: Bool { self == .int32 || self == .int64 }

    public var description: String { rawValue }
}
