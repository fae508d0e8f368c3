import Foundation

/// What a file written by `writeFilesAtomically` / `writeDirectoryAtomically` holds: bytes already in
/// memory, or a producer that streams them into a `FileSink`, so that a file of a model's size (a
/// weights file, a constants safetensors) never needs a buffer of that size.
public enum FileContent {
    case bytes(Data)
    case stream((FileSink) throws -> Void)
    /// A hard link to an existing file (the same bytes, no copy); where the link cannot be made (another
    /// file system, a file system without links), the stream instead.
    case link(String, otherwise: (FileSink) throws -> Void)

    /// Writes the content to a new file at `path` (which must not exist).
    func write(to path: String) throws(FileWriteError) {
        if case .link(let source, _) = self, Glibc.link(source, path) == 0 { return }
        let sink = try FileSink(creating: path)
        do {
            switch self {
            case .bytes(let data): try data.withUnsafeBytes { raw in Result { () throws(FileWriteError) in try sink.write(raw) } }.get()
            case .stream(let produce), .link(_, let produce): try produce(sink)
            }
            try sink.close()
        } catch let error as FileWriteError {
            sink.abandon()
            throw error
        } catch {
            sink.abandon()
            throw FileWriteError(path: path, reason: "cannot write: \(error)")
        }
    }
}

/// A new file written front to back through one reused, page-aligned 8 MiB buffer, with `O_DIRECT`
/// where the file system takes it (else ordinary buffered writes).
///
/// Why direct: on the virtual machines TCompile is measured on, memory the process has not touched
/// before costs ~0.2 s per 100 MB to fault in (docs/codegen.md, "Fresh memory is the slow part"). A buffered write of a 600 MB
/// weights file first fills 600 MB of fresh page cache (2.7 s for 512 MB measured), and building the
/// file as one array first costs the same again; written directly from one warm buffer, 512 MB took
/// 0.3 s. The tail that is not a whole block is written after switching `O_DIRECT` off.
///
/// A file of more than one buffer is written in the background: a full buffer goes to a writer thread of
/// the file's own (`BufferWriter`) and the next one fills meanwhile, so that copying (or packing) the
/// bytes overlaps waiting for the disk.
public final class FileSink {
    /// The file being written.
    public let path: String
    private let descriptor: Int32
    /// The buffer being filled.
    private var buffer: UnsafeMutableRawPointer
    /// The buffer being written in the background, and its writer (made at the first full buffer).
    private var spare: UnsafeMutableRawPointer?
    private var writer: BufferWriter?
    private var filled = 0
    private var direct: Bool
    private var closed = false
    /// Bytes accepted so far.
    public private(set) var count = 0

    static let bufferBytes = 8 << 20
    static let alignment = 4096
    #if arch(x86_64) || arch(i386)
    static let directFlag: Int32 = 0o40000
    #else
    static let directFlag: Int32 = 0   // not used where the flag's value differs
    #endif

