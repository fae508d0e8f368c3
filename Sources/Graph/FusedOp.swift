import Tensors

/// An operation the optimizer made out of several primitives (see docs/passes.md for the exact
/// semantics and layouts). Fused ops live in the Graph module so that the interpreter, the text and
/// JSON forms and the code generator share one definition; `Interpreter` runs each with a reference
/// implementation in eager ops, which is what the fusion passes are tested against.
public enum FusedOp: Hashable, Sendable {
    /// Multi-head attention: inputs `q`, `k`, `v` and, when `masked`, an additive f32 mask.
    case attention(Attention)
    /// `activation(x · w + bias) + residual`; inputs `x [..., k]`, `w [k, n]`, then `bias [n]` and
    /// `residual` (shaped like the result) when present. `inputRange`, set by calibration
    /// (`tcompile --calibrate`), is the range of `x` over the calibration inputs: an int8 kernel
    /// quantizes `x` with that one static scale instead of each row's own; the value is unchanged.
    case linear(activation: Activation, bias: Bool, residual: Bool, inputRange: ClosedRange<Float>? = nil)
    /// `LayerNorm(x (+ residual)) · weight + bias` over the last dim; inputs `x`, then `residual`
    /// when present, then `weight [n]` and `bias [n]`.
    case layerNorm(eps: Double, residual: Bool)
    /// A loop computing one result from its inputs with a register program.
    case elementwise(ElementwiseProgram)

    /// Attributes of fused attention.
    public struct Attention: Hashable, Sendable {
        /// Number of heads; the last dim of `q` is `heads · headDim`.
        public var heads: Int
        /// Factor applied to `q·kᵀ` before the mask.
        public var scale: Double
        /// Whether query `i` sees only keys `j ≤ i + (t − s)`.
        public var causal: Bool
        /// Whether a fourth operand holds an additive mask broadcastable to `[batch, heads, s, t]`.
        public var masked: Bool
        /// How `k` and `v` are laid out.
        public var kvLayout: KVLayout
        /// Number of key/value heads, dividing `heads`: query head `h` reads key/value head
        /// `h / (heads / kvHeads)` (grouped-query attention, read in place instead of `repeat_kv`'s copy).
        public var kvHeads: Int

        public init(heads: Int, scale: Double, causal: Bool, masked: Bool, kvLayout: KVLayout = .merged, kvHeads: Int? = nil) {
            self.heads = heads
            self.scale = scale
            self.causal = causal
            self.masked = masked
            self.kvLayout = kvLayout
            self.kvHeads = kvHeads ?? heads
        }

        /// Query heads per key/value head.
        public var groupSize: Int { heads / Swift.max(1, kvHeads) }
    }

    /// Layout of attention keys and values.
    public enum KVLayout: String, Hashable, Sendable {
        /// `[batch, t, heads·headDim]`, like `q`: before the head split.
        case merged
        /// `[batch, heads, t, headDim]`: already split, as a KV cache keeps them.
        case split
    }

    /// The activation of a fused linear.
    public enum Activation: String, Hashable, Sendable, CaseIterable {
        case none, relu, gelu, tanh
        case geluTanh = "gelu_tanh"

        /// The primitive it stands for, if any.
        public var unary: UnaryOp? {
            switch self {
            case .none: nil
            case .relu: .relu
            case .gelu: .gelu
            case .tanh: .tanh
            case .geluTanh: .geluTanh
            }
        }

        /// The activation a primitive unary op is, if any.
        public init?(_ op: UnaryOp) {
            guard let a = Activation.allCases.first(where: { $0.unary == op }) else { return nil }
            self = a
        }
    }

    /// The op's name in the text form.
    public var name: String {
        switch self {
        case .attention: "fused_attention"
        case .linear: "fused_linear"
        case .layerNorm: "fused_layer_norm"
        case .elementwise: "fused_elementwise"
        }
    }

