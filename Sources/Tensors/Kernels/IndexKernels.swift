/// CPU kernels that move elements by index: embedding lookup, gather, their scatter-add adjoints, concat.
enum IndexKernels {
    /// Rows of `x` along `dim` picked by `index` (any rank): the result has shape
    /// `x.shape[..<dim] + index.shape + x.shape[(dim+1)...]`.
    static func indexSelect(_ x: Tensor, dim: Int, index: Tensor) -> Tensor {
        precondition(index.dtype.isInteger, "index_select: indices must be int32 or int64, got \(index.dtype)")
        let ids = index.intValues()
        let size = x.shape[dim]
        for id in ids where id < 0 || id >= size {
            preconditionFailure("index_select: index \(id) is out of range for dim \(dim) of size \(size)")
        }
        let outer = Shape.count(Array(x.shape[..<dim]))
        let inner = Shape.count(Array(x.shape[(dim + 1)...]))
        let src = ElementwiseKernels.contiguous(x)
        let out = ElementwiseKernels.empty(Array(x.shape[..<dim]) + index.shape + Array(x.shape[(dim + 1)...]), x.dtype)
        let bytes = x.dtype.byteSize
        let s = src.storage.base + src.offset * bytes
        let o = out.storage.base
        for i in 0..<outer {
            for (j, id) in ids.enumerated() {
                (o + ((i * ids.count + j) * inner) * bytes)
                    .copyMemory(from: s + ((i * size + id) * inner) * bytes, byteCount: inner * bytes)
            }
        }
        return out
    }

    /// The adjoint of `indexSelect`: `grad` rows added into zeros of `shape` at `index`.
    static func indexAdd(_ grad: Tensor, shape: [Int], dim: Int, index: Tensor) -> Tensor {
        let ids = index.intValues()
        let size = shape[dim]
        let outer = Shape.count(Array(shape[..<dim]))
        let inner = Shape.count(Array(shape[(dim + 1)...]))
        let g = ElementwiseKernels.contiguous(grad)
        let out = ElementwiseKernels.filled(shape, 0, .float32)
        let gp = UnsafePointer(g.pointer(as: Float.self)), op = out.pointer(as: Float.self)
        for i in 0..<outer {
            for (j, id) in ids.enumerated() {
                let dst = op + (i * size + id) * inner, src = gp + (i * ids.count + j) * inner
                for e in 0..<inner { dst[e] += src[e] }
            }
        }
        return out
    }

    /// Walks every element of `index` (contiguous, same rank as `x`), calling `body(indexPosition,
    /// xOffset)` with the offset in `x` that `index` points at along `dim`.
    private static func walkGather(_ xShape: [Int], _ xStrides: [Int], _ index: Tensor, dim: Int,
                                   _ body: (Int, Int) -> Void) {
        let ids = index.intValues()
        let rank = index.rank
        var position = [Int](repeating: 0, count: rank)
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && id < xShape[dim], "gather: index \(id) is out of range for dim \(dim) of size \(xShape[dim])")
            var offset = 0
            for d in 0..<rank { offset += (d == dim ? id : position[d]) * xStrides[d] }
            body(i, offset)
            var d = rank - 1
            while d >= 0 { position[d] += 1; if position[d] < index.shape[d] { break }; position[d] = 0; d -= 1 }
        }
    }

    /// `out[p] = x[p with p[dim] = index[p]]` (torch.gather).
    static func gather(_ x: Tensor, dim: Int, index: Tensor) -> Tensor {
        precondition(index.dtype.isInteger, "gather: indices must be int32 or int64, got \(index.dtype)")
        precondition(index.rank == x.rank, "gather: index rank \(index.rank) differs from input rank \(x.rank)")
        for d in 0..<x.rank where d != dim {
            precondition(index.shape[d] <= x.shape[d], "gather: index shape \(index.shape) exceeds input shape \(x.shape) at dim \(d)")
        }
        let src = x.dtype == .float32 ? x : ElementwiseKernels.cast(x, to: .float32)
        let out = ElementwiseKernels.empty(index.shape, .float32)
        let sp = src.storage.base.assumingMemoryBound(to: Float.self) + src.offset
        let op = out.pointer(as: Float.self)
        walkGather(src.shape, src.strides, index, dim: dim) { i, offset in op[i] = sp[offset] }
        return x.dtype == .float32 ? out : ElementwiseKernels.cast(out, to: x.dtype)
    }

    /// The adjoint of `gather`: `grad` added into zeros of `shape` at the gathered positions.
    static func scatterAdd(_ grad: Tensor, shape: [Int], dim: Int, index: Tensor) -> Tensor {
        let out = ElementwiseKernels.filled(shape, 0, .float32)
        let g = ElementwiseKernels.contiguous(grad).floatValues()
        let op = out.pointer(as: Float.self)
        walkGather(shape, out.strides, index, dim: dim) { i, offset in op[offset] += g[i] }
        return out
    }

    /// `inputs` joined along `dim`.
    static func concat(_ inputs: [Tensor], dim: Int) -> Tensor {
        precondition(!inputs.isEmpty, "concat: needs at least one tensor")
        let first = inputs[0]
        for t in inputs {
            precondition(t.dtype == first.dtype, "concat: dtypes \(first.dtype) and \(t.dtype) differ")
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == dim || t.shape[$0] == first.shape[$0] },
                         "concat: shape \(t.shape) does not match \(first.shape) outside dim \(dim)")
        }
        var shape = first.shape
        shape[dim] = inputs.reduce(0) { $0 + $1.shape[dim] }
        let out = ElementwiseKernels.empty(shape, first.dtype)
        var start = 0
        for t in inputs {
            let view = Tensor(storage: out.storage, shape: t.shape, strides: out.strides,
                              offset: start * out.strides[dim], dtype: out.dtype)
            ElementwiseKernels.copy(t, into: view)
            start += t.shape[dim]
        }
        return out
    }
}
