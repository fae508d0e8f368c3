/// Elementwise arithmetic, math functions, comparisons and selection, all with NumPy broadcasting.
extension Tensor {
    // MARK: Arithmetic operators

    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.add), [a, b]) }
    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.sub), [a, b]) }
    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.mul), [a, b]) }
    /// Elementwise quotient with broadcasting (true division; integer tensors give float32).
    public static func / (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.div), [a, b]) }
    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor { apply(.unary(.neg), [a]) }

    /// Adds a scalar to every element.
    public static func + (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.add, scalar: Double(s), scalarFirst: false), [a]) }
    /// Adds a scalar to every element.
    public static func + (s: Float, a: Tensor) -> Tensor { apply(.binaryScalar(.add, scalar: Double(s), scalarFirst: true), [a]) }
    /// Subtracts a scalar from every element.
    public static func - (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.sub, scalar: Double(s), scalarFirst: false), [a]) }
    /// Subtracts every element from a scalar.
    public static func - (s: Float, a: Tensor) -> Tensor { apply(.binaryScalar(.sub, scalar: Double(s), scalarFirst: true), [a]) }
    /// Multiplies every element by a scalar.
    public static func * (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.mul, scalar: Double(s), scalarFirst: false), [a]) }
    /// Multiplies every element by a scalar.
    public static func * (s: Float, a: Tensor) -> Tensor { apply(.binaryScalar(.mul, scalar: Double(s), scalarFirst: true), [a]) }
    /// Divides every element by a scalar.
    public static func / (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.div, scalar: Double(s), scalarFirst: false), [a]) }
    /// Divides a scalar by every element.
    public static func / (s: Float, a: Tensor) -> Tensor { apply(.binaryScalar(.div, scalar: Double(s), scalarFirst: true), [a]) }

    // MARK: Math functions

    /// e^x.
    public func exp() -> Tensor { Tensor.apply(.unary(.exp), [self]) }
    /// Natural logarithm.
    public func log() -> Tensor { Tensor.apply(.unary(.log), [self]) }
    /// Square root.
    public func sqrt() -> Tensor { Tensor.apply(.unary(.sqrt), [self]) }
    /// 1 / √x.
    public func rsqrt() -> Tensor { Tensor.apply(.unary(.rsqrt), [self]) }
    /// |x|.
    public func abs() -> Tensor { Tensor.apply(.unary(.abs), [self]) }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { Tensor.apply(.unary(.tanh), [self]) }
    /// The error function.
    public func erf() -> Tensor { Tensor.apply(.unary(.erf), [self]) }
    /// max(x, 0).
    public func relu() -> Tensor { Tensor.apply(.unary(.relu), [self]) }
    /// 1 / (1 + e^{-x}).
    public func sigmoid() -> Tensor { Tensor.apply(.unary(.sigmoid), [self]) }
    /// Sine.
    public func sin() -> Tensor { Tensor.apply(.unary(.sin), [self]) }
    /// Cosine.
    public func cos() -> Tensor { Tensor.apply(.unary(.cos), [self]) }
    /// x².
    public func square() -> Tensor { self * self }
    /// x raised to a scalar power.
    public func pow(_ exponent: Float) -> Tensor {
        Tensor.apply(.binaryScalar(.pow, scalar: Double(exponent), scalarFirst: false), [self])
    }
    /// x raised to elementwise powers.
    public func pow(_ exponent: Tensor) -> Tensor { Tensor.apply(.binary(.pow), [self, exponent]) }

    /// GELU: exact (`approximate: false`, HF `gelu`) or the tanh form (`true`, HF `gelu_new`).
    public func gelu(approximate: Bool = false) -> Tensor {
        Tensor.apply(.unary(approximate ? .geluTanh : .gelu), [self])
    }

    /// Elementwise maximum with broadcasting (NaN if either is NaN).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { apply(.binary(.maximum), [a, b]) }
    /// Elementwise minimum with broadcasting (NaN if either is NaN).
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { apply(.binary(.minimum), [a, b]) }

    /// Elements limited to `[min, max]` (`torch.clamp`).
    public func clamped(min lower: Float? = nil, max upper: Float? = nil) -> Tensor {
        var x = self
        if let lower { x = Tensor.apply(.binaryScalar(.maximum, scalar: Double(lower), scalarFirst: false), [x]) }
        if let upper { x = Tensor.apply(.binaryScalar(.minimum, scalar: Double(upper), scalarFirst: false), [x]) }
        return x
    }

    /// The element type converted to `dtype` (`torch.Tensor.to(dtype)`).
    public func cast(to dtype: DType) -> Tensor { Tensor.apply(.cast(dtype), [self]) }

    // MARK: Comparisons and logic (bool results)

    /// Elementwise `==` as a bool mask.
    public static func .== (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.equal), [a, b]) }
    /// Elementwise `!=` as a bool mask.
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.notEqual), [a, b]) }
    /// Elementwise `<` as a bool mask.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.less), [a, b]) }
    /// Elementwise `<=` as a bool mask.
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.lessEqual), [a, b]) }
    /// Elementwise `>` as a bool mask.
    public static func .> (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.greater), [a, b]) }
    /// Elementwise `>=` as a bool mask.
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.greaterEqual), [a, b]) }
    /// Elementwise `== s` as a bool mask.
    public static func .== (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.equal, scalar: Double(s), scalarFirst: false), [a]) }
    /// Elementwise `!= s` as a bool mask.
    public static func .!= (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.notEqual, scalar: Double(s), scalarFirst: false), [a]) }
    /// Elementwise `< s` as a bool mask.
    public static func .< (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.less, scalar: Double(s), scalarFirst: false), [a]) }
    /// Elementwise `<= s` as a bool mask.
    public static func .<= (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.lessEqual, scalar: Double(s), scalarFirst: false), [a]) }
    /// Elementwise `> s` as a bool mask.
    public static func .> (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.greater, scalar: Double(s), scalarFirst: false), [a]) }
    /// Elementwise `>= s` as a bool mask.
    public static func .>= (a: Tensor, s: Float) -> Tensor { apply(.binaryScalar(.greaterEqual, scalar: Double(s), scalarFirst: false), [a]) }
    /// Elementwise logical and of bool masks.
    public static func .& (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.logicalAnd), [a, b]) }
    /// Elementwise logical or of bool masks.
    public static func .| (a: Tensor, b: Tensor) -> Tensor { apply(.binary(.logicalOr), [a, b]) }
    /// Elementwise logical not of a bool mask.
    public static prefix func .! (a: Tensor) -> Tensor { apply(.unary(.logicalNot), [a]) }

    /// `condition ? a : b` elementwise with broadcasting (`torch.where`).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        apply(.select, [condition, a, b])
    }

    /// `value` where `mask` is true, else this tensor's element (`torch.Tensor.masked_fill`).
    public func maskedFill(_ mask: Tensor, _ value: Float) -> Tensor {
        let fill: Tensor = dtype == .float32 ? Tensor(value) : Tensor([Int(value)], shape: [], dtype: dtype)
        return Tensor.where(mask, fill, self)
    }
}
