import Tensors

/// Layers applied one after the other (`nn.Sequential`); children are keyed `0`, `1`, … as in PyTorch.
///
/// ```swift
/// let mlp = Sequential(Linear(2, 5), ReLU(), Linear(5, 1))   // keys 0.weight, 0.bias, 2.weight, 2.bias
/// ```
public final class Sequential: Module, UnaryLayer {
    /// The layers, in order.
    public let layers: [any UnaryLayer]

    /// A sequence of `layers`.
    public init(_ layers: [any UnaryLayer]) { self.layers = layers }

    /// A sequence of `layers`.
    public convenience init(_ layers: any UnaryLayer...) { self.init(layers) }

    /// The layers keyed by position, as PyTorch names them.
    public override func namedChildren() -> [(String, Module)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    /// Applies every layer in turn.
    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// A list of modules keyed `0`, `1`, … (`nn.ModuleList`), for blocks whose call the owner writes itself.
/// A plain `[Module]` property does the same under its own key; this type is for a list at the top.
public final class ModuleList<Element: Module>: Module, RandomAccessCollection {
    /// The modules, in order.
    public var items: [Element]

    /// A list of `items`.
    public init(_ items: [Element]) { self.items = items }

    /// The items keyed by position.
    public override func namedChildren() -> [(String, Module)] {
        items.enumerated().map { (String($0.offset), $0.element) }
    }

    public var startIndex: Int { items.startIndex }
    public var endIndex: Int { items.endIndex }
    /// The module at `index`.
    public subscript(index: Int) -> Element { items[index] }
}
