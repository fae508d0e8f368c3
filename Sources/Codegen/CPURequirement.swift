import CLLVM
import Graph

/// What a library's machine code needs from the CPU and the OS: CPUID feature bits and the register
/// state XCR0 must enable. It is derived from the target the code was compiled for (every vector-ISA
/// feature its feature string enables) and the kernels' precision. `NAME_create` checks it and returns
/// `unsupportedCPU` (status 7) where it fails, instead of running into an illegal instruction; the
/// dispatcher of a `--cpu multi` library checks each variant's to pick the best one the CPU runs.
struct CPURequirement: Equatable, Sendable {
    /// One CPUID feature bit: its LLVM feature name, its /proc/cpuinfo name, and where CPUID reports it
    /// (leaf, subleaf, register 0–3 for EAX–EDX, bit).
    struct Feature: Equatable, Sendable {
        let name: String, cpuinfoName: String
        let leaf: UInt32, subleaf: UInt32, register: Int, bit: Int32
    }

    /// The features, in table order.
    var features: [Feature]
    /// The state components XCR0 must enable: 0x6 (SSE, AVX) for AVX code, 0xE6 (also the AVX-512
    /// opmask and upper ZMM states) for AVX-512 code, 0 for SSE code.
    var xcr0: Int32

    /// Whether any check is needed (baseline x86-64 code runs everywhere).
    var isEmpty: Bool { features.isEmpty && xcr0 == 0 }

    /// The features whose instructions generated code may contain, beyond the x86-64 baseline.
    static let table: [Feature] = [
        .init(name: "sse3", cpuinfoName: "pni", leaf: 1, subleaf: 0, register: 2, bit: 0),
        .init(name: "ssse3", cpuinfoName: "ssse3", leaf: 1, subleaf: 0, register: 2, bit: 9),
        .init(name: "fma", cpuinfoName: "fma", leaf: 1, subleaf: 0, register: 2, bit: 12),
        .init(name: "cx16", cpuinfoName: "cx16", leaf: 1, subleaf: 0, register: 2, bit: 13),
        .init(name: "sse4.1", cpuinfoName: "sse4_1", leaf: 1, subleaf: 0, register: 2, bit: 19),
        .init(name: "sse4.2", cpuinfoName: "sse4_2", leaf: 1, subleaf: 0, register: 2, bit: 20),
        .init(name: "movbe", cpuinfoName: "movbe", leaf: 1, subleaf: 0, register: 2, bit: 22),
        .init(name: "popcnt", cpuinfoName: "popcnt", leaf: 1, subleaf: 0, register: 2, bit: 23),
        .init(name: "avx", cpuinfoName: "avx", leaf: 1, subleaf: 0, register: 2, bit: 28),
        .init(name: "f16c", cpuinfoName: "f16c", leaf: 1, subleaf: 0, register: 2, bit: 29),
        .init(name: "bmi", cpuinfoName: "bmi1", leaf: 7, subleaf: 0, register: 1, bit: 3),
        .init(name: "avx2", cpuinfoName: "avx2", leaf: 7, subleaf: 0, register: 1, bit: 5),
        .init(name: "bmi2", cpuinfoName: "bmi2", leaf: 7, subleaf: 0, register: 1, bit: 8),
        .init(name: "avx512f", cpuinfoName: "avx512f", leaf: 7, subleaf: 0, register: 1, bit: 16),
        .init(name: "avx512dq", cpuinfoName: "avx512dq", leaf: 7, subleaf: 0, register: 1, bit: 17),
        .init(name: "avx512ifma", cpuinfoName: "avx512ifma", leaf: 7, subleaf: 0, register: 1, bit: 21),
        .init(name: "avx512cd", cpuinfoName: "avx512cd", leaf: 7, subleaf: 0, register: 1, bit: 28),
        .init(name: "avx512bw", cpuinfoName: "avx512bw", leaf: 7, subleaf: 0, register: 1, bit: 30),
        .init(name: "avx512vl", cpuinfoName: "avx512vl", leaf: 7, subleaf: 0, register: 1, bit: 31),
        .init(name: "avx512vbmi", cpuinfoName: "avx512vbmi", leaf: 7, subleaf: 0, register: 2, bit: 1),
        .init(name: "avx512vbmi2", cpuinfoName: "avx512_vbmi2", leaf: 7, subleaf: 0, register: 2, bit: 6),
        .init(name: "gfni", cpuinfoName: "gfni", leaf: 7, subleaf: 0, register: 2, bit: 8),
        .init(name: "vaes", cpuinfoName: "vaes", leaf: 7, subleaf: 0, register: 2, bit: 9),
        .init(name: "vpclmulqdq", cpuinfoName: "vpclmulqdq", leaf: 7, subleaf: 0, register: 2, bit: 10),
        .init(name: "avx512vnni", cpuinfoName: "avx512_vnni", leaf: 7, subleaf: 0, register: 2, bit: 11),
        .init(name: "avx512bitalg", cpuinfoName: "avx512_bitalg", leaf: 7, subleaf: 0, register: 2, bit: 12),
        .init(name: "avx512vpopcntdq", cpuinfoName: "avx512_vpopcntdq", leaf: 7, subleaf: 0, register: 2, bit: 14),
        .init(name: "amx-bf16", cpuinfoName: "amx_bf16", leaf: 7, subleaf: 0, register: 3, bit: 22),
        .init(name: "avx512fp16", cpuinfoName: "avx512_fp16", leaf: 7, subleaf: 0, register: 3, bit: 23),
        .init(name: "amx-tile", cpuinfoName: "amx_tile", leaf: 7, subleaf: 0, register: 3, bit: 24),
        .init(name: "amx-int8", cpuinfoName: "amx_int8", leaf: 7, subleaf: 0, register: 3, bit: 25),
        .init(name: "avxvnni", cpuinfoName: "avx_vnni", leaf: 7, subleaf: 1, register: 0, bit: 4),
        .init(name: "avx512bf16", cpuinfoName: "avx512_bf16", leaf: 7, subleaf: 1, register: 0, bit: 5),
        .init(name: "lzcnt", cpuinfoName: "abm", leaf: 0x8000_0001, subleaf: 0, register: 2, bit: 5),
    ]

