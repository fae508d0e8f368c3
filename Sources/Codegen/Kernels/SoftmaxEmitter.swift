import CLLVM
import Graph
import Tensors

/// Softmax and log-softmax along one dim. `row` is the one softmax loop of generated code: fused
/// attention normalizes its score rows with it too.
struct SoftmaxEmitter: KernelEmitter {
    let context: LoweringContext

    func softmax(_ node: Graph.Node, _ x: LoweredValue, dim: Int, log: Bool) -> LoweredValue {
        let out = output(node)
        let others = (0..<x.rank).filter { $0 != dim }
        ir.loops(others.map { x.shape[$0] }) { outer in
            func at(_ v: LoweredValue, _ i: LLVMValueRef) -> LLVMValueRef {
                var full = [LLVMValueRef](repeating: ir.int(0), count: v.rank)
                for (k, d) in others.enumerated() { full[d] = outer[k] }
                full[dim] = i
                return address(v, full)
            }
            row(count: x.shape[dim], logit: { ir.load(ir.f32, at(x, $0)) }, output: { at(out, $0) }, staged: false, log: log)
        }
        return out
    }

    /// Softmax (or log-softmax) of the `count` values `logit(j)` into `output(j)`: the maximum
    /// (NaN-propagating; a row of −∞ uses 0), `exp(x − max)` and its sum, then the scale by
    /// `1/sum` (or `x − max − log sum`). With `staged`, the first pass stores each logit to
    /// `output(j)` and the later passes read it back (for logits computed on the way, such as
    /// attention's scaled and masked scores); otherwise `logit` is evaluated again where needed.
    func row(count n: LLVMValueRef, logit: (LLVMValueRef) -> LLVMValueRef, output: (LLVMValueRef) -> LLVMValueRef,
             staged: Bool, log: Bool = false) {
        let f32 = ir.f32
        let maxSlot = local(f32)
        ir.store(ir.float(-.infinity), maxSlot)
        ir.loop(ir.int(0), n) { j in
            if staged {
                let value = logit(j)
                ir.store(value, output(j))
                ir.store(ir.intrinsic("llvm.maximum", [ir.load(f32, maxSlot), value]), maxSlot)
            } else {
                ir.store(ir.intrinsic("llvm.maximum", [ir.load(f32, maxSlot), logit(j)]), maxSlot)
            }
        }
        var m = ir.load(f32, maxSlot)
        m = ir.select(ir.fcmp(LLVMRealOEQ, m, ir.float(-.infinity)), ir.float(0), m)
        let sumSlot = local(f32)
        ir.store(ir.float(0), sumSlot)
        ir.loop(ir.int(0), n) { j in
            let source = staged ? ir.load(f32, output(j)) : logit(j)
            let e = math.apply(math.exp, ir.fsub(source, m))
            ir.store(e, output(j))
            ir.store(ir.faddReassoc(ir.load(f32, sumSlot), e), sumSlot)
        }
        let sum = ir.load(f32, sumSlot)
        if log {
            let shift = ir.fadd(m, ir.intrinsic("llvm.log", [sum]))
            ir.loop(ir.int(0), n) { j in ir.store(ir.fsub(logit(j), shift), output(j)) }
        } else {
            let scale = ir.fdiv(ir.float(1), sum)
            ir.loop(ir.int(0), n) { j in
                let p = output(j)
                ir.store(ir.fmul(ir.load(f32, p), scale), p)
            }
        }
    }
}
