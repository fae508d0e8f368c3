import Tensors

/// A layer or model with named parameters, buffers and submodules (`torch.nn.Module`).
///
/// Subclasses declare parameters as stored `Tensor` properties and submodules as stored `Module`,
/// `[Module]` or `Module?` properties; reflection finds them, so there are no hand-written lists.
/// Keys follow the Swift names, or the key given with `@ModuleInfo(key:)` / `@ParameterInfo(key:)`;
/// array elements are keyed `0`, `1`, … So a Hugging Face name like
/// `encoder.layer.0.attention.self.query.weight` comes out of the structure itself.
///
/// ```swift
/// final class MLP: Module, UnaryLayer {
///     let fc1 = Linear(4, 8), fc2 = Linear(8, 2)
///     func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) }
/// }
/// let model = MLP()
/// print(model.stateDict().keys.sorted())   // fc1.bias, fc1.weight, fc2.bias, fc2.weight
/// ```
open class Module {
    /// Whether the module is in training mode (dropout active); set with `train(_:)` / `eval()`.
    public private(set) var training = true

    /// An empty module in training mode.
    public init() {}

    /// The direct submodules with their keys, in declaration order. Override only for containers whose
    /// children are not stored properties (see `Sequential`).
    open func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = []
        for (key, value, _) in reflectedProperties() {
            switch value {
            case let module as Module: out.append((key, module))
            case let modules as [Module]:
                for (i, m) in modules.enumerated() { out.append(("\(key).\(i)", m)) }
            default: break
            }
        }
        return out
    }

    /// The tensors this module itself holds (not its children's), with keys and whether each is a buffer.
    open func ownTensors() -> [(key: String, tensor: Tensor, isBuffer: Bool)] {
        reflectedProperties().compactMap { key, value, isBuffer in
            (value as? Tensor).map { (key, $0, isBuffer) }
        }
    }

    /// Stored properties of this object and its superclasses below `Module`, keyed, with wrappers
    /// unwrapped and nil optionals dropped.
    private func reflectedProperties() -> [(String, Any, Bool)] {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror, m.subjectType != Module.self {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        var out: [(String, Any, Bool)] = []
        for m in mirrors.reversed() {
            for child in m.children {
                guard var label = child.label else { continue }
                var value = child.value
                var isBuffer = false
                if let wrapper = value as? ModuleProperty {
                    if label.hasPrefix("_") { label.removeFirst() }
                    label = wrapper.key ?? label
                    value = wrapper.erasedValue
                    isBuffer = wrapper.isBuffer
                }
                // Optionals arrive boxed as `Any`; unwrap so that `as? Module` sees the payload.
                if let unwrapped = Self.unwrapOptional(value) { out.append((label, unwrapped, isBuffer)) }
            }
        }
        return out
    }

    private static func unwrapOptional(_ value: Any) -> Any? {
        let m = Mirror(reflecting: value)
        guard m.displayStyle == .optional else { return value }
        return m.children.first.map { unwrapOptional($0.value) } ?? nil
    }

    // MARK: Traversal

    /// Every module in the tree (this one first) with its dotted key prefix (`""` for this one).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var out = [(prefix, self)]
        for (key, child) in namedChildren() {
            out += child.namedModules(prefix: prefix.isEmpty ? key : prefix + "." + key)
        }
        return out
    }

    /// Every module in the tree, this one first.
    public func modules() -> [Module] { namedModules().map(\.1) }

    private func namedTensors(buffers: Bool) -> [(String, Tensor)] {
        namedModules().flatMap { prefix, module in
            module.ownTensors().filter { $0.isBuffer == buffers }.map {
                (prefix.isEmpty ? $0.key : prefix + "." + $0.key, $0.tensor)
            }
        }
    }

    /// Every parameter with its full dotted key (`named_parameters`), in declaration order.
    public func namedParameters() -> [(String, Tensor)] { namedTensors(buffers: false) }

    /// Every buffer with its full dotted key (`named_buffers`).
    public func namedBuffers() -> [(String, Tensor)] { namedTensors(buffers: true) }

    /// The distinct parameters (a tied weight appears once), for optimizers.
    public func parameters() -> [Tensor] {
        var seen = Set<ObjectIdentifier>()
        return namedParameters().map(\.1).filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Parameters and buffers by key: the state dict, keyed like PyTorch's `state_dict()`.
    public func stateDict() -> [String: Tensor] {
        Dictionary(namedParameters() + namedBuffers(), uniquingKeysWith: { a, _ in a })
    }

    // MARK: Modes and freezing

    /// Sets training mode on this module and every submodule (`module.train(mode)`).
    public func train(_ mode: Bool = true) {
        for module in modules() { module.training = mode }
    }

    /// Sets evaluation mode everywhere (`module.eval()`): dropout becomes the identity.
    public func eval() { train(false) }

    /// Number of parameter elements (each tied tensor once); only trainable ones when asked.
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        parameters().filter { !trainableOnly || $0.requiresGrad }.reduce(0) { $0 + $1.count }
    }

    /// Stops gradients to every parameter whose key starts with one of `prefixes` (all when empty);
    /// optimizers skip them.
    public func freeze(_ prefixes: [String] = []) { setTrainable(false, prefixes) }

    /// Undoes `freeze` for the parameters under `prefixes` (all when empty).
    public func unfreeze(_ prefixes: [String] = []) { setTrainable(true, prefixes) }

    private func setTrainable(_ flag: Bool, _ prefixes: [String]) {
        for (key, p) in namedParameters()
        where prefixes.isEmpty || prefixes.contains(where: { key == $0 || key.hasPrefix($0 + ".") }) {
            p.requiresGrad = flag
            if !flag { p.zeroGrad() }
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }
}

/// A module mapping one tensor to one tensor, so that it can go into a `Sequential`.
public protocol UnaryLayer: Module {
    /// Applies the layer.
    func callAsFunction(_ x: Tensor) -> Tensor
}
