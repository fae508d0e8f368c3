import CLLVM
import Dispatch
import Foundation
import Locks

/// Optimizes a module and emits its machine code on all cores: the module's functions are split into
/// partitions, each partition becomes a module of its own in its own LLVM context (LLVM contexts are
/// single-threaded), and the partitions are optimized and emitted at once, giving one object file each.
///
/// Why: LLVM was about three quarters of a compile (MiniLM: 0.28 s optimizing, 0.41 s emitting, of
/// 0.93 s) and ran on one core. Functions split cleanly because the kernels do not inline into each
/// other: GEMM tiles and outlined loops are `noinline`, task bodies are called through the pool.
/// Measured on 2 cores (MiniLM): LLVM's wall time fell from 0.69 s to 0.36–0.44 s with four kernel
/// partitions; eight were slower (0.48–0.56 s), as every partition reads the whole module's bitcode.
///
/// - The **glue** (the C API, the thread pool, generation loops) goes to its own partition at `-O1`;
///   the **kernel entries** (a sequence of calls into the tasks, with address arithmetic and checks) to
///   one optimized at `-O1` and emitted at `-O0` (LLVM's fast instruction selector and register
///   allocator): MiniLM's entry took 0.19 s of CPU at `-O2`, 0.02–0.04 s so, and its run time is
///   the tasks'. The kernels' `.task`, `.loop`, `.tile` functions are spread over `kernelPartitions`
///   partitions at the requested level, largest first onto the lightest (`estimatedCost`), and the
///   heaviest partition starts first. The split does not depend on the machine, so the objects are the
///   same on any number of cores.
/// - Every partition keeps its own copy of the `alwaysinline` helpers (the math functions) and of the
///   module's constants; a function defined in another partition is declared, and internal functions
///   become hidden globals so the partitions link to each other (as members of one archive, or objects of
///   one JIT library).
enum ParallelCodegen {
    /// One object of a partitioned compile and the global symbols it defines (for the archive's index).
    struct Object {
        var bytes: [UInt8]
        var symbols: [String]
    }

    /// Partitions the kernels are spread over.
    static let kernelPartitions = 4
    /// The partition of the kernel entries (calls into the tasks, address arithmetic, checks).
    static let entryPartition = kernelPartitions + 1

