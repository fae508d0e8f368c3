import CLLVM
import Graph

/// Emits the C API of an AOT library around a lowered kernel: `NAME_create` (validating and
/// memory-mapping `NAME.weights`), `NAME_create_embedded`, `NAME_destroy`, `NAME_run` (checking
/// every argument and every dim against its bounds before touching memory), `NAME_workspace_size`,
/// `NAME_output_elements` and `NAME_error_message`. See `CHeader` for the declarations.
struct CAPI {
    /// Status codes shared by the header and the generated code.
    enum Status: Int32, CaseIterable {
        case ok = 0, invalidArgument = 1, indexOutOfRange = 2, dimOutOfBounds = 3, badWeights = 4, outOfMemory = 5,
             weightsMismatch = 6, unsupportedCPU = 7

        /// The message of a library compiled at `precision` for `target` (status 7 names the features
        /// its code needs).
        func message(for precision: Precision, target: HostTarget) -> String {
            guard self == .unsupportedCPU else { return message }
            if let feature = precision.requiredFeatureCPUInfoName {
                return "this CPU lacks \(feature), which this library's \(precision) kernels need (compile with --precision fp32 to run here)"
            }
            let needs = CPURequirement(target: target, precision: precision).cpuinfoNames
            guard !needs.isEmpty else { return message }
            return "this CPU lacks a feature of the \(target.cpu) code in this library (it needs \(needs.joined(separator: " "))); "
                + "compile with --cpu multi or --cpu portable to run on any x86-64"
        }

        var message: String {
            switch self {
            case .unsupportedCPU: "this CPU lacks a feature this library's kernels need"
            case .ok: "ok"
            case .invalidArgument: "invalid argument: a required pointer is NULL or the thread count is negative"
            case .indexOutOfRange: "an index (a token id, a token type or a position) is outside the table it selects from"
            case .dimOutOfBounds: "a dynamic dim is outside the bounds the model was compiled for"
            case .badWeights: "the weights file is missing, truncated, or not this model's"
            case .outOfMemory: "out of memory"
            case .weightsMismatch: "the weights file belongs to another build of this model (its content hash differs from the library's)"
            }
        }
    }

    /// One graph's entry points in the library.
    struct Entry {
        /// Prefix of its functions: the library's name for a one-graph library (`NAME_run`),
        /// `NAME_ENTRY` in a library of several graphs (`NAME_prefill_run`).
        var prefix: String
        var graph: Graph
        var signature: RunSignature
        /// For each constant slot of the kernel (in its order), its index in the weights file.
        var slots: [Int]
    }

    let ir: IRBuilder
    let name: String
    let entries: [Entry]
    /// The expected byte size of each constant of the weights file, in file order (a constant two
    /// kernels read is stored once).
    let constantBytes: [Int]
    /// The first `64 + 16 × count` bytes of the weights file this library was compiled with (content
    /// hash included): `NAME_create` requires the file's to be identical. The code reads them (and the
    /// embedded weights) from globals that `LibraryData` defines in an object of their own, so that the
    /// code's object depends only on the graphs, never on the weights' values, and is what the compile
    /// cache keeps.
    var weightsHeaderBytes: Int { WeightsFile.headerBytes + 16 * constantBytes.count }
    /// Threads a new model uses (`allCores`: one per online core).
    var defaultThreads = CAPI.allCores
    /// The precision of the kernels and the CPU the code was compiled for: `NAME_create` checks by
    /// CPUID that the CPU has the features they need (`CPURequirement`) and returns `unsupportedCPU`
    /// otherwise.
    var precision = Precision.fp32
    var target = HostTarget.portable()
    /// The C API's spelling of "one thread per online core" (`NAME_set_threads(model, 0)`).
    static let allCores = 0

    private func fn(_ symbol: String, _ result: LLVMTypeRef, _ params: [LLVMTypeRef], varArgs: Bool = false) -> (LLVMValueRef, LLVMTypeRef) {
        var p: [LLVMTypeRef?] = params
        let type = p.withUnsafeMutableBufferPointer { LLVMFunctionType(result, $0.baseAddress, UInt32(params.count), varArgs ? 1 : 0) }!
        return (ir.function(symbol, type), type)
    }

    private func status(_ s: Status) -> LLVMValueRef { ir.int32(s.rawValue) }

