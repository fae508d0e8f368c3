import CLLVM

/// The thread pool of a compiled model, emitted as LLVM IR into the module itself, so an AOT library
/// needs nothing beyond libc (pthreads) and the JIT runs the very same code.
///
/// `NAME_pool_create(threads, scratchBytes)` starts `threads − 1` workers (the calling thread is the
/// other one; fewer than 2 threads gives null, which means "run serially"), each with its own task
/// scratch; `NAME_pool_destroy` stops and joins them. `NAME.parallel(pool, task, ctx, count,
/// scratch)` publishes a new *generation* and hands out tasks `0..<count` one at a time to the caller
/// and the workers, and returns when all tasks are finished — not when all workers have checked in,
/// so a worker the OS has not scheduled yet costs nothing: the caller does its share. The task
/// counter holds the generation in its high 32 bits and a worker claims a task only with a
/// compare-and-swap on both, so a late worker can never run a task of a loop that has moved on. Workers spin briefly after a parallel loop (the next one
/// usually follows within microseconds) and then sleep on a condition variable: an idle model
/// costs no CPU. A pool runs one parallel loop at a time: a second thread calling the same model
/// concurrently finds it busy and runs its loops itself, so concurrent calls never wait for each
/// other and never oversubscribe the cores.
enum ThreadPoolIR {
    /// `void (ptr pool, ptr task, ptr ctx, i64 count, ptr scratch)`.
    static func parallelType(_ ir: IRBuilder) -> LLVMTypeRef {
        ir.functionType(ir.void, [ir.ptr, ir.ptr, ir.ptr, ir.i64, ir.ptr])
    }

    /// `ptr NAME_pool_create(i64 threads, i64 scratchBytes)`.
    static func createType(_ ir: IRBuilder) -> LLVMTypeRef { ir.functionType(ir.ptr, [ir.i64, ir.i64]) }
    /// `void NAME_pool_destroy(ptr pool)`.
    static func destroyType(_ ir: IRBuilder) -> LLVMTypeRef { ir.functionType(ir.void, [ir.ptr]) }

    /// Symbol names of the pool's entry points.
    static func createName(_ prefix: String) -> String { "\(prefix)_pool_create" }
    static func destroyName(_ prefix: String) -> String { "\(prefix)_pool_destroy" }

    // Pool layout (bytes): the mutex and the two condition variables first (glibc x86-64 sizes 40
    // and 48), then the shared fields, the task counter on its own cache line.
    private static let mutex = 0, workCondition = 64, doneCondition = 128
    private static let generation = 192, finished = 200, taskFunction = 208, context = 216, count = 224
    private static let stop = 232, threads = 240, busy = 248, workers = 256, next = 320, size = 384
    // A worker record: pthread_t, pool, scratch.
    private static let recordBytes = 24
    /// Pause instructions a thread spins before sleeping (≈ 50–100 µs).
    private static let spins = 4000

    /// Defines the pool functions in `ir`'s module (once) and returns `NAME.parallel`.
    static func parallelFunction(_ ir: IRBuilder, prefix: String) -> LLVMValueRef {
        let name = "\(prefix).parallel"
        if let existing = LLVMGetNamedFunction(ir.module, name) { return existing }
        let saved = LLVMGetInsertBlock(ir.builder)
        defer { if let saved { ir.position(at: saved) } }
        let emitter = Emitter(ir: ir, prefix: prefix)
        emitter.defineAll()
        return LLVMGetNamedFunction(ir.module, name)!
    }

    private struct Emitter {
        let ir: IRBuilder
        let prefix: String

        func extern(_ name: String, _ result: LLVMTypeRef, _ params: [LLVMTypeRef]) -> (LLVMValueRef, LLVMTypeRef) {
            let type = ir.functionType(result, params)
            return (ir.function(name, type), type)
        }