    /// Optimizes and emits `module` (unoptimized, verified, configured for `options.target`) as one
    /// object per non-empty partition; `kernels` are the kernel entry functions' names. The module is
    /// changed (internal functions made hidden globals) and stays the caller's.
    static func objects(_ module: LLVMModuleRef, kernels: [String], options: CompileOptions,
                        times: inout CompileTimes) throws -> [Object] {
        // Which functions each partition owns, by name.
        var owners: [String: Int] = [:]
        var loads = [Int](repeating: 0, count: kernelPartitions + 2)   // partition 0: the glue; the last: the kernel entries
        var kernelFunctions: [(name: String, size: Int)] = []
        var inlineSizes: [UInt: Int] = [:]
        var function = LLVMGetFirstFunction(module)
        while let f = function {
            function = LLVMGetNextFunction(f)
            guard LLVMCountBasicBlocks(f) > 0, !hasAttribute(f, "alwaysinline") else { continue }
            let name = valueName(f)
            if LLVMGetLinkage(f) == LLVMInternalLinkage || LLVMGetLinkage(f) == LLVMPrivateLinkage {
                LLVMSetLinkage(f, LLVMExternalLinkage)
                LLVMSetVisibility(f, LLVMHiddenVisibility)
            }
            if kernels.contains(name) {
                owners[name] = entryPartition
                loads[entryPartition] += estimatedCost(f, inlineSizes: &inlineSizes)
            } else if kernels.contains(where: { name.hasPrefix($0 + ".") }) {
                kernelFunctions.append((name, estimatedCost(f, inlineSizes: &inlineSizes)))
            } else {
                owners[name] = 0
                loads[0] += estimatedCost(f, inlineSizes: &inlineSizes)
            }
        }
        // Largest first onto the lightest kernel partition (ties: the lower index), in module order for
        // equal sizes: deterministic.
        for (name, size) in kernelFunctions.enumerated().sorted(by: { $0.element.size > $1.element.size || ($0.element.size == $1.element.size && $0.offset < $1.offset) }).map(\.element) {
            let lightest = (1...kernelPartitions).min { loads[$0] < loads[$1] || (loads[$0] == loads[$1] && $0 < $1) }!
            owners[name] = lightest
            loads[lightest] += max(size, 1)
        }
        // Module-local constants are copied into each partition; every other defined global (mutable, or
        // one the library exports) has one owner, the glue's partition.
        var global = LLVMGetFirstGlobal(module)
        var unnamed = 0
        while let g = global {
            global = LLVMGetNextGlobal(g)
            let local = LLVMGetLinkage(g) == LLVMInternalLinkage || LLVMGetLinkage(g) == LLVMPrivateLinkage
            guard LLVMGetInitializer(g) != nil, !(local && LLVMIsGlobalConstant(g) != 0) else { continue }
            if local {
                if valueName(g).isEmpty {
                    let name = "\(kernels.first ?? "module").global\(unnamed)"
                    unnamed += 1
                    LLVMSetValueName2(g, name, name.utf8.count)
                }
                LLVMSetLinkage(g, LLVMExternalLinkage)
                LLVMSetVisibility(g, LLVMHiddenVisibility)
            }
            owners[valueName(g)] = 0
        }
        // Heaviest kernel partition first, then the glue and the entries (at -O1, cheaper than their
        // estimates): a partition taken last must be a short one, or one core idles meanwhile.
        let used = Set(owners.values)
        let partitions = (1...kernelPartitions).filter(used.contains).sorted { loads[$0] > loads[$1] || (loads[$0] == loads[$1] && $0 < $1) }
            + [0, entryPartition].filter(used.contains)

        guard let bitcode = LLVMWriteBitcodeToMemoryBuffer(module) else { throw CodegenError("LLVM could not write the module's bitcode") }
        defer { LLVMDisposeMemoryBuffer(bitcode) }
        // As an address: a pointer is not Sendable; the buffer outlives the threads reading it.
        let start = UInt(bitPattern: LLVMGetBufferStart(bitcode)), size = LLVMGetBufferSize(bitcode)
        let owned = owners
        let results = LockedValue([Int: Result<(Object, read: Double, optimize: Double, emit: Double), Error>]())
        let wallStart = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: partitions.count) { i in
            let partition = partitions[i]
            let result = Result { try compile(partition: partition, owners: owned, bitcode: (start, size), options: options) }
            results.withLock { $0[partition] = result }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        var objects: [Object] = []
        var optimizeSeconds = 0.0, emitSeconds = 0.0
        for partition in partitions.sorted() {
            guard let result = results.withLock({ $0[partition] }) else { throw CodegenError("partition \(partition) was not compiled") }
            let (object, read, optimize, emit) = try result.get()
            objects.append(object)
            optimizeSeconds += optimize
            emitSeconds += emit
            let largest = kernelFunctions.filter { owners[$0.name] == partition }.max { $0.size < $1.size }.map { ", largest \($0.name) (estimate \($0.size))" } ?? ""
            times.details.append(String(format: "  LLVM partition %d: %.3f s reading, %.3f s optimizing, %.3f s emitting, estimate %d%@", partition, read, optimize, emit,
                                        loads[partition], partition == 0 ? " (glue)" : partition == entryPartition ? " (kernel entries)" : largest))
        }
        // The wall time, shared between the two phases as their time summed over the partitions is.
        let share = optimizeSeconds + emitSeconds > 0 ? optimizeSeconds / (optimizeSeconds + emitSeconds) : 0.5
        times.add("LLVM optimization", seconds: wall * share)
        times.add("machine code", seconds: wall * (1 - share))
        return objects
    }

