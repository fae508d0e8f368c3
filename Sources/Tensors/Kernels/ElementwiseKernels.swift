import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// CPU kernels for elementwise ops, type conversion and strided copies.
enum ElementwiseKernels {
    /// A new contiguous tensor of `shape` and `dtype` whose elements the caller will all write.
    static func empty(_ shape: [Int], _ dtype: DType) -> Tensor {
        Tensor(storage: Storage(uninitializedByteCount: Shape.count(shape) * dtype.byteSize), shape: shape, dtype: dtype)
    }

    /// A new contiguous tensor of `shape` filled with `value` (kernels' own allocations use this, not
    /// the public creation functions, so no op is recorded).
    static func filled(_ shape: [Int], _ value: Double, _ dtype: DType) -> Tensor {
        let n = Shape.count(shape)
        if value == 0 {
            return Tensor(storage: Storage(zeroedByteCount: n * dtype.byteSize), shape: shape, dtype: dtype)
        }
        let t = empty(shape, dtype)
        switch dtype {
        case .float32: t.pointer(as: Float.self).update(repeating: Float(value), count: n)
        case .int32: t.pointer(as: Int32.self).update(repeating: Int32(value), count: n)
        case .int64: t.pointer(as: Int64.self).update(repeating: Int64(value), count: n)
        case .bool: t.pointer(as: Bool.self).update(repeating: value != 0, count: n)
        }
        return t
    }

    /// `start, start + step, …` below `end` as a 1-D tensor of `dtype`.
    static func range(_ start: Int, _ end: Int, _ step: Int, _ dtype: DType) -> Tensor {
        let n = Swift.max(0, (end - start + step - (step > 0 ? 1 : -1)) / step)
        let t = empty([n], dtype)
        for i in 0..<n {
            let v = start + i * step
            switch dtype {
            case .float32: t.pointer(as: Float.self)[i] = Float(v)
            case .int32: t.pointer(as: Int32.self)[i] = Int32(truncatingIfNeeded: v)
            case .int64: t.pointer(as: Int64.self)[i] = Int64(v)
            case .bool: t.pointer(as: Bool.self)[i] = v != 0
            }
        }
        return t
    }

    /// A plan walking `out` and `inputs` broadcast to `out.shape`. Offsets are relative to each
    /// tensor's `pointer(as:)`, which already includes its storage offset.
    static func plan(_ out: Tensor, _ inputs: [Tensor]) -> StridedPlan {
        StridedPlan(shape: out.shape,
                    strides: [out.strides] + inputs.map { StridedPlan.broadcastStrides(of: $0, to: out.shape) },
                    offsets: Array(repeating: 0, count: inputs.count + 1))
    }

    // MARK: Unary