    /// Returns `s` from the current function when `condition` holds, else continues.
    private func fail(if condition: LLVMValueRef, _ s: Status, cleanup: (() -> Void)? = nil) {
        let bad = ir.block("fail"), ok = ir.block("ok")
        ir.condBr(condition, bad, ok)
        ir.position(at: bad)
        cleanup?()
        ir.ret(status(s))
        ir.position(at: ok)
    }

    private func isNull(_ p: LLVMValueRef) -> LLVMValueRef { ir.icmp(LLVMIntEQ, LLVMBuildPtrToInt(ir.builder, p, ir.i64, ""), ir.int(0)) }

    private func begin(_ f: LLVMValueRef) { ir.position(at: LLVMAppendBasicBlockInContext(ir.context, f, "entry")) }

    /// Returns `unsupportedCPU` when the CPU (or the OS, which must save the vector registers) cannot
    /// run this library's code: the features of its target and its precision's kernels (`CPURequirement`).
    private func checkCPU() {
        let requirement = CPURequirement(target: target, precision: precision)
        guard !requirement.isEmpty else { return }
        let ok = requirement.emitCheck(ir)
        fail(if: ir.icmp(LLVMIntEQ, ok, LLVMConstInt(ir.i1, 0, 0)), .unsupportedCPU)
    }

    /// The prefix of the one thread pool every kernel of the library uses.
    var poolPrefix: String { "\(name)_kernel" }

    /// The kernel function's type (`RunSignature`).
    var kernelType: LLVMTypeRef { ir.functionType(ir.i32, [ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr]) }

    /// The model struct's pointer slot where entry `e`'s constant table starts: the struct holds the
    /// mapping's base, its size and the pool, then each entry's table of constant pointers.
    func tableStart(_ e: Int) -> Int { 3 + entries[..<e].reduce(0) { $0 + $1.slots.count } }

    /// The pool slot of a model struct.
    func poolSlot(_ model: LLVMValueRef) -> LLVMValueRef { ir.gep(ir.ptr, model, ir.int(2)) }

