import COpenBLAS

/// Matrix products through OpenBLAS `cblas_sgemm`, reading strided operands through transpose flags
/// instead of copying them where the layout allows.
enum MatmulKernels {
    /// How one operand's last two dims map onto a BLAS matrix argument.
    struct Layout {
        var transposed: Bool
        var leadingDimension: Int
    }

    /// The BLAS view of a `rows × cols` matrix with the given strides, or nil when a copy is needed.
    static func layout(rows: Int, cols: Int, rowStride: Int, colStride: Int) -> Layout? {
        if colStride == 1 || cols == 1 {
            let ld = rows == 1 ? max(cols, 1) : rowStride
            if ld >= max(cols, 1) { return Layout(transposed: false, leadingDimension: ld) }
        }
        if rowStride == 1 || rows == 1 {
            let ld = cols == 1 ? max(rows, 1) : colStride
            if ld >= max(rows, 1) { return Layout(transposed: true, leadingDimension: ld) }
        }
        return nil
    }

    /// `a @ b` for inputs of rank ≥ 2 with broadcast batch dims.
    static func matmul(_ a0: Tensor, _ b0: Tensor) -> Tensor {
        precondition(a0.dtype == .float32 && b0.dtype == .float32,
                     "matmul: expects float32 tensors, got \(a0.dtype) and \(b0.dtype)")
        precondition(a0.rank >= 2 && b0.rank >= 2, "matmul: kernel expects rank ≥ 2")
        let m = a0.shape[a0.rank - 2], k = a0.shape[a0.rank - 1]
        let k2 = b0.shape[b0.rank - 2], n = b0.shape[b0.rank - 1]
        precondition(k == k2, "matmul: shapes \(a0.shape) and \(b0.shape) do not match (\(k) vs \(k2))")
        guard let batch = Shape.broadcast(Array(a0.shape.dropLast(2)), Array(b0.shape.dropLast(2))) else {
            preconditionFailure("matmul: batch dims of \(a0.shape) and \(b0.shape) cannot be broadcast together")
        }
        let out = ElementwiseKernels.empty(batch + [m, n], .float32)
        if out.count == 0 { return out }
        if k == 0 { return ElementwiseKernels.filled(out.shape, 0, .float32) }

        // A row-major stack of matrices times one matrix is one big GEMM.
        if b0.rank == 2 && a0.rank > 2 && a0.isContiguous {
            let b = operand(b0, rows: k, cols: n)
            gemm(m: a0.count / k, n: n, k: k,
                 a: UnsafePointer(a0.pointer(as: Float.self)), la: Layout(transposed: false, leadingDimension: k),
                 b: UnsafePointer(b.tensor.pointer(as: Float.self)), lb: b.layout, c: out.pointer(as: Float.self))
            return out
        }
        let a = operand(a0, rows: m, cols: k)
        let b = operand(b0, rows: k, cols: n)
        let aStrides = StridedPlan.broadcastStrides(of: a.tensor, to: batch + [m, k]).dropLast(2)
        let bStrides = StridedPlan.broadcastStrides(of: b.tensor, to: batch + [k, n]).dropLast(2)
        let pa = UnsafePointer(a.tensor.pointer(as: Float.self))
        let pb = UnsafePointer(b.tensor.pointer(as: Float.self))
        let pc = out.pointer(as: Float.self)
        var index = [Int](repeating: 0, count: batch.count)
        for matrix in 0..<Shape.count(batch) {
            var oa = 0, ob = 0
            for d in 0..<batch.count { oa += index[d] * aStrides[d]; ob += index[d] * bStrides[d] }
            gemm(m: m, n: n, k: k, a: pa + oa, la: a.layout, b: pb + ob, lb: b.layout, c: pc + matrix * m * n)
            var d = batch.count - 1
            while d >= 0 { index[d] += 1; if index[d] < batch[d] { break }; index[d] = 0; d -= 1 }
        }
        return out
    }

    /// The operand itself when BLAS can read its layout, else a contiguous copy.
    private static func operand(_ t: Tensor, rows: Int, cols: Int) -> (tensor: Tensor, layout: Layout) {
        if let l = layout(rows: rows, cols: cols, rowStride: t.strides[t.rank - 2], colStride: t.strides[t.rank - 1]) {
            return (t, l)
        }
        return (ElementwiseKernels.contiguous(t), Layout(transposed: false, leadingDimension: max(cols, 1)))
    }

    /// C (m×n, row-major, rows `ldc` apart — `n` by default) = A (m×k) · B (k×n).
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, la: Layout,
                     b: UnsafePointer<Float>, lb: Layout, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        if m == 1 && n > 1 && k > 1 {
            // One row (a decode step): sgemv reads B once, where sgemm would first pack all of it.
            let incA = Int32(la.transposed ? la.leadingDimension : 1)
            cblas_sgemv(CblasRowMajor, lb.transposed ? CblasNoTrans : CblasTrans,
                        Int32(lb.transposed ? n : k), Int32(lb.transposed ? k : n), 1, b, Int32(lb.leadingDimension),
                        a, incA, 0, c, 1)
            return
        }
        cblas_sgemm(CblasRowMajor,
                    la.transposed ? CblasTrans : CblasNoTrans, lb.transposed ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(la.leadingDimension),
                    b, Int32(lb.leadingDimension), 0, c, Int32(ldc ?? max(n, 1)))
    }
}
