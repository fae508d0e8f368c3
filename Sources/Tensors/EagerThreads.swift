import COpenBLAS
import Foundation

/// The threads of eager computation: OpenBLAS's matrix products and the eager kernels that split their
/// rows over threads (`ParallelRanges`: elementwise maps, softmax, layer norm, attention heads). One
/// setting for both, so a process asks for N threads once. Compiled models have their own pool
/// (`CompiledModel.setThreads`).
///
/// ```swift
/// EagerThreads.set(2)
/// ```
public enum EagerThreads {
    /// Sets the thread count (OpenBLAS's `openblas_set_num_threads`); at least 1.
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    /// The current thread count.
    public static var current: Int { Int(openblas_get_num_threads()) }
    /// Stops OpenBLAS's worker threads until a matrix product needs them (it starts them again by
    /// itself). They start when the library loads and spin on `sched_yield` for ~0.1 s before they
    /// sleep: in a command that runs no eager kernel (a compile of a traced graph, an export, which
    /// traces on shape-only tensors) that spin took a core from LLVM, 60 ms of CPU in MiniLM's 0.35 s
    /// compile. Does nothing where the library lacks the entry point (an OpenMP build).
    public static func stopIdleWorkers() {
        _ = CFunction.named("blas_thread_shutdown_", as: (@convention(c) () -> Int32).self)?()
    }

    /// OpenBLAS's build configuration and the kernel set it picked for this CPU
    /// (`OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`, `Haswell`).
    public static var blasConfiguration: (config: String, core: String) {
        (openblas_get_config().map { String(cString: $0) } ?? "unknown", openblas_get_corename().map { String(cString: $0) } ?? "unknown")
    }
}