        func define(_ name: String, _ type: LLVMTypeRef, isInternal: Bool) -> LLVMValueRef {
            let f = LLVMAddFunction(ir.module, name, type)!
            if isInternal { LLVMSetLinkage(f, LLVMInternalLinkage) }
            ir.position(at: LLVMAppendBasicBlockInContext(ir.context, f, "entry"))
            return f
        }

        func field(_ pool: LLVMValueRef, _ offset: Int) -> LLVMValueRef { ir.gep(ir.i8, pool, ir.int(offset)) }

        func atomicLoad(_ pointer: LLVMValueRef, _ type: LLVMTypeRef? = nil) -> LLVMValueRef {
            let v = ir.load(type ?? ir.i64, pointer)
            LLVMSetOrdering(v, LLVMAtomicOrderingAcquire)
            LLVMSetAlignment(v, 8)
            return v
        }

        func atomicStore(_ value: LLVMValueRef, _ pointer: LLVMValueRef) {
            let s = LLVMBuildStore(ir.builder, value, pointer)!
            LLVMSetOrdering(s, LLVMAtomicOrderingRelease)
            LLVMSetAlignment(s, 8)
        }

        func atomicAdd(_ pointer: LLVMValueRef, _ value: LLVMValueRef) -> LLVMValueRef {
            LLVMBuildAtomicRMW(ir.builder, LLVMAtomicRMWBinOpAdd, pointer, value, LLVMAtomicOrderingAcquireRelease, 0)
        }

        func pause() { ir.call(ir.function("llvm.x86.sse2.pause", ir.functionType(ir.void, [])), ir.functionType(ir.void, []), []) }

        /// `while condition() { body() }`.
        func whileLoop(_ condition: () -> LLVMValueRef, _ body: () -> Void) {
            let header = ir.block("while"), loop = ir.block("do"), exit = ir.block("done")
            ir.br(header)
            ir.position(at: header)
            ir.condBr(condition(), loop, exit)
            ir.position(at: loop)
            body()
            ir.br(header)
            ir.position(at: exit)
        }

        func ifThen(_ condition: LLVMValueRef, _ body: () -> Void) {
            let then = ir.block("then"), exit = ir.block("endif")
            ir.condBr(condition, then, exit)
            ir.position(at: then)
            body()
            ir.br(exit)
            ir.position(at: exit)
        }

        /// Spins up to `spins` pauses while `condition()` holds; returns with the builder after the spin.
        func spin(while condition: () -> LLVMValueRef) {
            let counter = ir.localInEntry(ir.i64)
            ir.store(ir.int(0), counter)
            whileLoop({ ir.and(ir.icmp(LLVMIntSLT, ir.load(ir.i64, counter), ir.int(spins)), condition()) }) {
                pause()
                ir.store(ir.add(ir.load(ir.i64, counter), ir.int(1)), counter)
            }
        }

