import Foundation
import JSON

/// A file mapped copy-on-write into memory: tensors borrow its pages, writes stay private.
///
/// The file stays open while mapped, so that bytes still equal to the file's can be copied from it by
/// the kernel (`FileSink.copy`) rather than through memory: `tcompile export` writes a checkpoint's
/// unchanged tensors into the graph's constants file this way.
final class FileMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int
    /// The mapped file, open for reading (-1 for an empty file, which is not mapped).
    let descriptor: Int32

    init(path: String) throws {
        // Non-blocking, so that a FIFO given as a checkpoint or `--inputs` is refused below rather
        // than blocking here for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(path: path, tensor: nil, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw SafeTensorsError(path: path, tensor: nil, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        do { try RegularFile.requireRegular(fd) } catch {
            close(fd)
            throw SafeTensorsError(path: path, tensor: nil, reason: error.reason)
        }
        size = Int(info.st_size)
        if size == 0 {
            close(fd)
            descriptor = -1
            base = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 64)
            return
        }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            close(fd)
            throw SafeTensorsError(path: path, tensor: nil, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = p
        descriptor = fd
    }

    deinit {
        if size == 0 { base.deallocate() } else { munmap(base, size) }
        if descriptor >= 0 { close(descriptor) }
    }

    /// The file offset of the `count` bytes at `pointer` when they lie in this mapping and no page of
    /// them was written since it was mapped (so they are the file's bytes); nil otherwise, or when that
    /// cannot be told.
    ///
    /// A written page of a private file mapping is a private anonymous copy: Linux's
    /// `/proc/self/pagemap` marks every page mapped from the file (bit 61) and every page in swap,
    /// which only a private copy can be (bit 62). A page never touched is not present, and reads as
    /// the file.
    func unmodifiedOffset(of pointer: UnsafeRawPointer, count: Int) -> Int? {
        guard descriptor >= 0, count > 0 else { return nil }
        let offset = pointer - UnsafeRawPointer(base)
        guard offset >= 0, offset <= size - count else { return nil }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return nil }
        let first = (Int(bitPattern: pointer)) / page, last = (Int(bitPattern: pointer) + count - 1) / page
        let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard pagemap >= 0 else { return nil }
        defer { close(pagemap) }
        var entries = [UInt64](repeating: 0, count: min(last - first + 1, 4096))
        var next = first
        while next <= last {
            let n = min(entries.count, last - next + 1)
            let read = entries.withUnsafeMutableBytes { pread(pagemap, $0.baseAddress, n * 8, off_t(next * 8)) }
            guard read == n * 8 else { return nil }
            for entry in entries[0..<n] {
                let present = entry & (1 << 63) != 0, swapped = entry & (1 << 62) != 0, fromFile = entry & (1 << 61) != 0
                if swapped || (present && !fromFile) { return nil }
            }
            next += n
        }
        return offset
    }
}
