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
            let found = DWARFLineTable.location(of: address)
            #expect(found?.path == expected.path && found?.line == expected.line,
                    "\(frame): table \(String(describing: found)), runtime \(expected)")
            compared += 1
        }
        #expect(compared >= 3, "only \(compared) frames had lines to compare")
    }

    /// An address in no loaded file, and one in a file without line information, have no line.
    @Test func addressesWithoutLinesHaveNone() throws {
        #expect(DWARFLineTable.location(of: 0x10) == nil)
        let strlen = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "strlen"))   // libc: no .debug_line
        #expect(DWARFLineTable.location(of: UInt64(UInt(bitPattern: strlen))) == nil)
    }
}
