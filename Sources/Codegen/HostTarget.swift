import CLLVM

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

/// One-time LLVM native-target initialization.
enum LLVMTarget {
    private static let initialized: Bool = tc_llvm_initialize_native() == 0
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
