import Graph
import Tensors

/// Canonicalization: one spelling for each computation, so that the fusions match every form Hugging
/// Face-style eager code produces. Runs first.
///
/// - division by a constant → multiplication by its reciprocal; `x op c` with a one-element constant
///   tensor → the scalar form; constants to the right of commutative ops;
/// - identities: `x·1`, `x+0`, `x−0`, no-op casts, reshapes and expands, `contiguous`;
///   `reshape∘reshape` → one reshape; `permute∘permute` → one permute (identity dropped);
/// - masks: `where(¬c, a, b)` → `where(c, b, a)`; `where(c, x, F)` with a fill `|F| ≥ 1e30` →
///   `x + where(c, 0, F)` (the additive form; equal in f32 since `x + F` rounds to `F`);
/// - `x / sqrt(y)` → `x · rsqrt(y)`, `x^2` → `x·x`, `max(x, 0)` → `relu(x)`;
/// - GELU (both forms) and the sigmoid written out elementwise → the unary op, recognized by value;
/// - layout: reshapes sink below single-input elementwise ops, rise above bias adds, and a
///   `reshape → 2-D matmul → reshape` sandwich (`Conv1D`) becomes one batched matmul;
/// - an `expand` feeding a broadcasting op is dropped when broadcasting gives the same result;
/// - a scalar factor on a matmul operand moves to the product: `(q·s)·kᵀ` → `(q·kᵀ)·s`, the form
///   attention fusion matches (eager code scales `q` because it is cheaper there);
/// - a concatenation whose first operand is a permuted graph input happens in that input's layout
///   (a position-major KV cache: the past stays a prefix of the present, see `GenerationGraphs`).
public enum Canonicalize {
    /// The rules, in the order they are tried on each node.
    public static var rules: [RewriteRule] {
        [noOps, reshapes, permutes, scalarForms, identities, maskSelects, commute, powers, expandsInBroadcasts,
         sinkReshape, hoistReshapeOverBias, conv1DSandwich, activations, scaleAfterMatmul, concatInInputLayout]
    }

    /// `matmul(a·s, b)` → `matmul(a, b)·s` and `matmul(a, b·s)` → `matmul(a, b)·s` when the scaled
    /// operand has no other use.
    static let scaleAfterMatmul = RewriteRule("scale after matmul") { rw, node in
        guard case .matmul? = rw.primitive(node.id) else { return nil }
        for (k, operand) in node.inputs.enumerated() {
            guard let (op, s, first, x) = rw.binaryScalar(operand), op == .mul, rw.useCount(operand) == 1 else { continue }
            _ = first
            var inputs = node.inputs
            inputs[k] = x
            let product = try rw.add(.matmul, inputs)
            return try rw.add(.binaryScalar(.mul, scalar: s, scalarFirst: false), [product])
        }
        return nil
    }

    /// Casts to the same dtype, `contiguous`, reshapes and expands to the same shape.
    static let noOps = RewriteRule("no-op") { rw, node in
        guard case .primitive(let op, _) = node.op, node.inputs.count == 1 else { return nil }
        switch op {
        case .cast, .contiguous, .reshape, .expand: return rw.sameType(node.inputs[0], as: node)
        default: return nil
        }
    }