    static func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor {
        switch op {
        case .logicalNot:
            precondition(x.dtype == .bool, "logical_not: expects a bool tensor, got \(x.dtype)")
            let out = empty(x.shape, .bool)
            mapLoop(plan(out, [x]), out.pointer(as: Bool.self), UnsafePointer(x.pointer(as: Bool.self))) { !$0 }
            return out
        case .neg where x.dtype.isInteger, .abs where x.dtype.isInteger, .relu where x.dtype.isInteger:
            return integerUnary(op, x)
        default:
            break
        }
        precondition(x.dtype != .bool, "\(op.rawValue): not defined for bool tensors")
        let input = x.dtype == .float32 ? x : cast(x, to: .float32)
        let out = empty(input.shape, .float32)
        let o = out.pointer(as: Float.self)
        let a = UnsafePointer(input.pointer(as: Float.self))
        if input.isContiguous, let code = op.kernelCode {
            ParallelRanges.forEach(input.count, grain: ParallelRanges.elementGrain) { r in
                tc_unary_f32(code, a + r.lowerBound, o + r.lowerBound, r.count)
            }
            return out
        }
        let p = plan(out, [input])
        switch op {
        case .neg: mapLoop(p, o, a) { -$0 }
        case .exp: mapLoop(p, o, a) { VectorMath.exp($0) }
        case .log: mapLoop(p, o, a) { libmLog($0) }
        case .sqrt: mapLoop(p, o, a) { $0.squareRoot() }
        case .rsqrt: mapLoop(p, o, a) { 1 / $0.squareRoot() }
        case .abs: mapLoop(p, o, a) { Swift.abs($0) }
        case .tanh: mapLoop(p, o, a) { VectorMath.tanh($0) }
        case .erf: mapLoop(p, o, a) { VectorMath.erf($0) }
        case .relu: mapLoop(p, o, a) { $0 > 0 ? $0 : 0 }
        case .sigmoid: mapLoop(p, o, a) { VectorMath.sigmoid($0) }
        case .gelu: mapLoop(p, o, a) { VectorMath.gelu($0) }
        case .geluTanh: mapLoop(p, o, a) { VectorMath.geluTanh($0) }
        case .sin: mapLoop(p, o, a) { libmSin($0) }
        case .cos: mapLoop(p, o, a) { libmCos($0) }
        case .logicalNot: break
        }
        return out
    }

    private static func integerUnary(_ op: UnaryOp, _ x: Tensor) -> Tensor {
        let out = empty(x.shape, x.dtype)
        func run<T: FixedWidthInteger & SignedInteger>(_: T.Type) {
            let o = out.pointer(as: T.self), a = UnsafePointer(x.pointer(as: T.self))
            switch op {
            case .neg: mapLoop(plan(out, [x]), o, a) { 0 &- $0 }
            case .abs: mapLoop(plan(out, [x]), o, a) { $0 < 0 ? 0 &- $0 : $0 }
            default: mapLoop(plan(out, [x]), o, a) { $0 > 0 ? $0 : 0 }
            }
        }
        if x.dtype == .int64 { run(Int64.self) } else { run(Int32.self) }
        return out
    }

    // MARK: Binary

    /// The result dtype of `a op b`, or a trap that names both dtypes.
    static func resultType(_ op: BinaryOp, _ a: DType, _ b: DType) -> DType {
        precondition(a == b, "\(op.rawValue): dtypes \(a) and \(b) differ; convert one with cast(to:)")
        if op.isLogical {
            precondition(a == .bool, "\(op.rawValue): expects bool tensors, got \(a)")
            return .bool
        }
        if op.isComparison { return .bool }
        precondition(a != .bool, "\(op.rawValue): arithmetic is not defined on bool tensors; cast(to:) first")
        return a
    }

