import Foundation

/// Reading an input file whole, refusing anything but a regular file *before* reading: a FIFO, a
/// terminal or a device given as model.json, `--inputs`, a config or a tokenizer file would block
/// the reader (or never end); a directory has no bytes. The file is opened with `O_NONBLOCK`, so
/// even opening a FIFO with no writer returns at once, and checked with `fstat` on the descriptor
/// (no race between the check and the read).
public enum RegularFile {
    /// Why a file could not be read: the reason alone (callers name the file in their own error).
    public struct Failure: Error, CustomStringConvertible {
        /// `no such file`, `not a regular file (a FIFO)`, `cannot read: …`.
        public var reason: String
        /// Whether the file does not exist.
        public var missing: Bool
        public var description: String { reason }
    }

    /// The bytes of the regular file at `path`.
    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw Failure(reason: code == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(code)))", missing: code == ENOENT)
        }
        defer { close(fd) }
        try requireRegular(fd)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(reason: "cannot read: \(String(cString: strerror(errno)))", missing: false)
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<n])
        }
    }

    /// Throws unless `fd` is a regular file, naming what it is.
    public static func requireRegular(_ fd: Int32) throws(Failure) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(reason: "cannot stat: \(String(cString: strerror(errno)))", missing: false) }
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a file"
        }
        throw Failure(reason: "not a regular file (\(kind))", missing: false)
    }
}
