import Foundation
import Runtime
import Synchronization

/// Finds the Swift source line of the eager code that called into the tensor library, from a
/// backtrace: the first frame outside `Sources/Tensors` and `Sources/Graph`. Used only while
/// tracing; needs debug info (SwiftPM builds have it) and answers nil without it.
///
/// Symbolication is slow (tens of milliseconds in a large binary), so results are cached
/// process-wide by the innermost return addresses: every layer of a model calls the same lines, so
/// a 12-layer BERT costs about as much as one layer.
enum SourceLocator {
    /// Library folders whose frames are skipped.
    static let libraryFolders = ["/Sources/Tensors/", "/Sources/Graph/"]
    /// Frames captured per lookup: enough to get from the capture point to the model code.
    static let depth = 12

    private static let cache = Mutex<[[String]: SourceLocation?]>([:])
    private static let images = Mutex<ImageMap?>(nil)

    /// The caller's location, or nil when no frame has line information.
    static func current() -> SourceLocation? {
        let imageMap = images.withLock { map in
            if map == nil { map = ImageMap.capture() }
            return map!
        }
        guard let backtrace = try? Backtrace.capture(limit: depth, top: 0, images: imageMap) else { return nil }
        let key = backtrace.frames.map { "\($0)" }
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let location = locate(backtrace)
        cache.withLock { $0[key] = location }
        return location
    }

    private static func locate(_ backtrace: Backtrace) -> SourceLocation? {
        guard let symbolicated = backtrace.symbolicated(options: [.showSourceLocations, .useSymbolCache]) else { return nil }
        for frame in symbolicated.frames {
            guard let location = frame.symbol?.sourceLocation, location.line > 0 else { continue }
            let path = location.path
            if libraryFolders.contains(where: { path.contains($0) }) { continue }
            if path.contains("/swift/stdlib/") || path.contains("swift-corelibs") { continue }
            return SourceLocation(file: relative(path), line: location.line)
        }
        return nil
    }

    /// `…/Sources/Transformers/Bert.swift` → `Sources/Transformers/Bert.swift`.
    static func relative(_ path: String) -> String {
        for marker in ["/Sources/", "/Tests/", "/samples/", "/Benchmarks/"] {
            if let r = path.range(of: marker, options: .backwards) { return String(path[path.index(after: r.lowerBound)...]) }
        }
        return path
    }
}
