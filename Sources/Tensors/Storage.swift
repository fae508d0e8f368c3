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
    /// Buffers of 2 MiB and more are 2 MiB-aligned and advised as huge pages, so a fresh activation
    /// does not pay a page fault every 4 KiB.
    public init(uninitializedByteCount byteCount: Int) {
        let size = max(byteCount, 1)
        var raw: UnsafeMutableRawPointer?
        let huge = size >= 1 << 21
        let alignment = huge ? 1 << 21 : 64
        guard posix_memalign(&raw, alignment, (size + alignment - 1) & ~(alignment - 1)) == 0, let raw else {
            preconditionFailure("Storage: cannot allocate \(byteCount) bytes")
        }
        if huge { _ = madvise(raw, (size + alignment - 1) & ~(alignment - 1), 14 /* MADV_HUGEPAGE */) }
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
