import CLLVM

/// Data-parallel loops of generated code. A heavy kernel (GEMM, attention, row-wise ops) is emitted
/// as a *task function* `void task(ctx, begin, end, scratch)` that runs tasks `[begin, end)`; the
/// kernel stores the values the task needs (pointers, sizes) in a small context array and calls
/// `NAME.parallel`, which shares the tasks among the model's threads (`ThreadPoolIR`), the calling
/// thread included. `scratch` is private to the thread running the task (`scratchBytes` of them per
/// thread): the calling thread's is in the workspace, the pool workers' are the pool's.
extension LoweringContext {
    /// Emits `body(task, captured, scratch)` for every task in `0..<count`. The body is emitted into
    /// the task function, so it may use only `captured` (the same values, in order, as seen inside
    /// the task) and `scratch` — the module verifier rejects anything else.
    func parallelFor(_ count: LLVMValueRef, scratchBytes: Int, capturing values: [LLVMValueRef],
                     _ body: (_ task: LLVMValueRef, _ captured: [LLVMValueRef], _ scratch: LLVMValueRef) -> Void) {
        requireScratch(scratchBytes)
        let taskType = ir.functionType(ir.void, [ir.ptr, ir.i64, ir.i64, ir.ptr])
        let taskFunction = LLVMAddFunction(ir.module, "\(kernelName).task\(taskCount)", taskType)!
        taskCount += 1
        LLVMSetLinkage(taskFunction, LLVMInternalLinkage)

        // The context: one 8-byte slot per captured value, filled by the kernel.
        let context = local(LLVMArrayType2(ir.i64, UInt64(max(1, values.count))))
        for (i, v) in values.enumerated() { ir.store(v, ir.gep(ir.i64, context, ir.int(i))) }
        let caller = LLVMGetInsertBlock(ir.builder)!

        let taskEntry = LLVMAppendBasicBlockInContext(ir.context, taskFunction, "entry")!
        let taskBody = LLVMAppendBasicBlockInContext(ir.context, taskFunction, "body")!
        ir.position(at: taskBody)
        let ctx = LLVMGetParam(taskFunction, 0)!, begin = LLVMGetParam(taskFunction, 1)!, end = LLVMGetParam(taskFunction, 2)!
        let scratch = LLVMGetParam(taskFunction, 3)!
        let captured = values.enumerated().map { i, v in ir.load(LLVMTypeOf(v), ir.gep(ir.i64, ctx, ir.int(i))) }
        ir.loop(begin, end) { i in body(i, captured, scratch) }
        ir.ret()
        ir.position(at: taskEntry)
        ir.br(taskBody)

        ir.position(at: caller)
        let task = deduplicated(taskFunction)
        let parallel = ThreadPoolIR.parallelFunction(ir, prefix: poolPrefix)
        ir.call(parallel, ThreadPoolIR.parallelType(ir), [pool, task, context, count, callerScratch])
    }
}
