import Foundation
import Locks
import Tensors

/// Finds the Swift source line of the eager code that called into the tensor library, from the return
/// addresses on the stack: the first source line, innermost inlined frame first, outside
/// `Sources/Tensors` and `Sources/Graph`. Used only while tracing; needs debug info (SwiftPM builds have
/// it) and answers nil without it.
///
/// The addresses come from glibc's `backtrace` and their lines from the binary's own DWARF
/// (`DWARFLineTable`), read from the file on disk. The Swift runtime's `Backtrace` is not used: its image
/// map reads the first bytes of every file mapping straight from memory and crashes when another thread
/// unmaps a file meanwhile. What each address resolves to is cached process-wide: the library frames
/// between the capture point and the model code, and the model's own lines, are the same addresses for
/// every layer and every caller.
enum SourceLocator {
    /// Library folders whose frames are skipped.
    static let libraryFolders = ["/Sources/Tensors/", "/Sources/Graph/"]
    /// Frames captured per lookup: enough to get from the capture point to the model code.
    static let depth = 16
    /// False when the environment sets `TCOMPILE_SOURCE_LOCATIONS=0`: traced nodes then carry no
    /// source line (sanitizer builds turn it off to keep tracing fast).
    static let enabled = ProcessInfo.processInfo.environment["TCOMPILE_SOURCE_LOCATIONS"] != "0"

    /// What one return address resolved to: a line of the caller's code, or nil for a frame of the
    /// library itself, of the standard library, or without line information.
    private static let known = LockedValue<[UInt: SourceLocation?]>([:])

    /// Reads the line tables of the binary holding this code on a background thread, so that the first
    /// traced op does not wait for them: a trace calls this before building the model it traces
    /// (MiniLM: 20 ms of reading that overlaps loading the checkpoint). A lookup meanwhile waits for
    /// the read to end (the tables are read once, under the cache's lock).
    static func preload() {
        guard enabled else { return }
        let image = UInt(bitPattern: #dsohandle)
        DispatchQueue.global().async { _ = DWARFLineTable.lookup(UInt64(image)) }
    }

    /// The caller's location, or nil when no frame has line information.
    static func current() -> SourceLocation? {
        guard enabled, let backtraceFunction else { return nil }
        var buffer = [UnsafeMutableRawPointer?](repeating: nil, count: depth)
        let count = Int(buffer.withUnsafeMutableBufferPointer { backtraceFunction($0.baseAddress, Int32($0.count)) })
        for frame in buffer.prefix(max(0, count)) {
            guard let frame else { continue }
            let address = UInt(bitPattern: frame)
            if let location = known.withLock({ $0[address] }) {
                if let location { return location }
                continue
            }
            // A return address minus one is the call instruction.
            let location = callerLocation(DWARFLineTable.lookup(UInt64(address) &- 1))
            known.withLock { $0[address] = location }
            if let location { return location }
        }
        return nil
    }

    /// The first of the frames' lines that is the caller's code.
    static func callerLocation(_ lookup: DWARFLineTable.Lookup) -> SourceLocation? {
        guard case .lines(let lines) = lookup else { return nil }
        for (path, line) in lines where line > 0 && isCallerPath(path) {
            return SourceLocation(file: relative(path), line: line)
        }
        return nil
    }

    /// Whether a source path is the caller's code rather than the library's or the standard library's.
    private static func isCallerPath(_ path: String) -> Bool {
        !path.isEmpty && !libraryFolders.contains(where: { path.contains($0) })
            && !path.contains("/swift/stdlib/") && !path.contains("swift-corelibs") && !path.hasPrefix("<")
            && !path.hasPrefix("/<")
    }

    /// `…/Sources/Transformers/Bert.swift` → `Sources/Transformers/Bert.swift`.
    static func relative(_ path: String) -> String {
        for marker in ["/Sources/", "/Tests/", "/samples/", "/Benchmarks/"] {
            if let r = path.range(of: marker, options: .backwards) { return String(path[path.index(after: r.lowerBound)...]) }
        }
        return path
    }
}

/// glibc's `backtrace` (from `execinfo.h`, which the Glibc module does not import), looked up once; nil
/// where it is missing, and then nodes carry no source line.
private let backtraceFunction = CFunction.named("backtrace",
                                               as: (@convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int32) -> Int32).self)
