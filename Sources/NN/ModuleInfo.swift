import Tensors

/// A stored property that state-dict discovery reads through: its checkpoint key (when it differs from
/// the Swift name) and its current value. `KeyedProperty` conforms; user code never does.
public protocol ModuleProperty {
    /// The checkpoint key of this property, or nil to use the Swift property name.
    var key: String? { get }
    /// The wrapped value, type-erased (a `Module`, `[Module]`, `Module?`, `Tensor` or `Tensor?`).
    var erasedValue: Any { get }
    /// Whether a wrapped tensor is a buffer (saved, never trained) rather than a parameter.
    var isBuffer: Bool { get }
}

/// What a `KeyedProperty` holds: a submodule, a parameter or a buffer.
public protocol PropertyKind {
    /// Whether tensors of this kind are buffers.
    static var isBuffer: Bool { get }
}

/// Kind tag of `ModuleInfo` and `ParameterInfo`.
public enum TrainableKind: PropertyKind { public static var isBuffer: Bool { false } }
/// Kind tag of `BufferInfo`.
public enum BufferKind: PropertyKind { public static var isBuffer: Bool { true } }

/// The property wrapper behind `ModuleInfo`, `ParameterInfo` and `BufferInfo`: a value with the
/// checkpoint key it is saved under. As in mlx-swift, the value may be set after the declaration:
/// `_query.wrappedValue = Linear(…)` in an initializer.
@propertyWrapper
public struct KeyedProperty<Value, Kind: PropertyKind>: ModuleProperty {
    private var value: Value?
    /// The checkpoint key, or nil for the Swift name.
    public let key: String?

    /// The wrapped value; reading it before it is set is a programmer error.
    public var wrappedValue: Value {
        get {
            guard let value else { preconditionFailure("\(Value.self) property '\(key ?? "?")' read before it was set") }
            return value
        }
        set { value = newValue }
    }

    /// Wraps `wrappedValue` under checkpoint key `key`.
    public init(wrappedValue: Value, key: String? = nil) {
        self.value = wrappedValue
        self.key = key
    }

    /// A property under checkpoint key `key` whose value the initializer sets.
    public init(key: String? = nil) {
        self.value = nil
        self.key = key
    }

    public var erasedValue: Any { value as Any }
    public var isBuffer: Bool { Kind.isBuffer }
}

/// Binds a submodule (or an array or optional of them) to a Hugging Face checkpoint key that differs
/// from its Swift name.
///
/// ```swift
/// @ModuleInfo(key: "self") var selfAttention: BertSelfAttention
/// @ModuleInfo(key: "LayerNorm") var layerNorm: LayerNorm
/// ```
public typealias ModuleInfo<Value> = KeyedProperty<Value, TrainableKind>

/// Binds a parameter tensor (`Tensor` or `Tensor?`) to a checkpoint key that differs from its Swift name.
///
/// ```swift
/// @ParameterInfo(key: "weight") var scale: Tensor
/// ```
public typealias ParameterInfo<Value> = KeyedProperty<Value, TrainableKind>

/// Marks a tensor as a buffer: saved and loaded with the state dict but not a parameter, so optimizers
/// and `parameterCount` ignore it (`register_buffer`), e.g. BERT's `position_ids`.
///
/// ```swift
/// @BufferInfo(key: "position_ids") var positionIds: Tensor
/// ```
public typealias BufferInfo<Value> = KeyedProperty<Value, BufferKind>
