import CKernels

/// The eager kernel of the `attention` op: `softmax(q·kᵀ + mask)·v` in one pass per (batch, head)
/// with the score block reused, instead of four ops that each write a `[B, H, S, T]` tensor. It
/// computes exactly what `matmul`, `add`, `softmax` and `matmul` compute, with the same kernels in the
/// same order, so the values are identical to the ops; layouts it does not handle run as those ops.
enum AttentionKernels {
    static func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?) -> Tensor {
        if let fused = fused(q, k, v, mask: mask) { return fused }
        var scores = MatmulKernels.matmul(q, k.permutedView(transposingLast(k.rank)))
        if let mask { scores = ElementwiseKernels.binary(.add, scores, mask) }
        return MatmulKernels.matmul(SoftmaxKernels.softmax(scores, dim: scores.rank - 1, log: false), v)
    }

    static func transposingLast(_ rank: Int) -> [Int] {
        var perm = Array(0..<rank)
        perm.swapAt(rank - 2, rank - 1)
        return perm
    }

    /// The one-pass kernel for f32 `[B, H, S, D]` operands whose rows the GEMM kernel can read; nil
    /// otherwise. The result is `[B, H, S, Dv]` laid out as `[B, S, H, Dv]`, so that merging the heads
    /// back (`transposed(1, 2)` then flattening) needs no copy.
    static func fused(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?) -> Tensor? {
        guard q.rank == 4, k.rank == 4, v.rank == 4, [q, k, v].allSatisfy({ $0.dtype == .float32 }) else { return nil }
        let (b, h, s, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let t = k.shape[2], dv = v.shape[3]
        guard k.shape == [b, h, t, d], v.shape == [b, h, t, dv], b * h * s * t > 0, d > 0, dv > 0 else { return nil }
        if let mask {
            guard mask.dtype == .float32, mask.rank <= 4, Shape.broadcast(mask.shape, [b, h, s, t]) == [b, h, s, t] else { return nil }
        }
        guard let lq = MatmulKernels.layout(rows: s, cols: d, rowStride: q.strides[2], colStride: q.strides[3]),
              let lk = MatmulKernels.layout(rows: d, cols: t, rowStride: k.strides[3], colStride: k.strides[2]),
              let lv = MatmulKernels.layout(rows: t, cols: dv, rowStride: v.strides[2], colStride: v.strides[3]) else { return nil }
        let merged = ElementwiseKernels.empty([b, s, h, dv], .float32)
        let maskStrides = mask.map { StridedPlan.broadcastStrides(of: $0, to: [b, h, s, t]) }
        let pq = UnsafePointer(q.pointer(as: Float.self)), pk = UnsafePointer(k.pointer(as: Float.self))
        let pv = UnsafePointer(v.pointer(as: Float.self)), out = merged.pointer(as: Float.self)
        let pm = mask.map { UnsafePointer($0.pointer(as: Float.self)) }
        // (batch, head) pairs are independent: each thread takes a range with its own score block.
        // Products above OpenBLAS's small-matrix size are threaded by OpenBLAS itself instead.
        // Tiny heads (a short sequence) are grouped so that a thread's share is worth dispatching.
        let work = s * t * Swift.max(d, dv)
        ParallelRanges.forEach(b * h, grain: work <= 1_000_000 ? Swift.max(1, ParallelRanges.elementGrain / work) : b * h) { pairs in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: 2 * s * t)
            defer { scores.deallocate() }
            let logits = scores, probabilities = scores + s * t
            for pair in pairs {
                let batch = pair / h, head = pair % h
                MatmulKernels.gemm(m: s, n: t, k: d, a: pq + batch * q.strides[0] + head * q.strides[1], la: lq,
                                   b: pk + batch * k.strides[0] + head * k.strides[1], lb: lk, c: logits)
                if let pm, let ms = maskStrides {
                    let base = pm + batch * ms[0] + head * ms[1]
                    for i in 0..<s {
                        let row = base + i * ms[2], target = logits + i * t
                        for j in 0..<t { target[j] += row[j * ms[3]] }
                    }
                }
                tc_softmax_rows_f32(logits, probabilities, s, t, 0)
                MatmulKernels.gemm(m: s, n: dv, k: t, a: probabilities, la: .init(transposed: false, leadingDimension: t),
                                   b: pv + batch * v.strides[0] + head * v.strides[1], lb: lv,
                                   c: out + batch * s * h * dv + head * dv, ldc: h * dv)
            }
        }
        return Tensor(storage: merged.storage, shape: [b, h, s, dv], strides: [s * h * dv, dv, h * dv, 1], offset: 0, dtype: .float32)
    }
}
