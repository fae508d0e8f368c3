import CLLVM

/// An LLVM target machine for a `HostTarget`, and the optimization pipeline run on every module
/// before it is JIT-compiled or emitted.
final class TargetMachine {
    let machine: LLVMTargetMachineRef
    let target: HostTarget

    /// A machine whose code generation runs at `level` (0–3, as the optimization pipeline's).
    init(_ target: HostTarget, level: Int = 2) throws {
        LLVMTarget.initializeOnce()
        var llvmTarget: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        guard LLVMGetTargetFromTriple(target.triple, &llvmTarget, &message) == 0, let llvmTarget else {
            throw CodegenError("no LLVM target for \(target.triple): \(takeLLVMString(message))")
        }
        guard let machine = LLVMCreateTargetMachine(llvmTarget, target.triple, target.cpu, target.features,
                                                    Self.codeGenLevel(level), LLVMRelocPIC, LLVMCodeModelDefault) else {
            throw CodegenError("cannot create a target machine for \(target.cpu)")
        }
        self.machine = machine
        self.target = target
    }

    deinit { LLVMDisposeTargetMachine(machine) }

    private static func codeGenLevel(_ level: Int) -> LLVMCodeGenOptLevel {
        switch level {
        case ...0: LLVMCodeGenLevelNone
        case 1: LLVMCodeGenLevelLess
        case 2: LLVMCodeGenLevelDefault
        default: LLVMCodeGenLevelAggressive
        }
    }

    /// Sets the module's triple and data layout to this machine's.
    func configure(_ module: LLVMModuleRef) {
        LLVMSetTarget(module, target.triple)
        let layout = LLVMCreateTargetDataLayout(machine)
        let text = LLVMCopyStringRepOfTargetData(layout)
        LLVMSetDataLayout(module, text)
        LLVMDisposeMessage(text)
        LLVMDisposeTargetData(layout)
    }

    /// Verifies the module (Debian's LLVM has no assertions, so broken IR must be caught here) and
    /// runs the O3 pipeline with loop and SLP vectorization for this CPU.
    func optimize(_ module: LLVMModuleRef, level: Int) throws {
        var message: UnsafeMutablePointer<CChar>?
        if LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0 {
            throw CodegenError("generated LLVM IR does not verify: \(takeLLVMString(message))")
        }
        LLVMDisposeMessage(message)
        guard level > 0 else { return }
        let options = LLVMCreatePassBuilderOptions()
        defer { LLVMDisposePassBuilderOptions(options) }
        LLVMPassBuilderOptionsSetLoopVectorization(options, 1)
        LLVMPassBuilderOptionsSetSLPVectorization(options, 1)
        LLVMPassBuilderOptionsSetLoopUnrolling(options, 1)
        LLVMPassBuilderOptionsSetLoopInterleaving(options, 1)
        if let error = LLVMRunPasses(module, "default<O\(min(level, 3))>", machine, options) {
            throw CodegenError("LLVM optimization failed: \(takeLLVMString(LLVMGetErrorMessage(error)))")
        }
    }

    /// Tags every defined function with this CPU and its features, so code generation uses them.
    func annotate(_ module: LLVMModuleRef) {
        var f = LLVMGetFirstFunction(module)
        while let function = f {
            if LLVMCountBasicBlocks(function) > 0 {
                LLVMAddTargetDependentFunctionAttr(function, "target-cpu", target.cpu)
                if !target.features.isEmpty { LLVMAddTargetDependentFunctionAttr(function, "target-features", target.features) }
                // Many AVX-512 CPUs are tuned to prefer 256-bit vectors; our loops are long and
                // arithmetic-heavy, where full-width zmm code wins.
                if target.has("avx512f") { LLVMAddTargetDependentFunctionAttr(function, "prefer-vector-width", "512") }
            }
            f = LLVMGetNextFunction(function)
        }
    }
}
