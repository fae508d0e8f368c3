import CLLVM
import Graph
import Tensors

/// Tensors made from nothing: `fill` and `arange`.
struct CreationEmitter: KernelEmitter {
    let context: LoweringContext

    /// Every element of the result set to `value`.
    func fill(_ node: Graph.Node, _ value: Double, _ dtype: DType) -> LoweredValue {
        let out = output(node)
        let c = scalars.constant(value, dtype)
        ir.loops(out.shape) { ir.store(c, address(out, $0)) }
        return out
    }

    /// `start + i · step` for each position `i` (the start is the node's first shape-like attribute).
    func arange(_ node: Graph.Node, step: Int, _ dtype: DType) throws -> LoweredValue {
        guard case .primitive(_, let ints) = node.op else { throw CodegenError("arange without bounds") }
        let out = output(node)
        let first = context.value(of: ints[0])
        ir.loop(ir.int(0), out.shape[0]) { i in
            let v = ir.add(first, ir.mul(i, ir.int(step)))
            let converted: LLVMValueRef = switch dtype {
            case .float32: ir.sitofp(v)
            case .int64: v
            case .int32: ir.trunc(v, ir.i32)
            case .bool: scalars.boolByte(ir.icmp(LLVMIntNE, v, ir.int(0)))
            }
            ir.store(converted, address(out, [i]))
        }
        return out
    }
}
