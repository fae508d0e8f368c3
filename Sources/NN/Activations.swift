import Tensors

/// max(x, 0) as a layer (`nn.ReLU`).
public final class ReLU: Module, UnaryLayer {
    /// A ReLU layer.
    public override init() {}
    /// Applies ReLU.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// GELU as a layer (`nn.GELU`): exact with erf (HF `gelu`), or the tanh form when `approximate`
/// (HF `gelu_new` / `gelu_pytorch_tanh`).
public final class GELU: Module, UnaryLayer {
    /// Whether to use the tanh approximation.
    public let approximate: Bool
    /// A GELU layer.
    public init(approximate: Bool = false) { self.approximate = approximate }
    /// Applies GELU.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
}

/// Hyperbolic tangent as a layer (`nn.Tanh`), e.g. BERT's pooler.
public final class Tanh: Module, UnaryLayer {
    /// A tanh layer.
    public override init() {}
    /// Applies tanh.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

/// The logistic function as a layer (`nn.Sigmoid`).
public final class Sigmoid: Module, UnaryLayer {
    /// A sigmoid layer.
    public override init() {}
    /// Applies the sigmoid.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// `x · sigmoid(x)` as a layer (`nn.SiLU`, HF `silu`): the gate of Llama's SwiGLU MLP.
public final class SiLU: Module, UnaryLayer {
    /// A SiLU layer.
    public override init() {}
    /// Applies SiLU.
    public func callAsFunction(_ x: Tensor) -> Tensor { x * x.sigmoid() }
}

/// The activation a Hugging Face config names in `hidden_act`, or nil for an unknown name.
public func activation(named name: String) -> (any UnaryLayer)? {
    switch name {
    case "relu": ReLU()
    case "gelu": GELU()
    case "gelu_new", "gelu_pytorch_tanh": GELU(approximate: true)
    case "tanh": Tanh()
    case "sigmoid": Sigmoid()
    case "silu", "swish": SiLU()   // ACT2FN["swish"] is nn.SiLU (Marian's default)
    default: nil
    }
}