    /// The attributes in the text and JSON forms, in a fixed order.
    public var attributes: [(String, AttributeValue)] {
        switch self {
        case .attention(let a):
            [("heads", .int(SymbolicInt(a.heads))), ("scale", .double(a.scale)), ("causal", .bool(a.causal)),
             ("masked", .bool(a.masked)), ("kv_layout", .string(a.kvLayout.rawValue))]
                + (a.kvHeads != a.heads ? [("kv_heads", .int(SymbolicInt(a.kvHeads)))] : [])
        case .linear(let act, let bias, let residual, let range):
            [("activation", .string(act.rawValue)), ("bias", .bool(bias)), ("residual", .bool(residual))]
                + (range.map { [("input_range", .string("\($0.lowerBound):\($0.upperBound)"))] } ?? [])
        case .layerNorm(let eps, let residual):
            [("eps", .double(eps)), ("residual", .bool(residual))]
        case .elementwise(let program):
            [("program", .string(program.description))]
        }
    }

    /// Whether `name` is a fused op's name.
    static func isFusedName(_ name: String) -> Bool { name.hasPrefix("fused_") }

    /// Builds a fused op from its name and attribute readers (the text form's inverse); `has` says
    /// whether an optional attribute is present (one present but ill-typed is an error).
    static func make(name: String, has: (String) -> Bool, int: (String) throws -> Int, double: (String) throws -> Double,
                     bool: (String) throws -> Bool, string: (String) throws -> String) throws -> FusedOp {
        switch name {
        case "fused_attention":
            let layoutName = try string("kv_layout")
            guard let layout = KVLayout(rawValue: layoutName) else {
                throw GraphError(.parse, "\(name): kv_layout must be \"merged\" or \"split\", got \"\(layoutName)\"")
            }
            // kv_heads is written only when it differs from heads (grouped-query attention).
            let kvHeads = has("kv_heads") ? try int("kv_heads") : nil
            return .attention(Attention(heads: try int("heads"), scale: try double("scale"), causal: try bool("causal"),
                                        masked: try bool("masked"), kvLayout: layout, kvHeads: kvHeads))
        case "fused_linear":
            let actName = try string("activation")
            guard let act = Activation(rawValue: actName) else {
                throw GraphError(.parse, "\(name): unknown activation \"\(actName)\" (expected \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            var range: ClosedRange<Float>? = nil
            if has("input_range") {
                let text = try string("input_range")
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Float(String($0)) }
                guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo.isFinite, hi.isFinite, lo <= 0, hi >= 0 else {
                    throw GraphError(.parse, "\(name): input_range must be \"lo:hi\" with finite lo ≤ 0 ≤ hi, got \"\(text)\"")
                }
                range = lo...hi
            }
            return .linear(activation: act, bias: try bool("bias"), residual: try bool("residual"), inputRange: range)
        case "fused_layer_norm":
            return .layerNorm(eps: try double("eps"), residual: try bool("residual"))
        case "fused_elementwise":
            return .elementwise(try ElementwiseProgram(parsing: try string("program")))
        default:
            throw GraphError(.parse, "unknown op '\(name)'")
        }
    }

    /// The number of operands the op takes, when fixed.
    var arity: Int? {
        switch self {
        case .attention(let a): a.masked ? 4 : 3
        case .linear(_, let bias, let residual, _): 2 + (bias ? 1 : 0) + (residual ? 1 : 0)
        case .layerNorm(_, let residual): residual ? 4 : 3
        case .elementwise(let p): p.inputCount
        }
    }
}

/// The body of a fused elementwise loop: instruction `i` defines register `r<i>`; the last register is
/// the result. Inputs broadcast against each other exactly as the primitive ops they came from do.
///
/// Text form (`;`-separated): `in 0` loads input 0; `exp r0`, `add r0 r1`, `where r0 r1 r2` apply a
/// primitive to registers; `mul_scalar r1 0.5` and `sub_scalar r1 1.0 first` carry their scalar (and
/// `first` when the scalar is the left operand); `cast r0 f32` converts.
public struct ElementwiseProgram: Hashable, Sendable, CustomStringConvertible {
    /// One step of the program.
    public enum Instruction: Hashable, Sendable {
        /// Loads operand `i` of the fused node.
        case input(Int)
        /// Applies an elementwise primitive (unary, binary, binary-scalar, select, cast) to registers.
        case op(TensorOp, [Int])
    }

