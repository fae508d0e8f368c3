import Graph
import Tensors

/// Attention fusion: the head split, `Q·Kᵀ`, scale, masks, softmax and `·V` with the head merge become
/// one `fused_attention` node (located at the softmax).
///
/// Matched from the merge backwards, on the canonical form:
/// ```
/// reshape([b, s, h·d] or any shape of as many elements) ∘ permute([0,2,1,3]) ∘ matmul(P, V)
/// P = softmax(last dim)(S + M₁ + M₂ …)            (adds in any order and nesting)
/// S = matmul(Q, Kᵀ) · c₁ · c₂ …                    (scalar multiplies)
/// Q = permute([0,2,1,3])(reshape(q, [b, s, h, d]))   or any Q [b, h, s, d] (merged back to [b, s, h·d])
/// Kᵀ = permute([0,2,3,1])(reshape(k, [b, t, h, d]))  or  permute([0,1,3,2])(K) with K [b, h, t, d]
/// V = permute([0,2,1,3])(reshape(v, [b, t, h, d]))   or  V [b, h, t, d]
/// ```
/// A mask that depends on no input and equals the causal pattern (0 where key `j ≤ i + t − s`, ≤ −1e30
/// elsewhere) at two dim values sets `causal`; one that is all zeros there (a mask of ones when no
/// `attention_mask` is given) is dropped; other masks are summed into the mask operand. Every
/// node between the split and the merge must have no other reader. Dropout in eval mode is the
/// identity and never appears in a trace.
///
/// Grouped-query attention (Llama's `repeat_kv`) repeats each key/value head for its group of query
/// heads before the product: `reshape([b, kv·g, t, d]) ∘ expand([b, kv, g, t, d]) ∘ reshape([b, kv,
/// 1, t, d])` of a `[b, kv, t, d]` tensor. When both `k` and `v` of a split-layout `fused_attention`
/// are such repeats with one group size, the attention reads the unrepeated tensors (`kv_heads`),
/// so a decode step no longer copies its whole cache `g` times per layer.
public enum AttentionFusion {
    /// The rules.
    public static var rules: [RewriteRule] { [fuse, groupKeyValues] }

    static let groupKeyValues = RewriteRule("grouped-query attention") { rw, node in
        guard case .fused(.attention(var a)) = node.op, a.kvLayout == .split, a.kvHeads == a.heads,
              let (k, group) = repeatedHeads(rw, node.inputs[1]), let (v, valueGroup) = repeatedHeads(rw, node.inputs[2]),
              group == valueGroup, group > 1, a.heads % group == 0 else { return nil }
        a.kvHeads = a.heads / group
        return try rw.add(.fused(.attention(a)), [node.inputs[0], k, v] + node.inputs.dropFirst(3), location: node.location)
    }

    /// `(x, g)` when `id` is `x: [b, kv, t, d]` with each head repeated `g` times:
    /// `reshape([b, kv·g, t, d])(expand([b, kv, g, t, d])(reshape([b, kv, 1, t, d])(x)))`.
    static func repeatedHeads(_ rw: Rewriter, _ id: ValueID) -> (ValueID, Int)? {
        guard let (expanded, _) = rw.reshape(id), case .expand? = rw.primitive(expanded),
              let (x, _) = rw.reshape(rw.node(expanded).inputs[0]) else { return nil }
        let xs = rw.type(x).shape, unsqueezed = rw.type(rw.node(expanded).inputs[0]).shape
        let repeated = rw.type(expanded).shape, out = rw.type(id).shape
        guard xs.count == 4, let kv = xs[1].constant, repeated.count == 5, let g = repeated[2].constant,
              unsqueezed == [xs[0], xs[1], SymbolicInt(1), xs[2], xs[3]],
              repeated == [xs[0], xs[1], SymbolicInt(g), xs[2], xs[3]],
              out == [xs[0], SymbolicInt(kv * g), xs[2], xs[3]] else { return nil }
        return (x, g)
    }

