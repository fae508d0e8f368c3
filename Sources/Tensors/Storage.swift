#if canImport(Glibc)
import Glibc
#endif

/// The flat, 64-byte-aligned buffer a tensor's elements live in; views share one storage.
///
/// A storage either owns its memory (freed on deinit) or borrows it from an owner such as a
/// memory-mapped safetensors file, which it keeps alive.
public final class Storage: @unchecked Sendable {
    /// Start of the buffer.
    public let base: UnsafeMutableRawPointer
    /// Size of the buffer in bytes.
    public let byteCount: Int
    private let owner: AnyObject?
    private let owned: Bool

    /// Allocates `byteCount` zeroed bytes, 64-byte aligned (AVX-512 loads).
    public init(zeroedByteCount byteCount: Int) {
        let size = max(byteCount, 1)
        var raw: UnsafeMutableRawPointer?
        let rounded = (size + 63) & ~63
        guard posix_memalign(&raw, 64, rounded) == 0, let raw else {
            preconditionFailure("Storage: cannot allocate \(byteCount) bytes")
        }
        memset(raw, 0, rounded)
        self.base = raw
        self.byteCount = byteCount
        self.owner = nil
        self.owned = true
    }

    /// Allocates `byteCount` uninitialized bytes, 64-byte aligned; for kernels that write every element.
    public init(uninitializedByteCount byteCount: Int) {
        let size = max(byteCount, 1)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, (size + 63) & ~63) == 0, let raw else {
            preconditionFailure("Storage: cannot allocate \(byteCount) bytes")
        }
        self.base = raw
        self.byteCount = byteCount
        self.owner = nil
        self.owned = true
    }

    /// Borrows memory owned by `owner` (for example a memory-mapped file), keeping the owner alive.
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.base = base
        self.byteCount = byteCount
        self.owner = owner
        self.owned = false
    }

    deinit {
        if owned { free(base) }
    }
}
