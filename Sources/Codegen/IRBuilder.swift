import CLLVM

/// A thin Swift face over the LLVM C API's IR builder: types, constants, arithmetic, memory, calls,
/// intrinsics and structured loops, so lowering code reads like the loops it emits.
final class IRBuilder {
    let context: LLVMContextRef
    let module: LLVMModuleRef
    let builder: LLVMBuilderRef

    init(context: LLVMContextRef, module: LLVMModuleRef) {
        self.context = context
        self.module = module
        self.builder = LLVMCreateBuilderInContext(context)
    }

    deinit { LLVMDisposeBuilder(builder) }

    // MARK: Types

    var void: LLVMTypeRef { LLVMVoidTypeInContext(context) }
    var i1: LLVMTypeRef { LLVMInt1TypeInContext(context) }
    var i8: LLVMTypeRef { LLVMInt8TypeInContext(context) }
    var i32: LLVMTypeRef { LLVMInt32TypeInContext(context) }
    var i64: LLVMTypeRef { LLVMInt64TypeInContext(context) }
    var f32: LLVMTypeRef { LLVMFloatTypeInContext(context) }
    var ptr: LLVMTypeRef { LLVMPointerTypeInContext(context, 0) }

    func functionType(_ result: LLVMTypeRef, _ params: [LLVMTypeRef]) -> LLVMTypeRef {
        var p: [LLVMTypeRef?] = params
        return p.withUnsafeMutableBufferPointer { LLVMFunctionType(result, $0.baseAddress, UInt32(params.count), 0) }
    }

    // MARK: Constants

    func int(_ v: Int) -> LLVMValueRef { LLVMConstInt(i64, UInt64(bitPattern: Int64(v)), 1) }
    func int32(_ v: Int32) -> LLVMValueRef { LLVMConstInt(i32, UInt64(bitPattern: Int64(v)), 1) }
    func float(_ v: Float) -> LLVMValueRef { LLVMConstReal(f32, Double(v)) }
    func bool(_ v: Bool) -> LLVMValueRef { LLVMConstInt(i1, v ? 1 : 0, 0) }
    func byte(_ v: UInt8) -> LLVMValueRef { LLVMConstInt(i8, UInt64(v), 0) }

    // MARK: Functions and blocks

    /// Declares (or finds) a function.
    func function(_ name: String, _ type: LLVMTypeRef) -> LLVMValueRef {
        if let f = LLVMGetNamedFunction(module, name) { return f }
        return LLVMAddFunction(module, name, type)
    }

    /// A new block in the function the builder is in.
    func block(_ name: String) -> LLVMBasicBlockRef {
        LLVMAppendBasicBlockInContext(context, currentFunction, name)
    }

    var currentFunction: LLVMValueRef { LLVMGetBasicBlockParent(LLVMGetInsertBlock(builder)) }

    func position(at block: LLVMBasicBlockRef) { LLVMPositionBuilderAtEnd(builder, block) }

    func br(_ block: LLVMBasicBlockRef) { LLVMBuildBr(builder, block) }

    func condBr(_ cond: LLVMValueRef, _ then: LLVMBasicBlockRef, _ otherwise: LLVMBasicBlockRef) {
        LLVMBuildCondBr(builder, cond, then, otherwise)
    }

    func ret(_ v: LLVMValueRef? = nil) {
        if let v { LLVMBuildRet(builder, v) } else { LLVMBuildRetVoid(builder) }
    }

    // MARK: Integer arithmetic (i64 index math)

    func add(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildAdd(builder, a, b, "") }
    func sub(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildSub(builder, a, b, "") }
    func mul(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildMul(builder, a, b, "") }
    func sdiv(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildSDiv(builder, a, b, "") }
    func srem(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildSRem(builder, a, b, "") }
    func icmp(_ p: LLVMIntPredicate, _ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildICmp(builder, p, a, b, "") }
    func and(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildAnd(builder, a, b, "") }
    func or(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildOr(builder, a, b, "") }
    func xor(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildXor(builder, a, b, "") }
    func shl(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildShl(builder, a, b, "") }
    func select(_ c: LLVMValueRef, _ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildSelect(builder, c, a, b, "") }

    // MARK: Float arithmetic

