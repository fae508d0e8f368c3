/// The primitive operations every tensor computation is made of.
///
/// Every public tensor op goes through `Tensor.apply(_:_:)` with one of these: the eager executor runs
/// it, autograd records it, and a tracer (see `OpObserver`) can record it as a graph node. The graph IR
/// reuses this set, so what the tracer records is exactly what eager code ran.
public enum TensorOp: Hashable, Sendable {
    /// Elementwise function of one tensor.
    case unary(UnaryOp)
    /// Elementwise function of two tensors, with NumPy broadcasting.
    case binary(BinaryOp)
    /// `x op scalar`, or `scalar op x` when `scalarFirst`.
    case binaryScalar(BinaryOp, scalar: Double, scalarFirst: Bool)
    /// Reduction over `dims` (sorted, non-negative).
    case reduce(ReduceOp, dims: [Int], keepDim: Bool)
    /// Softmax along `dim`.
    case softmax(dim: Int)
    /// Log-softmax along `dim`.
    case logSoftmax(dim: Int)
    /// Matrix product with NumPy-style batch broadcasting; inputs are at least 2-D.
    case matmul
    /// `softmax(q·kᵀ + mask)·v` over `[B, H, S, D]` queries, `[B, H, T, D]` keys and `[B, H, T, Dv]`
    /// values, with an optional additive float mask broadcastable to `[B, H, S, T]` as a fourth input;
    /// the result is `[B, H, S, Dv]`. Scaling is the caller's (scale `q` first). The executor runs
    /// it in one pass per (batch, head); the optimizer fuses the head split and merge around it.
    case attention
    /// Layer normalization over the last `normalizedRank` dims; inputs `x`, then `weight` and `bias`
    /// when `affine`.
    case layerNorm(normalizedRank: Int, eps: Double, affine: Bool)
    /// Same elements, new shape (a view when the layout allows).
    case reshape([Int])
    /// Dims reordered (a view).
    case permute([Int])
    /// Size-1 dims repeated to `shape` (a view with stride 0).
    case expand([Int])
    /// Elements `start..<end` with `step` along `dim` (a view).
    case slice(dim: Int, start: Int, end: Int, step: Int)
    /// Inputs joined along `dim`.
    case concat(dim: Int)
    /// Rows of `x` along `dim` picked by an integer index tensor (embedding lookup).
    case indexSelect(dim: Int)
    /// `out[i][j] = x[i][index[i][j]]` along `dim` (torch.gather).
    case gather(dim: Int)
    /// `condition ? a : b`, elementwise with broadcasting; inputs `condition` (bool), `a`, `b`.
    case select
    /// Element type conversion.
    case cast(DType)
    /// A contiguous copy.
    case contiguous
    /// A new tensor of `shape` filled with `value` (no inputs).
    case fill(Double, shape: [Int], dtype: DType)
    /// `start, start + step, …` below `end` (no inputs).
    case arange(start: Int, end: Int, step: Int, dtype: DType)

    /// The op's name as shown in errors and the IR text form.
    public var name: String {
        switch self {
        case .unary(let u): u.rawValue
        case .binary(let b): b.rawValue
        case .binaryScalar(let b, _, _): b.rawValue + "_scalar"
        case .reduce(let r, _, _): r.rawValue
        case .softmax: "softmax"
        case .logSoftmax: "log_softmax"
        case .matmul: "matmul"
        case .attention: "attention"
        case .layerNorm: "layer_norm"
        case .reshape: "reshape"
        case .permute: "permute"
        case .expand: "expand"
        case .slice: "slice"
        case .concat: "concat"
        case .indexSelect: "index_select"
        case .gather: "gather"
        case .select: "where"
        case .cast: "cast"
        case .contiguous: "contiguous"
        case .fill: "fill"
        case .arange: "arange"
        }
    }

    /// The integer attributes that may depend on dynamic dims (shapes, slice bounds, ranges), in a
    /// fixed order. The tracer fits each to a symbolic expression; `replacingIntSlots` puts values back.
    public var intSlots: [Int] {
        switch self {
        case .reshape(let s), .expand(let s), .fill(_, let s, _): s
        case .slice(_, let start, let end, _): [start, end]
        case .arange(let start, let end, _, _): [start, end]
        default: []
        }
    }

    /// The same op with its `intSlots` replaced by `values` (same count).
    public func replacingIntSlots(_ values: [Int]) -> TensorOp {
        precondition(values.count == intSlots.count, "\(name): \(values.count) int attributes for \(intSlots.count) slots")
        switch self {
        case .reshape: return .reshape(values)
        case .expand: return .expand(values)
        case .fill(let v, _, let d): return .fill(v, shape: values, dtype: d)
        case .slice(let dim, _, _, let step): return .slice(dim: dim, start: values[0], end: values[1], step: step)
        case .arange(_, _, let step, let d): return .arange(start: values[0], end: values[1], step: step, dtype: d)
        default: return self
        }
    }
}

/// Elementwise functions of one tensor.
public enum UnaryOp: String, Hashable, Sendable, CaseIterable {
    case neg, exp, log, sqrt, rsqrt, abs, tanh, erf, relu, sigmoid
    /// GELU, exact form `x·Φ(x)` with the error function.
    case gelu
    /// GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    case geluTanh = "gelu_tanh"
    case logicalNot = "logical_not"
    case sin, cos
}

/// Elementwise functions of two tensors; comparisons give `bool`.
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, pow, maximum, minimum
    case equal = "eq", notEqual = "ne", less = "lt", lessEqual = "le", greater = "gt", greaterEqual = "ge"
    case logicalAnd = "logical_and", logicalOr = "logical_or"

    /// Whether the result is a `bool` mask.
    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: true
        default: false
        }
    }

    /// Whether the inputs must be `bool`.
    public var isLogical: Bool { self == .logicalAnd || self == .logicalOr }
}

/// Reductions over dims.
public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max, min, argmax, argmin
}