    static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            preconditionFailure("\(op.rawValue): shapes \(a.shape) and \(b.shape) cannot be broadcast together")
        }
        let dtype = resultType(op, a.dtype, b.dtype)
        if a.dtype.isInteger && (op == .div || op == .pow) {
            return binary(op, cast(a, to: .float32), cast(b, to: .float32))
        }
        let out = empty(shape, dtype)
        let p = plan(out, [a, b])
        switch a.dtype {
        case .float32:
            floatBinary(op, p, out, UnsafePointer(a.pointer(as: Float.self)), UnsafePointer(b.pointer(as: Float.self)))
        case .int64:
            integerBinary(op, p, out, UnsafePointer(a.pointer(as: Int64.self)), UnsafePointer(b.pointer(as: Int64.self)))
        case .int32:
            integerBinary(op, p, out, UnsafePointer(a.pointer(as: Int32.self)), UnsafePointer(b.pointer(as: Int32.self)))
        case .bool:
            let o = out.pointer(as: Bool.self)
            let x = UnsafePointer(a.pointer(as: Bool.self)), y = UnsafePointer(b.pointer(as: Bool.self))
            switch op {
            case .logicalAnd: zipLoop(p, o, x, y) { $0 && $1 }
            case .logicalOr: zipLoop(p, o, x, y) { $0 || $1 }
            case .equal: zipLoop(p, o, x, y) { $0 == $1 }
            case .notEqual: zipLoop(p, o, x, y) { $0 != $1 }
            default: preconditionFailure("\(op.rawValue): not defined on bool tensors")
            }
        }
        return out
    }

    /// A comparison of two operands of one comparable type into a bool mask.
    @inline(__always)
    static func compare<T: Comparable>(_ op: BinaryOp, _ p: StridedPlan, _ o: UnsafeMutablePointer<Bool>,
                                       _ x: UnsafePointer<T>, _ y: UnsafePointer<T>) {
        switch op {
        case .equal: zipLoop(p, o, x, y) { $0 == $1 }
        case .notEqual: zipLoop(p, o, x, y) { $0 != $1 }
        case .less: zipLoop(p, o, x, y) { $0 < $1 }
        case .lessEqual: zipLoop(p, o, x, y) { $0 <= $1 }
        case .greater: zipLoop(p, o, x, y) { $0 > $1 }
        default: zipLoop(p, o, x, y) { $0 >= $1 }
        }
    }

    @inline(__always)
    static func floatBinary(_ op: BinaryOp, _ p: StridedPlan, _ out: Tensor,
                            _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) {
        if op.isComparison {
            compare(op, p, out.pointer(as: Bool.self), x, y)
            return
        }
        let o = out.pointer(as: Float.self)
        if let code = op.kernelCode, p.innerStrides[0] == 1, p.innerStrides[1] <= 1, p.innerStrides[2] <= 1,
           p.innerStrides[1] >= 0, p.innerStrides[2] >= 0 {
            let runs = p.outerOffsets[0].count, sx = p.innerStrides[1], sy = p.innerStrides[2]
            if runs == 1 {   // one long run: split it
                let (x0, y0, o0) = (x + p.outerOffsets[1][0], y + p.outerOffsets[2][0], o + p.outerOffsets[0][0])
                ParallelRanges.forEach(p.inner, grain: ParallelRanges.elementGrain) { r in
                    tc_binary_f32(code, x0 + r.lowerBound * sx, sx, y0 + r.lowerBound * sy, sy, o0 + r.lowerBound, r.count)
                }
                return
            }
            ParallelRanges.forEachRow(runs, length: p.inner) { runRange in
                for run in runRange {
                    tc_binary_f32(code, x + p.outerOffsets[1][run], sx, y + p.outerOffsets[2][run],
                                  sy, o + p.outerOffsets[0][run], p.inner)
                }
            }
            return
        }
        switch op {
        case .add: zipLoop(p, o, x, y) { $0 + $1 }
        case .sub: zipLoop(p, o, x, y) { $0 - $1 }
        case .mul: zipLoop(p, o, x, y) { $0 * $1 }
        case .div: zipLoop(p, o, x, y) { $0 / $1 }
        case .pow: zipLoop(p, o, x, y) { libmPow($0, $1) }
        case .maximum: zipLoop(p, o, x, y) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        case .minimum: zipLoop(p, o, x, y) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        default: preconditionFailure("\(op.rawValue): not defined on float32 tensors")
        }
    }

    @inline(__always)
    static func integerBinary<T: FixedWidthInteger & SignedInteger>(
        _ op: BinaryOp, _ p: StridedPlan, _ out: Tensor, _ x: UnsafePointer<T>, _ y: UnsafePointer<T>
    ) {
        if op.isComparison {
            compare(op, p, out.pointer(as: Bool.self), x, y)
            return
        }
        let o = out.pointer(as: T.self)
        switch op {
        case .add: zipLoop(p, o, x, y) { $0 &+ $1 }
        case .sub: zipLoop(p, o, x, y) { $0 &- $1 }
        case .mul: zipLoop(p, o, x, y) { $0 &* $1 }
        case .maximum: zipLoop(p, o, x, y) { Swift.max($0, $1) }
        case .minimum: zipLoop(p, o, x, y) { Swift.min($0, $1) }
        default: preconditionFailure("\(op.rawValue): not defined on integer tensors")
        }
    }

    /// `x op s` (or `s op x`): the scalar is broadcast without materializing a tensor.
    static func binaryScalar(_ op: BinaryOp, _ x: Tensor, _ s: Double, scalarFirst: Bool) -> Tensor {
        let integral = s.rounded() == s && Swift.abs(s) < 9e15
        if x.dtype.isInteger && (!integral || op == .div || op == .pow) {
            return binaryScalar(op, cast(x, to: .float32), s, scalarFirst: scalarFirst)
        }
        let scalar: Tensor
        switch x.dtype {
        case .float32: scalar = Tensor(Float(s))
        case .bool: scalar = Tensor([s != 0], shape: [])
        default: scalar = Tensor([Int(s)], shape: [], dtype: x.dtype)
        }
        return scalarFirst ? binary(op, scalar, x) : binary(op, x, scalar)
    }

    /// `condition ? a : b` with broadcasting.
    static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(condition.dtype == .bool, "where: the condition must be a bool tensor, got \(condition.dtype)")
        precondition(a.dtype == b.dtype, "where: dtypes \(a.dtype) and \(b.dtype) differ; convert one with cast(to:)")
        guard let ab = Shape.broadcast(a.shape, b.shape), let shape = Shape.broadcast(condition.shape, ab) else {
            preconditionFailure("where: shapes \(condition.shape), \(a.shape), \(b.shape) cannot be broadcast together")
        }
        let out = empty(shape, a.dtype)
        let p = plan(out, [condition, a, b])
        let c = UnsafePointer(condition.pointer(as: Bool.self))
        func run<T>(_: T.Type) {
            zip3Loop(p, out.pointer(as: T.self), c, UnsafePointer(a.pointer(as: T.self)),
                     UnsafePointer(b.pointer(as: T.self))) { $0 ? $1 : $2 }
        }
        switch a.dtype {
        case .float32: run(Float.self)
        case .int32: run(Int32.self)
        case .int64: run(Int64.self)
        case .bool: run(Bool.self)
        }
        return out
    }

    // MARK: Conversion and copies

    /// `x` converted to `dtype` (floats to integers truncate toward zero; nonzero is true).
    static func cast(_ x: Tensor, to dtype: DType) -> Tensor {
        let out = empty(x.shape, dtype)
        let p = plan(out, [x])
        func from<S>(_: S.Type, _ convert: (S) -> Float, _ toInt: (S) -> Int64, _ toBool: (S) -> Bool) {
            let a = UnsafePointer(x.pointer(as: S.self))
            switch dtype {
            case .float32: mapLoop(p, out.pointer(as: Float.self), a, convert)
            case .int64: mapLoop(p, out.pointer(as: Int64.self), a, toInt)
            case .int32: mapLoop(p, out.pointer(as: Int32.self), a) { Int32(truncatingIfNeeded: toInt($0)) }
            case .bool: mapLoop(p, out.pointer(as: Bool.self), a, toBool)
            }
        }
        switch x.dtype {
        case .float32: from(Float.self, { $0 }, { $0.isFinite ? Int64($0) : 0 }, { $0 != 0 })
        case .int64: from(Int64.self, { Float($0) }, { $0 }, { $0 != 0 })
        case .int32: from(Int32.self, { Float($0) }, { Int64($0) }, { $0 != 0 })
        case .bool: from(Bool.self, { $0 ? 1 : 0 }, { $0 ? 1 : 0 }, { $0 })
        }
        return out
    }

    /// A contiguous copy of `x` (or `x` itself when it is already contiguous and `force` is false).
    static func contiguous(_ x: Tensor, force: Bool = false) -> Tensor {
        if x.isContiguous && !force { return x }
        let out = empty(x.shape, x.dtype)
        copy(x, into: out)
        return out
    }

    /// Copies `source` (broadcast to `destination`'s shape) into the strided view `destination`.
    static func copy(_ source: Tensor, into destination: Tensor) {
        precondition(source.dtype == destination.dtype, "copy: dtypes \(source.dtype) and \(destination.dtype) differ")
        if transposeInBlocks(source, into: destination) { return }
        let p = plan(destination, [source])
        func run<T>(_: T.Type) {
            mapLoop(p, destination.pointer(as: T.self), UnsafePointer(source.pointer(as: T.self))) { $0 }
        }
        switch source.dtype {
        case .float32: run(Float.self)
        case .int32: run(Int32.self)
        case .int64: run(Int64.self)
        case .bool: run(Bool.self)
        }
    }
}