    /// The steps, in order.
    public var instructions: [Instruction]

    public init(_ instructions: [Instruction]) { self.instructions = instructions }

    /// Number of operands the program loads (one more than the largest input index).
    public var inputCount: Int {
        instructions.reduce(0) { if case .input(let i) = $1 { Swift.max($0, i + 1) } else { $0 } }
    }

    /// Number of instructions that compute (not loads).
    public var computingCount: Int { instructions.count { if case .op = $0 { true } else { false } } }

    /// Whether a primitive may appear in a program.
    public static func isElementwise(_ op: TensorOp) -> Bool {
        switch op {
        case .unary, .binary, .binaryScalar, .select, .cast: true
        default: false
        }
    }

    public var description: String {
        instructions.map { ins -> String in
            switch ins {
            case .input(let i): return "in \(i)"
            case .op(let op, let regs):
                var parts = [op.name] + regs.map { "r\($0)" }
                switch op {
                case .binaryScalar(_, let s, let first):
                    parts.append(AttributeValue.double(s).description)
                    if first { parts.append("first") }
                case .cast(let d): parts.append(d.shortName)
                default: break
                }
                return parts.joined(separator: " ")
            }
        }.joined(separator: "; ")
    }

    /// Parses the text form `description` prints.
    public init(parsing text: String) throws {
        func fail(_ m: String) -> GraphError { GraphError(.parse, "fused_elementwise program: \(m)") }
        var out: [Instruction] = []
        for raw in text.split(separator: ";") {
            let words = raw.split(separator: " ").map(String.init)
            guard let head = words.first else { throw fail("empty instruction") }
            if head == "in" {
                guard words.count == 2, let i = Int(words[1]), i >= 0 else { throw fail("'\(raw)' must be 'in N'") }
                out.append(.input(i)); continue
            }
            var regs: [Int] = []
            var rest = words.dropFirst()
            while let w = rest.first, w.hasPrefix("r"), let r = Int(w.dropFirst()) {
                guard r >= 0 && r < out.count else { throw fail("'\(raw)' reads r\(r) before it is defined") }
                regs.append(r); rest = rest.dropFirst()
            }
            let op: TensorOp
            if let u = UnaryOp(rawValue: head) { op = .unary(u) }
            else if let b = BinaryOp(rawValue: head) { op = .binary(b) }
            else if head == "where" { op = .select }
            else if head == "cast", let w = rest.first, let d = DType(shortName: w) { op = .cast(d); rest = rest.dropFirst() }
            else if head.hasSuffix("_scalar"), let b = BinaryOp(rawValue: String(head.dropLast(7))),
                    let w = rest.first, let s = Double(w) {
                rest = rest.dropFirst()
                let first = rest.first == "first"
                if first { rest = rest.dropFirst() }
                op = .binaryScalar(b, scalar: s, scalarFirst: first)
            } else { throw fail("unknown instruction '\(raw)'") }
            guard rest.isEmpty else { throw fail("unexpected '\(rest.joined(separator: " "))' in '\(raw)'") }
            let expected = switch op { case .binary: 2; case .select: 3; default: 1 }
            guard regs.count == expected else { throw fail("'\(raw)' takes \(expected) register(s)") }
            out.append(.op(op, regs))
        }
        guard !out.isEmpty else { throw fail("empty program") }
        instructions = out
    }

