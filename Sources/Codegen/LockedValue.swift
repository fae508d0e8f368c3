import Foundation

/// A value guarded by a pthread mutex (`NSLock`), with the `withLock` shape of `Synchronization.Mutex`.
/// Used instead of `Mutex` where threads share state: on Linux `Mutex` locks with a bare futex that
/// ThreadSanitizer cannot see, so every correctly locked access was reported as a race
/// (scripts/sanitize.sh); `NSLock` is intercepted, and costs the same here (one lock per model call).
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
