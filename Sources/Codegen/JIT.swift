import Foundation
import CLLVM
import Graph
import Locks
import Tensors

/// Options for compiling a graph.
public struct CompileOptions: Sendable {
    /// The CPU to generate code for (the host by default: AVX-512 where it has it).
    public var target: HostTarget
    /// LLVM optimization level, 0–3, of the optimization pipeline and of code generation (the glue
    /// code, C API and thread pool, runs at 1 at most). The default is 2: the kernels vectorize
    /// themselves (microkernels, layer norm and softmax rows are emitted as vector code), and -O3
    /// bought no speed for the time it costs: MiniLM's LLVM wall time 0.38 → 0.27 s, the same run time
    /// (fp32 1×128 and 8×128, int8 1×128; AMD EPYC, 2026-12-04).
    public var optimizationLevel: Int
    /// Threads the compiled kernels use: nil for one per online core, otherwise at least 1 (0 or a
    /// negative count is an error when compiling); see `CompiledModel.setThreads`. An AOT library
    /// takes it as its default thread count.
    public var threads: Int?
    /// Where the JIT keeps and finds machine code (`CompileCache.standard` by default: ~/.cache/tcompile or
    /// `TCOMPILE_CACHE_DIR`); nil compiles every time.
    public var cache: CompileCache?
    /// The arithmetic of matrix products (`Precision`): fp32 by default. A precision whose kernels
    /// need a feature `target` lacks (bf16 without `avx512bf16`) is an error naming it.
    public var precision: Precision
    /// Shell globs of checkpoint weights whose linear layers stay f32 at a reduced precision
    /// (`--keep-fp32`; applied when the graph is optimized, by `TCompile.compile` and the generators).
    public var keepFP32: [String]
    /// For an AOT library: the CPUs to compile its code for, best first (`HostTarget.multi`, `--cpu
    /// multi`), instead of `target` alone. The library holds one copy of the code per target and picks,
    /// on its first call, the first whose features the CPU has (`CPUDispatch`). The JIT ignores it.
    public var variants: [HostTarget]
    /// For an AOT library: the identity of the files the graph's constants were read from (tcompile
    /// passes `UpToDate.inputsIdentity`). With it and a cache, the weights file a compile writes is kept
    /// in the cache as a hard link, and a later compile of the same graphs and source links it instead
    /// of writing it again (`CachedWeights`). nil (the default): weights are always written.
    public var weightsSource: String? = nil

    public init(target: HostTarget = .host(), optimizationLevel: Int = 2, threads: Int? = nil,
                cache: CompileCache? = CompileCache.standard, precision: Precision = .fp32, keepFP32: [String] = [],
                variants: [HostTarget] = []) {
        self.variants = variants
        self.target = target
        self.optimizationLevel = optimizationLevel
        self.threads = threads
        self.cache = cache
        self.precision = precision
        self.keepFP32 = keepFP32
    }

    /// Refuses a precision the target cannot run, naming the missing feature (never a silent f32 fallback).
    public func checkPrecision() throws {
        guard let feature = precision.requiredFeature else { return }
        for target in variants.isEmpty ? [target] : variants where !target.has(feature) {
            throw CodegenError("--precision \(precision) needs the CPU feature \(feature) (\(precision.requiredFeatureCPUInfoName ?? feature)), which target \(target.cpu) does not have")
        }
    }

    /// The thread count to create a pool with: one per online core for nil, `threads` when it is at
    /// least 1; anything else is an error naming the value.
    static func threadCount(_ threads: Int?) throws -> Int {
        guard let threads else { return ProcessInfo.processInfo.activeProcessorCount }
        guard threads >= 1 else {
            throw CodegenError("threads must be at least 1, or nil for one per online core (got \(threads))")
        }
        return threads
    }
}

/// A graph compiled to native code in this process (ORC LLJIT), callable with tensors.
///
/// ```swift
/// let compiled = try CompiledModel(graph: graph, name: "minilm")
/// let outputs = try compiled(["input_ids": ids, "attention_mask": mask])
/// ```
/// Calls from several threads at once are safe: each call gets its own workspace.
public final class CompiledModel: @unchecked Sendable {
    typealias RunFunction = @convention(c) (UnsafePointer<Int64>?, UnsafePointer<UnsafeMutableRawPointer?>?,
                                            UnsafePointer<UnsafeMutableRawPointer?>?, UnsafePointer<UnsafeMutableRawPointer?>?,
                                            UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    typealias PoolCreate = @convention(c) (Int64, Int64) -> UnsafeMutableRawPointer?
    typealias PoolDestroy = @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// The graph this model runs.
    public let graph: Graph
    /// The run function's calling convention, workspace size and constant order.
    public let signature: RunSignature
    private let jit: LLVMOrcLLJITRef
    private let run: RunFunction
    /// The kernel's constant buffers, in the signature's slot order (panels shared with other graphs).
    let constants: [Tensor]
    private let interpreter: Interpreter
    /// Workspaces of finished calls, reused so that a call does not pay for fresh pages.
    private let workspaces = LockedValue<[Storage]>([])
    private let createPool: PoolCreate
    private let destroyPool: PoolDestroy
    /// The kernels' thread pool; replaced by `setThreads`. Each call holds a reference, so a pool
    /// replaced mid-call is destroyed when that call finishes, not under it.
    private let pool = LockedValue<PoolHandle?>(nil)

    /// Owns one generated thread pool (null when serial) and stops its threads when released.
    private final class PoolHandle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer?
        let destroy: PoolDestroy
        init(_ pointer: UnsafeMutableRawPointer?, destroy: PoolDestroy) {
            self.pointer = pointer
            self.destroy = destroy
        }
        deinit { destroy(pointer) }
    }