    /// Emits every C API function; `embedded` holds the weights file bytes for `--embed-weights`.
    func emit(embeddedBytes embedded: Int?) {
        let kernelType = self.kernelType
        let count = constantBytes.count
        let tables = entries.reduce(0) { $0 + $1.slots.count }
        let taskScratch = entries.map(\.signature.taskScratchBytes).max() ?? 0
        _ = ThreadPoolIR.parallelFunction(ir, prefix: poolPrefix)
        let poolCreate = ir.function(ThreadPoolIR.createName(poolPrefix), ThreadPoolIR.createType(ir))
        let poolDestroy = ir.function(ThreadPoolIR.destroyName(poolPrefix), ThreadPoolIR.destroyType(ir))
        let (sysconf, sysconfType) = fn("sysconf", ir.i64, [ir.i32])
        /// A pool of `threads` threads (0: one per online core; callers refuse negatives) for this
        /// model's parallel loops.
        func makePool(_ threads: LLVMValueRef) -> LLVMValueRef {
            let cores = ir.call(sysconf, sysconfType, [ir.int32(84)])   // _SC_NPROCESSORS_ONLN
            let n = ir.select(ir.icmp(LLVMIntSGT, threads, ir.int(0)), threads, cores)
            return ir.call(poolCreate, ThreadPoolIR.createType(ir), [n, ir.int(taskScratch)])
        }
        let (malloc, mallocType) = fn("malloc", ir.ptr, [ir.i64])
        let (free, freeType) = fn("free", ir.void, [ir.ptr])
        let (munmap, munmapType) = fn("munmap", ir.i32, [ir.ptr, ir.i64])
        let (memcmp, memcmpType) = fn("memcmp", ir.i32, [ir.ptr, ir.ptr, ir.i64])

        let expectedHeader = LibraryData.declare(ir, LibraryData.headerSymbol(name), bytes: weightsHeaderBytes)
        let placement = WeightsFile.Layout.placement(constantBytes)

        /// Fills a fresh model struct from a mapped weights image; shared by both constructors.
        func adopt(_ base: LLVMValueRef, size: LLVMValueRef, mapped: Bool, out: LLVMValueRef) {
            let unmap = { if mapped { ir.call(munmap, munmapType, [base, size]) } }
            let magic = ir.load(ir.i32, base)
            let storedCount = ir.load(ir.i32, ir.gep(ir.i8, base, ir.int(4)))
            let total = ir.load(ir.i64, ir.gep(ir.i8, base, ir.int(8)))
            var bad = ir.icmp(LLVMIntNE, magic, ir.int32(Int32(bitPattern: WeightsFile.magic)))
            bad = ir.or(bad, ir.icmp(LLVMIntNE, storedCount, ir.int32(Int32(count))))
            bad = ir.or(bad, ir.icmp(LLVMIntNE, total, size))
            fail(if: bad, .badWeights, cleanup: unmap)
            // A file of the right shape but another checkpoint (or another build): its own status.
            let hash = ir.load(ir.i64, ir.gep(ir.i8, base, ir.int(WeightsFile.hashOffset)))
            let expectedHash = ir.load(ir.i64, ir.gep(ir.i8, expectedHeader, ir.int(WeightsFile.hashOffset)))
            fail(if: ir.icmp(LLVMIntNE, hash, expectedHash), .weightsMismatch, cleanup: unmap)
            // Every other header and table byte must be the one written with it.
            let differs = ir.call(memcmp, memcmpType, [base, expectedHeader, ir.int(weightsHeaderBytes)])
            fail(if: ir.icmp(LLVMIntNE, differs, ir.int32(0)), .badWeights, cleanup: unmap)
            let model = ir.call(malloc, mallocType, [ir.int(24 + 8 * tables)])
            fail(if: isNull(model), .outOfMemory, cleanup: unmap)
            // The table matched the expected one byte for byte and the file's size its stated total, so
            // every constant lies where the layout put it, inside the file: its offset is a constant.
            // (Checking each entry at run time made NAME_create the largest function LLVM compiled.)
            let pointers = placement.offsets.map { ir.gep(ir.i8, base, ir.int($0)) }
            // Each kernel's table of constant pointers, in its own order.
            for (e, entry) in entries.enumerated() {
                for (j, u) in entry.slots.enumerated() { ir.store(pointers[u], ir.gep(ir.ptr, model, ir.int(tableStart(e) + j))) }
            }
            ir.store(makePool(ir.int(defaultThreads)), ir.gep(ir.ptr, model, ir.int(2)))
            ir.store(mapped ? base : LLVMConstNull(ir.ptr), model)
            ir.store(size, ir.gep(ir.i64, model, ir.int(1)))
            ir.store(model, out)
            ir.ret(status(.ok))
        }

        // NAME_create(const char *path, NAME_model **out)
        do {
            let (f, _) = fn("\(name)_create", ir.i32, [ir.ptr, ir.ptr])
            begin(f)
            let path = LLVMGetParam(f, 0)!, out = LLVMGetParam(f, 1)!
            fail(if: ir.or(isNull(path), isNull(out)), .invalidArgument)
            checkCPU()
            let (open, openType) = fn("open", ir.i32, [ir.ptr, ir.i32], varArgs: true)
            let (lseek, lseekType) = fn("lseek", ir.i64, [ir.i32, ir.i64, ir.i32])
            let (mmap, mmapType) = fn("mmap", ir.ptr, [ir.ptr, ir.i64, ir.i32, ir.i32, ir.i32, ir.i64])
            let (close, closeType) = fn("close", ir.i32, [ir.i32])
            // O_RDONLY | O_NONBLOCK | O_CLOEXEC: a FIFO opens at once instead of waiting for a
            // writer, then fails the size check below (lseek cannot seek a FIFO).
            let fd = ir.call(open, openType, [path, ir.int32(0o2000000 | 0o4000)])
            fail(if: ir.icmp(LLVMIntSLT, fd, ir.int32(0)), .badWeights)
            let size = ir.call(lseek, lseekType, [fd, ir.int(0), ir.int32(2)])
            fail(if: ir.icmp(LLVMIntSLT, size, ir.int(WeightsFile.headerBytes + 16 * count)), .badWeights) {
                ir.call(close, closeType, [fd])
            }
            let base = ir.call(mmap, mmapType, [LLVMConstNull(ir.ptr), size, ir.int32(1), ir.int32(2), fd, ir.int(0)])
            ir.call(close, closeType, [fd])
            fail(if: ir.icmp(LLVMIntEQ, LLVMBuildPtrToInt(ir.builder, base, ir.i64, ""), ir.int(-1)), .badWeights)
            adopt(base, size: size, mapped: true, out: out)
        }

        // NAME_create_embedded(NAME_model **out)
        do {
            let (f, _) = fn("\(name)_create_embedded", ir.i32, [ir.ptr])
            begin(f)
            let out = LLVMGetParam(f, 0)!
            fail(if: isNull(out), .invalidArgument)
            checkCPU()
            if let embedded {
                let global = LibraryData.declare(ir, LibraryData.weightsSymbol(name), bytes: embedded)
                adopt(global, size: ir.int(embedded), mapped: false, out: out)
            } else {
                ir.ret(status(.badWeights))
            }
        }

        // void NAME_destroy(NAME_model *model)
        do {
            let (f, _) = fn("\(name)_destroy", ir.void, [ir.ptr])
            begin(f)
            let model = LLVMGetParam(f, 0)!
            let done = ir.block("done"), release = ir.block("release")
            ir.condBr(isNull(model), done, release)
            ir.position(at: release)
            ir.call(poolDestroy, ThreadPoolIR.destroyType(ir), [ir.load(ir.ptr, ir.gep(ir.ptr, model, ir.int(2)))])
            let base = ir.load(ir.ptr, model)
            let unmapBlock = ir.block("unmap"), freeBlock = ir.block("free")
            ir.condBr(isNull(base), freeBlock, unmapBlock)
            ir.position(at: unmapBlock)
            ir.call(munmap, munmapType, [base, ir.load(ir.i64, ir.gep(ir.i64, model, ir.int(1)))])
            ir.br(freeBlock)
            ir.position(at: freeBlock)
            ir.call(free, freeType, [model])
            ir.br(done)
            ir.position(at: done)
            ir.ret()
        }

        for (e, entry) in entries.enumerated() {
            emitEntry(entry, table: tableStart(e), kernel: ir.function(entry.signature.name, kernelType))
        }

        // int NAME_set_threads(NAME_model *model, int threads)
        do {
            let (f, _) = fn("\(name)_set_threads", ir.i32, [ir.ptr, ir.i32])
            begin(f)
            let model = LLVMGetParam(f, 0)!, threads = ir.sext(LLVMGetParam(f, 1)!, ir.i64)
            fail(if: isNull(model), .invalidArgument)
            fail(if: ir.icmp(LLVMIntSLT, threads, ir.int(0)), .invalidArgument)
            let slot = ir.gep(ir.ptr, model, ir.int(2))
            ir.call(poolDestroy, ThreadPoolIR.destroyType(ir), [ir.load(ir.ptr, slot)])
            let pool = makePool(threads)
            ir.store(pool, slot)
            let cores = ir.call(sysconf, sysconfType, [ir.int32(84)])
            let wanted = ir.select(ir.icmp(LLVMIntSGT, threads, ir.int(0)), threads, cores)
            fail(if: ir.and(ir.icmp(LLVMIntSGT, wanted, ir.int(1)), isNull(pool)), .outOfMemory)
            ir.ret(status(.ok))
        }

        // const char *NAME_cpu_target(void)
        do {
            let (f, _) = fn("\(name)_cpu_target", ir.ptr, [])
            begin(f)
            ir.ret(LLVMBuildGlobalStringPtr(ir.builder, target.cpu, "")!)
        }

        // const char *NAME_error_message(int code)
        do {
            let (f, _) = fn("\(name)_error_message", ir.ptr, [ir.i32])
            begin(f)
            let code = LLVMGetParam(f, 0)!
            for s in Status.allCases {
                let text = LLVMBuildGlobalStringPtr(ir.builder, s.message(for: precision, target: target), "")!
                let hit = ir.block("is_\(s.rawValue)"), next = ir.block("next")
                ir.condBr(ir.icmp(LLVMIntEQ, code, status(s)), hit, next)
                ir.position(at: hit)
                ir.ret(text)
                ir.position(at: next)
            }
            ir.ret(LLVMBuildGlobalStringPtr(ir.builder, "unknown error code", "")!)
        }
    }