    /// The requirement of code compiled for `target` with `precision`'s kernels: the table's features
    /// the target enables, and those the precision's kernels call by intrinsic whatever the target.
    init(target: HostTarget, precision: Precision) {
        // AVX-512 kernels; int8's also quantize the activations with AVX512BW's byte operations.
        let kernels = precision.requiredFeature.map { ["avx512f"] + (precision == .int8 ? ["avx512bw"] : []) + [$0] } ?? []
        let needed = Set(Self.table.map(\.name).filter { target.has($0) } + kernels)
        features = Self.table.filter { needed.contains($0.name) }
        let avx512 = features.contains { $0.name.hasPrefix("avx512") || $0.name.hasPrefix("amx") }
        let avx = avx512 || features.contains { ["avx", "avx2", "fma", "f16c", "avxvnni"].contains($0.name) }
        xcr0 = avx512 ? 0xE6 : avx ? 0x6 : 0
    }

    /// The features in /proc/cpuinfo's spelling, for messages.
    var cpuinfoNames: [String] { features.map(\.cpuinfoName) }

    /// Emits, at the builder's position, code computing whether this CPU meets the requirement (an
    /// i1), by `cpuid` and `xgetbv` in inline assembly: the library needs no runtime to ask. A leaf
    /// beyond the CPU's maximum counts as absent; `xgetbv` runs only where CPUID's OSXSAVE says the OS
    /// enabled it (else it would fault).
    func emitCheck(_ ir: IRBuilder) -> LLVMValueRef {
        let yes = LLVMConstInt(ir.i1, 1, 0)!
        guard !isEmpty else { return yes }
        var good = yes
        let maxBasic = cpuid(ir, 0, 0)[0], maxExtended = cpuid(ir, 0x8000_0000, 0)[0]
        var leaves: [String: [LLVMValueRef]] = [:]
        let leaf7 = cpuid(ir, 7, 0)
        for feature in features {
            let key = "\(feature.leaf).\(feature.subleaf)"
            let registers = leaves[key] ?? cpuid(ir, feature.leaf, feature.subleaf)
            leaves[key] = registers
            // The leaf exists: basic leaves up to CPUID 0's EAX, extended ones up to 0x80000000's EAX,
            // leaf 7's subleaves up to its subleaf 0's EAX.
            var exists = feature.leaf >= 0x8000_0000
                ? ir.icmp(LLVMIntUGE, maxExtended, ir.int32(Int32(bitPattern: feature.leaf)))
                : ir.icmp(LLVMIntUGE, maxBasic, ir.int32(Int32(bitPattern: feature.leaf)))
            if feature.leaf == 7 && feature.subleaf > 0 {
                exists = ir.and(exists, ir.icmp(LLVMIntUGE, leaf7[0], ir.int32(Int32(bitPattern: feature.subleaf))))
            }
            good = ir.and(good, ir.and(exists, bit(ir, registers[feature.register], feature.bit)))
        }
        guard xcr0 != 0 else { return good }
        good = ir.and(good, bit(ir, cpuid(ir, 1, 0)[2], 27))   // OSXSAVE: the OS manages XCR0
        let before = LLVMGetInsertBlock(ir.builder)!
        let read = ir.block("xgetbv"), join = ir.block("cpu_checked")
        ir.condBr(good, read, join)
        ir.position(at: read)
        let pair = structType(ir, of: 2)
        let type = ir.functionType(pair, [ir.i32])
        let code = "xgetbv", constraints = "={ax},={dx},{cx},~{dirflag},~{fpsr},~{flags}"
        let asm = LLVMGetInlineAsm(type, code, code.utf8.count, constraints, constraints.utf8.count, 0, 0, LLVMInlineAsmDialectATT, 0)!
        let state = LLVMBuildExtractValue(ir.builder, ir.call(asm, type, [ir.int32(0)]), 0, "")!
        let enabled = ir.icmp(LLVMIntEQ, ir.and(state, ir.int32(xcr0)), ir.int32(xcr0))
        let afterRead = LLVMGetInsertBlock(ir.builder)!
        ir.br(join)
        ir.position(at: join)
        let phi = LLVMBuildPhi(ir.builder, ir.i1, "cpu_ok")!
        var values: [LLVMValueRef?] = [LLVMConstInt(ir.i1, 0, 0), enabled]
        var blocks: [LLVMBasicBlockRef?] = [before, afterRead]
        LLVMAddIncoming(phi, &values, &blocks, 2)
        return phi
    }