        func defineAll() {
            let i32 = ir.i32, i64 = ir.i64, ptr = ir.ptr, void = ir.void
            let lock = extern("pthread_mutex_lock", i32, [ptr]), unlock = extern("pthread_mutex_unlock", i32, [ptr])
            let wait = extern("pthread_cond_wait", i32, [ptr, ptr])
            let broadcast = extern("pthread_cond_broadcast", i32, [ptr]), signal = extern("pthread_cond_signal", i32, [ptr])
            let mutexInit = extern("pthread_mutex_init", i32, [ptr, ptr]), condInit = extern("pthread_cond_init", i32, [ptr, ptr])
            let mutexDestroy = extern("pthread_mutex_destroy", i32, [ptr]), condDestroy = extern("pthread_cond_destroy", i32, [ptr])
            let create = extern("pthread_create", i32, [ptr, ptr, ptr, ptr]), join = extern("pthread_join", i32, [i64, ptr])
            let calloc = extern("calloc", ptr, [i64, i64]), free = extern("free", void, [ptr])
            let taskType = ir.functionType(void, [ptr, i64, i64, ptr])
            func call(_ f: (LLVMValueRef, LLVMTypeRef), _ args: [LLVMValueRef]) { ir.call(f.0, f.1, args) }

            // void NAME.run_tasks(pool, scratch, generation): claims tasks of that generation until
            // none are left; whoever finishes the last one wakes the caller.
            let runType = ir.functionType(void, [ptr, ptr, i64])
            let runTasks = define("\(prefix).run_tasks", runType, isInternal: true)
            do {
                let pool = LLVMGetParam(runTasks, 0)!, scratch = LLVMGetParam(runTasks, 1)!, gen = LLVMGetParam(runTasks, 2)!
                // Possibly a later loop's values: only used after the claim proves the generation (the
                // publisher moves `next` to its generation before it writes them: see `parallel`).
                let total = atomicLoad(field(pool, count))
                let task = atomicLoad(field(pool, taskFunction), ptr), ctx = atomicLoad(field(pool, context), ptr)
                let claim = ir.block("claim"), check = ir.block("check"), run = ir.block("run"), exit = ir.block("exit")
                ir.br(claim)
                ir.position(at: claim)
                let current = atomicLoad(field(pool, next))
                let index = ir.and(current, ir.int(0xFFFF_FFFF))
                let sameLoop = ir.icmp(LLVMIntEQ, LLVMBuildLShr(ir.builder, current, ir.int(32), ""), gen)
                ir.condBr(ir.and(sameLoop, ir.icmp(LLVMIntSLT, index, total)), check, exit)
                ir.position(at: check)
                let exchange = LLVMBuildAtomicCmpXchg(ir.builder, field(pool, next), current, ir.add(current, ir.int(1)),
                                                      LLVMAtomicOrderingAcquireRelease, LLVMAtomicOrderingAcquire, 0)!
                ir.condBr(LLVMBuildExtractValue(ir.builder, exchange, 1, "")!, run, claim)
                ir.position(at: run)
                ir.call(task, taskType, [ctx, index, ir.add(index, ir.int(1)), scratch])
                let before = atomicAdd(field(pool, finished), ir.int(1))
                ifThen(ir.icmp(LLVMIntEQ, ir.add(before, ir.int(1)), total)) {
                    call(lock, [field(pool, mutex)])
                    call(signal, [field(pool, doneCondition)])
                    call(unlock, [field(pool, mutex)])
                }
                ir.br(claim)
                ir.position(at: exit)
                ir.ret()
            }

            // ptr NAME.worker(ptr record): waits for a new generation, runs its tasks, waits again.
            let worker = define("\(prefix).worker", ir.functionType(ptr, [ptr]), isInternal: true)
            do {
                let record = LLVMGetParam(worker, 0)!
                let pool = ir.load(ptr, ir.gep(ir.i8, record, ir.int(8)))
                let scratch = ir.load(ptr, ir.gep(ir.i8, record, ir.int(16)))
                let seen = ir.localInEntry(i64)
                ir.store(ir.int(0), seen)
                let forever = ir.block("forever"), exit = ir.block("exit")
                ir.br(forever)
                ir.position(at: forever)
                spin { ir.icmp(LLVMIntEQ, atomicLoad(field(pool, generation)), ir.load(i64, seen)) }
                call(lock, [field(pool, mutex)])
                whileLoop({
                    ir.and(ir.icmp(LLVMIntEQ, atomicLoad(field(pool, generation)), ir.load(i64, seen)),
                           ir.icmp(LLVMIntEQ, atomicLoad(field(pool, stop)), ir.int(0)))
                }) { call(wait, [field(pool, workCondition), field(pool, mutex)]) }
                call(unlock, [field(pool, mutex)])
                let stopping = ir.block("stopping"), work = ir.block("work")
                ir.condBr(ir.icmp(LLVMIntNE, atomicLoad(field(pool, stop)), ir.int(0)), stopping, work)
                ir.position(at: stopping)
                ir.br(exit)
                ir.position(at: work)
                let gen = atomicLoad(field(pool, generation))
                ir.store(gen, seen)
                ir.call(runTasks, runType, [pool, scratch, gen])
                ir.br(forever)
                ir.position(at: exit)
                ir.ret(LLVMConstNull(ptr))
            }

            // void NAME.parallel(pool, task, ctx, count, scratch)
            let parallel = define("\(prefix).parallel", ThreadPoolIR.parallelType(ir), isInternal: true)
            do {
                let params = (0..<5).map { LLVMGetParam(parallel, UInt32($0))! }
                let pool = params[0], task = params[1], ctx = params[2], total = params[3], scratch = params[4]
                let serial = ir.block("serial"), tryPool = ir.block("try_pool"), shared = ir.block("shared")
                let isNull = ir.icmp(LLVMIntEQ, LLVMBuildPtrToInt(ir.builder, pool, i64, ""), ir.int(0))
                ir.condBr(ir.or(isNull, ir.icmp(LLVMIntSLE, total, ir.int(1))), serial, tryPool)
                ir.position(at: serial)
                ir.call(task, taskType, [ctx, ir.int(0), total, scratch])
                ir.ret()
                ir.position(at: tryPool)
                let exchange = LLVMBuildAtomicCmpXchg(ir.builder, field(pool, busy), ir.int(0), ir.int(1),
                                                      LLVMAtomicOrderingAcquire, LLVMAtomicOrderingMonotonic, 0)!
                let won = LLVMBuildExtractValue(ir.builder, exchange, 1, "")!
                ir.condBr(won, shared, serial)
                ir.position(at: shared)
                let gen = ir.and(ir.add(atomicLoad(field(pool, generation)), ir.int(1)), ir.int(0xFFFF_FFFF))
                // The task counter moves to the new generation first. A worker still inside the previous
                // loop's `run_tasks` may already read this loop's count, task and context; its claim
                // (a compare-and-swap on the old generation) must then fail. With the counter written
                // last, such a worker could claim a task of this loop at the previous loop's index
                // and add one more "finished" than there are tasks: the caller then returned while a
                // task still ran, and that task wrote into memory the caller had moved on from.
                atomicStore(ir.shl(gen, ir.int(32)), field(pool, next))
                atomicStore(task, field(pool, taskFunction))
                atomicStore(ctx, field(pool, context))
                atomicStore(total, field(pool, count))
                atomicStore(ir.int(0), field(pool, finished))
                call(lock, [field(pool, mutex)])
                atomicStore(gen, field(pool, generation))
                call(broadcast, [field(pool, workCondition)])
                call(unlock, [field(pool, mutex)])
                ir.call(runTasks, runType, [pool, scratch, gen])
                spin { ir.icmp(LLVMIntSLT, atomicLoad(field(pool, finished)), total) }
                call(lock, [field(pool, mutex)])
                whileLoop({ ir.icmp(LLVMIntSLT, atomicLoad(field(pool, finished)), total) }) {
                    call(wait, [field(pool, doneCondition), field(pool, mutex)])
                }
                call(unlock, [field(pool, mutex)])
                atomicStore(ir.int(0), field(pool, busy))
                ir.ret()
            }

            // ptr NAME_pool_create(i64 threads, i64 scratchBytes): null for fewer than 2 threads or
            // when memory or threads cannot be had (the model then runs serially).
            let createPool = define(ThreadPoolIR.createName(prefix), ThreadPoolIR.createType(ir), isInternal: false)
            do {
                let requested = LLVMGetParam(createPool, 0)!, scratchBytes = LLVMGetParam(createPool, 1)!
                let none = ir.block("none"), start = ir.block("start")
                ir.condBr(ir.icmp(LLVMIntSLT, requested, ir.int(2)), none, start)
                ir.position(at: none)
                ir.ret(LLVMConstNull(ptr))
                ir.position(at: start)
                let n = ir.select(ir.icmp(LLVMIntSGT, requested, ir.int(256)), ir.int(256), requested)
                let scratchRounded = ir.and(ir.add(scratchBytes, ir.int(63)), ir.int(~63))
                // One block: the pool, the worker records, then each worker's scratch (64-aligned
                // relative to the block; calloc gives 16-byte alignment, so offsets keep that).
                let recordsBytes = ir.and(ir.add(ir.mul(n, ir.int(recordBytes)), ir.int(63)), ir.int(~63))
                let total = ir.add(ir.add(ir.int(size + 64), recordsBytes), ir.mul(n, scratchRounded))
                let raw = ir.call(calloc.0, calloc.1, [ir.int(1), total])
                let allocated = ir.block("allocated")
                ir.condBr(ir.icmp(LLVMIntEQ, LLVMBuildPtrToInt(ir.builder, raw, i64, ""), ir.int(0)), none, allocated)
                ir.position(at: allocated)
                // Align the pool to 64 bytes inside the block; the original pointer is kept at the end.
                let address = LLVMBuildPtrToInt(ir.builder, raw, i64, "")!
                let aligned = ir.and(ir.add(address, ir.int(63)), ir.int(~63))
                let pool = LLVMBuildIntToPtr(ir.builder, aligned, ptr, "")!
                ir.store(raw, field(pool, size - 8))
                call(mutexInit, [field(pool, mutex), LLVMConstNull(ptr)])
                call(condInit, [field(pool, workCondition), LLVMConstNull(ptr)])
                call(condInit, [field(pool, doneCondition), LLVMConstNull(ptr)])
                ir.store(n, field(pool, threads))
                let records = field(pool, size)
                ir.store(records, field(pool, workers))
                let scratchBase = ir.gep(ir.i8, records, recordsBytes)
                let started = ir.localInEntry(i64)
                ir.store(ir.int(1), started)
                ir.loop(ir.int(1), n) { i in
                    let record = ir.gep(ir.i8, records, ir.mul(i, ir.int(recordBytes)))
                    ir.store(pool, ir.gep(ir.i8, record, ir.int(8)))
                    ir.store(ir.gep(ir.i8, scratchBase, ir.mul(i, scratchRounded)), ir.gep(ir.i8, record, ir.int(16)))
                    // Once a thread fails to start, no more are tried: workers are records 1..<started.
                    ifThen(ir.icmp(LLVMIntEQ, ir.load(i64, started), i)) {
                        let status = ir.call(create.0, create.1, [record, LLVMConstNull(ptr), worker, record])
                        ifThen(ir.icmp(LLVMIntEQ, status, ir.int32(0))) {
                            ir.store(ir.add(ir.load(i64, started), ir.int(1)), started)
                        }
                    }
                }
                ir.store(ir.load(i64, started), field(pool, threads))
                ir.ret(pool)
            }

            // void NAME_pool_destroy(ptr pool)
            let destroyPool = define(ThreadPoolIR.destroyName(prefix), ThreadPoolIR.destroyType(ir), isInternal: false)
            do {
                let pool = LLVMGetParam(destroyPool, 0)!
                let done = ir.block("done"), release = ir.block("release")
                ir.condBr(ir.icmp(LLVMIntEQ, LLVMBuildPtrToInt(ir.builder, pool, i64, ""), ir.int(0)), done, release)
                ir.position(at: release)
                call(lock, [field(pool, mutex)])
                atomicStore(ir.int(1), field(pool, stop))
                call(broadcast, [field(pool, workCondition)])
                call(unlock, [field(pool, mutex)])
                let records = ir.load(ptr, field(pool, workers))
                ir.loop(ir.int(1), ir.load(i64, field(pool, threads))) { i in
                    let record = ir.gep(ir.i8, records, ir.mul(i, ir.int(recordBytes)))
                    call(join, [ir.load(i64, record), LLVMConstNull(ptr)])
                }
                call(mutexDestroy, [field(pool, mutex)])
                call(condDestroy, [field(pool, workCondition)])
                call(condDestroy, [field(pool, doneCondition)])
                ir.call(free.0, free.1, [ir.load(ptr, field(pool, size - 8))])
                ir.br(done)
                ir.position(at: done)
                ir.ret()
            }
        }
    }
}
