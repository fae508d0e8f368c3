import Dispatch

/// Splits independent eager work (elementwise maps, softmax and layer-norm rows, attention heads)
/// over the eager thread count — the one OpenBLAS uses, set by `openblas_set_num_threads`
/// (`EagerThreads.set`) — so the second core is not idle between matrix products. Each index is
/// computed by exactly one thread with the same code as the serial loop, so results are bit-identical
/// to a single thread's.
enum ParallelRanges {
    /// Elements below which work runs on one thread: splitting costs more than it saves
    /// (PyTorch's `at::internal::GRAIN_SIZE` is 32768; a dispatch here costs a few microseconds).
    static let elementGrain = 65_536

    /// A thread count for the current task instead of `EagerThreads.current`, so that tests compare
    /// thread counts without changing the process-wide setting other code (and OpenBLAS) reads.
    @TaskLocal static var threadCountOverride: Int?

    /// `forEach` over `rows` rows of `length` elements each, split only when each thread gets at
    /// least `elementGrain` elements.
    static func forEachRow(_ rows: Int, length: Int, _ body: (Range<Int>) -> Void) {
        forEach(rows, grain: max(1, elementGrain / max(length, 1)), body)
    }

    /// Runs `body` over disjoint subranges covering `0..<count`, in parallel when there are at least
    /// two chunks of `grain` items and more than one thread; serially (one call) otherwise.
    static func forEach(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let threads = min(threadCountOverride ?? EagerThreads.current, count / max(grain, 1))
        guard threads > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        // One chunk per thread: the work items are uniform, so finer chunks only add overhead.
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let lower = count * t / threads, upper = count * (t + 1) / threads
                if lower < upper { shared.value(lower..<upper) }
            }
        }
    }
}

/// A value handed to the threads of one `ParallelRanges.forEach`, which returns only after they end.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
