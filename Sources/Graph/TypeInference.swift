import Tensors

/// The result type of each op from its operand types, with symbolic dims: the rules the verifier
/// checks every node against.
public enum TypeInference {
    /// The type `op` produces on operands of `types`; the error names the op and the mismatch.
    public static func infer(_ op: GraphOp, _ types: [TensorType]) throws -> TensorType {
        func fail(_ message: String) -> GraphError { GraphError(.verification, "\(op.name): \(message)") }
        func arity(_ n: Int) throws {
            guard types.count == n else { throw fail("expects \(n) operand(s), got \(types.count)") }
        }
        switch op {
        case .input, .constant:
            throw fail("inputs and constants have declared types")
        case .fused(let f):
            return try f.resultType(types)
        case .primitive(let prim, let ints):
            switch prim {
            case .unary(let u):
                try arity(1)
                let t = types[0]
                switch u {
                case .logicalNot:
                    guard t.dtype == .bool else { throw fail("expects bool, got \(t.dtype.shortName)") }
                    return t
                case .neg, .abs, .relu where t.dtype.isInteger:
                    return t
                default:
                    guard t.dtype != .bool else { throw fail("not defined for bool") }
                    return TensorType(.float32, t.shape)
                }
            case .binary(let b):
                try arity(2)
                return TensorType(try binaryDType(b, types[0].dtype, types[1].dtype, fail), try broadcast(types[0].shape, types[1].shape, fail))
            case .binaryScalar(let b, let s, _):
                try arity(1)
                let t = types[0]
                if b.isComparison {
                    // The eager kernels compare bools for equality only.
                    guard t.dtype != .bool || b == .equal || b == .notEqual else { throw fail("bool tensors compare with eq and ne only") }
                    return TensorType(.bool, t.shape)
                }
                if b.isLogical { throw fail("logical ops take two tensors") }
                guard t.dtype != .bool else { throw fail("arithmetic on bool") }
                let integral = s.rounded() == s && Swift.abs(s) < 9e15
                let floatResult = t.dtype == .float32 || !integral || b == .div || b == .pow
                return TensorType(floatResult ? .float32 : t.dtype, t.shape)
            case .reduce(let r, let dims, let keep):
                try arity(1)
                let t = types[0]
                guard dims.allSatisfy({ $0 >= 0 && $0 < t.shape.count }), dims == dims.sorted(), Set(dims).count == dims.count else {
                    throw fail("dims \(dims) are not sorted distinct dims of a rank-\(t.shape.count) tensor")
                }
                guard t.dtype != .bool || r == .sum || r == .argmax || r == .argmin else { throw fail("not defined on bool (sum, argmax and argmin are)") }
                var shape: [SymbolicInt] = []
                for (i, d) in t.shape.enumerated() { if dims.contains(i) { if keep { shape.append(1) } } else { shape.append(d) } }
                let dtype: DType = r == .argmax || r == .argmin ? .int64 : (r == .mean || t.dtype == .bool ? .float32 : t.dtype)
                return TensorType(dtype, shape)
            case .softmax(let dim), .logSoftmax(let dim):
                try arity(1)
                guard types[0].dtype == .float32 else { throw fail("expects f32") }
                guard dim >= 0 && dim < types[0].shape.count else { throw fail("dim \(dim) out of range") }
                return types[0]
            case .matmul:
                try arity(2)
                let a = types[0], b = types[1]
                guard a.dtype == .float32, b.dtype == .float32 else { throw fail("expects f32 operands") }
                guard a.shape.count >= 2, b.shape.count >= 2 else { throw fail("operands must have rank ≥ 2") }
                guard a.shape[a.shape.count - 1] == b.shape[b.shape.count - 2] else {
                    throw fail("inner dims differ: \(a) · \(b)")
                }
                let batch = try broadcast(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), fail)
                return TensorType(.float32, batch + [a.shape[a.shape.count - 2], b.shape[b.shape.count - 1]])
            case .attention:
                guard types.count == 3 || types.count == 4 else { throw fail("takes q, k, v and an optional mask, got \(types.count) operands") }
                let (q, k, v) = (types[0], types[1], types[2])
                guard [q, k, v].allSatisfy({ $0.dtype == .float32 && $0.shape.count == 4 }) else {
                    throw fail("q, k and v must be f32 [batch, heads, seq, dim], got \(q), \(k), \(v)")
                }
                guard k.shape[3] == q.shape[3], k.shape[2] == v.shape[2],
                      Array(q.shape.prefix(2)) == Array(k.shape.prefix(2)), Array(k.shape.prefix(2)) == Array(v.shape.prefix(2)) else {
                    throw fail("q \(q), k \(k) and v \(v) do not fit (keys and values share [batch, heads, keys], q and k the dim)")
                }
                let scores = Array(q.shape.prefix(3)) + [k.shape[2]]
                if types.count == 4 {
                    let m = types[3]
                    guard m.dtype == .float32, m.shape.count <= 4, try broadcast(scores, m.shape, fail) == scores else {
                        throw fail("mask \(m) must be f32 and broadcast to the scores [\(scores.map(\.description).joined(separator: ", "))]")
                    }
                }
                return TensorType(.float32, Array(q.shape.prefix(3)) + [v.shape[3]])
            case .layerNorm(let rank, _, let affine):
                try arity(affine ? 3 : 1)
                let x = types[0]
                guard types.allSatisfy({ $0.dtype == .float32 }) else { throw fail("expects f32 operands") }
                guard rank >= 1 && rank <= x.shape.count else { throw fail("normalized_rank \(rank) does not fit \(x)") }
                if affine {
                    let normalized = Array(x.shape.suffix(rank))
                    guard types[1].shape == normalized, types[2].shape == normalized else {
                        throw fail("weight \(types[1]) and bias \(types[2]) must have shape \(normalized)")
                    }
                }
                return x
            case .reshape:
                try arity(1)
                guard product(ints) == product(types[0].shape) else {
                    throw fail("cannot reshape \(types[0]) to [\(ints.map(\.description).joined(separator: ", "))]")
                }
                return TensorType(types[0].dtype, ints)
            case .permute(let perm):
                try arity(1)
                guard perm.sorted() == Array(0..<types[0].shape.count) else { throw fail("\(perm) is not a permutation of \(types[0].shape.count) dims") }
                return TensorType(types[0].dtype, perm.map { types[0].shape[$0] })
            case .expand:
                try arity(1)
                let t = types[0]
                guard ints.count >= t.shape.count else { throw fail("cannot expand \(t) to fewer dims") }
                let lead = ints.count - t.shape.count
                for (i, d) in t.shape.enumerated() where d != 1 && d != ints[lead + i] {
                    throw fail("dim \(i) of \(t) is neither 1 nor \(ints[lead + i])")
                }
                return TensorType(t.dtype, ints)
            case .slice(let dim, _, _, let step):
                try arity(1)
                var t = types[0]
                guard dim >= 0 && dim < t.shape.count else { throw fail("dim \(dim) out of range for \(t)") }
                guard step >= 1 else { throw fail("step must be positive") }
                let length = ints[1] - ints[0]
                if step == 1 { t.shape[dim] = length }
                else if let c = length.constant { t.shape[dim] = SymbolicInt(Swift.max(0, (c + step - 1) / step)) }
                else { throw fail("a symbolic slice length needs step 1") }
                return t
            case .concat(let dim):
                guard let first = types.first else { throw fail("needs at least one operand") }
                guard dim >= 0 && dim < first.shape.count else { throw fail("dim \(dim) out of range") }
                var total = SymbolicInt(0)
                for t in types {
                    guard t.dtype == first.dtype, t.shape.count == first.shape.count,
                          (0..<t.shape.count).allSatisfy({ $0 == dim || t.shape[$0] == first.shape[$0] }) else {
                        throw fail("operand \(t) does not match \(first) outside dim \(dim)")
                    }
                    total = total + t.shape[dim]
                }
                var out = first
                out.shape[dim] = total
                return out
            case .indexSelect(let dim):
                try arity(2)
                let x = types[0], index = types[1]
                guard index.dtype.isInteger else { throw fail("indices must be i32 or i64, got \(index.dtype.shortName)") }
                guard dim >= 0 && dim < x.shape.count else { throw fail("dim \(dim) out of range") }
                return TensorType(x.dtype, Array(x.shape[..<dim]) + index.shape + Array(x.shape[(dim + 1)...]))
            case .gather(let dim):
                try arity(2)
                guard types[1].dtype.isInteger else { throw fail("indices must be i32 or i64") }
                guard types[1].shape.count == types[0].shape.count else { throw fail("index rank differs from input rank") }
                guard dim >= 0 && dim < types[0].shape.count else { throw fail("dim \(dim) out of range") }
                return TensorType(types[0].dtype, types[1].shape)
            case .select:
                try arity(3)
                guard types[0].dtype == .bool else { throw fail("condition must be bool") }
                guard types[1].dtype == types[2].dtype else { throw fail("branches have dtypes \(types[1].dtype.shortName) and \(types[2].dtype.shortName)") }
                let ab = try broadcast(types[1].shape, types[2].shape, fail)
                return TensorType(types[1].dtype, try broadcast(types[0].shape, ab, fail))
            case .cast(let d):
                try arity(1)
                return TensorType(d, types[0].shape)
            case .contiguous:
                try arity(1)
                return types[0]
            case .fill(_, _, let d):
                try arity(0)
                return TensorType(d, ints)
            case .arange(_, _, let step, let d):
                try arity(0)
                guard step != 0 else { throw fail("attribute 'step' must not be 0") }
                let length = ints[1] - ints[0]
                if step == 1 { return TensorType(d, [length]) }
                guard let c = length.constant else { throw fail("a symbolic range needs step 1") }
                return TensorType(d, [SymbolicInt(Swift.max(0, (c + step - (step > 0 ? 1 : -1)) / step))])
            }
        }
    }

    /// Proves that `op` on operands of `types`, giving `result`, stays inside its buffers for every
    /// value of the dims within `symbols`' bounds, else throws an error naming the op, the attribute
    /// and the bound: every dim of the result non-negative (a `reshape` to `[-2, -seq]`, a `fill` of
    /// shape `[-5]`, an `arange` ending below its start); a `slice` with `0 ≤ start ≤ end ≤ dim`
    /// (`end: "seq + 1"` on a dim of `seq`, `start: -5`, token 0 of a sequence that may be empty); an
    /// `arange` whose `step` is not 0; `max`, `min`, `argmax`, `argmin` only over dims that cannot
    /// be empty; a `gather` index no larger than its input outside the gathered dim. Bounds come from
    /// `SymbolicInt.range(over:)`, which is exact for the affine dims traced graphs have and errs
    /// towards refusing otherwise.
    public static func checkBounds(_ op: GraphOp, _ types: [TensorType], result: TensorType, symbols: [DimSymbol]) throws {
        guard case .primitive(let prim, let ints) = op else { return }
        let bounds = Dictionary(symbols.map { ($0.name, $0.min...$0.max) }, uniquingKeysWith: { a, _ in a })
        func fail(_ message: String) -> GraphError { GraphError(.verification, "\(op.name): \(message)") }
        func within(_ e: SymbolicInt) -> String {
            let used = symbols.filter { e.symbols.contains($0.name) }
            return used.isEmpty ? "" : " for " + used.map { "\($0.name) in \($0.min)...\($0.max)" }.joined(separator: ", ")
        }
        func range(_ e: SymbolicInt, _ what: String) throws -> ClosedRange<Int> {
            guard let r = e.range(over: bounds) else { throw fail("\(what) '\(e)' cannot be bounded by the dims' bounds") }
            return r
        }
        /// Throws unless `e ≥ 0` for every binding; `what` names the attribute or dim.
        func requireNonNegative(_ e: SymbolicInt, _ what: String) throws {
            let r = try range(e, what)
            guard r.lowerBound >= 0 else { throw fail("\(what) = \(e) can be negative (down to \(r.lowerBound))\(within(e))") }
        }
        /// Throws unless `a ≤ b` for every binding.
        func requireAtMost(_ a: SymbolicInt, _ b: SymbolicInt, _ what: String, _ bound: String) throws {
            let r = try range(b - a, what)
            guard r.lowerBound >= 0 else {
                throw fail("\(what) = \(a) can exceed \(bound) = \(b) (by up to \(-r.lowerBound))\(within(b - a))")
            }
        }
        switch prim {
        case .reshape, .expand, .fill:
            for (i, d) in ints.enumerated() { try requireNonNegative(d, "attribute 'shape' entry \(i)") }
        case .slice(let dim, _, _, _):
            let x = types[0]
            try requireNonNegative(ints[0], "attribute 'start'")
            try requireAtMost(ints[0], ints[1], "attribute 'start'", "attribute 'end'")
            try requireAtMost(ints[1], x.shape[dim], "attribute 'end'", "dim \(dim) of \(x)")
        case .arange(_, _, let step, _):
            if step > 0 { try requireAtMost(ints[0], ints[1], "attribute 'start'", "attribute 'end' (step \(step) > 0)") }
            else { try requireAtMost(ints[1], ints[0], "attribute 'end'", "attribute 'start' (step \(step) < 0)") }
        case .reduce(let r, let dims, _) where [.max, .min, .argmax, .argmin].contains(r):
            for d in dims {
                let size = types[0].shape[d]
                let lo = try range(size, "dim \(d) of \(types[0])").lowerBound
                guard lo >= 1 else { throw fail("reduces dim \(d) of \(types[0]), which can be empty (\(size) = \(lo))\(within(size))") }
            }
        case .gather(let dim):
            for (i, (n, m)) in zip(types[1].shape, types[0].shape).enumerated() where i != dim {
                try requireAtMost(n, m, "index dim \(i)", "input dim \(i) of \(types[0])")
            }
        default:
            break
        }
        for (i, d) in result.shape.enumerated() { try requireNonNegative(d, "result dim \(i)") }
    }

    /// The element count of a symbolic shape.
    static func product(_ shape: [SymbolicInt]) -> SymbolicInt { shape.reduce(SymbolicInt(1)) { $0 * $1 } }

    /// NumPy broadcasting on symbolic dims: equal dims, or one of them 1.
    static func broadcast(_ a: [SymbolicInt], _ b: [SymbolicInt], _ fail: (String) -> GraphError) throws -> [SymbolicInt] {
        let rank = Swift.max(a.count, b.count)
        return try (0..<rank).map { i in
            let da = i < rank - a.count ? SymbolicInt(1) : a[i - (rank - a.count)]
            let db = i < rank - b.count ? SymbolicInt(1) : b[i - (rank - b.count)]
            if da == db || db == 1 { return da }
            if da == 1 { return db }
            throw fail("shapes [\(a.map(\.description).joined(separator: ", "))] and [\(b.map(\.description).joined(separator: ", "))] do not broadcast")
        }
    }

    static func binaryDType(_ op: BinaryOp, _ a: DType, _ b: DType, _ fail: (String) -> GraphError) throws -> DType {
        guard a == b else { throw fail("dtypes \(a.shortName) and \(b.shortName) differ") }
        if op.isLogical { guard a == .bool else { throw fail("expects bool operands") }; return .bool }
        if op.isComparison {
            guard a != .bool || op == .equal || op == .notEqual else { throw fail("bool tensors compare with eq and ne only") }
            return .bool
        }
        guard a != .bool else { throw fail("arithmetic on bool") }
        return a.isInteger && (op == .div || op == .pow) ? .float32 : a
    }
}