    /// Compiles partition `partition` from the module's bitcode in a context of its own.
    private static func compile(partition: Int, owners: [String: Int], bitcode: (address: UInt, size: Int),
                                options: CompileOptions) throws -> (Object, read: Double, optimize: Double, emit: Double) {
        let readStart = DispatchTime.now().uptimeNanoseconds
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        guard let input = UnsafePointer<CChar>(bitPattern: bitcode.address),
              let buffer = LLVMCreateMemoryBufferWithMemoryRange(input, bitcode.size, "partition", 0) else {
            throw CodegenError("no bitcode for partition \(partition)")
        }
        defer { LLVMDisposeMemoryBuffer(buffer) }
        var parsed: LLVMModuleRef?
        guard LLVMParseBitcodeInContext2(context, buffer, &parsed) == 0, let module = parsed else {
            throw CodegenError("LLVM could not read back the module's bitcode for partition \(partition)")
        }
        defer { LLVMDisposeModule(module) }
        // Functions of other partitions become declarations (uses first moved to the declaration).
        // (The functions are listed first: the declarations added meanwhile must not be visited.)
        var symbols: [String] = []
        var functions: [LLVMValueRef] = []
        var next = LLVMGetFirstFunction(module)
        while let f = next { functions.append(f); next = LLVMGetNextFunction(f) }
        for f in functions {
            let name = valueName(f)
            guard let owner = owners[name] else { continue }
            if owner == partition {
                symbols.append(name)
                continue
            }
            let declaration = LLVMAddFunction(module, name + ".declaration", LLVMGlobalGetValueType(f))!
            LLVMSetFunctionCallConv(declaration, LLVMGetFunctionCallConv(f))
            LLVMSetVisibility(declaration, LLVMGetVisibility(f))
            LLVMReplaceAllUsesWith(f, declaration)
            LLVMDeleteFunction(f)
            LLVMSetValueName2(declaration, name, name.utf8.count)
        }
        var global = LLVMGetFirstGlobal(module)
        while let g = global {
            global = LLVMGetNextGlobal(g)
            let name = valueName(g)
            guard let owner = owners[name] else { continue }
            if owner == partition { symbols.append(name) } else { LLVMSetInitializer(g, nil) }
        }
        let (level, codeGenLevel) = levels(of: partition, requested: options.optimizationLevel)
        let machine = try TargetMachine(options.target, level: codeGenLevel)
        let optimizeStart = DispatchTime.now().uptimeNanoseconds
        try machine.optimize(module, level: level)
        let emitStart = DispatchTime.now().uptimeNanoseconds
        let bytes = try ModuleBuilder.emit(module, machine: machine, assembly: false)
        let end = DispatchTime.now().uptimeNanoseconds
        return (Object(bytes: bytes, symbols: symbols), Double(optimizeStart - readStart) / 1e9, Double(emitStart - optimizeStart) / 1e9,
                Double(end - emitStart) / 1e9)
    }

    /// The optimization and code-generation levels of `partition`: the glue at -O1, the kernel entries
    /// optimized at -O1 and emitted at -O0, the kernels at the requested level.
    private static func levels(of partition: Int, requested: Int) -> (optimize: Int, codeGen: Int) {
        switch partition {
        case 0: (min(requested, 1), min(requested, 1))
        case entryPartition: (min(requested, 1), 0)
        default: (requested, requested)
        }
    }

    private static func valueName(_ value: LLVMValueRef) -> String {
        var length = 0
        guard let name = LLVMGetValueName2(value, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: name, count: length), as: UTF8.self)
    }

    private static func hasAttribute(_ f: LLVMValueRef, _ name: String) -> Bool {
        let kind = LLVMGetEnumAttributeKindForName(name, name.utf8.count)
        return LLVMGetEnumAttributeAtIndex(f, UInt32(bitPattern: Int32(LLVMAttributeFunctionIndex)), kind) != nil
    }

    private static func instructionCount(_ f: LLVMValueRef) -> Int {
        var count = 0
        var block = LLVMGetFirstBasicBlock(f)
        while let b = block {
            var instruction = LLVMGetFirstInstruction(b)
            while let i = instruction { count += 1; instruction = LLVMGetNextInstruction(i) }
            block = LLVMGetNextBasicBlock(b)
        }
        return count
    }
    /// An estimate of what LLVM will spend on `f`: its instructions, plus the body of every
    /// `alwaysinline` function it calls (inlined, it is optimized again in place), plus 8 per basic
    /// block (blocks are loops and their edges, which get unrolled and vectorized). Fitted to each of
    /// MiniLM's kernel functions compiled alone (2026-12-04): about 0.09 ms per unit; the attention task
    /// (327 instructions, 71 blocks) took 86 ms, the 8-row GEMM tile (449 instructions, 7 blocks) 36 ms,
    /// a GEMM task with its epilogue (118, 26) 30 ms. Counting 8 per phi instead, as before, put the
    /// attention task below the tiles.
    private static func estimatedCost(_ f: LLVMValueRef, inlineSizes: inout [UInt: Int]) -> Int {
        var cost = 0
        var block = LLVMGetFirstBasicBlock(f)
        while let b = block {
            cost += 8
            var instruction = LLVMGetFirstInstruction(b)
            while let i = instruction {
                switch LLVMGetInstructionOpcode(i) {
                case LLVMCall:
                    if let callee = LLVMGetCalledValue(i), LLVMIsAFunction(callee) != nil, hasAttribute(callee, "alwaysinline") {
                        let key = UInt(bitPattern: callee)
                        if inlineSizes[key] == nil { inlineSizes[key] = instructionCount(callee) }
                        cost += inlineSizes[key] ?? 0
                    } else {
                        cost += 1
                    }
                default: cost += 1
                }
                instruction = LLVMGetNextInstruction(i)
            }
            block = LLVMGetNextBasicBlock(b)
        }
        return cost
    }

}
