/// Shape and layout ops: reshape, transpose/permute, expand, squeeze/unsqueeze, slicing, concat,
/// stack, split. Views where the layout allows, copies where it must.
extension Tensor {
    /// The same elements in a new shape; one dim may be -1 (`torch.reshape`).
    public func reshaped(_ shape: [Int]) -> Tensor {
        Tensor.apply(.reshape(Shape.resolve(shape, count: count)), [self])
    }

    /// Dims `startDim...endDim` merged into one (`torch.flatten`).
    public func flattened(startDim: Int = 0, endDim: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = Shape.normalize(startDim, rank: rank, op: "flatten"), e = Shape.normalize(endDim, rank: rank, op: "flatten")
        precondition(s <= e, "flatten: startDim \(startDim) comes after endDim \(endDim)")
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Dim `dim` split into `sizes` (one may be -1) (`torch.unflatten`), e.g. splitting attention heads.
    public func unflattened(dim: Int, sizes: [Int]) -> Tensor {
        let d = Shape.normalize(dim, rank: rank, op: "unflatten")
        let resolved = Shape.resolve(sizes, count: shape[d], op: "unflatten")
        return reshaped(Array(shape[..<d]) + resolved + Array(shape[(d + 1)...]))
    }

    /// Dims reordered: result dim i is input dim `perm[i]` (`torch.permute`; a view).
    public func permuted(_ perm: [Int]) -> Tensor {
        let p = perm.map { Shape.normalize($0, rank: rank, op: "permute") }
        precondition(p.count == rank && Set(p).count == rank, "permute: \(perm) is not a permutation of \(rank) dims")
        return Tensor.apply(.permute(p), [self])
    }

    /// Two dims swapped (`torch.transpose`; a view).
    public func transposed(_ dim0: Int = -2, _ dim1: Int = -1) -> Tensor {
        var perm = Array(0..<rank)
        perm.swapAt(Shape.normalize(dim0, rank: rank, op: "transpose"), Shape.normalize(dim1, rank: rank, op: "transpose"))
        return permuted(perm)
    }

    /// Size-1 dims repeated to `shape` without copying; -1 keeps a dim (`torch.expand`).
    public func expanded(to shape: [Int]) -> Tensor {
        let lead = shape.count - rank
        let target = shape.enumerated().map { i, d in d == -1 && i >= lead ? self.shape[i - lead] : d }
        if target == self.shape { return self }
        return Tensor.apply(.expand(target), [self])
    }

    /// A size-1 dim inserted at `dim` (`torch.unsqueeze`).
    public func unsqueezed(at dim: Int) -> Tensor {
        let d = dim < 0 ? dim + rank + 1 : dim
        precondition(d >= 0 && d <= rank, "unsqueeze: dim \(dim) is out of range for rank \(rank)")
        var s = shape
        s.insert(1, at: d)
        return reshaped(s)
    }

    /// Size-1 dims removed: `dim` only, or all of them when nil (`torch.squeeze`).
    public func squeezed(at dim: Int? = nil) -> Tensor {
        if let dim {
            let d = Shape.normalize(dim, rank: rank, op: "squeeze")
            if shape[d] != 1 { return self }
            var s = shape
            s.remove(at: d)
            return reshaped(s)
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// Elements `start..<end` by `step` along `dim`; negative and out-of-range bounds clamp as in
    /// Python slicing (a view).
    public func sliced(dim: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        precondition(step > 0, "slice: step must be positive, got \(step)")
        let d = Shape.normalize(dim, rank: rank, op: "slice")
        let n = shape[d]
        func clamp(_ i: Int) -> Int { Swift.min(Swift.max(i < 0 ? i + n : i, 0), n) }
        let s = clamp(start), e = Swift.max(clamp(end ?? n), s)
        return Tensor.apply(.slice(dim: d, start: s, end: e, step: step), [self])
    }

    /// `length` elements from `start` along `dim` (`torch.narrow`; a view).
    public func narrowed(dim: Int, start: Int, length: Int) -> Tensor {
        let d = Shape.normalize(dim, rank: rank, op: "narrow")
        precondition(start >= 0 && length >= 0 && start + length <= shape[d],
                     "narrow: \(start)..<\(start + length) is out of range for dim \(dim) of size \(shape[d])")
        return sliced(dim: d, start: start, end: start + length)
    }

    /// The slice at `index` along `dim`, with that dim removed (`tensor[:, i]`).
    public func selected(dim: Int, index: Int) -> Tensor {
        let d = Shape.normalize(dim, rank: rank, op: "select")
        let i = index < 0 ? index + shape[d] : index
        precondition(i >= 0 && i < shape[d], "select: index \(index) is out of range for dim \(dim) of size \(shape[d])")
        return sliced(dim: d, start: i, end: i + 1).squeezed(at: d)
    }

    /// A contiguous tensor with the same values (itself when already contiguous).
    public func contiguous() -> Tensor { isContiguous ? self : Tensor.apply(.contiguous, [self]) }

    /// A contiguous copy in small pages (`Storage(uninitializedByteCount:hugePages:)`), for data written
    /// once and kept, such as a weight transposed at compile time; `self` when already contiguous. Not
    /// recorded by autograd.
    public func contiguousInSmallPages() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(storage: Storage(uninitializedByteCount: count * dtype.byteSize, hugePages: false), shape: shape, dtype: dtype)
        ElementwiseKernels.copy(self, into: out)
        return out
    }

    /// Tensors joined along an existing dim (`torch.cat`).
    public static func concat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "concat: needs at least one tensor")
        return apply(.concat(dim: Shape.normalize(dim, rank: tensors[0].rank, op: "concat")), tensors)
    }

