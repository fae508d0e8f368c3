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
    /// outlined function (`outlinedLoops`), shared by every elementwise node that compiles to the same loop.
    /// `kind` names what `compute` does (see `outlinedLoops`).
    func map(_ node: Graph.Node, _ inputs: [LoweredValue], kind: String, _ compute: ([LLVMValueRef]) -> LLVMValueRef) -> LoweredValue {
        let out = output(node)
        let types = node.inputs.map { context.type(of: $0) }
        let strides = zip(inputs, types).map { broadcastStrides($0, $1, to: node.type) }
        // The inputs as the loop reads them: broadcast to the result's shape.
        let operands = zip(inputs, strides).map { x, s -> LoweredValue in
            var x = x
            x.strides = s
            return x
        }
        context.outlinedLoops(kind: kind, shape: out.shape, operands: [out] + operands) { indices, v in
            let loaded = v.dropFirst().map { load($0, strides: $0.strides, indices) }
            ir.store(compute(loaded), address(v[0], indices))
        }
        return out
    }
}
