import CLLVM
import Graph

/// Builds the LLVM module for a graph — the one pipeline both the JIT and the AOT emitter use: lower,
/// set the target, verify, optimize. Without `optimize` the module is only verified: the caller hands it
/// to `ParallelCodegen`, which optimizes and emits it in partitions on all cores.
enum ModuleBuilder {
    /// The optimized module (owned by the caller) and its run function's signature.
    static func build(_ graph: Graph, name: String, options: CompileOptions, context: LLVMContextRef,
                      times: inout CompileTimes, optimize: Bool = true,
                      extras: ((IRBuilder, RunSignature) -> Void)? = nil) throws -> (LLVMModuleRef, RunSignature) {
        let (module, signatures) = try build([(graph, name)], module: name, poolPrefix: nil, options: options, context: context,
                                             times: &times, optimize: optimize, extras: extras.map { body in { ir, s in body(ir, s[0]) } })
        return (module, signatures[0])
    }

    /// One optimized module holding a kernel per graph (`NAME_kernel` for each `(graph, NAME)`), all
    /// calling one thread pool (`poolPrefix`, default each kernel its own); `extras` adds functions
    /// (the C API) before optimization.
    static func build(_ kernels: [(graph: Graph, name: String)], module name: String, poolPrefix: String?, options: CompileOptions,
                      context: LLVMContextRef, times: inout CompileTimes, optimize: Bool = true,
                      extras: ((IRBuilder, [RunSignature]) throws -> Void)? = nil) throws -> (LLVMModuleRef, [RunSignature]) {
        try options.checkPrecision()
        let machine = try TargetMachine(options.target, level: options.optimizationLevel)
        let module = LLVMModuleCreateWithNameInContext(name, context)!
        do {
            let ir = IRBuilder(context: context, module: module)
            let signatures = try times.measure("IR emission") {
                try kernels.map { kernel in
                    // The one kernel of attention is codegen's fused_attention: a graph that skipped the pass
                    // pipeline still has primitive attention ops, spelled here as the ops they stand for.
                    // Weights packed for another precision are stored in this one's panel format.
                    let graph = try kernel.graph.decomposingAttention().retargetingPanels(to: PanelLayout.Format(options.precision))
                    return try GraphLowering(graph: graph, ir: ir, name: kernel.name, poolPrefix: poolPrefix,
                                             precision: options.precision, target: options.target).lower()
                }
            }
            try extras?(ir, signatures)  // times itself
            times.measure("IR emission") {
                machine.configure(module)
                machine.annotate(module)
            }
            if optimize {
                try times.measure("LLVM optimization") { try machine.optimize(module, level: options.optimizationLevel) }
            } else {
                try times.measure("IR emission") { try machine.optimize(module, level: 0) }   // verifies only
            }
            return (module, signatures)
        } catch {
            LLVMDisposeModule(module)
            throw error
        }
    }

    /// The module's textual LLVM IR.
    static func text(_ module: LLVMModuleRef) -> String {
        takeLLVMString(LLVMPrintModuleToString(module))
    }

    /// Machine code for the module, as an object file or assembly text.
    static func emit(_ module: LLVMModuleRef, options: CompileOptions, assembly: Bool) throws -> [UInt8] {
        try emit(module, machine: try TargetMachine(options.target, level: options.optimizationLevel), assembly: assembly)
    }

    /// Machine code for the module from `machine` (one per thread: a target machine is not shared).
    static func emit(_ module: LLVMModuleRef, machine: TargetMachine, assembly: Bool) throws -> [UInt8] {
        var buffer: LLVMMemoryBufferRef?
        var message: UnsafeMutablePointer<CChar>?
        guard LLVMTargetMachineEmitToMemoryBuffer(machine.machine, module, assembly ? LLVMAssemblyFile : LLVMObjectFile,
                                                  &message, &buffer) == 0, let buffer else {
            throw CodegenError("LLVM could not emit \(assembly ? "assembly" : "an object file"): \(takeLLVMString(message))")
        }
        defer { LLVMDisposeMemoryBuffer(buffer) }
        let start = LLVMGetBufferStart(buffer)!
        let size = LLVMGetBufferSize(buffer)
        return Array(UnsafeRawBufferPointer(start: start, count: size))
    }
}

/// Textual and binary forms of a compiled graph, for `--emit ll,asm,obj` and for inspection.
public enum CompiledArtifacts {
    /// The optimized LLVM IR of `graph`'s run function.
    public static func llvmIR(_ graph: Graph, name: String = "model", options: CompileOptions = CompileOptions()) throws -> String {
        try withModule(graph, name, options) { module, _ in ModuleBuilder.text(module) }
    }

    /// The assembly for `options.target`.
    public static func assembly(_ graph: Graph, name: String = "model", options: CompileOptions = CompileOptions()) throws -> String {
        try withModule(graph, name, options) { module, _ in String(decoding: try ModuleBuilder.emit(module, options: options, assembly: true), as: UTF8.self) }
    }

    /// A relocatable ELF object with the run function.
    public static func object(_ graph: Graph, name: String = "model", options: CompileOptions = CompileOptions()) throws -> (bytes: [UInt8], signature: RunSignature) {
        try withModule(graph, name, options) { module, signature in (try ModuleBuilder.emit(module, options: options, assembly: false), signature) }
    }

    private static func withModule<R>(_ graph: Graph, _ name: String, _ options: CompileOptions,
                                      _ body: (LLVMModuleRef, RunSignature) throws -> R) throws -> R {
        try Verifier.verify(graph)
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        var times = CompileTimes()
        let (module, signature) = try ModuleBuilder.build(graph, name: name, options: options, context: context, times: &times)
        defer { LLVMDisposeModule(module) }
        return try body(module, signature)
    }
}
