import CLLVM
import Graph
import Tensors

/// Embedding lookups (`index_select`) and `gather`. Every index is checked against the size of the
/// dim it selects from; an index outside it makes the kernel return `RunSignature.indexOutOfRange`
/// before anything is read out of bounds.
struct GatherEmitter: KernelEmitter {
    let context: LoweringContext

    /// Rows of `x` along `dim` picked by `index` (an embedding lookup when `dim` is 0).
    func indexSelect(_ node: Graph.Node, _ x: LoweredValue, _ index: LoweredValue, dim: Int) -> LoweredValue {
        let out = output(node)
        let prefix = Array(x.shape[..<dim]), suffix = Array(x.shape[(dim + 1)...])
        ir.loops(prefix + index.shape + suffix) { all in
            let p = Array(all[..<prefix.count])
            let ids = Array(all[prefix.count..<(prefix.count + index.rank)])
            let s = Array(all[(prefix.count + index.rank)...])
            let id = checkedIndex(index, ids, size: x.shape[dim])
            let v = ir.load(x.dtype.llvmType(ir), address(x, p + [id] + s))
            ir.store(v, address(out, all))
        }
        return out
    }

    /// `out[i] = x[i with dim replaced by index[i]]`.
    func gather(_ node: Graph.Node, _ x: LoweredValue, _ index: LoweredValue, dim: Int) -> LoweredValue {
        let out = output(node)
        ir.loops(index.shape) { indices in
            let id = checkedIndex(index, indices, size: x.shape[dim])
            var source = indices
            source[dim] = id
            ir.store(ir.load(x.dtype.llvmType(ir), address(x, source)), address(out, indices))
        }
        return out
    }

    /// The row emitter of the family: loads an index as i64 and branches to the error exit when it
    /// is outside `0..<size`.
    func checkedIndex(_ index: LoweredValue, _ indices: [LLVMValueRef], size: LLVMValueRef) -> LLVMValueRef {
        var id = ir.load(index.dtype.llvmType(ir), address(index, indices))
        if index.dtype == .int32 { id = ir.sext(id, ir.i64) }
        let bad = ir.or(ir.icmp(LLVMIntSLT, id, ir.int(0)), ir.icmp(LLVMIntSGE, id, size))
        let ok = ir.block("index_ok")
        ir.condBr(bad, context.errorBlock, ok)
        ir.position(at: ok)
        return id
    }
}