    /// Tensors of one shape joined along a new dim (`torch.stack`).
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: needs at least one tensor")
        return concat(tensors.map { $0.unsqueezed(at: dim) }, dim: dim < 0 ? dim + tensors[0].rank + 1 : dim)
    }

    /// Consecutive pieces of `size` along `dim` (the last may be smaller) (`torch.split`; views).
    public func split(size: Int, dim: Int = 0) -> [Tensor] {
        precondition(size > 0, "split: size must be positive")
        let d = Shape.normalize(dim, rank: rank, op: "split")
        return stride(from: 0, to: shape[d], by: size).map { sliced(dim: d, start: $0, end: $0 + size) }
    }

    /// Pieces of the given sizes along `dim` (`torch.split` with a list; views).
    public func split(sizes: [Int], dim: Int = 0) -> [Tensor] {
        let d = Shape.normalize(dim, rank: rank, op: "split")
        precondition(sizes.reduce(0, +) == shape[d], "split: sizes \(sizes) do not add up to \(shape[d])")
        var start = 0
        return sizes.map { s in defer { start += s }; return sliced(dim: d, start: start, end: start + s) }
    }

    /// `chunks` nearly equal pieces along `dim` (`torch.chunk`; views).
    public func chunked(_ chunks: Int, dim: Int = 0) -> [Tensor] {
        precondition(chunks > 0, "chunk: chunks must be positive")
        let n = shape[Shape.normalize(dim, rank: rank, op: "chunk")]
        return split(size: Swift.max(1, (n + chunks - 1) / chunks), dim: dim)
    }
}

/// Gathering by index, and matrix products.
extension Tensor {
    /// Entries along `dim` picked by an integer `index` tensor of any shape; along dim 0 this is an
    /// embedding lookup (`torch.index_select`, `F.embedding`).
    public func indexSelect(dim: Int, index: Tensor) -> Tensor {
        Tensor.apply(.indexSelect(dim: Shape.normalize(dim, rank: rank, op: "index_select")), [self, index])
    }

    /// `out[p] = self[p with p[dim] = index[p]]` (`torch.gather`).
    public func gather(dim: Int, index: Tensor) -> Tensor {
        Tensor.apply(.gather(dim: Shape.normalize(dim, rank: rank, op: "gather")), [self, index])
    }

    /// Matrix product as `torch.matmul`: 1-D operands are treated as vectors, batch dims broadcast.
    /// Runs on OpenBLAS sgemm, reading transposed operands without copying them.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 1 && other.rank >= 1, "matmul: operands must have at least one dim, got \(shape) and \(other.shape)")
        let a = rank == 1 ? unsqueezed(at: 0) : self
        let b = other.rank == 1 ? other.unsqueezed(at: 1) : other
        var out = Tensor.apply(.matmul, [a, b])
        if other.rank == 1 { out = out.squeezed(at: -1) }
        if rank == 1 { out = out.squeezed(at: out.rank >= 2 ? -2 : 0) }
        return out
    }
}
