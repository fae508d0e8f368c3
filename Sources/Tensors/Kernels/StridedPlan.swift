/// How to walk several same-shaped strided operands together: an inner run of `inner` elements with a
/// fixed stride per operand, repeated at precomputed outer offsets.
///
/// Adjacent dims are merged where every operand allows it, so a contiguous (or scalar-broadcast)
/// operation becomes a single long run that the compiler vectorizes.
struct StridedPlan {
    /// Elements per inner run.
    let inner: Int
    /// Inner-run stride of each operand.
    let innerStrides: [Int]
    /// For each operand, the start offset of every inner run (all runs, in row-major order).
    let outerOffsets: [[Int]]

    /// A plan for `shape`, where `strides[k]` are operand k's strides (0 on broadcast dims) and
    /// `offsets[k]` its base offset.
    init(shape: [Int], strides: [[Int]], offsets: [Int]) {
        let operands = strides.count
        // Drop size-1 dims, then merge neighbours that are contiguous for every operand.
        var dims: [Int] = []
        var merged: [[Int]] = Array(repeating: [], count: operands)
        for (i, size) in shape.enumerated() where size != 1 {
            if let last = dims.last,
               (0..<operands).allSatisfy({ merged[$0].last! == strides[$0][i] * size }) {
                dims[dims.count - 1] = last * size
                for k in 0..<operands { merged[k][merged[k].count - 1] = strides[k][i] }
            } else {
                dims.append(size)
                for k in 0..<operands { merged[k].append(strides[k][i]) }
            }
        }
        let total = Shape.count(shape)
        guard let innerSize = dims.last, total > 0 else {
            inner = total == 0 ? 0 : 1
            innerStrides = Array(repeating: 0, count: operands)
            outerOffsets = offsets.map { [$0] }
            return
        }
        inner = innerSize
        innerStrides = merged.map { $0.last! }
        let outerDims = Array(dims.dropLast())
        let runs = Shape.count(outerDims)
        var result: [[Int]] = Array(repeating: [], count: operands)
        for k in 0..<operands { result[k].reserveCapacity(runs) }
        var index = [Int](repeating: 0, count: outerDims.count)
        var position = offsets
        for _ in 0..<runs {
            for k in 0..<operands { result[k].append(position[k]) }
            var d = outerDims.count - 1
            while d >= 0 {
                index[d] += 1
                for k in 0..<operands { position[k] += merged[k][d] }
                if index[d] < outerDims[d] { break }
                for k in 0..<operands { position[k] -= merged[k][d] * outerDims[d] }
                index[d] = 0
                d -= 1
            }
        }
        outerOffsets = result
    }

    /// Strides of `t` broadcast to `shape` (0 where `t` has size 1 or is missing the dim).
    static func broadcastStrides(of t: Tensor, to shape: [Int]) -> [Int] {
        let lead = shape.count - t.rank
        return (0..<shape.count).map { i in
            i < lead ? 0 : (t.shape[i - lead] == 1 && shape[i] != 1 ? 0 : t.strides[i - lead])
        }
    }
}

/// Runs `body(out, a)` over every element of a one-input plan (output first, contiguous or not).
@inline(__always)
func mapLoop<A, R>(_ plan: StridedPlan, _ out: UnsafeMutablePointer<R>, _ a: UnsafePointer<A>,
                   _ body: (A) -> R) {
    let n = plan.inner
    let so = plan.innerStrides[0], sa = plan.innerStrides[1]
    for run in 0..<plan.outerOffsets[0].count {
        let o = out + plan.outerOffsets[0][run]
        let x = a + plan.outerOffsets[1][run]
        if so == 1 && sa == 1 {
            for i in 0..<n { o[i] = body(x[i]) }
        } else if so == 1 && sa == 0 {
            let v = body(x[0])
            for i in 0..<n { o[i] = v }
        } else {
            for i in 0..<n { o[i &* so] = body(x[i &* sa]) }
        }
    }
}

/// Runs `body` over every element pair of a two-input plan (operands: out, a, b).
@inline(__always)
func zipLoop<A, B, R>(_ plan: StridedPlan, _ out: UnsafeMutablePointer<R>, _ a: UnsafePointer<A>,
                      _ b: UnsafePointer<B>, _ body: (A, B) -> R) {
    let n = plan.inner
    let so = plan.innerStrides[0], sa = plan.innerStrides[1], sb = plan.innerStrides[2]
    for run in 0..<plan.outerOffsets[0].count {
        let o = out + plan.outerOffsets[0][run]
        let x = a + plan.outerOffsets[1][run]
        let y = b + plan.outerOffsets[2][run]
        if so == 1 && sa == 1 && sb == 1 {
            for i in 0..<n { o[i] = body(x[i], y[i]) }
        } else if so == 1 && sa == 1 && sb == 0 {
            let c = y[0]
            for i in 0..<n { o[i] = body(x[i], c) }
        } else if so == 1 && sa == 0 && sb == 1 {
            let c = x[0]
            for i in 0..<n { o[i] = body(c, y[i]) }
        } else {
            for i in 0..<n { o[i &* so] = body(x[i &* sa], y[i &* sb]) }
        }
    }
}

/// Runs `body` over every element triple of a three-input plan (operands: out, a, b, c).
@inline(__always)
func zip3Loop<A, B, C, R>(_ plan: StridedPlan, _ out: UnsafeMutablePointer<R>, _ a: UnsafePointer<A>,
                          _ b: UnsafePointer<B>, _ c: UnsafePointer<C>, _ body: (A, B, C) -> R) {
    let n = plan.inner
    let s = plan.innerStrides
    for run in 0..<plan.outerOffsets[0].count {
        let o = out + plan.outerOffsets[0][run]
        let x = a + plan.outerOffsets[1][run]
        let y = b + plan.outerOffsets[2][run]
        let z = c + plan.outerOffsets[3][run]
        for i in 0..<n { o[i &* s[0]] = body(x[i &* s[1]], y[i &* s[2]], z[i &* s[3]]) }
    }
}
