import CLLVM
import Graph
import Tensors

/// The scalar rule of every elementwise op — the one table both primitive elementwise ops and fused
/// elementwise programs are lowered through (`ElementwiseEmitter`). Each rule matches the eager
/// kernel's: integer arithmetic stays integral except division and powers, comparisons give bool
/// bytes, maximum/minimum propagate NaN.
struct ScalarSemantics {
    let ir: IRBuilder
    let math: MathFunctions

    /// One element of elementwise op `op` on operands `v` of dtypes `dtypes`.
    func apply(_ op: TensorOp, _ v: [LLVMValueRef], _ dtypes: [DType]) -> LLVMValueRef {
        switch op {
        case .unary(let u): return unary(u, v[0], dtype: dtypes[0])
        case .binary(let b): return binary(b, v[0], v[1], dtype: dtypes[0])
        case .binaryScalar(let b, let s, let first):
            let dtype = dtypes[0]
            let integral = s.rounded() == s && Swift.abs(s) < 9e15
            let computeType: DType = dtype.isInteger && (!integral || b == .div || b == .pow) ? .float32 : dtype
            let c = constant(s, computeType), a = cast(v[0], from: dtype, to: computeType)
            return first ? binary(b, c, a, dtype: computeType) : binary(b, a, c, dtype: computeType)
        case .select: return ir.select(ir.icmp(LLVMIntNE, v[0], ir.byte(0)), v[1], v[2])
        case .cast(let to): return cast(v[0], from: dtypes[0], to: to)
        default: preconditionFailure("\(op.name) is not an elementwise op")
        }
    }

    /// `x` as f32 (bools as 0 or 1).
    func toFloat(_ x: LLVMValueRef, from dtype: DType) -> LLVMValueRef {
        switch dtype {
        case .float32: x
        case .bool: ir.sitofp(ir.zext(x, ir.i32))
        default: ir.sitofp(x)
        }
    }

    /// A comparison result as a bool byte.
    func boolByte(_ bit: LLVMValueRef) -> LLVMValueRef { ir.zext(bit, ir.i8) }

    func unary(_ op: UnaryOp, _ x: LLVMValueRef, dtype: DType) -> LLVMValueRef {
        if dtype.isInteger && [.neg, .abs, .relu].contains(op) {
            let zero = LLVMConstInt(dtype.llvmType(ir), 0, 1)!
            switch op {
            case .neg: return ir.sub(zero, x)
            case .abs: return ir.select(ir.icmp(LLVMIntSLT, x, zero), ir.sub(zero, x), x)
            default: return ir.select(ir.icmp(LLVMIntSGT, x, zero), x, zero)
            }
        }
        if op == .logicalNot { return ir.xor(x, ir.byte(1)) }
        let v = toFloat(x, from: dtype)
        switch op {
        case .neg: return ir.fneg(v)
        case .exp: return math.apply(math.exp, v)
        case .log: return ir.intrinsic("llvm.log", [v])
        case .sqrt: return ir.intrinsic("llvm.sqrt", [v])
        case .rsqrt: return ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [v]))
        case .abs: return ir.intrinsic("llvm.fabs", [v])
        case .tanh: return math.apply(math.tanh, v)
        case .erf: return math.apply(math.erf, v)
        case .relu: return ir.select(ir.fcmp(LLVMRealOGT, v, ir.float(0)), v, ir.float(0))
        case .sigmoid: return math.apply(math.sigmoid, v)
        case .gelu: return math.apply(math.gelu, v)
        case .geluTanh: return math.apply(math.geluTanh, v)
        case .sin: return ir.intrinsic("llvm.sin", [v])
        case .cos: return ir.intrinsic("llvm.cos", [v])
        case .logicalNot: return x
        }
    }

    func binary(_ op: BinaryOp, _ a: LLVMValueRef, _ b: LLVMValueRef, dtype: DType) -> LLVMValueRef {
        if op.isLogical { return op == .logicalAnd ? ir.and(a, b) : ir.or(a, b) }
        if dtype == .float32 || op == .div || op == .pow {
            let x = toFloat(a, from: dtype), y = toFloat(b, from: dtype)
            switch op {
            case .add: return ir.fadd(x, y)
            case .sub: return ir.fsub(x, y)
            case .mul: return ir.fmul(x, y)
            case .div: return ir.fdiv(x, y)
            case .pow: return ir.intrinsic("llvm.pow", [x, y])
            case .maximum, .minimum:
                let nan = ir.fcmp(LLVMRealUNO, x, y)
                let pick = ir.select(ir.fcmp(op == .maximum ? LLVMRealOGT : LLVMRealOLT, x, y), x, y)
                return ir.select(nan, ir.fadd(x, y), pick)
            case .equal: return boolByte(ir.fcmp(LLVMRealOEQ, x, y))
            case .notEqual: return boolByte(ir.fcmp(LLVMRealUNE, x, y))
            case .less: return boolByte(ir.fcmp(LLVMRealOLT, x, y))
            case .lessEqual: return boolByte(ir.fcmp(LLVMRealOLE, x, y))
            case .greater: return boolByte(ir.fcmp(LLVMRealOGT, x, y))
            case .greaterEqual: return boolByte(ir.fcmp(LLVMRealOGE, x, y))
            case .logicalAnd, .logicalOr: return a
            }
        }
        switch op {
        case .add: return ir.add(a, b)
        case .sub: return ir.sub(a, b)
        case .mul: return ir.mul(a, b)
        case .maximum: return ir.select(ir.icmp(LLVMIntSGT, a, b), a, b)
        case .minimum: return ir.select(ir.icmp(LLVMIntSLT, a, b), a, b)
        case .equal: return boolByte(ir.icmp(LLVMIntEQ, a, b))
        case .notEqual: return boolByte(ir.icmp(LLVMIntNE, a, b))
        case .less: return boolByte(ir.icmp(LLVMIntSLT, a, b))
        case .lessEqual: return boolByte(ir.icmp(LLVMIntSLE, a, b))
        case .greater: return boolByte(ir.icmp(LLVMIntSGT, a, b))
        case .greaterEqual: return boolByte(ir.icmp(LLVMIntSGE, a, b))
        default: return a
        }
    }

    /// A constant of `dtype` holding `value`.
    func constant(_ value: Double, _ dtype: DType) -> LLVMValueRef {
        switch dtype {
        case .float32: ir.float(Float(value))
        case .bool: ir.byte(value != 0 ? 1 : 0)
        default: LLVMConstInt(dtype.llvmType(ir), UInt64(bitPattern: Int64(value)), 1)
        }
    }

    /// `x` converted as the eager `cast` does (non-finite floats become 0 in integer casts).
    func cast(_ x: LLVMValueRef, from: DType, to: DType) -> LLVMValueRef {
        if from == to { return x }
        switch (from, to) {
        case (.float32, .bool): return boolByte(ir.fcmp(LLVMRealUNE, x, ir.float(0)))
        case (_, .bool): return boolByte(ir.icmp(LLVMIntNE, x, LLVMConstInt(from.llvmType(ir), 0, 0)))
        case (_, .float32): return toFloat(x, from: from)
        case (.float32, _):
            let finite = ir.fcmp(LLVMRealOLT, ir.intrinsic("llvm.fabs", [x]), ir.float(.infinity))
            let safe = ir.select(finite, x, ir.float(0))
            return ir.fptosi(safe, to.llvmType(ir))
        case (.bool, _): return ir.zext(x, to.llvmType(ir))
        case (.int32, .int64): return ir.sext(x, ir.i64)
        default: return ir.trunc(x, to.llvmType(ir))
        }
    }
}