    static let fuse = RewriteRule("attention") { rw, node in
        // Merge: reshape(permute(matmul(P, V))).
        guard let (merged, outShape) = rw.reshape(node.id),
              let (pv, mergePerm) = rw.permute(merged), mergePerm == [0, 2, 1, 3], rw.hasOneUse(merged),
              case .matmul? = rw.primitive(pv), rw.hasOneUse(pv) else { return nil }
        let (probs, vSplit) = (rw.node(pv).inputs[0], rw.node(pv).inputs[1])
        guard case .softmax(let dim)? = rw.primitive(probs), dim == 3, rw.hasOneUse(probs) else { return nil }
        // Scores: adds of masks over scalar multiplies over Q·Kᵀ.
        var masks: [ValueID] = [], causal = false
        guard let (qk, scale) = peelScores(&rw, rw.node(probs).inputs[0], masks: &masks) else { return nil }
        guard case .matmul? = rw.primitive(qk) else { return nil }
        let (qSplit, kT) = (rw.node(qk).inputs[0], rw.node(qk).inputs[1])
        // Q comes from a head split, or (rotary embeddings applied after the split) is any
        // [b, h, s, d] tensor, merged back below.
        let qMerged = mergedHeads(rw, qSplit)
        guard let heads = qMerged?.1 ?? splitHeadCount(rw, qSplit) else { return nil }
        guard let (kSplitOrT, kPerm) = rw.permute(kT) else { return nil }
        // Keys and values: merged when both come from a head split of [b, t, h·d], else split.
        var k: ValueID, v: ValueID, layout: FusedOp.KVLayout
        if kPerm == [0, 2, 3, 1], let (kMerged, kShape) = rw.reshape(kSplitOrT), kShape.count == 4,
           kShape[2] == SymbolicInt(heads), let (vMerged, vh, _) = mergedHeads(rw, vSplit), vh == heads {
            (k, v, layout) = (kMerged, vMerged, .merged)
        } else if kPerm == [0, 2, 3, 1] {
            let kSplit = try rw.add(.permute([0, 2, 1, 3]), [kSplitOrT])
            (k, v, layout) = (kSplit, vSplit, .split)
        } else if kPerm == [0, 1, 3, 2] {
            (k, v, layout) = (kSplitOrT, vSplit, .split)
        } else { return nil }
        // Masks: causal patterns become the flag, the rest one additive mask.
        var additive: [ValueID] = []
        for m in masks.flatMap({ maskTerms(rw, $0) }) {
            switch constantMask(&rw, m, scores: rw.type(probs)) {
            case .causal: causal = true
            case .zero: continue
            case nil: additive.append(m)
            }
        }
        guard additive.allSatisfy({ rw.type($0).dtype == .float32 }) else { return nil }
        var mask: ValueID? = additive.first
        for m in additive.dropFirst() { mask = try rw.add(.binary(.add), [mask!, m]) }
        let q = try qMerged?.0 ?? mergeSplitHeads(&rw, qSplit)
        let op = FusedOp.attention(.init(heads: heads, scale: scale, causal: causal, masked: mask != nil, kvLayout: layout))
        let operands = [q, k, v] + (mask.map { [$0] } ?? [])
        guard let t = try? TypeInference.infer(.fused(op), operands.map(rw.type)),
              t.shape.product == node.type.shape.product else { return nil }
        let fused = try rw.add(.fused(op), operands, location: rw.node(probs).location)
        // The merge may reshape further (GPT-2's Conv1D flattens to [batch·seq, hidden]).
        return t == node.type ? fused : try rw.add(.primitive(.reshape(outShape.map { $0.constant ?? 0 }), ints: outShape), [fused])
    }

    /// Walks from the softmax input down to `Q·Kᵀ`: adds first (their non-score operands are masks),
    /// then scalar multiplies. Every node on the way must have one reader.
    static func peelScores(_ rw: inout Rewriter, _ start: ValueID, masks: inout [ValueID]) -> (ValueID, Double)? {
        var current = start, scale = 1.0, sawScale = false
        while true {
            guard rw.hasOneUse(current) else { return nil }
            if case .matmul? = rw.primitive(current) { return (current, scale) }
            if let (x, c) = rw.scaled(current) {
                scale *= c; sawScale = true; current = x; continue
            }
            guard !sawScale, let (a, b) = rw.binary(current, .add) else { return nil }
            // The score chain is the operand that leads to a matmul of the scores' type.
            var trial = masks
            if rw.type(a) == rw.type(current), let r = peelScores(&rw, a, masks: &trial) {
                masks = trial + [b]
                return (r.0, r.1 * scale)
            }
            trial = masks
            if rw.type(b) == rw.type(current), let r = peelScores(&rw, b, masks: &trial) {
                masks = trial + [a]
                return (r.0, r.1 * scale)
            }
            return nil
        }
    }

