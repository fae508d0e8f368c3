/// Runs one primitive op on concrete tensors with the CPU kernels. This is the single place where
/// an op meets its kernel; `Tensor.apply` (eager) and the graph interpreter both call it.
public enum Executor {
    /// The result of `op` on `inputs`. Traps with the op's name when shapes or dtypes do not fit.
    public static func execute(_ op: TensorOp, _ inputs: [Tensor]) -> Tensor {
        switch op {
        case .unary(let u):
            return ElementwiseKernels.unary(u, inputs[0])
        case .binary(let b):
            return ElementwiseKernels.binary(b, inputs[0], inputs[1])
        case .binaryScalar(let b, let s, let scalarFirst):
            return ElementwiseKernels.binaryScalar(b, inputs[0], s, scalarFirst: scalarFirst)
        case .reduce(let r, let dims, let keepDim):
            return ReduceKernels.reduce(r, inputs[0], dims: dims, keepDim: keepDim)
        case .softmax(let dim):
            return SoftmaxKernels.softmax(inputs[0], dim: dim, log: false)
        case .logSoftmax(let dim):
            return SoftmaxKernels.softmax(inputs[0], dim: dim, log: true)
        case .matmul:
            return MatmulKernels.matmul(inputs[0], inputs[1])
        case .attention:
            return AttentionKernels.attention(inputs[0], inputs[1], inputs[2], mask: inputs.count > 3 ? inputs[3] : nil)
        case .layerNorm(let rank, let eps, let affine):
            return LayerNormKernels.layerNorm(inputs[0], weight: affine ? inputs[1] : nil,
                                              bias: affine ? inputs[2] : nil, normalizedRank: rank, eps: eps)
        case .reshape(let target):
            let x = inputs[0]
            return x.reshapedView(target) ?? ElementwiseKernels.contiguous(x).reshapedView(target)!
        case .permute(let perm):
            return inputs[0].permutedView(perm)
        case .expand(let shape):
            return inputs[0].expandedView(shape)
        case .slice(let dim, let start, let end, let step):
            return inputs[0].slicedView(dim: dim, start: start, end: end, step: step)
        case .concat(let dim):
            return IndexKernels.concat(inputs, dim: dim)
        case .indexSelect(let dim):
            return IndexKernels.indexSelect(inputs[0], dim: dim, index: inputs[1])
        case .gather(let dim):
            return IndexKernels.gather(inputs[0], dim: dim, index: inputs[1])
        case .select:
            return ElementwiseKernels.select(inputs[0], inputs[1], inputs[2])
        case .cast(let dtype):
            return inputs[0].dtype == dtype ? inputs[0].detached() : ElementwiseKernels.cast(inputs[0], to: dtype)
        case .contiguous:
            return ElementwiseKernels.contiguous(inputs[0], force: false).detachedIfSame(as: inputs[0])
        case .fill(let value, let shape, let dtype):
            return ElementwiseKernels.filled(shape, value, dtype)
        case .arange(let start, let end, let step, let dtype):
            return ElementwiseKernels.range(start, end, step, dtype)
        }
    }
}

extension Tensor {
    /// A fresh tensor object for the same view when `self` is `other` (so every op returns a new node).
    func detachedIfSame(as other: Tensor) -> Tensor { self === other ? detached() : self }
}