    /// Runs the program on concrete tensors with the eager kernels (the reference semantics).
    public func run(_ inputs: [Tensor]) -> Tensor {
        var regs: [Tensor] = []
        for ins in instructions {
            switch ins {
            case .input(let i): regs.append(inputs[i])
            case .op(let op, let r): regs.append(Executor.execute(op, r.map { regs[$0] }))
            }
        }
        return regs.last!
    }

    /// The result type from the operand types, by the primitives' own type rules.
    func resultType(_ types: [TensorType]) throws -> TensorType {
        var regs: [TensorType] = []
        for ins in instructions {
            switch ins {
            case .input(let i):
                guard i < types.count else { throw GraphError(.verification, "fused_elementwise: program loads input \(i) of \(types.count)") }
                regs.append(types[i])
            case .op(let op, let r):
                guard ElementwiseProgram.isElementwise(op) else { throw GraphError(.verification, "fused_elementwise: \(op.name) is not elementwise") }
                guard r.allSatisfy({ $0 < regs.count }) else { throw GraphError(.verification, "fused_elementwise: register out of range") }
                regs.append(try TypeInference.infer(.op(op), r.map { regs[$0] }))
            }
        }
        guard let last = regs.last else { throw GraphError(.verification, "fused_elementwise: empty program") }
        return last
    }
}

extension FusedOp {
    /// The result type on operands of `types` (the type rule the verifier checks).
    func resultType(_ types: [TensorType]) throws -> TensorType {
        func fail(_ m: String) -> GraphError { GraphError(.verification, "\(name): \(m)") }
        if let n = arity, n != types.count { throw fail("expects \(n) operand(s), got \(types.count)") }
        guard types.allSatisfy({ $0.dtype == .float32 }) || { if case .elementwise = self { true } else { false } }() else {
            throw fail("expects f32 operands")
        }
        switch self {
        case .attention(let a):
            let q = types[0], k = types[1], v = types[2]
            guard q.shape.count == 3, a.heads >= 1 else { throw fail("q must be [batch, seq, heads·headDim], got \(q)") }
            guard let qd = q.shape[2].constant, qd % a.heads == 0 else { throw fail("q's last dim \(q.shape[2]) does not split into \(a.heads) heads") }
            guard a.kvHeads >= 1, a.heads % a.kvHeads == 0 else { throw fail("kv_heads \(a.kvHeads) must divide heads \(a.heads)") }
            let kvHeads = a.kvHeads
            let (t, kd, vd): (SymbolicInt, Int?, Int?)
            switch a.kvLayout {
            case .merged:
                guard k.shape.count == 3, v.shape.count == 3, k.shape[0] == q.shape[0], v.shape[0] == q.shape[0], k.shape[1] == v.shape[1] else {
                    throw fail("k \(k) and v \(v) must be [batch, t, \(kvHeads)·headDim] with q's batch")
                }
                t = k.shape[1]
                kd = k.shape[2].constant.flatMap { $0 % kvHeads == 0 ? $0 / kvHeads : nil }
                vd = v.shape[2].constant.flatMap { $0 % kvHeads == 0 ? $0 / kvHeads : nil }
            case .split:
                guard k.shape.count == 4, v.shape.count == 4, k.shape[0] == q.shape[0], v.shape[0] == q.shape[0],
                      k.shape[1] == SymbolicInt(kvHeads), v.shape[1] == SymbolicInt(kvHeads), k.shape[2] == v.shape[2] else {
                    throw fail("k \(k) and v \(v) must be [batch, \(kvHeads), t, headDim] with q's batch")
                }
                t = k.shape[2]
                kd = k.shape[3].constant
                vd = v.shape[3].constant
            }
            guard kd == qd / a.heads, let vd else { throw fail("k's head dim must equal q's (\(qd / a.heads)) and v's must be constant") }
            if a.masked {
                let scores = [q.shape[0], SymbolicInt(a.heads), q.shape[1], t]
                guard try TypeInference.broadcast(types[3].shape, scores, fail) == scores else {
                    throw fail("mask \(types[3]) does not broadcast to [\(scores.map(\.description).joined(separator: ", "))]")
                }
            }
            return TensorType(.float32, [q.shape[0], q.shape[1], SymbolicInt(a.heads * vd)])
        case .linear(_, let bias, let residual, _):
            let x = types[0], w = types[1]
            guard x.shape.count >= 1, w.shape.count == 2, x.shape.last! == w.shape[0] else { throw fail("x \(x) and w \(w) must be [..., k] and [k, n]") }
            let out = TensorType(.float32, Array(x.shape.dropLast()) + [w.shape[1]])
            if bias { guard types[2].shape == [w.shape[1]] else { throw fail("bias \(types[2]) must be [\(w.shape[1])]") } }
            if residual { guard types.last!.shape == out.shape else { throw fail("residual \(types.last!) must be \(out)") } }
            return out
        case .layerNorm(_, let residual):
            let x = types[0]
            guard let n = x.shape.last else { throw fail("x must have rank ≥ 1") }
            if residual { guard types[1] == x else { throw fail("residual \(types[1]) must be \(x)") } }
            guard types[types.count - 2].shape == [n], types[types.count - 1].shape == [n] else {
                throw fail("weight and bias must be [\(n)]")
            }
            return x
        case .elementwise(let program):
            return try program.resultType(types)
        }
    }