    /// `cpuid` of `leaf`, `subleaf` as (eax, ebx, ecx, edx).
    private func cpuid(_ ir: IRBuilder, _ leaf: UInt32, _ subleaf: UInt32) -> [LLVMValueRef] {
        let result = structType(ir, of: 4)
        let type = ir.functionType(result, [ir.i32, ir.i32])
        let code = "cpuid", constraints = "={ax},={bx},={cx},={dx},{ax},{cx},~{dirflag},~{fpsr},~{flags}"
        let asm = LLVMGetInlineAsm(type, code, code.utf8.count, constraints, constraints.utf8.count, 0, 0, LLVMInlineAsmDialectATT, 0)!
        let value = ir.call(asm, type, [ir.int32(Int32(bitPattern: leaf)), ir.int32(Int32(bitPattern: subleaf))])
        return (0..<4).map { LLVMBuildExtractValue(ir.builder, value, UInt32($0), "")! }
    }

    /// `{i32, i32, …}` of `count` members (the registers an instruction writes).
    private func structType(_ ir: IRBuilder, of count: Int) -> LLVMTypeRef {
        var members: [LLVMTypeRef?] = Array(repeating: ir.i32, count: count)
        return members.withUnsafeMutableBufferPointer { LLVMStructTypeInContext(ir.context, $0.baseAddress, UInt32(count), 0)! }
    }

    /// Whether bit `bit` of the i32 `value` is set, as an i1.
    private func bit(_ ir: IRBuilder, _ value: LLVMValueRef, _ bit: Int32) -> LLVMValueRef {
        ir.icmp(LLVMIntNE, ir.and(value, ir.int32(1 << bit)), ir.int32(0))
    }
}
