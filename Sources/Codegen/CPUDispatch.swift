import CLLVM
import Graph

/// Run-time dispatch of a `--cpu multi` library (`CompileOptions.variants`): the library holds one
/// copy of its code per target (`HostTarget.multi`: AVX-512, AVX2 and baseline x86-64 at fp32), each
/// with its definitions renamed under a prefix of its own (`x86_64_v4.NAME_run`), and the public
/// names (`NAME_create`, `NAME_run`, `NAME_gen_step`, …) are forwarders that call the chosen copy.
///
/// The choice is made once per process, on the first call: the first variant, best first, whose
/// `CPURequirement` the CPU meets, by CPUID. `TCOMPILE_CPU` set to a variant's CPU name
/// (`x86-64-v3`) caps the choice at that variant (to compare them, or to test the lower ones on a
/// better CPU); another value is ignored. Every copy is the same computation, so a model created by
/// one copy is only ever run by it.
enum CPUDispatch {
    /// The environment variable that caps the choice.
    static let environmentVariable = "TCOMPILE_CPU"

    /// The prefix of a variant's definitions: its CPU name as an identifier, then a dot (which no C
    /// name contains, so no prefixed symbol collides with a public one).
    static func symbolPrefix(_ target: HostTarget) -> String {
        target.cpu.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() + "."
    }

    /// Renames every function and global the module defines (not its declarations: libc, the data
    /// object's weights) under `prefix`, so several variants' objects link into one archive.
    static func renameDefinitions(_ module: LLVMModuleRef, prefix: String) {
        var function = LLVMGetFirstFunction(module)
        while let f = function {
            function = LLVMGetNextFunction(f)
            if LLVMCountBasicBlocks(f) > 0 { rename(f, prefix) }
        }
        var global = LLVMGetFirstGlobal(module)
        while let g = global {
            global = LLVMGetNextGlobal(g)
            if LLVMGetInitializer(g) != nil { rename(g, prefix) }
        }
    }

    private static func rename(_ value: LLVMValueRef, _ prefix: String) {
        var length = 0
        guard let raw = LLVMGetValueName2(value, &length), length > 0 else { return }   // unnamed: module-local
        let name = String(decoding: UnsafeRawBufferPointer(start: raw, count: length), as: UTF8.self)
        guard !name.hasPrefix("llvm.") else { return }
        let renamed = prefix + name
        LLVMSetValueName2(value, renamed, renamed.utf8.count)
    }

    /// Emits, into the module of the last variant (the one every x86-64 runs, whose definitions are
    /// already renamed), the choice and a forwarder under each of `publicSymbols`' names to the chosen
    /// variant's function of the same type. `library` names the choice's global.
    static func emit(_ ir: IRBuilder, library: String, publicSymbols: [String], variants: [HostTarget], precision: Precision) throws {
        let choose = emitChoice(ir, library: library, variants: variants, precision: precision)
        let last = symbolPrefix(variants[variants.count - 1])
        for symbol in publicSymbols {
            guard let own = LLVMGetNamedFunction(ir.module, last + symbol) else {
                throw CodegenError("CPU dispatch: the library defines no function \(symbol)")
            }
            let type = LLVMGlobalGetValueType(own)!
            let targets = variants.map { ir.function(symbolPrefix($0) + symbol, type) }
            let forwarder = ir.function(symbol, type)
            ir.position(at: LLVMAppendBasicBlockInContext(ir.context, forwarder, "entry"))
            let parameters = (0..<LLVMCountParams(forwarder)).map { LLVMGetParam(forwarder, $0)! }
            let returnsVoid = LLVMGetTypeKind(LLVMGetReturnType(type)) == LLVMVoidTypeKind
            let index = ir.call(choose, ir.functionType(ir.i32, []), [])
            for (k, target) in targets.enumerated() {
                let call = ir.block("variant_\(k)"), next = ir.block("next")
                if k < targets.count - 1 {
                    ir.condBr(ir.icmp(LLVMIntEQ, index, ir.int32(Int32(k))), call, next)
                } else {
                    ir.br(call)
                }
                ir.position(at: call)
                let result = ir.call(target, type, parameters)
                if returnsVoid { ir.ret() } else { ir.ret(result) }
                ir.position(at: next)
                if k == targets.count - 1 { LLVMBuildUnreachable(ir.builder) }
            }
        }
    }

