import CLLVM

/// Loops emitted as functions of their own, so that equal loops are compiled once. A model's
/// elementwise loops are many and alike (twelve layers, or the pieces of a long fused chain); inline
/// in the kernel they made one huge function, and LLVM's time grows faster than a function's size.
/// Outlined, each distinct loop is one small internal function (keyed by what shapes it), and
/// the kernel calls it with the values it needs as arguments.
extension LoweringContext {
    /// Emits `body(captured)` into a new function and calls it here. Values that are LLVM constants
    /// stay constants inside (strides of 1 and static sizes keep the loop vectorizable) unless their
    /// index is in `runtime` (offsets: baked in, they would make every piece of a concat its own
    /// loop); the others are passed, and `body` sees them all in `captured` in order. `kind` must name everything else the
    /// body depends on (the op, the dtypes): with the constants it keys the function, and a loop
    /// already emitted under the same key is called instead of emitting another. (Comparing the
    /// printed IR, as tasks are compared, costs a pass over the whole module per print: quadratic
    /// for a model with thousands of loops.)
    private func outlined(kind: String, capturing values: [LLVMValueRef], runtime: Set<Int> = [],
                  _ body: (_ captured: [LLVMValueRef]) -> Void) {
        let isPassed = values.indices.map { runtime.contains($0) || LLVMIsConstant(values[$0]) == 0 }
        let passed = values.indices.filter { isPassed[$0] }.map { values[$0] }
        // The passed values are the function's arguments (in registers: no stores for LLVM to
        // schedule around thousands of calls).
        let functionType = ir.functionType(ir.void, passed.map { LLVMTypeOf($0)! })
        let key = kind + "|" + values.indices.map { isPassed[$0] ? "·" : constantKey(values[$0]) }.joined(separator: ",")
        if let existing = loopsByKey[key] {
            ir.call(existing, functionType, passed)
            return
        }
        // Kept out of line: inlined back, thousands of loops in one function cost LLVM time that grows
        // with their square (loop guards walk every loop before), and a call per loop costs nothing.
        let function = ir.noinlineFunction("\(kernelName).loop\(taskCount)", functionType)
        taskCount += 1
        let caller = LLVMGetInsertBlock(ir.builder)!

        let entry = LLVMAppendBasicBlockInContext(ir.context, function, "entry")!
        let start = LLVMAppendBasicBlockInContext(ir.context, function, "body")!
        ir.position(at: start)
        var argument = 0
        let captured = values.indices.map { i -> LLVMValueRef in
            guard isPassed[i] else { return values[i] }
            defer { argument += 1 }
            return LLVMGetParam(function, UInt32(argument))!
        }
        body(captured)
        ir.ret()
        ir.position(at: entry)
        ir.br(start)

        ir.position(at: caller)
        loopsByKey[key] = function
        ir.call(function, functionType, passed)
    }

    /// `body(indices, operands)` in an outlined loop nest over `shape`. Each operand is given as the
    /// loop reads it (its strides at the loop's rank, 0 where broadcast); its base and offset are passed
    /// at run time, its strides and `shape` baked in when constant. `body` gets the operands as seen
    /// inside the function (their `shape` is the loop's).
    func outlinedLoops(kind: String, shape: [LLVMValueRef], operands: [LoweredValue],
                       _ body: (_ indices: [LLVMValueRef], _ operands: [LoweredValue]) -> Void) {
        outlinedLoops(kind: kind, shape: shape, operands: operands, extras: []) { indices, operands, _ in body(indices, operands) }
    }

    /// `outlinedLoops` with `extras`: more values the body uses (sizes, strides), passed or baked in
    /// like the others, seen inside the function as the body's third argument.
    func outlinedLoops(kind: String, shape: [LLVMValueRef], operands: [LoweredValue], extras: [LLVMValueRef],
                       _ body: (_ indices: [LLVMValueRef], _ operands: [LoweredValue], _ extras: [LLVMValueRef]) -> Void) {
        var values = shape + extras, runtime = Set<Int>()
        for v in operands {
            runtime.formUnion([values.count, values.count + 1])
            values += [v.base, v.offset] + v.strides
        }
        outlined(kind: kind, capturing: values, runtime: runtime) { captured in
            var next = captured.makeIterator()
            func take(_ n: Int) -> [LLVMValueRef] { (0..<n).map { _ in next.next()! } }
            let inner = take(shape.count)
            let extraValues = take(extras.count)
            let rebased = operands.map { v -> LoweredValue in
                var v = v
                v.base = next.next()!
                v.offset = next.next()!
                v.strides = take(v.strides.count)
                v.shape = inner
                return v
            }
            ir.loops(inner) { indices in body(indices, rebased, extraValues) }
        }
    }

    /// A baked-in constant's part of a loop's key: an integer's value, another constant's text.
    private func constantKey(_ v: LLVMValueRef) -> String {
        if LLVMIsAConstantInt(v) != nil { return String(LLVMConstIntGetSExtValue(v)) }
        return takeLLVMString(LLVMPrintValueToString(v))
    }
}
