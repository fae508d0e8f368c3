import Foundation
import Runtime
import Testing
@testable import Graph

/// The line table read from the binary's `.debug_line` gives every frame the innermost source line the
/// Swift runtime's symbolication gives it (the runtime is the independent reference).
@Suite struct DWARFLineTableTests {
    @Test func linesEqualTheRuntimeSymbolication() throws {
        let backtrace = try Backtrace.capture(limit: 24)
        let symbolicated = try #require(backtrace.symbolicated(options: [.showSourceLocations]))
        var innermost: [String: (path: String, line: Int)] = [:]
        for frame in symbolicated.frames {
            let key = "\(frame.captured)"
            guard innermost[key] == nil, let location = frame.symbol?.sourceLocation, location.line > 0 else { continue }
            innermost[key] = (location.path, location.line)
        }
        var compared = 0
        for frame in backtrace.frames {
            guard let expected = innermost["\(frame)"], let address = UInt64(frame.adjustedProgramCounter) else { continue }
            let found: (path: String, line: Int)? = if case .line(let path, let line, _) = DWARFLineTable.lookup(address) { (path, line) } else { nil }
            #expect(found?.path == expected.path && found?.line == expected.line,
                    "\(frame): table \(String(describing: found)), runtime \(expected)")
            compared += 1
        }
        #expect(compared >= 3, "only \(compared) frames had lines to compare")
    }

    /// An address in no loaded file, and one in a file without line information, have no line.
    @Test func addressesWithoutLinesHaveNone() throws {
        func hasLine(_ address: UInt64) -> Bool { if case .line = DWARFLineTable.lookup(address) { true } else { false } }
        #expect(!hasLine(0x10))
        let strlen = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "strlen"))   // libc: no .debug_line
        #expect(!hasLine(UInt64(UInt(bitPattern: strlen))))
    }
}
