import CLLVM
import Graph
import Tensors

/// Layout ops. Views (reshape of contiguous data, permute, expand, slice) only change the shape and
/// strides later loops use; `contiguous` and `concat` copy.
struct LayoutEmitter: KernelEmitter {
    let context: LoweringContext

    /// The same elements under a new shape: a view of contiguous data, else a copy into the node's
    /// own buffer.
    func reshape(_ node: Graph.Node, _ x: LoweredValue, _ xType: TensorType) -> LoweredValue {
        let source = dense(node, x, xType)
        let shape = node.type.shape.map(context.value(of:))
        return LoweredValue(dtype: source.dtype, base: source.base, offset: source.offset, shape: shape,
                            strides: context.contiguousStrides(shape), contiguous: true, layout: .rowMajor)
    }

    /// `x` itself when the plan makes `node` a view of it, else a contiguous copy of `x` (of type
    /// `xType`) in the node's buffer: the `contiguous` op, and a reshape of strided data.
    func dense(_ node: Graph.Node, _ x: LoweredValue, _ xType: TensorType) -> LoweredValue {
        if context.plan.slots[node.id] == nil {
            if !x.contiguous { context.note("%\(node.id) reads strided data the memory plan takes for a view") }
            return x
        }
        let out = context.output(node, as: xType)
        context.copy(x, into: out)
        return out
    }

    func permute(_ x: LoweredValue, _ perm: [Int]) -> LoweredValue {
        var v = x
        v.shape = perm.map { x.shape[$0] }
        v.strides = perm.map { x.strides[$0] }
        v.contiguous = perm == Array(0..<perm.count) && x.contiguous
        v.layout = permutedLayout(x, perm)
        return v
    }

    func expand(_ node: Graph.Node, _ x: LoweredValue, _ xType: TensorType) -> LoweredValue {
        var v = x
        v.shape = node.type.shape.map(context.value(of:))
        v.strides = broadcastStrides(x, xType, to: node.type)
        let lead = node.type.shape.count - xType.shape.count
        let matrixUnchanged = node.type.shape.count >= 2 && xType.shape.count >= 2
            && node.type.shape.suffix(2) == xType.shape.suffix(2)
        v.contiguous = lead == 0 && node.type.shape == xType.shape && x.contiguous
        v.layout = matrixUnchanged ? x.layout : .unknown
        return v
    }

    func slice(_ node: Graph.Node, _ x: LoweredValue, _ xType: TensorType, dim: Int, step: Int) throws -> LoweredValue {
        guard case .primitive(_, let ints) = node.op else { throw CodegenError("slice without bounds") }
        var v = x
        v.offset = ir.add(v.offset, ir.mul(context.value(of: ints[0]), v.strides[dim]))
        v.shape[dim] = context.value(of: node.type.shape[dim])
        v.strides[dim] = ir.mul(v.strides[dim], ir.int(step))
        v.contiguous = x.contiguous && (0..<dim).allSatisfy { xType.shape[$0] == 1 } && step == 1
        let r = v.rank
        if step != 1 && r >= 2 && ((x.layout == .rowMajor && dim == r - 1) || (x.layout == .columnMajor && dim == r - 2)) {
            v.layout = .unknown
        }
        return v
    }

    /// The operands copied one after another along `dim`.
    func concat(_ node: Graph.Node, _ x: [LoweredValue], dim: Int) -> LoweredValue {
        let out = output(node)
        copyConcatenated(x[...], into: out, dim: dim, from: ir.int(0))
        return out
    }

    /// Copies `x` one after the other along `dim` into `out`, the first at index `start`.
    func copyConcatenated(_ x: ArraySlice<LoweredValue>, into out: LoweredValue, dim: Int, from start: LLVMValueRef) {
        var start = start
        for input in x {
            var view = out
            view.offset = ir.mul(start, out.strides[dim])
            view.shape = input.shape
            context.copy(input, into: view)
            start = ir.add(start, input.shape[dim])
        }
    }

    /// The matrix layout after permuting dims.
    func permutedLayout(_ v: LoweredValue, _ perm: [Int]) -> LoweredValue.MatrixLayout {
        let r = perm.count
        guard r >= 2 else { return .unknown }
        let unitDim: Int
        switch v.layout {
        case .rowMajor: unitDim = r - 1
        case .columnMajor: unitDim = r - 2
        case .unknown: return .unknown
        }
        if perm[r - 1] == unitDim { return .rowMajor }
        if perm[r - 2] == unitDim { return .columnMajor }
        return .unknown
    }
}