    /// `int LIBRARY.choose_cpu(void)`: the chosen variant's index, computed once (a racing first call
    /// computes the same value) and kept in a global with relaxed atomic accesses.
    private static func emitChoice(_ ir: IRBuilder, library: String, variants: [HostTarget], precision: Precision) -> LLVMValueRef {
        let i32 = ir.i32
        let choice = LLVMAddGlobal(ir.module, i32, "\(library).cpu_choice")!
        LLVMSetInitializer(choice, ir.int32(-1))
        LLVMSetLinkage(choice, LLVMInternalLinkage)
        let function = ir.function("\(library).choose_cpu", ir.functionType(i32, []))
        LLVMSetLinkage(function, LLVMInternalLinkage)
        ir.position(at: LLVMAppendBasicBlockInContext(ir.context, function, "entry"))
        let known = LLVMBuildLoad2(ir.builder, i32, choice, "")!
        LLVMSetOrdering(known, LLVMAtomicOrderingMonotonic)
        LLVMSetAlignment(known, 4)
        let decide = ir.block("decide"), done = ir.block("known")
        ir.condBr(ir.icmp(LLVMIntSGE, known, ir.int32(0)), done, decide)
        ir.position(at: done)
        ir.ret(known)
        ir.position(at: decide)
        // The cap: the variant TCOMPILE_CPU names, else the best.
        let getenvType = ir.functionType(ir.ptr, [ir.ptr]), strcmpType = ir.functionType(i32, [ir.ptr, ir.ptr])
        let getenv = ir.function("getenv", getenvType), strcmp = ir.function("strcmp", strcmpType)
        let requested = ir.call(getenv, getenvType, [LLVMBuildGlobalStringPtr(ir.builder, environmentVariable, "")!])
        let isSet = ir.icmp(LLVMIntNE, LLVMBuildPtrToInt(ir.builder, requested, ir.i64, ""), ir.int(0))
        let compare = ir.block("compare"), capped = ir.block("capped")
        let entryBlock = LLVMGetInsertBlock(ir.builder)!
        ir.condBr(isSet, compare, capped)
        ir.position(at: compare)
        var cap = ir.int32(0)
        for (k, target) in variants.enumerated() {
            let same = ir.icmp(LLVMIntEQ, ir.call(strcmp, strcmpType, [requested, LLVMBuildGlobalStringPtr(ir.builder, target.cpu, "")!]), ir.int32(0))
            cap = ir.select(same, ir.int32(Int32(k)), cap)
        }
        let compared = LLVMGetInsertBlock(ir.builder)!
        ir.br(capped)
        ir.position(at: capped)
        let start = LLVMBuildPhi(ir.builder, i32, "cap")!
        var values: [LLVMValueRef?] = [ir.int32(0), cap]
        var blocks: [LLVMBasicBlockRef?] = [entryBlock, compared]
        LLVMAddIncoming(start, &values, &blocks, 2)
        // The first variant at or after the cap that the CPU runs; the last when none does (its own
        // NAME_create then reports the missing feature).
        var chosen = ir.int32(Int32(variants.count - 1))
        for (k, target) in variants.enumerated().reversed() where k < variants.count - 1 {
            let runs = CPURequirement(target: target, precision: precision).emitCheck(ir)
            let allowed = ir.icmp(LLVMIntSLE, start, ir.int32(Int32(k)))
            chosen = ir.select(ir.and(runs, allowed), ir.int32(Int32(k)), chosen)
        }
        let store = LLVMBuildStore(ir.builder, chosen, choice)!
        LLVMSetOrdering(store, LLVMAtomicOrderingMonotonic)
        LLVMSetAlignment(store, 4)
        ir.ret(chosen)
        return function
    }
}