    func fadd(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFAdd(builder, a, b, "") }
    func fsub(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFSub(builder, a, b, "") }
    func fmul(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFMul(builder, a, b, "") }
    func fdiv(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFDiv(builder, a, b, "") }
    func fneg(_ a: LLVMValueRef) -> LLVMValueRef { LLVMBuildFNeg(builder, a, "") }
    func fcmp(_ p: LLVMRealPredicate, _ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFCmp(builder, p, a, b, "") }

    /// `a + b` allowed to reassociate, so reductions vectorize.
    func faddReassoc(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef {
        let v = fadd(a, b)
        LLVMSetFastMathFlags(v, LLVMFastMathFlags(LLVMFastMathAllowReassoc))
        return v
    }

    // MARK: Conversions

    func sitofp(_ v: LLVMValueRef) -> LLVMValueRef { LLVMBuildSIToFP(builder, v, f32, "") }
    func fptosi(_ v: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildFPToSI(builder, v, t, "") }
    func sext(_ v: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildSExt(builder, v, t, "") }
    func zext(_ v: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildZExt(builder, v, t, "") }
    func trunc(_ v: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildTrunc(builder, v, t, "") }
    func bitcast(_ v: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildBitCast(builder, v, t, "") }

    // MARK: Memory

    /// `base + index` elements of `type`.
    func gep(_ type: LLVMTypeRef, _ base: LLVMValueRef, _ index: LLVMValueRef) -> LLVMValueRef {
        var i: [LLVMValueRef?] = [index]
        return i.withUnsafeMutableBufferPointer { LLVMBuildInBoundsGEP2(builder, type, base, $0.baseAddress, 1, "") }
    }

    func load(_ type: LLVMTypeRef, _ pointer: LLVMValueRef) -> LLVMValueRef { LLVMBuildLoad2(builder, type, pointer, "") }

    func store(_ value: LLVMValueRef, _ pointer: LLVMValueRef) { LLVMBuildStore(builder, value, pointer) }

    // MARK: Calls and intrinsics

    /// A new internal function that LLVM must not inline (a microkernel, an outlined loop: one copy
    /// each, called from many places).
    func noinlineFunction(_ name: String, _ type: LLVMTypeRef) -> LLVMValueRef {
        let f = LLVMAddFunction(module, name, type)!
        LLVMSetLinkage(f, LLVMInternalLinkage)
        let noinline = LLVMGetEnumAttributeKindForName("noinline", 8)
        LLVMAddAttributeAtIndex(f, UInt32(bitPattern: Int32(LLVMAttributeFunctionIndex)), LLVMCreateEnumAttribute(context, noinline, 0))
        return f
    }

    /// A loop from `start` in steps of `unroll` while `unroll` more steps fit below `end`, carrying
    /// `initial` (as phis) through `body(index, values, u)` for each `u` in `0..<unroll`; returns the
    /// index and the values after it (the microkernels' k loops: unrolled main part, then the rest).
    func carriedLoop(from start: LLVMValueRef, end: LLVMValueRef, unroll: Int, carrying initial: [LLVMValueRef],
                     _ body: (_ index: LLVMValueRef, _ values: [LLVMValueRef], _ u: Int) -> [LLVMValueRef]) -> (LLVMValueRef, [LLVMValueRef]) {
        let preheader = LLVMGetInsertBlock(builder)!
        let header = block("loop"), loopBody = block("loop_body"), exit = block("loop_done")
        br(header)
        position(at: header)
        let index = LLVMBuildPhi(builder, i64, "i")!
        let values = initial.map { LLVMBuildPhi(builder, LLVMTypeOf($0), "carried")! }
        condBr(icmp(LLVMIntSLE, add(index, int(unroll)), end), loopBody, exit)
        position(at: loopBody)
        var next: [LLVMValueRef] = values
        for u in 0..<unroll { next = body(add(index, int(u)), next, u) }
        let indexNext = add(index, int(unroll))
        let latch = LLVMGetInsertBlock(builder)!
        br(header)
        for (i, phi) in ([index] + values).enumerated() {
            var incoming: [LLVMValueRef?] = [i == 0 ? start : initial[i - 1], i == 0 ? indexNext : next[i - 1]]
            var blocks: [LLVMBasicBlockRef?] = [preheader, latch]
            LLVMAddIncoming(phi, &incoming, &blocks, 2)
        }
        position(at: exit)
        return (index, values)
    }

    /// `memmove(destination, source, bytes)` (`llvm.memmove`: overlapping ranges allowed).
    func memmove(_ destination: LLVMValueRef, _ source: LLVMValueRef, bytes: LLVMValueRef, alignment: Int) {
        LLVMBuildMemMove(builder, destination, UInt32(alignment), source, UInt32(alignment), bytes)
    }

    @discardableResult
    func call(_ function: LLVMValueRef, _ type: LLVMTypeRef, _ args: [LLVMValueRef]) -> LLVMValueRef {
        var a: [LLVMValueRef?] = args
        return a.withUnsafeMutableBufferPointer { LLVMBuildCall2(builder, type, function, $0.baseAddress, UInt32(args.count), "") }
    }

    /// A call to an overloaded LLVM intrinsic on floats (`llvm.sqrt`, `llvm.fabs`, `llvm.maxnum`, …).
    func intrinsic(_ name: String, _ args: [LLVMValueRef]) -> LLVMValueRef {
        let id = LLVMLookupIntrinsicID(name, name.utf8.count)
        var types: [LLVMTypeRef?] = [f32]
        let declaration = types.withUnsafeMutableBufferPointer { LLVMGetIntrinsicDeclaration(module, id, $0.baseAddress, 1) }!
        let type = types.withUnsafeMutableBufferPointer { LLVMIntrinsicGetType(context, id, $0.baseAddress, 1) }!
        return call(declaration, type, args)
    }

    // MARK: Vectors (the GEMM microkernel writes its registers explicitly)

    /// `<lanes x float>`.
    func floatVector(_ lanes: Int) -> LLVMTypeRef { LLVMVectorType(f32, UInt32(lanes)) }

    /// `x` (a float or an integer) in every lane.
    func splat(_ x: LLVMValueRef, lanes: Int) -> LLVMValueRef {
        let type = LLVMVectorType(LLVMTypeOf(x), UInt32(lanes))!
        let one = LLVMBuildInsertElement(builder, LLVMGetUndef(type), x, int32(0), "")!
        let mask = LLVMConstNull(LLVMVectorType(i32, UInt32(lanes)))
        return LLVMBuildShuffleVector(builder, one, LLVMGetUndef(type), mask, "")
    }

    /// A vector load that assumes only float alignment.
    func loadVector(_ lanes: Int, _ pointer: LLVMValueRef) -> LLVMValueRef { loadVector(floatVector(lanes), pointer) }

    /// A load of the vector type `type` that assumes only 4-byte alignment.
    func loadVector(_ type: LLVMTypeRef, _ pointer: LLVMValueRef) -> LLVMValueRef {
        let v = load(type, pointer)
        LLVMSetAlignment(v, 4)
        return v
    }

    /// `a · b + c` lane by lane (`llvm.fmuladd`): one fused multiply-add where the target has FMA
    /// (every AVX2 and AVX-512 CPU), a multiply and an add where it has none. (`llvm.fma` demands the
    /// fused rounding, which baseline x86-64 gets only from libm's software `fmaf`: compiled for it,
    /// MiniLM ran 110× slower.)
    func fma(_ a: LLVMValueRef, _ b: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef {
        overloaded("llvm.fmuladd", [LLVMTypeOf(a)], [a, b, c])
    }

    /// `<lanes x i1>`: lane `i` is set when `i < count` (an i64; any value, negative included).
    func lanesBelow(_ count: LLVMValueRef, lanes: Int) -> LLVMValueRef {
        var iota: [LLVMValueRef?] = (0..<lanes).map { Optional(LLVMConstInt(i64, UInt64($0), 0)) }
        let indices = iota.withUnsafeMutableBufferPointer { LLVMConstVector($0.baseAddress, UInt32(lanes)) }!
        return icmp(LLVMIntSLT, indices, splat(count, lanes: lanes))
    }

    /// Stores the lanes of `value` whose index is below `count` (`llvm.masked.store`).
    func maskedStore(_ value: LLVMValueRef, _ pointer: LLVMValueRef, count: LLVMValueRef) {
        let mask = lanesBelow(count, lanes: Int(LLVMGetVectorSize(LLVMTypeOf(value))))
        overloaded("llvm.masked.store", [LLVMTypeOf(value), ptr], [value, pointer, int32(4), mask])
    }

    /// The first `count` floats at `pointer` as a `lanes`-float vector, zero in the lanes past them
    /// (`llvm.masked.load`: nothing past them is read).
    func maskedLoad(_ lanes: Int, _ pointer: LLVMValueRef, count: LLVMValueRef) -> LLVMValueRef {
        let type = floatVector(lanes)
        return overloaded("llvm.masked.load", [type, ptr], [pointer, int32(4), lanesBelow(count, lanes: lanes), LLVMConstNull(type)])
    }

    /// The sum of a float vector's lanes, in any order (`llvm.vector.reduce.fadd`, reassociable).
    func sumLanes(_ v: LLVMValueRef) -> LLVMValueRef {
        let sum = overloaded("llvm.vector.reduce.fadd", [LLVMTypeOf(v)], [float(0), v])
        LLVMSetFastMathFlags(sum, LLVMFastMathFlags(LLVMFastMathAllowReassoc))
        return sum
    }

    /// A hint to bring the cache line at `pointer` into L1 for reading (`llvm.prefetch`, `prefetcht0`);
    /// it never faults, so it may point past the data.
    func prefetch(_ pointer: LLVMValueRef) {
        overloaded("llvm.prefetch", [ptr], [pointer, int32(0), int32(3), int32(1)])
    }

    /// A call to an intrinsic overloaded on `types`.
    @discardableResult
    func overloaded(_ name: String, _ types: [LLVMTypeRef], _ args: [LLVMValueRef]) -> LLVMValueRef {
        let id = LLVMLookupIntrinsicID(name, name.utf8.count)
        var t: [LLVMTypeRef?] = types
        let declaration = t.withUnsafeMutableBufferPointer { LLVMGetIntrinsicDeclaration(module, id, $0.baseAddress, types.count) }!
        let type = t.withUnsafeMutableBufferPointer { LLVMIntrinsicGetType(context, id, $0.baseAddress, types.count) }!
        return call(declaration, type, args)
    }

    /// A stack slot in the entry block of the current function (promoted to a register by the
    /// optimizer).
    func localInEntry(_ type: LLVMTypeRef) -> LLVMValueRef {
        let saved = LLVMGetInsertBlock(builder)!
        let entry = LLVMGetEntryBasicBlock(currentFunction)!
        if let first = LLVMGetFirstInstruction(entry) { LLVMPositionBuilderBefore(builder, first) } else { position(at: entry) }
        let slot = LLVMBuildAlloca(builder, type, "")!
        position(at: saved)
        return slot
    }

    // MARK: Loops

    /// `for i in start..<end { body(i) }` as a canonical counted loop (preheader, header with a phi,
    /// latch); the loop vectorizer recognizes it.
    func loop(_ start: LLVMValueRef, _ end: LLVMValueRef, _ body: (LLVMValueRef) -> Void) {
        let entry = LLVMGetInsertBlock(builder)!
        let header = block("loop")
        let bodyBlock = block("body")
        let exit = block("exit")
        br(header)
        position(at: header)
        let i = LLVMBuildPhi(builder, i64, "i")!
        condBr(icmp(LLVMIntSLT, i, end), bodyBlock, exit)
        position(at: bodyBlock)
        body(i)
        let next = add(i, int(1))
        let latch = LLVMGetInsertBlock(builder)!
        br(header)
        var values: [LLVMValueRef?] = [start, next]
        var blocks: [LLVMBasicBlockRef?] = [entry, latch]
        LLVMAddIncoming(i, &values, &blocks, 2)
        position(at: exit)
    }

    /// Nested loops over `extents` (outermost first), calling `body` with the index of each.
    func loops(_ extents: [LLVMValueRef], _ body: ([LLVMValueRef]) -> Void) {
        func nest(_ level: Int, _ indices: [LLVMValueRef]) {
            if level == extents.count { body(indices); return }
            loop(int(0), extents[level]) { i in nest(level + 1, indices + [i]) }
        }
        nest(0, [])
    }
}