    /// `PREFIX_workspace_size`, `PREFIX_output_elements` and `PREFIX_run` of one graph.
    private func emitEntry(_ entry: Entry, table: Int, kernel: LLVMValueRef) {
        let graph = entry.graph, signature = entry.signature, name = entry.prefix
        // size_t NAME_workspace_size(void)
        do {
            let (f, _) = fn("\(name)_workspace_size", ir.i64, [])
            begin(f)
            ir.ret(ir.int(signature.workspaceBytes))
        }

        // int NAME_run(const NAME_model *model, const int64_t *dims, const void *const *inputs,
        //              void *const *outputs, void *workspace)
        do {
            let (f, _) = fn("\(name)_run", ir.i32, [ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr])
            begin(f)
            let params = (0..<5).map { LLVMGetParam(f, UInt32($0))! }
            fail(if: params.map(isNull).reduce(ir.bool(false)) { ir.or($0, $1) }, .invalidArgument)
            for (i, s) in graph.symbols.enumerated() {
                let d = ir.load(ir.i64, ir.gep(ir.i64, params[1], ir.int(i)))
                fail(if: ir.or(ir.icmp(LLVMIntSLT, d, ir.int(s.min)), ir.icmp(LLVMIntSGT, d, ir.int(s.max))), .dimOutOfBounds)
            }
            // The buffer pointers are counted in a loop: a check each made thousands of blocks (or
            // loads) for a model with thousands of inputs, and LLVM's time grows with their square.
            let nulls = ir.localInEntry(ir.i64)
            ir.store(ir.int(0), nulls)
            for (array, n) in [(params[2], graph.inputNodes.count), (params[3], graph.outputs.count)] {
                ir.loop(ir.int(0), ir.int(n)) { i in
                    let null = ir.zext(isNull(ir.load(ir.ptr, ir.gep(ir.ptr, array, i))), ir.i64)
                    ir.store(ir.add(ir.load(ir.i64, nulls), null), nulls)
                }
            }
            fail(if: ir.icmp(LLVMIntNE, ir.load(ir.i64, nulls), ir.int(0)), .invalidArgument)
            let constants = ir.gep(ir.ptr, params[0], ir.int(table))
            let pool = ir.load(ir.ptr, poolSlot(params[0]))
            ir.ret(ir.call(kernel, kernelType, [params[1], params[2], params[3], constants, params[4], pool]))
        }

        // int64_t NAME_output_elements(int index, const int64_t *dims)
        do {
            let (f, _) = fn("\(name)_output_elements", ir.i64, [ir.i32, ir.ptr])
            begin(f)
            let index = LLVMGetParam(f, 0)!, dims = LLVMGetParam(f, 1)!
            let bad = ir.block("bad")
            let done = ir.block("missing_dims")
            ir.condBr(isNull(dims), done, ir.block("dims_ok"))
            ir.position(at: done)
            ir.ret(ir.int(-1))
            ir.position(at: LLVMGetLastBasicBlock(f))
            // A dim outside its bounds is -1 too: a negative or huge dim would otherwise give a
            // negative count or one that wraps (batch = 2^62 gave 0).
            var values: [String: LLVMValueRef] = [:]
            for (i, s) in graph.symbols.enumerated() {
                let value = ir.load(ir.i64, ir.gep(ir.i64, dims, ir.int(i)))
                values[s.name] = value
                let inBounds = ir.block("dim_\(i)_ok")
                ir.condBr(ir.or(ir.icmp(LLVMIntSLT, value, ir.int(s.min)), ir.icmp(LLVMIntSGT, value, ir.int(s.max))), done, inBounds)
                ir.position(at: inBounds)
            }
            for (i, output) in graph.outputs.enumerated() {
                let next = ir.block("next")
                let this = ir.block("output")
                ir.condBr(ir.icmp(LLVMIntEQ, index, ir.int32(Int32(i))), this, next)
                ir.position(at: this)
                var elements = ir.int(1)
                for d in graph.node(output.value)!.type.shape {
                    var term: LLVMValueRef = ir.int(0)
                    for (monomial, c) in d.terms {
                        var t = ir.int(c)
                        for s in monomial { t = ir.mul(t, values[s]!) }
                        term = ir.add(term, t)
                    }
                    elements = ir.mul(elements, term)
                }
                ir.ret(elements)
                ir.position(at: next)
            }
            ir.br(bad)
            ir.position(at: bad)
            ir.ret(ir.int(-1))
        }

    }

    /// The exported symbols, for the archive index.
    var symbols: [String] {
        ["create", "create_embedded", "destroy", "set_threads", "cpu_target", "error_message"].map { "\(name)_\($0)" }
            + entries.flatMap { e in ["workspace_size", "run", "output_elements"].map { "\(e.prefix)_\($0)" } + [e.signature.name] }
    }
}
