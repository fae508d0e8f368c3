import CLLVM
import Graph
import Tensors

/// Reductions over any set of dims: sum, mean, max, min (NaN-propagating), argmax, argmin.
struct ReductionEmitter: KernelEmitter {
    let context: LoweringContext

    func reduce(_ node: Graph.Node, _ op: ReduceOp, _ dims: [Int], _ x: LoweredValue) -> LoweredValue {
        let out = output(node)
        let kept = (0..<x.rank).filter { !dims.contains($0) }
        let isArg = op == .argmax || op == .argmin
        let count = dims.reduce(ir.int(1)) { ir.mul($0, x.shape[$1]) }
        ir.loops(kept.map { x.shape[$0] }) { keptIndices in
            let acc = local(ir.f32)
            let best = local(ir.i64)
            let initial: Float = switch op { case .sum, .mean: 0; case .max, .argmax: -.infinity; case .min, .argmin: .infinity }
            ir.store(ir.float(initial), acc)
            ir.store(ir.int(0), best)
            let linear = local(ir.i64)
            ir.store(ir.int(0), linear)
            ir.loops(dims.map { x.shape[$0] }) { reducedIndices in
                var full = [LLVMValueRef](repeating: ir.int(0), count: x.rank)
                for (k, d) in kept.enumerated() { full[d] = keptIndices[k] }
                for (k, d) in dims.enumerated() { full[d] = reducedIndices[k] }
                let v = scalars.toFloat(ir.load(x.dtype.llvmType(ir), address(x, full)), from: x.dtype)
                let a = ir.load(ir.f32, acc)
                switch op {
                case .sum, .mean:
                    ir.store(ir.faddReassoc(a, v), acc)
                case .max, .min:
                    // llvm.maximum/minimum propagate NaN, as torch.amax does, and vectorize as reductions.
                    ir.store(ir.intrinsic(op == .max ? "llvm.maximum" : "llvm.minimum", [a, v]), acc)
                case .argmax, .argmin:
                    let better = ir.fcmp(op == .argmax ? LLVMRealOGT : LLVMRealOLT, v, a)
                    let nanFirst = ir.and(ir.fcmp(LLVMRealUNO, v, v), ir.fcmp(LLVMRealORD, a, a))
                    let take = ir.or(better, nanFirst)
                    let index = ir.load(ir.i64, linear)
                    ir.store(ir.select(take, v, a), acc)
                    ir.store(ir.select(take, index, ir.load(ir.i64, best)), best)
                }
                ir.store(ir.add(ir.load(ir.i64, linear), ir.int(1)), linear)
            }
            var outIndices: [LLVMValueRef] = []
            var k = 0
            for d in 0..<x.rank {
                if dims.contains(d) { if out.rank == x.rank { outIndices.append(ir.int(0)) } } else { outIndices.append(keptIndices[k]); k += 1 }
            }
            var result: LLVMValueRef
            if isArg { result = ir.load(ir.i64, best) }
            else {
                result = ir.load(ir.f32, acc)
                if op == .mean { result = ir.fdiv(result, ir.sitofp(count)) }
                result = scalars.cast(result, from: .float32, to: node.type.dtype)
            }
            ir.store(result, address(out, outIndices))
        }
        return out
    }
}