    /// The terms of a mask that is itself a sum of masks (a padding mask plus a causal one, as
    /// `scaledDotProductAttention` builds them), so a causal term is recognized wherever it sits.
    static func maskTerms(_ rw: Rewriter, _ mask: ValueID) -> [ValueID] {
        guard rw.hasOneUse(mask), let (a, b) = rw.binary(mask, .add), rw.type(a).dtype == .float32, rw.type(b).dtype == .float32 else {
            return [mask]
        }
        return maskTerms(rw, a) + maskTerms(rw, b)
    }

    /// `(x, heads, headDim)` when `id` is `permute([0,2,1,3])(reshape(x, [b, s, h, d]))` with
    /// `x: [b, s, h·d]`.
    static func mergedHeads(_ rw: Rewriter, _ id: ValueID) -> (ValueID, Int, Int)? {
        guard let (r, perm) = rw.permute(id), perm == [0, 2, 1, 3], let (x, shape) = rw.reshape(r), shape.count == 4,
              let h = shape[2].constant, let d = shape[3].constant else { return nil }
        let xs = rw.type(x).shape
        guard xs.count == 3, xs[0] == shape[0], xs[1] == shape[1], xs[2] == SymbolicInt(h * d) else { return nil }
        return (x, h, d)
    }

    /// The head count of a `[b, h, s, d]` query with constant `h` and `d`.
    static func splitHeadCount(_ rw: Rewriter, _ id: ValueID) -> Int? {
        let shape = rw.type(id).shape
        guard shape.count == 4, let h = shape[1].constant, shape[3].constant != nil else { return nil }
        return h
    }

    /// `[b, h, s, d]` → `[b, s, h·d]`: the merged layout `fused_attention` reads queries in.
    static func mergeSplitHeads(_ rw: inout Rewriter, _ id: ValueID) throws -> ValueID {
        let shape = rw.type(id).shape
        let permuted = try rw.add(.permute([0, 2, 1, 3]), [id])
        let merged = [shape[0], shape[2], SymbolicInt((shape[1].constant ?? 0) * (shape[3].constant ?? 0))]
        return try rw.add(.primitive(.reshape(merged.map { $0.constant ?? 0 }), ints: merged), [permuted])
    }

    /// What an input-free mask is, found by evaluating it.
    enum ConstantMask { case causal, zero }

    /// `.causal` when input-free `mask` equals the causal pattern for scores of type `scores`
    /// (`[b, h, s, t]`) at two sets of dim values, `.zero` when it is all zeros there (HF's mask of
    /// ones when no `attention_mask` is given), else nil.
    static func constantMask(_ rw: inout Rewriter, _ mask: ValueID, scores: TensorType) -> ConstantMask? {
        guard rw.isInputFree(mask), rw.type(mask).dtype == .float32 else { return nil }
        var causal = true, zero = true
        for trial in 0..<2 {
            var bindings: [String: Int] = [:]
            for (k, s) in rw.graph.symbols.enumerated() { bindings[s.name] = Swift.min(s.max, Swift.max(s.min, 2 + k + 3 * trial)) }
            guard let sLen = scores.shape[2].evaluate(bindings), let tLen = scores.shape[3].evaluate(bindings),
                  let value = rw.evaluate(mask, bindings) else { return nil }
            let values = withNoGrad { value.contiguous().toFloatArray() }
            zero = zero && values.allSatisfy { $0 == 0 }
            let shape = value.shape
            guard causal, shape.count >= 2, shape.dropLast(2).allSatisfy({ $0 == 1 }), shape[shape.count - 2] == sLen,
                  shape[shape.count - 1] == tLen else { causal = false; continue }
            for i in 0..<sLen {
                for j in 0..<tLen where causal {
                    let m = values[i * tLen + j]
                    causal = j <= i + tLen - sLen ? m == 0 : m <= -1e30
                }
            }
        }
        return zero ? .zero : causal ? .causal : nil
    }
}
