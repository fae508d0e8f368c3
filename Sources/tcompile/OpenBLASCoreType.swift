import Foundation
import JSON

/// Debian's OpenBLAS 0.3.21 does not recognize some current CPUs (it reports them as "Intel Xeon
/// Processor" or similar) and falls back to its Prescott kernels, 3–8× slower for sgemm. OpenBLAS reads
/// `OPENBLAS_CORETYPE` once, when the library loads, so when it is unset tcompile picks the kernel set
/// the CPU supports and re-executes itself with it. A user's own setting always wins.
///
/// Only commands that run eager kernels at scale re-execute (`EagerKernelCommand`): the second
/// process start costs ≈ 50 ms, a third of a cached compile, and a plain compile or export runs no
/// matmul that OpenBLAS's kernel choice would speed up.
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

/// A command that may run eager kernels (OpenBLAS matmuls) at scale, so it wants OpenBLAS's kernels
/// for this CPU (`OpenBLASCoreType.ensure`) before its work starts.
protocol EagerKernelCommand {
    /// Whether this invocation, with its parsed arguments, runs eager kernels.
    var runsEagerKernels: Bool { get }
}

extension Run: EagerKernelCommand {
    /// `--eager` runs the interpreter, and a manifest's checkpoint is traced by running its model; a
    /// traced graph run `--compiled` (the default) runs only compiled kernels, so it skips the second
    /// process start (≈ 50 ms of its first result).
    var runsEagerKernels: Bool { mode == .eager || ModelFileKind.isManifest(path: options.model) }
}
extension Bench: EagerKernelCommand { var runsEagerKernels: Bool { true } }
extension Generate: EagerKernelCommand { var runsEagerKernels: Bool { true } }

extension Compile: EagerKernelCommand {
    /// A reduced-precision compile runs the f32 interpreter for its accuracy report (and calibration);
    /// a manifest (tcompile.model/2) may ask for a precision in its options. Tracing a manifest's
    /// checkpoint runs no matmul (shapes only), so an f32 manifest compile does not re-execute: that
    /// was ≈ 85 ms of MiniLM's 0.75 s one-command compile.
    var runsEagerKernels: Bool {
        if let value = precision.value, value != .fp32 { return true }
        if !precision.calibrate.isEmpty { return true }
        return ModelFileKind.manifestPrecision(path: options.model).map { !["fp32", "f32"].contains($0) } ?? false
    }
}

/// A cheap look at a model.json: manifests (tcompile.model/2) are small files naming their format.
enum ModelFileKind {
    /// Whether `path` is a manifest (its `format`); false for traced graphs, files over 1 MiB (a
    /// manifest names a checkpoint, it does not hold one) and unreadable files, whose errors the
    /// command reports when it loads them.
    static func isManifest(path: String) -> Bool { manifest(path) != nil }

    /// A manifest's `options.precision` ("fp32" when it states none), or nil when `path` is not a
    /// manifest (or not a readable one: the command reports that when it loads it).
    static func manifestPrecision(path: String) -> String? {
        manifest(path).map { $0["options"]?["precision"]?.stringValue ?? "fp32" }
    }

    /// The parsed document at `path` when it is a manifest (read once, under 1 MiB), else nil.
    private static func manifest(_ path: String) -> JSONValue? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, size < 1 << 20,
              let data = try? RegularFile.read(path), let root = try? JSONParser.parse(data, file: path),
              root["format"]?.stringValue?.hasPrefix("tcompile.model/") == true else { return nil }
        return root
    }
}
