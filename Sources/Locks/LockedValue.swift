import Foundation

/// A value guarded by a pthread mutex (`NSLock`), with the `withLock` shape of `Synchronization.Mutex`:
/// the one lock of every module's shared state (the default random generator, the buffer cache, the
/// tracer's symbol cache, a BPE tokenizer's word cache, a compiled model's workspaces and pool).
/// On Linux `Mutex` locks with a bare futex that ThreadSanitizer cannot see, so every correctly locked
/// access was reported as a race (scripts/sanitize.sh); `NSLock` is intercepted, and costs about the
/// same for these uses.
package final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
