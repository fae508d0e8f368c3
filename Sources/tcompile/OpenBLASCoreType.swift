import Foundation

/// Debian's OpenBLAS 0.3.21 does not recognize some current CPUs (it reports them as "Intel Xeon
/// Processor" or similar) and falls back to its Prescott kernels, 3–8× slower for sgemm. OpenBLAS reads
/// `OPENBLAS_CORETYPE` once, when the library loads, so when it is unset tcompile picks the kernel set
/// the CPU supports and re-executes itself with it. A user's own setting always wins.
enum OpenBLASCoreType {
    /// The kernel set for this CPU's features, from /proc/cpuinfo.
    static func bestForHost() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512_bf16") && flags.contains("avx512bw") { return "COOPERLAKE" }
        if flags.contains("avx512bw") && flags.contains("avx512vl") { return "SKYLAKEX" }
        if flags.contains("avx2") && flags.contains("fma") { return "HASWELL" }
        return nil
    }

    /// Re-executes the process with `OPENBLAS_CORETYPE` set when it is unset and a better kernel set
    /// exists; returns (does nothing) otherwise.
    static func ensure() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let core = bestForHost() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // execv only returns on failure: carry on with the default kernels.
    }
}