extension ElementwiseKernels {
    /// A float matrix stored transposed (`[r, c]` with strides `[1, ld]`: a weight's `.t()`) copied into a
    /// contiguous `[r, c]` in 64 × 64 blocks, so that both sides stay in cache; the element-by-element
    /// loop misses on every read of a large matrix (GPT-2's generator: its passes, mostly the 154 MB
    /// head's transpose, took 0.92 s and now 0.49 s). False
    /// for any other pair, which the general loop copies.
    static func transposeInBlocks(_ source: Tensor, into destination: Tensor) -> Bool {
        guard source.dtype == .float32, source.shape.count == 2, source.shape == destination.shape, destination.isContiguous,
              source.strides[0] == 1, source.shape[0] > 1, source.shape[1] > 1, source.strides[1] >= source.shape[0] else { return false }
        let rows = source.shape[0], columns = source.shape[1], ld = source.strides[1]
        let from = UnsafePointer(source.pointer(as: Float.self)), to = destination.pointer(as: Float.self)
        let block = 64
        for i0 in stride(from: 0, to: rows, by: block) {
            let i1 = min(i0 + block, rows)
            for j0 in stride(from: 0, to: columns, by: block) {
                let j1 = min(j0 + block, columns)
                for j in j0..<j1 {
                    let column = from + j * ld
                    for i in i0..<i1 { to[i * columns + j] = column[i] }
                }
            }
        }
        return true
    }
}