    /// `concat(permute(a, p), b, …)` with `a` a graph input → `permute(concat(a, permute(b, p⁻¹), …), p)`:
    /// the concatenation in the input's own layout (only the later operands move, a new cache
    /// position), so that a graph output `permute(…, p⁻¹)` of it folds to the concatenation itself.
    static let concatInInputLayout = RewriteRule("concat in the input's layout") { rw, node in
        guard case .concat(let dim)? = rw.primitive(node.id), let first = node.inputs.first,
              let (source, perm) = rw.permute(first), case .input = rw.node(source).op,
              perm != Array(0..<perm.count), dim < perm.count else { return nil }
        var inverse = Array(repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        var operands = [source]
        for other in node.inputs.dropFirst() { operands.append(try rw.add(.permute(inverse), [other])) }
        let joined = try rw.add(.concat(dim: perm[dim]), operands)
        return try rw.add(.permute(perm), [joined])
    }

    /// `reshape(reshape(x))` → `reshape(x)`.
    static let reshapes = RewriteRule("reshape∘reshape") { rw, node in
        guard let (inner, shape) = rw.reshape(node.id), let (x, _) = rw.reshape(inner) else { return nil }
        return try rw.add(.primitive(.reshape(shape.map { $0.constant ?? 0 }), ints: shape), [x])
    }

    /// `permute(permute(x))` → one permute, or `x` when they cancel.
    static let permutes = RewriteRule("permute∘permute") { rw, node in
        guard let (inner, outer) = rw.permute(node.id) else { return nil }
        if outer == Array(0..<outer.count) { return node.inputs[0] }
        guard let (x, first) = rw.permute(inner) else { return nil }
        let composed = outer.map { first[$0] }
        if composed == Array(0..<composed.count) { return x }
        return try rw.add(.permute(composed), [x])
    }

    /// `x / c` → `x · (1/c)`; `x op C` with a one-element constant `C` → `op_scalar`.
    static let scalarForms = RewriteRule("scalar form") { rw, node in
        if let (op, c, first, x) = rw.binaryScalar(node.id), op == .div, !first, rw.type(x).dtype == .float32 {
            return try rw.add(.binaryScalar(.mul, scalar: 1 / c, scalarFirst: false), [x])
        }
        guard case .binary(let op)? = rw.primitive(node.id), [.add, .sub, .mul, .div].contains(op) else { return nil }
        let (a, b) = (node.inputs[0], node.inputs[1])
        let replacement: ValueID
        if let c = rw.scalarConstant(b), rw.type(a).dtype == .float32 {
            replacement = op == .div ? try rw.add(.binaryScalar(.mul, scalar: 1 / c, scalarFirst: false), [a])
                                     : try rw.add(.binaryScalar(op, scalar: c, scalarFirst: false), [a])
        } else if let c = rw.scalarConstant(a), rw.type(b).dtype == .float32, rw.constant(b) == nil {
            replacement = try rw.add(.binaryScalar(op, scalar: c, scalarFirst: true), [b])
        } else { return nil }
        return rw.sameType(replacement, as: node)
    }

    /// `x·1`, `1·x`, `x+0`, `0+x`, `x−0`, `x/1`.
    static let identities = RewriteRule("identity") { rw, node in
        guard let (op, c, first, x) = rw.binaryScalar(node.id) else { return nil }
        let identity = (op == .mul && c == 1) || (op == .add && c == 0) || (!first && ((op == .sub && c == 0) || (op == .div && c == 1)))
        return identity ? rw.sameType(x, as: node) : nil
    }

    /// `where(¬c, a, b)` → `where(c, b, a)`; `where(c, x, F)` / `where(c, F, x)` with a huge fill →
    /// `x + where(c, 0, F)` / `x + where(c, F, 0)`.
    static let maskSelects = RewriteRule("bool mask → additive") { rw, node in
        guard case .select? = rw.primitive(node.id) else { return nil }
        let (c, a, b) = (node.inputs[0], node.inputs[1], node.inputs[2])
        if let inner = rw.unary(c, .logicalNot) { return try rw.add(.select, [inner, b, a]) }
        guard node.type.dtype == .float32 else { return nil }
        func huge(_ v: ValueID) -> Bool { rw.scalarConstant(v).map { $0 <= -1e30 } ?? false }
        let (x, fillFirst) = huge(b) && !huge(a) ? (a, false) : huge(a) && !huge(b) ? (b, true) : (-1, false)
        guard x >= 0, rw.scalarConstant(x) == nil else { return nil }
        let zero = rw.addConstant("zero", Tensor(Float(0)))
        let fill = fillFirst ? a : b
        let additive = try rw.add(.select, fillFirst ? [c, fill, zero] : [c, zero, fill])
        let replacement = try rw.add(.binary(.add), [x, additive])
        return rw.sameType(replacement, as: node)
    }

    /// Constants to the right: `C + x` → `x + C`, `C · x` → `x · C`.
    static let commute = RewriteRule("constant to the right") { rw, node in
        guard case .binary(let op)? = rw.primitive(node.id), op == .add || op == .mul || op == .maximum || op == .minimum,
              rw.constant(node.inputs[0]) != nil, rw.constant(node.inputs[1]) == nil else { return nil }
        let replacement = try rw.add(.binary(op), [node.inputs[1], node.inputs[0]])
        return rw.sameType(replacement, as: node)
    }

    /// `x / sqrt(y)` → `x · rsqrt(y)`; `x^2` → `x·x`; `1/sqrt(y)` → `rsqrt(y)`; `max(x, 0)` → `relu(x)`.
    static let powers = RewriteRule("power forms") { rw, node in
        if let (x, s) = rw.binary(node.id, .div), let y = rw.unary(s, .sqrt) {
            let r = try rw.add(.unary(.rsqrt), [y])
            return try rw.add(.binary(.mul), [x, r])
        }
        if let (op, c, first, x) = rw.binaryScalar(node.id) {
            if op == .pow, !first, c == 2, rw.type(x).dtype == .float32 { return try rw.add(.binary(.mul), [x, x]) }
            if op == .div, first, c == 1, let y = rw.unary(x, .sqrt) { return try rw.add(.unary(.rsqrt), [y]) }
            if op == .maximum, c == 0, rw.type(x).dtype == .float32 { return try rw.add(.unary(.relu), [x]) }
        }
        return nil
    }

    /// `op(expand(x), y)` → `op(x, y)` when broadcasting already gives the same result type.
    static let expandsInBroadcasts = RewriteRule("expand in broadcast") { rw, node in
        guard case .primitive(let op, _) = node.op, ElementwiseProgram.isElementwise(op), node.inputs.count >= 2 else { return nil }
        for (i, v) in node.inputs.enumerated() {
            guard case .expand? = rw.primitive(v) else { continue }
            var inputs = node.inputs
            inputs[i] = rw.node(v).inputs[0]
            guard let t = try? TypeInference.infer(node.op, inputs.map(rw.type)), t == node.type else { continue }
            return try rw.add(node.op, inputs)
        }
        return nil
    }

    /// `u(reshape(x))` → `reshape(u(x))` for a single-input elementwise `u`: chains meet in one loop.
    static let sinkReshape = RewriteRule("sink reshape") { rw, node in
        guard case .primitive(let op, _) = node.op, ElementwiseProgram.isElementwise(op), node.inputs.count == 1,
              let (x, shape) = rw.reshape(node.inputs[0]), rw.hasOneUse(node.inputs[0]) else { return nil }
        let applied = try rw.add(node.op, [x])
        return try rw.add(.primitive(.reshape(shape.map { $0.constant ?? 0 }), ints: shape), [applied])
    }

    /// `reshape(a + bias)` → `reshape(a) + bias` when the reshape keeps the last dim and `bias` is a
    /// vector over it: the bias meets its matmul.
    static let hoistReshapeOverBias = RewriteRule("reshape above bias") { rw, node in
        guard let (sum, shape) = rw.reshape(node.id), let (a, bias) = rw.binary(sum, .add), rw.hasOneUse(sum),
              let n = shape.last, rw.type(a).shape.last == n, rw.type(bias).shape == [n] else { return nil }
        let moved = try rw.add(.primitive(.reshape(shape.map { $0.constant ?? 0 }), ints: shape), [a])
        let replacement = try rw.add(.binary(.add), [moved, bias])
        return rw.sameType(replacement, as: node)
    }

    /// `reshape(matmul(reshape(x, [M, k]), W), lead + [n])` → `matmul(x, W)` for `x: lead + [k]`.
    static let conv1DSandwich = RewriteRule("reshape·matmul·reshape") { rw, node in
        guard let (mm, _) = rw.reshape(node.id), case .matmul? = rw.primitive(mm), rw.hasOneUse(mm) else { return nil }
        let (flat, w) = (rw.node(mm).inputs[0], rw.node(mm).inputs[1])
        guard rw.type(w).shape.count == 2, let (x, _) = rw.reshape(flat), rw.type(flat).shape.count == 2 else { return nil }
        let xs = rw.type(x).shape
        guard xs.count >= 2, Array(xs.dropLast()) == Array(node.type.shape.dropLast()) else { return nil }
        let replacement = try rw.add(.op(.matmul), [x, w])
        return rw.sameType(replacement, as: node)
    }

    /// A purely elementwise function of one tensor that equals GELU (either form) or the sigmoid at
    /// 97 probe points in [−8, 8] → that unary op.
    static let activations = RewriteRule("activation by value") { rw, node in
        guard node.type.dtype == .float32, case .primitive(let op, _) = node.op, ElementwiseProgram.isElementwise(op),
              let (x, cone) = singleInputCone(rw, node.id), cone.count >= 3 else { return nil }
        let probe = Tensor((0...96).map { Float($0 - 48) / 6 }, shape: [97])
        guard let y = evaluateCone(rw, node.id, x: x, probe: probe, cone: cone) else { return nil }
        let got = withNoGrad { y.toFloatArray() }
        for u in [UnaryOp.gelu, .geluTanh, .sigmoid] {
            let want = withNoGrad { Executor.execute(.unary(u), [probe]).toFloatArray() }
            if zip(got, want).allSatisfy({ Swift.abs($0 - $1) <= 2e-6 * (1 + Swift.abs($1)) }) {
                let replacement = try rw.add(.unary(u), [x])
        return rw.sameType(replacement, as: node)
            }
        }
        return nil
    }

    /// The elementwise nodes computing `root` from exactly one non-constant value `x` of the same
    /// type (the widest such cut), each interior node read only inside the cone; nil when there is
    /// none within 24 nodes.
    static func singleInputCone(_ rw: Rewriter, _ root: ValueID) -> (ValueID, Set<ValueID>)? {
        func elementwise(_ v: ValueID) -> Bool {
            if case .primitive(let op, _) = rw.node(v).op { ElementwiseProgram.isElementwise(op) } else { false }
        }
        // Candidate cuts: values reachable from the root through elementwise ops.
        var reach: [ValueID] = [], seen: Set<ValueID> = [root], queue = [root]
        while !queue.isEmpty, reach.count < 24 {
            let v = queue.removeFirst()
            for i in rw.node(v).inputs where seen.insert(i).inserted && rw.scalarConstant(i) == nil {
                reach.append(i)
                if elementwise(i) { queue.append(i) }
            }
        }
        var best: (ValueID, Set<ValueID>)? = nil
        for x in reach where rw.type(x) == rw.type(root) {
            var cone = Set<ValueID>(), stack = [root], valid = true
            while valid, let v = stack.popLast() {
                if v == x || cone.contains(v) || rw.scalarConstant(v) != nil { continue }
                if (v == root || elementwise(v)) && cone.count < 24 { cone.insert(v); stack += rw.node(v).inputs } else { valid = false }
            }
            guard valid else { continue }
            guard cone.allSatisfy({ $0 == root || (!rw.isOutput($0) && rw.users($0).allSatisfy { cone.contains($0.id) }) }) else { continue }
            if cone.count > (best?.1.count ?? 0) { best = (x, cone) }
        }
        return best
    }

    /// The cone's value at `probe` for `x`.
    static func evaluateCone(_ rw: Rewriter, _ root: ValueID, x: ValueID, probe: Tensor, cone: Set<ValueID>) -> Tensor? {
        var memo: [ValueID: Tensor] = [x: probe]
        func eval(_ v: ValueID) -> Tensor? {
            if let t = memo[v] { return t }
            if !cone.contains(v) { return rw.constant(v) }
            guard case .primitive(let op, _) = rw.node(v).op else { return nil }
            var args: [Tensor] = []
            for i in rw.node(v).inputs { guard let t = eval(i) else { return nil }; args.append(t) }
            let t = withNoGrad { Executor.execute(op, args) }
            memo[v] = t
            return t
        }
        return eval(root)
    }
}
