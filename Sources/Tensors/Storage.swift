import Locks
#if canImport(Glibc)
import Glibc
#endif

/// Freed buffers of 64 KiB and more, kept for reuse by size (a caching allocator, as PyTorch keeps for
/// GPU memory): a fresh activation then costs no page faults. Bounded to 512 MiB.
enum BufferCache {
    private struct State { var free: [Int: [UInt]] = [:]; var bytes = 0 }   // addresses by size
    private static let state = LockedValue(State())
    static let minimum = 1 << 16
    static let capacity = 512 << 20

    /// The size a buffer of `size` bytes is allocated at: from `minimum` on, rounded up to one of eight
    /// classes per power of two (at most 12.5 % more), so that buffers which grow a little at each
    /// step find the ones freed a step earlier. A compiled generator's KV cache grows by one position
    /// per token: with exact sizes every step missed the cache and took fresh pages, and zeroing
    /// them was a fifth of a SmolLM2-sized decode's time.
    static func sizeClass(_ size: Int) -> Int {
        guard size > minimum else { return size }
        let step = 1 << (Int.bitWidth - size.leadingZeroBitCount - 1 - 3)
        return (size + step - 1) & ~(step - 1)
    }

    /// A cached buffer of exactly `size` bytes, if one is free.
    static func take(_ size: Int) -> UnsafeMutableRawPointer? {
        guard size >= minimum else { return nil }
        let address: UInt? = state.withLock { s in
            guard let p = s.free[size]?.popLast() else { return nil }
            s.bytes -= size
            return p
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Keeps `pointer` for reuse, or frees it when the cache is full.
    static func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        guard size >= minimum else { free(pointer); return }
        let address = UInt(bitPattern: pointer)
        let kept = state.withLock { s in
            guard s.bytes + size <= capacity else { return false }
            s.free[size, default: []].append(address)
            s.bytes += size
            return true
        }
        if !kept { free(pointer) }
    }
}

/// The flat, 64-byte-aligned buffer a tensor's elements live in; views share one storage.
///
/// A storage either owns its memory (freed on deinit) or borrows it from an owner such as a
/// memory-mapped safetensors file, which it keeps alive.
public final class Storage: @unchecked Sendable {
    /// Start of the buffer.
    public let base: UnsafeMutableRawPointer
    /// Size of the buffer in bytes.
    public let byteCount: Int
    /// What the memory is borrowed from (a `FileMapping`, `ZeroPages`), nil when the storage owns it.
    let owner: AnyObject?
    private let owned: Bool
    /// Bytes actually allocated (the rounded size), for the buffer cache; 0 when not cacheable.
    private let allocated: Int

    /// Allocates `byteCount` zeroed bytes, 64-byte aligned (AVX-512 loads). From `freshPagesFrom` bytes
    /// on (1 MiB unless told) the bytes are fresh anonymous pages, zero without a write: a page nobody
    /// touches costs nothing (a model built only to have a checkpoint's tensors put in its place filled
    /// GPT-2's 500 MB first). Below it, heap memory set to zero, cheaper for storages made and freed often.
    public init(zeroedByteCount byteCount: Int, freshPagesFrom threshold: Int = 1 << 20) {
        if byteCount >= max(threshold, 4096), let pages = ZeroPages(byteCount: byteCount) {
            self.base = pages.base
            self.byteCount = byteCount
            self.owner = pages
            self.owned = false
            self.allocated = 0
            return
        }
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
        self.allocated = 0
    }

    /// Allocates `byteCount` uninitialized bytes, 64-byte aligned; for kernels that write every element.
    /// Buffers of 2 MiB and more are 2 MiB-aligned and advised as huge pages, so a fresh activation
    /// does not pay a page fault every 4 KiB.
    /// With `hugePages` false the buffer is left in small pages: for data written once and kept (folded
    /// weights), since on the virtual machines TCompile is measured on a fresh huge page faults in ~10×
    /// slower than the same memory in small pages (512 MiB: 3 s against 0.3 s), while reading it is
    /// only ~15 % faster.
    public init(uninitializedByteCount byteCount: Int, hugePages: Bool = true) {
        guard let (base, rounded) = Self.allocateUninitialized(byteCount, hugePages: hugePages) else {
            preconditionFailure("Storage: cannot allocate \(byteCount) bytes")
        }
        self.base = base
        self.byteCount = byteCount
        self.owner = nil
        self.owned = true
        self.allocated = rounded
    }

    /// The same, or nil when the memory cannot be had: for sizes that come from input (a compiled
    /// model's workspace, whose dim bounds a model.json sets).
    public init?(tryingUninitializedByteCount byteCount: Int) {
        guard let (base, rounded) = Self.allocateUninitialized(byteCount) else { return nil }
        self.base = base
        self.byteCount = byteCount
        self.owner = nil
        self.owned = true
        self.allocated = rounded
    }

    /// A fresh (or cached) uninitialized block of at least `byteCount` bytes and its rounded size.
    private static func allocateUninitialized(_ byteCount: Int, hugePages: Bool = true) -> (UnsafeMutableRawPointer, Int)? {
        guard byteCount <= Int.max >> 2 else { return nil }
        let size = BufferCache.sizeClass(max(byteCount, 1))
        let huge = hugePages && size >= 1 << 21
        let alignment = huge ? 1 << 21 : 64
        let rounded = (size + alignment - 1) & ~(alignment - 1)
        if let cached = BufferCache.take(rounded) { return (cached, rounded) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, rounded) == 0, let raw else { return nil }
        if huge { _ = madvise(raw, rounded, 14 /* MADV_HUGEPAGE */) }
        return (raw, rounded)
    }

    /// Borrows memory owned by `owner` (for example a memory-mapped file), keeping the owner alive.
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.base = base
        self.byteCount = byteCount
        self.owner = owner
        self.owned = false
        self.allocated = 0
    }

    deinit {
        guard owned else { return }
        if allocated > 0 { BufferCache.give(base, size: allocated) } else { free(base) }
    }
}

/// Anonymous memory mapped for a zeroed storage: the kernel supplies zero pages as they are touched;
/// unmapped with the last storage that uses it.
private final class ZeroPages {
    let base: UnsafeMutableRawPointer
    let size: Int

    init?(byteCount: Int) {
        guard let p = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return nil }
        base = p
        size = byteCount
    }

    deinit { munmap(base, size) }
}
