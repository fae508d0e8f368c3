import CLLVM
import Graph
import Tensors

/// Elementwise kernels: one loop over the result evaluating an `ElementwiseProgram` at each element
/// through `ScalarSemantics`. A primitive elementwise op is the one-instruction program over its
/// operands, so primitives and fused chains share one path.
struct ElementwiseEmitter: KernelEmitter {
    let context: LoweringContext

    /// A primitive elementwise op (unary, binary, binary-scalar, select, cast).
    func primitive(_ node: Graph.Node, _ op: TensorOp, _ x: [LoweredValue], _ types: [TensorType]) throws -> LoweredValue {
        let operands = Array(0..<x.count)
        let program = ElementwiseProgram(operands.map { .input($0) } + [.op(op, operands)])
        return try fused(node, program, x, types)
    }

    /// A fused elementwise program: every input is read at its broadcast position, exactly as the
    /// primitives it replaced would have.
    func fused(_ node: Graph.Node, _ program: ElementwiseProgram, _ x: [LoweredValue],
               _ types: [TensorType]) throws -> LoweredValue {
        // Each register's dtype, from the primitives' own type rules.
        var dtypes: [DType] = []
        for instruction in program.instructions {
            switch instruction {
            case .input(let i): dtypes.append(types[i].dtype)
            case .op(let op, let registers):
                let t = try TypeInference.infer(.op(op), registers.map { TensorType(dtypes[$0], []) })
                dtypes.append(t.dtype)
            }
        }
        let kind = "elementwise \(program.instructions) \(dtypes.map(\.shortName)) -> \(node.type.dtype.shortName) ranks \(types.map(\.shape.count))"
        return map(node, x, kind: kind) { loaded in element(program, loaded, dtypes) }
    }

    /// The row emitter of the family: one element of `program` from its loaded operands.
    func element(_ program: ElementwiseProgram, _ loaded: [LLVMValueRef], _ dtypes: [DType]) -> LLVMValueRef {
        var registers: [LLVMValueRef] = []
        for instruction in program.instructions {
            switch instruction {
            case .input(let i):
                registers.append(loaded[i])
            case .op(let op, let r):
                registers.append(scalars.apply(op, r.map { registers[$0] }, r.map { dtypes[$0] }))
            }
        }
        return registers.last!
    }

    /// `out[i] = compute(inputs at i)` over the node's shape, with broadcasting; the loop is an
    /// outlined function (`outlined`), shared by every elementwise node that compiles to the same loop.
    /// `kind` names what `compute` does (see `outlined`).
    func map(_ node: Graph.Node, _ inputs: [LoweredValue], kind: String, _ compute: ([LLVMValueRef]) -> LLVMValueRef) -> LoweredValue {
        let out = output(node)
        let types = node.inputs.map { context.type(of: $0) }
        let strides = zip(inputs, types).map { broadcastStrides($0, $1, to: node.type) }
        // Everything the loop reads from the kernel: the output's and each input's base, offset,
        // shape and (broadcast) strides.
        func fields(_ v: LoweredValue, _ strides: [LLVMValueRef]) -> [LLVMValueRef] { [v.base, v.offset] + strides }
        let values = out.shape + fields(out, out.strides) + zip(inputs, strides).flatMap { fields($0, $1) }
        // Bases and offsets are always passed: only sizes and strides shape the loop.
        var runtime = Set<Int>(), at = out.shape.count
        for count in [out.strides.count] + strides.map(\.count) { runtime.formUnion([at, at + 1]); at += 2 + count }
        context.outlined(kind: kind, capturing: values, runtime: runtime) { captured in
            var next = captured.makeIterator()
            func take(_ n: Int) -> [LLVMValueRef] { (0..<n).map { _ in next.next()! } }
            func rebased(_ v: LoweredValue, strideCount: Int) -> (LoweredValue, [LLVMValueRef]) {
                var v = v
                v.base = next.next()!
                v.offset = next.next()!
                return (v, take(strideCount))
            }
            let shape = take(out.shape.count)
            let (rebasedOut, outStrides) = rebased(out, strideCount: out.strides.count)
            var o = rebasedOut
            o.shape = shape
            o.strides = outStrides
            let xs = zip(inputs, strides).map { rebased($0, strideCount: $1.count) }
            ir.loops(shape) { indices in
                let loaded = xs.map { load($0.0, strides: $0.1, indices) }
                ir.store(compute(loaded), address(o, indices))
            }
        }
        return out
    }
}