extension UnaryOp {
    /// The op's code in the C kernels, for ops that have a contiguous vectorized loop.
    var kernelCode: Int32? {
        switch self {
        case .neg: Int32(TC_NEG.rawValue)
        case .exp: Int32(TC_EXP.rawValue)
        case .log: Int32(TC_LOG.rawValue)
        case .sqrt: Int32(TC_SQRT.rawValue)
        case .rsqrt: Int32(TC_RSQRT.rawValue)
        case .abs: Int32(TC_ABS.rawValue)
        case .tanh: Int32(TC_TANH.rawValue)
        case .erf: Int32(TC_ERF.rawValue)
        case .relu: Int32(TC_RELU.rawValue)
        case .sigmoid: Int32(TC_SIGMOID.rawValue)
        case .gelu: Int32(TC_GELU.rawValue)
        case .geluTanh: Int32(TC_GELU_TANH.rawValue)
        case .sin: Int32(TC_SIN.rawValue)
        case .cos: Int32(TC_COS.rawValue)
        case .logicalNot: nil
        }
    }
}

extension BinaryOp {
    /// The op's code in the C kernels, for float arithmetic with a vectorized loop.
    var kernelCode: Int32? {
        switch self {
        case .add: Int32(TC_ADD.rawValue)
        case .sub: Int32(TC_SUB.rawValue)
        case .mul: Int32(TC_MUL.rawValue)
        case .div: Int32(TC_DIV.rawValue)
        case .maximum: Int32(TC_MAXIMUM.rawValue)
        case .minimum: Int32(TC_MINIMUM.rawValue)
        default: nil
        }
    }
}