    /// Creates `path` (it must not exist) for writing.
    public init(creating path: String) throws(FileWriteError) {
        self.path = path
        var fd = Self.directFlag == 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | Self.directFlag, 0o666)
        direct = fd >= 0
        if fd < 0 && (Self.directFlag == 0 || errno == EINVAL) {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)   // e.g. tmpfs refuses O_DIRECT
        }
        guard fd >= 0 else { throw FileWriteError(path: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        descriptor = fd
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, Self.alignment, Self.bufferBytes) == 0, let raw else {
            Glibc.close(fd)
            unlink(path)
            throw FileWriteError(path: path, reason: "cannot allocate a write buffer")
        }
        buffer = raw
    }

    deinit {
        if !closed { abandon() }
        writer?.stop()
        free(buffer)
        free(spare)
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileWriteError) {
        guard var source = bytes.baseAddress else { return }
        var left = bytes.count
        count += left
        while left > 0 {
            let n = min(left, Self.bufferBytes - filled)
            (buffer + filled).copyMemory(from: source, byteCount: n)
            filled += n
            source += n
            left -= n
            if filled == Self.bufferBytes { try flushFullBuffer() }
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws(FileWriteError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(FileWriteError) in try write(raw) } }
        try result.get()
    }

    /// Appends `bytes`, which are also the bytes at `offset` of the open file `source`: the kernel copies
    /// them from that file (`copy_file_range`: on a file system with shared extents no data moves at
    /// all; on ext4, one copy in the page cache instead of a read into this process, a copy into the
    /// buffer and a write); where it cannot, they are written from `bytes`. The file continues without
    /// `O_DIRECT` from here on. MiniLM's 91 MB of constants: 35 ms copied, 60–100 ms written directly.
    public func copy(from source: Int32, offset: Int, bytes: UnsafeRawBufferPointer) throws(FileWriteError) {
        guard let copyRange = copyFileRange, bytes.count > 0 else { return try write(bytes) }
        try drain()
        stopDirect()
        if filled > 0 { try flush(filled) }
        var from = off_t(offset), done = 0
        while done < bytes.count {
            let n = copyRange(source, &from, descriptor, nil, bytes.count - done, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }   // not here (another file system, an old kernel): write the rest
            done += n
        }
        count += done
        if done < bytes.count { try write(UnsafeRawBufferPointer(rebasing: bytes[done...])) }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws(FileWriteError) {
        var left = max(count, 0)
        self.count += left
        while left > 0 {
            let n = min(left, Self.bufferBytes - filled)
            (buffer + filled).initializeMemory(as: UInt8.self, repeating: 0, count: n)
            filled += n
            left -= n
            if filled == Self.bufferBytes { try flushFullBuffer() }
        }
    }

    /// Replaces `bytes.count` bytes already written at `offset` (a header whose checksum is known only at
    /// the end): in the buffer while they are still there, else written in place (without `O_DIRECT`,
    /// which needs whole blocks; only the last writes then go buffered).
    public func overwrite(_ bytes: [UInt8], at offset: Int) throws(FileWriteError) {
        guard offset >= 0, offset + bytes.count <= count else {
            throw FileWriteError(path: path, reason: "cannot overwrite bytes \(offset)..<\(offset + bytes.count) of \(count) written")
        }
        try drain()
        let flushed = count - filled
        if offset >= flushed {
            bytes.withUnsafeBytes { if let base = $0.baseAddress { (buffer + (offset - flushed)).copyMemory(from: base, byteCount: $0.count) } }
            return
        }
        stopDirect()
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else {
            throw FileWriteError(path: path, reason: "cannot write: \(written < 0 ? String(cString: strerror(errno)) : "short write")")
        }
    }

    /// Writes what is buffered and closes the file.
    public func close() throws(FileWriteError) {
        guard !closed else { return }
        try drain()
        writer?.stop()
        writer = nil
        let whole = filled / Self.alignment * Self.alignment
        if whole > 0 { try flush(whole) }
        if filled > 0 {
            stopDirect()   // the tail is not a whole block: finish without O_DIRECT
            try flush(filled)
        }
        closed = true
        guard Glibc.close(descriptor) == 0 else {
            unlink(path)
            throw FileWriteError(path: path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes and deletes the partial file.
    func abandon() {
        guard !closed else { return }
        writer?.wait()
        closed = true
        Glibc.close(descriptor)
        unlink(path)
    }

    /// Hands the full buffer to the background writer and goes on filling the other one (written
    /// here, at once, when a second buffer cannot be had).
    private func flushFullBuffer() throws(FileWriteError) {
        try drain()
        if spare == nil {
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, Self.alignment, Self.bufferBytes) == 0, let raw else { return try flush(Self.bufferBytes) }
            spare = raw
            writer = BufferWriter()
        }
        guard let writer, let next = spare else { return try flush(Self.bufferBytes) }
        let full = buffer
        writer.start { () throws(FileWriteError) in try self.writeOut(full, Self.bufferBytes) }
        spare = full
        buffer = next
        filled = 0
    }

    /// Waits for the buffer being written in the background, if any; throws what writing it threw.
    private func drain() throws(FileWriteError) {
        if let error = writer?.wait() { throw error }
    }

    /// Writes the first `n` buffered bytes and keeps the rest at the buffer's start.
    private func flush(_ n: Int) throws(FileWriteError) {
        try writeOut(buffer, n)
        if n < filled { buffer.copyMemory(from: buffer + n, byteCount: filled - n) }
        filled -= n
    }

    /// Turns `O_DIRECT` off for the rest of the file (a write that is not whole blocks follows).
    private func stopDirect() {
        guard direct else { return }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~Self.directFlag)
        direct = false
    }

    /// Writes `n` bytes from `bytes` at the file's end.
    private func writeOut(_ bytes: UnsafeMutableRawPointer, _ n: Int) throws(FileWriteError) {
        var done = 0
        while done < n {
            let written = Glibc.write(descriptor, bytes + done, n - done)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EINVAL && direct {   // O_DIRECT accepted at open but not here: go buffered
                    stopDirect()
                    continue
                }
                throw FileWriteError(path: path, reason: "cannot write: \(String(cString: strerror(errno)))")
            }
            if written == 0 { throw FileWriteError(path: path, reason: "cannot write: no progress") }
            done += written
        }
    }
}

/// Runs one write at a time on a thread of its own (not a Dispatch worker: those are LLVM's while a
/// library compiles). `start` and `wait` alternate, from one thread: the file's.
private final class BufferWriter: @unchecked Sendable {
    private let requested = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
    /// The write to run, set before `requested` is signalled; nil stops the thread.
    private var work: (() throws(FileWriteError) -> Void)?
    /// What the last write threw, read after `finished` is signalled.
    private var failure: FileWriteError?
    private var running = false

    init() {
        let thread = Thread { [self] in
            while true {
                requested.wait()
                guard let work else { return }
                do throws(FileWriteError) { try work() } catch { failure = error }
                self.work = nil
                finished.signal()
            }
        }
        thread.stackSize = 256 << 10
        thread.start()
    }

    /// Starts `work` (the previous write must have been waited for).
    func start(_ work: @escaping () throws(FileWriteError) -> Void) {
        self.work = work
        running = true
        requested.signal()
    }

    /// Waits for the write started last, if it still runs; what it threw, if anything.
    @discardableResult
    func wait() -> FileWriteError? {
        if running {
            finished.wait()
            running = false
        }
        defer { failure = nil }
        return failure
    }

    /// Ends the thread (after waiting for its write).
    func stop() {
        wait()
        work = nil
        requested.signal()
    }
}

/// glibc's `copy_file_range` (not in Swift's Glibc module), looked up once; nil where it is missing.
private let copyFileRange = CFunction.named("copy_file_range",
                                            as: (@convention(c) (Int32, UnsafeMutablePointer<off_t>?, Int32, UnsafeMutablePointer<off_t>?, Int, UInt32) -> Int).self)
