import CLLVM
import Foundation
import Graph

/// The CPU that generated code is tuned for: its LLVM name (`znver4`), feature string and triple.
///
/// Compiled code targets the host's full feature set (AVX-512 where present); `portable` gives the
/// x86-64 baseline that runs on any x86-64 machine.
public struct HostTarget: Sendable, Equatable {
    /// LLVM target triple, e.g. `x86_64-unknown-linux-gnu`.
    public var triple: String
    /// LLVM CPU name, e.g. `znver4`, or `x86-64` for the portable baseline.
    public var cpu: String
    /// LLVM feature string, e.g. `+avx512f,+avx2,…`; empty for the baseline.
    public var features: String

    /// The machine this process runs on, as LLVM sees it.
    public static func host() -> HostTarget {
        LLVMTarget.initializeOnce()
        return HostTarget(triple: takeLLVMString(LLVMGetDefaultTargetTriple()),
                          cpu: takeLLVMString(LLVMGetHostCPUName()),
                          features: takeLLVMString(LLVMGetHostCPUFeatures()))
    }

    /// The x86-64 baseline: runs on every x86-64 CPU.
    public static func portable() -> HostTarget {
        LLVMTarget.initializeOnce()
        return HostTarget(triple: takeLLVMString(LLVMGetDefaultTargetTriple()), cpu: "x86-64", features: "")
    }

    /// The x86-64 psABI microarchitecture level `level` (2–4): v2 adds SSE4.2 and POPCNT to the
    /// baseline, v3 AVX2, FMA, BMI1/2, F16C, LZCNT and MOVBE, v4 AVX-512 F, BW, CD, DQ and VL; `extra`
    /// LLVM features on top (`avx512bf16`). The feature string lists every feature, so `has` answers.
    public static func x86_64(level: Int, adding extra: [String] = []) -> HostTarget {
        LLVMTarget.initializeOnce()
        let v2 = ["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "cx16"]
        let v3 = v2 + ["avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"]
        let v4 = v3 + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
        let features = (level >= 4 ? v4 : level == 3 ? v3 : level == 2 ? v2 : []) + extra
        return HostTarget(triple: takeLLVMString(LLVMGetDefaultTargetTriple()), cpu: level >= 2 ? "x86-64-v\(min(level, 4))" : "x86-64",
                          features: features.map { "+" + $0 }.joined(separator: ","))
    }

    /// The variants a `--cpu multi` library holds at `precision`, best first: at fp32 AVX-512 (v4),
    /// AVX2 (v3) and the baseline, so it runs on any x86-64 at the best speed the CPU allows; at bf16
    /// and int8 the one AVX-512 variant with the kernels' feature (no x86-64 without it runs them).
    public static func multi(precision: Precision) -> [HostTarget] {
        guard let feature = precision.requiredFeature else { return [x86_64(level: 4), x86_64(level: 3), portable()] }
        return [x86_64(level: 4, adding: [feature])]
    }

    /// The version of the LLVM libraries linked in (`19.1.7`).
    public static var llvmVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, patch: UInt32 = 0
        LLVMGetVersion(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Whether the feature string enables `name` (for example `avx512f`).
    public func has(_ name: String) -> Bool {
        features.split(separator: ",").contains { $0 == "+" + name }
    }
}

/// One-time LLVM native-target initialization, and the LLVM options TCompile's code generation runs
/// with (process-wide, as LLVM's command-line options are: an app that also uses LLVM in the same
/// process shares them).
///
/// `-disable-lsr`: loop strength reduction was 18 % of code generation for MiniLM's kernels (the most
/// of any pass after instruction selection): without it MiniLM's "machine code" phase went from
/// 0.20–0.24 to 0.12–0.17 s, and the kernels' run times stayed equal within the noise, interleaved
/// (MiniLM fp32 1×16, 1×128, 8×128 on one and two threads, int8 and bf16 1×128, GPT-2's generating
/// library; 2026-12-04, AMD EPYC). Our loops index with one induction variable and constant
/// strides already, which is what the pass would otherwise rewrite them into.
///
/// `-unroll-runtime=false -unroll-allow-partial=false`: the loop unroller no longer copies loops whose
/// trip count is known only at run time. Our hot loops are unrolled where they are emitted (the GEMM
/// microkernels' four k steps) or vectorized; the unroller's copies of the rest were 10 % of the
/// optimizer's time and 11 % of MiniLM's code, and cost more instruction selection after. MiniLM's
/// compile went from 322 to 297 ms (hyperfine, 15 runs each); run times equal within the noise,
/// interleaved (MiniLM fp32 1×3, 1×16, 1×128, 8×128, int8 and bf16 1×128, GPT-2 decoding;
/// 2026-12-04, AMD EPYC).
enum LLVMTarget {
    /// The LLVM command-line options set once per process, before any compile.
    static let options = ["-disable-lsr", "-unroll-runtime=false", "-unroll-allow-partial=false"]
    private static let initialized: Bool = {
        guard tc_llvm_initialize_native() == 0 else { return false }
        let arguments = (["tcompile"] + options).map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        var pointers = arguments.map { UnsafePointer<CChar>($0) }
        LLVMParseCommandLineOptions(Int32(pointers.count), &pointers, nil)
        return true
    }()
    /// Initializes the native target once per process; later calls are free.
    static func initializeOnce() {
        precondition(initialized, "LLVM could not initialize the native target")
    }
}

/// Copies an LLVM-owned C string into a Swift string and frees it.
func takeLLVMString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    defer { LLVMDisposeMessage(pointer) }
    return String(cString: pointer)
}