    /// JIT-compiles `graph` (which must verify).
    public init(graph: Graph, name: String = "model", options: CompileOptions = CompileOptions()) throws {
        let threads = try CompileOptions.threadCount(options.threads)
        try options.checkPrecision()
        try Verifier.verify(graph)
        // The constants' slots name the graph's constants: a graph packed for another precision is
        // retargeted here as `ModuleBuilder` does, so the slots find their constants.
        let graph = graph.retargetingPanels(to: PanelLayout.Format(options.precision))
        self.graph = graph
        self.interpreter = Interpreter(graph: graph)
        var times = CompileTimes()
        let (objects, signature, cached) = try Self.machineCode(graph, name: name, options: options, times: &times)
        self.signature = signature
        self.cacheHit = cached
        self.constants = times.measure("weight packing") { signature.constants.map { $0.data(in: graph) } }
        let linkStart = DispatchTime.now().uptimeNanoseconds

        var builder: LLVMOrcJITTargetMachineBuilderRef?
        if let error = LLVMOrcJITTargetMachineBuilderDetectHost(&builder) { throw CodegenError("JIT: \(Self.message(error))") }
        let jitBuilder = LLVMOrcCreateLLJITBuilder()
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jitBuilder, builder)
        var jit: LLVMOrcLLJITRef?
        if let error = LLVMOrcCreateLLJIT(&jit, jitBuilder) { throw CodegenError("JIT: \(Self.message(error))") }
        self.jit = jit!
        var generator: LLVMOrcDefinitionGeneratorRef?
        if let error = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, LLVMOrcLLJITGetGlobalPrefix(jit), nil, nil) {
            throw CodegenError("JIT: \(Self.message(error))")
        }
        let dylib = LLVMOrcLLJITGetMainJITDylib(jit)
        LLVMOrcJITDylibAddGenerator(dylib, generator)
        for object in objects {
            let buffer = object.bytes.withUnsafeBufferPointer { p in
                p.baseAddress.map { base in
                    base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                        LLVMCreateMemoryBufferWithMemoryRangeCopy($0, p.count, name)
                    }
                } ?? nil
            }
            guard let buffer else { throw CodegenError("JIT: empty object code for \(name)") }
            if let error = LLVMOrcLLJITAddObjectFile(jit, dylib, buffer) { throw CodegenError("JIT: \(Self.message(error))") }
        }
        var address: LLVMOrcExecutorAddress = 0
        if let error = LLVMOrcLLJITLookup(jit, &address, signature.name) { throw CodegenError("JIT: \(Self.message(error))") }
        self.run = unsafeBitCast(UnsafeRawPointer(bitPattern: UInt(address))!, to: RunFunction.self)
        func lookup<F>(_ symbol: String, as type: F.Type) throws -> F {
            var address: LLVMOrcExecutorAddress = 0
            if let error = LLVMOrcLLJITLookup(jit, &address, symbol) { throw CodegenError("JIT: \(Self.message(error))") }
            return unsafeBitCast(UnsafeRawPointer(bitPattern: UInt(address))!, to: F.self)
        }
        createPool = try lookup(ThreadPoolIR.createName(signature.name), as: PoolCreate.self)
        destroyPool = try lookup(ThreadPoolIR.destroyName(signature.name), as: PoolDestroy.self)
        times.add("JIT linking", seconds: Double(DispatchTime.now().uptimeNanoseconds - linkStart) / 1e9)
        self.compileTimes = times
        startPool(threads: threads)
    }

    deinit {
        pool.withLock { $0 = nil }
        LLVMOrcDisposeLLJIT(jit)
    }

    /// Sets the threads the compiled kernels use, as `CompileOptions.threads` spells them: nil for one
    /// per online core (the default), 1 for the calling thread only; 0 or a negative count throws
    /// and keeps the current pool. Idle threads sleep. Calls running at that moment finish first.
    ///
    /// ```swift
    /// try compiled.setThreads(2)
    /// ```
    public func setThreads(_ count: Int?) throws {
        startPool(threads: try CompileOptions.threadCount(count))
    }

    /// Replaces the pool with one of `threads` (≥ 1) threads.
    private func startPool(threads: Int) {
        let replacement = PoolHandle(createPool(Int64(threads), Int64(signature.taskScratchBytes)), destroy: destroyPool)
        let old = pool.withLock { pool in
            defer { pool = replacement }
            return pool
        }
        withExtendedLifetime(old) {}   // released here, outside the lock (its threads are joined)
    }

    private static func message(_ error: LLVMErrorRef) -> String { takeLLVMString(LLVMGetErrorMessage(error)) }

    /// Whether the machine code came from the compile cache rather than from LLVM.
    public let cacheHit: Bool
    /// Where the compilation's time went (cache lookup, or IR emission, LLVM optimization and machine code;
    /// then JIT linking).
    public let compileTimes: CompileTimes

    /// The object files and run signature of `graph`: from `options.cache` when it holds them, otherwise
    /// lowered, then optimized and emitted by LLVM in partitions on all cores (and stored there).
    private static func machineCode(_ graph: Graph, name: String, options: CompileOptions, times: inout CompileTimes) throws
        -> (objects: [ParallelCodegen.Object], signature: RunSignature, cached: Bool) {
        var key: String? = nil
        if let cache = options.cache {
            let (k, hit) = times.measure("compile cache lookup") { () -> (String, CompileCache.Entry?) in
                let key = CompileCache.key(graph, name: name, options: options)
                return (key, cache.load(key))
            }
            if let hit { return (hit.objects, hit.signature, true) }
            key = k
        }
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        let (module, signature) = try ModuleBuilder.build(graph, name: name, options: options, context: context, times: &times,
                                                          optimize: false)
        defer { LLVMDisposeModule(module) }
        let objects = try ParallelCodegen.objects(module, kernels: [signature.name], options: options, times: &times)
        if let cache = options.cache, let key {
            times.measure("compile cache store") { cache.store(CompileCache.Entry(signature: signature, objects: objects), key: key) }
        }
        return (objects, signature, false)
    }

    /// Runs the compiled graph on named inputs (dims within their bounds) and returns named outputs.
    public func callAsFunction(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let bindings = try interpreter.bindings(for: inputs)
        // Every dim must come from an input's shape here (the C API takes them as an array): a dim no
        // input carries has no value, and the kernel must never see an unchecked one.
        if let unbound = graph.symbols.first(where: { bindings[$0.name] == nil }) {
            throw CodegenError("dim '\(unbound.name)' is not the size of any input dim, so a call cannot give it (use the C API's dims array)")
        }
        let dims = graph.symbols.map { Int64(bindings[$0.name]!) }
        let inputTensors = graph.inputNodes.map { node -> Tensor in
            guard case .input(let name) = node.op else { preconditionFailure("Graph.inputNodes returned a non-input node") }
            return inputs[name]!.contiguous()
        }
        let outputs = try graph.outputs.map { output -> Tensor in
            let type = graph.node(output.value)!.type
            let shape = type.concreteShape(bindings)!   // every symbol is bound (checked above)
            let bytes = shape.reduce(1, *) * type.dtype.byteSize   // within the verified bounds: no overflow
            guard let storage = Storage(tryingUninitializedByteCount: bytes) else {
                throw CodegenError("cannot allocate \(bytes) bytes for output '\(output.name)' \(shape)")
            }
            return Tensor(storage: storage, shape: shape, dtype: type.dtype)
        }
        guard let workspace = workspaces.withLock({ $0.popLast() }) ?? Storage(tryingUninitializedByteCount: signature.workspaceBytes) else {
            throw CodegenError("cannot allocate the \(signature.workspaceBytes)-byte workspace (planned for the dims' bounds \(graph.symbols.map { "\($0.name)=\($0.max)" }.joined(separator: ", ")))")
        }
        defer { workspaces.withLock { if $0.count < 8 { $0.append(workspace) } } }
        let status = withExtendedLifetime((inputTensors, outputs, workspace, constants)) { () -> Int32 in
            let inputPointers = inputTensors.map { Optional(UnsafeMutableRawPointer($0.pointer(as: UInt8.self))) }
            let outputPointers = outputs.map { Optional(UnsafeMutableRawPointer($0.pointer(as: UInt8.self))) }
            let constantPointers = constants.map { Optional(UnsafeMutableRawPointer($0.pointer(as: UInt8.self))) }
            // Concurrent calls share the pool (one runs its loops in parallel, the others serially);
            // the reference keeps it alive if `setThreads` replaces it meanwhile.
            let handle = pool.withLock { $0 }
            return withExtendedLifetime(handle) {
                run(dims, inputPointers, outputPointers, constantPointers, workspace.base, handle?.pointer)
            }
        }
        guard status == 0 else {
            if status == RunSignature.indexOutOfRange {
                // The kernel only says that some index was out of range; the interpreter, which
                // checks the same lookups in the same order, names the table and the index's source
                // (a token id, a token type, a position). Only on this error path.
                do { _ = try interpreter.run(inputs) } catch let e as GraphError { throw CodegenError("compiled model: \(e.message)") }
                throw CodegenError("an index input (a token id, a token type or a position) is outside the table it selects from")
            }
            throw CodegenError("the compiled model returned error \(status)")
        }
        return Dictionary(zip(graph.outputs.map(\.name), outputs), uniquingKeysWith: { a, _ in a })
    }
}