    /// The reference implementation: the op's semantics written with eager ops (what the interpreter
    /// runs, and what a pass uses to evaluate a fused op on constants).
    public func run(_ inputs: [Tensor]) -> Tensor {
        withNoGrad {
            switch self {
            case .attention(let a): return Self.attention(a, inputs)
            case .linear(let act, let bias, let residual, _):
                var y = inputs[0].matmul(inputs[1])
                if bias { y = y + inputs[2] }
                if let u = act.unary { y = Executor.execute(.unary(u), [y]) }
                if residual { y = y + inputs.last! }
                return y
            case .layerNorm(let eps, let residual):
                let x = residual ? inputs[0] + inputs[1] : inputs[0]
                return x.layerNorm(weight: inputs[inputs.count - 2], bias: inputs[inputs.count - 1], eps: eps)
            case .elementwise(let program):
                return program.run(inputs)
            }
        }
    }

    /// `merge(softmax(where(visible, split(q)·split(k)ᵀ·scale + mask, −∞)) · split(v))`.
    static func attention(_ a: Attention, _ inputs: [Tensor]) -> Tensor {
        let q = inputs[0], b = q.size(0), s = q.size(1)
        func split(_ x: Tensor, _ heads: Int) -> Tensor { x.reshaped([x.size(0), x.size(1), heads, -1]).permuted([0, 2, 1, 3]) }
        /// `[b, kvHeads, t, d]` → `[b, heads, t, d]`, each key/value head repeated for its group.
        func repeated(_ x: Tensor) -> Tensor {
            guard a.groupSize > 1 else { return x }
            let s = x.shape
            return x.unsqueezed(at: 2).expanded(to: [s[0], s[1], a.groupSize, s[2], s[3]]).reshaped([s[0], a.heads, s[2], s[3]])
        }
        let qs = split(q, a.heads)
        let ks = repeated(a.kvLayout == .merged ? split(inputs[1], a.kvHeads) : inputs[1])
        let vs = repeated(a.kvLayout == .merged ? split(inputs[2], a.kvHeads) : inputs[2])
        var scores = qs.matmul(ks.transposed(-1, -2)) * Float(a.scale)
        if a.masked { scores = scores + inputs[3] }
        if a.causal {
            let t = ks.size(2)
            let rows = Tensor.arange(0, s).unsqueezed(at: 1) + Tensor([t - s], shape: [])
            let visible = Tensor.arange(0, t).unsqueezed(at: 0) .<= rows
            scores = Tensor.where(visible, scores, Tensor(-Float.infinity))
        }
        return scores.softmax(dim: -1).matmul(vs).permuted([0, 2, 1, 3]).reshaped([b, s, -1])
    }
}
