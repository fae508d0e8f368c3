import Foundation
import Runtime
import Locks

/// Finds the Swift source line of the eager code that called into the tensor library, from a
/// backtrace: the first frame outside `Sources/Tensors` and `Sources/Graph`. Used only while
/// tracing; needs debug info (SwiftPM builds have it) and answers nil without it.
///
/// Symbolication is slow (tens of milliseconds in a large binary, seconds under a sanitizer), so what
/// each return address resolves to is cached process-wide: the library frames between the capture
/// point and the model code, and the model's own lines, are the same addresses for every layer and
/// every caller, so only addresses never seen before are symbolicated.
enum SourceLocator {
    /// Library folders whose frames are skipped.
    static let libraryFolders = ["/Sources/Tensors/", "/Sources/Graph/"]
    /// Frames captured per lookup: enough to get from the capture point to the model code.
    static let depth = 12
    /// False when the environment sets `TCOMPILE_SOURCE_LOCATIONS=0`: traced nodes then carry no
    /// source line. For sanitizer builds (scripts/sanitize.sh), where symbolicating one new call site
    /// takes seconds and tracing a model would take hours.
    static let enabled = ProcessInfo.processInfo.environment["TCOMPILE_SOURCE_LOCATIONS"] != "0"

    /// What one captured frame resolved to.
    private enum FrameInfo {
        /// A line of the caller's code: the answer.
        case located(SourceLocation)
        /// A frame of the library itself, of the standard library, or without line information.
        case skipped
    }

    private static let known = LockedValue<[String: FrameInfo]>([:])
    private static let lineTable = LockedValue(true)

    /// For tests: consult `DWARFLineTable` (the default) or only the runtime's symbolication, starting
    /// from an empty cache either way.
    static func useLineTable(_ use: Bool) {
        lineTable.withLock { $0 = use }
        known.withLock { $0 = [:] }
    }
    private static let images = LockedValue<ImageMap?>(nil)

    /// The caller's location, or nil when no frame has line information.
    static func current() -> SourceLocation? {
        guard enabled else { return nil }
        let imageMap = images.withLock { map in
            if map == nil { map = ImageMap.capture() }
            return map!
        }
        guard let backtrace = try? Backtrace.capture(limit: depth, top: 0, images: imageMap) else { return nil }
        let frames = Array(backtrace.frames)
        let keys = frames.map { "\($0)" }
        // From the cache when every frame up to the first located one has been seen.
        let cached: SourceLocation?? = known.withLock { known in
            for key in keys {
                switch known[key] {
                case .located(let location)?: return .some(location)
                case .skipped?: continue
                case nil: return nil
                }
            }
            return .some(nil)
        }
        if let cached { return cached }
        // Symbolicate only the frames never seen, one at a time from the innermost: each lookup runs a
        // compile unit's whole DWARF line program (a module's, in a release build), so symbolicating
        // the 12 frames of every new call site cost seconds per model. A frame is captured alone by
        // capturing again from this same function with `offset`: the stack below is the same, and
        // the frame's text is compared to be sure (else the whole backtrace is symbolicated). A limit of
        // 2 captures one frame (the limit counts the truncation marker).
        for (index, key) in keys.enumerated() {
            switch known.withLock({ $0[key] }) {
            case .located(let location)?: return location
            case .skipped?: continue
            case nil: break
            }
            // The line table first: an address whose innermost line is the caller's code is the answer
            // the runtime would give (its first, innermost inlined frame), at the cost of a binary search.
            // A frame inside a function of the library itself is skipped without asking the runtime (only
            // a caller's function can have the caller's code inlined into it).
            if lineTable.withLock({ $0 }), let address = UInt64(frames[index].adjustedProgramCounter) {
                func remember(_ info: FrameInfo) { known.withLock { known in if known[key] == nil { known[key] = info } } }
                switch DWARFLineTable.lookup(address) {
                case .line(let path, let line, _) where isCallerPath(path):
                    let location = SourceLocation(file: relative(path), line: line)
                    remember(.located(location))
                    return location
                case .line(let path, _, true?) where libraryFolders.contains(where: { path.contains($0) }):
                    remember(.skipped)
                    continue
                case .fileWithoutLines:   // a system library without debug information: the runtime finds no line either
                    remember(.skipped)
                    continue
                default: break
                }
            }
            guard let single = try? Backtrace.capture(limit: 2, offset: index, top: 0, images: imageMap),
                  let frame = Array(single.frames).first, "\(frame)" == key,
                  let symbolicated = single.symbolicated(options: [.showSourceLocations, .useSymbolCache]) else {
                return resolveWhole(backtrace)
            }
            var info = FrameInfo.skipped
            for s in symbolicated.frames where "\(s.captured)" == key {
                if let location = callerLocation(s) { info = .located(location); break }
            }
            known.withLock { known in if known[key] == nil { known[key] = info } }
            if case .located(let location) = info { return location }
        }
        return nil
    }

    /// Symbolicates every frame of `backtrace` and caches what each resolved to.
    private static func resolveWhole(_ backtrace: Backtrace) -> SourceLocation? {
        guard let symbolicated = backtrace.symbolicated(options: [.showSourceLocations, .useSymbolCache]) else { return nil }
        // Inlined frames come innermost first, then the frame they were inlined into; each captured
        // frame resolves to the first caller line among its own symbolicated frames.
        var resolved: [String: FrameInfo] = [:]
        var order: [String] = []
        for frame in symbolicated.frames {
            let key = "\(frame.captured)"
            if resolved[key] == nil { resolved[key] = .skipped; order.append(key) }
            if case .located = resolved[key]! { continue }
            if let location = callerLocation(frame) { resolved[key] = .located(location) }
        }
        known.withLock { known in known.merge(resolved) { old, _ in old } }
        for key in order { if case .located(let location) = resolved[key]! { return location } }
        return nil
    }

    /// The frame's source line when it is the caller's code (not the library's or the standard library's).
    private static func callerLocation(_ frame: SymbolicatedBacktrace.Frame) -> SourceLocation? {
        guard let location = frame.symbol?.sourceLocation, location.line > 0, isCallerPath(location.path) else { return nil }
        return SourceLocation(file: relative(location.path), line: location.line)
    }

    /// Whether a source path is the caller's code rather than the library's or the standard library's.
    private static func isCallerPath(_ path: String) -> Bool {
        !path.isEmpty && !libraryFolders.contains(where: { path.contains($0) })
            && !path.contains("/swift/stdlib/") && !path.contains("swift-corelibs") && !path.hasPrefix("<")
    }

    /// `…/Sources/Transformers/Bert.swift` → `Sources/Transformers/Bert.swift`.
    static func relative(_ path: String) -> String {
        for marker in ["/Sources/", "/Tests/", "/samples/", "/Benchmarks/"] {
            if let r = path.range(of: marker, options: .backwards) { return String(path[path.index(after: r.lowerBound)...]) }
        }
        return path
    }
}
