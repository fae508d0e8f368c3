import Foundation
import Testing
@testable import Graph

/// The source lines read from a binary's DWARF (`DWARFLineTable`: the line table's innermost row, then
/// each inlined call site outward) equal what LLVM's `llvm-symbolizer --inlines` says of the same
/// addresses: the symbolizer is the independent reference, run on this test binary's own file.
@Suite struct DWARFLineTableTests {
    /// `llvm-symbolizer` of LLVM 19 (installed with `llvm-19-dev`), or nil.
    static let symbolizer: String? = ["/usr/lib/llvm-19/bin/llvm-symbolizer", "/usr/bin/llvm-symbolizer-19", "/usr/bin/llvm-symbolizer"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: symbolizer != nil, "llvm-symbolizer is not installed"))
    func linesAndInlinedCallsEqualLLVMSymbolizer() throws {
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let samples = DWARFLineTable.sampleAddresses(inFile: binary, inlinedLimit: .max, rowStride: 997)
        #expect(samples.inlined.count >= 1000, "only \(samples.inlined.count) inlined calls found")
        // The first instructions of 1,500 inlined calls spread over the file, and rows over the whole line table.
        let step = max(1, samples.inlined.count / 1500)
        let addresses = Swift.stride(from: 0, to: samples.inlined.count, by: step).map { samples.inlined[$0] } + samples.rows

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.symbolizer))
        process.arguments = ["--obj=\(binary)", "--inlines", "--output-style=JSON"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let text = addresses.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
        let writer = Thread { input.fileHandleForWriting.write(Data(text.utf8)); try? input.fileHandleForWriting.close() }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let answers = String(decoding: data, as: UTF8.self).split(separator: "\n")
        try #require(answers.count == addresses.count, "llvm-symbolizer answered \(answers.count) of \(addresses.count) addresses")

        var compared = 0, withInlinedFrames = 0, mismatches = 0
        for (address, answer) in zip(addresses, answers) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
            let symbols = object["Symbol"] as? [[String: Any]] ?? []
            let expected = symbols.compactMap { s -> String? in
                guard let line = s["Line"] as? Int, line > 0, let file = s["FileName"] as? String else { return nil }
                return "\(file):\(line)"
            }
            var found: [String] = []
            if case .lines(let lines) = DWARFLineTable.lookup(linkTimeAddress: address, inFile: binary) {
                found = lines.filter { $0.line > 0 }.map { "\($0.path):\($0.line)" }
            }
            guard !expected.isEmpty else { continue }
            compared += 1
            if expected.count > 1 { withInlinedFrames += 1 }
            if found != expected {
                mismatches += 1
                if mismatches <= 10 { Issue.record("0x\(String(address, radix: 16)): table \(found), llvm-symbolizer \(expected)") }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(compared) addresses differ")
        #expect(compared >= 300, "only \(compared) addresses had lines to compare")
        #expect(withInlinedFrames >= 200, "only \(withInlinedFrames) addresses had inlined frames")
    }

    /// An address in no loaded file, and one in a file without line information, have no line.
    @Test func addressesWithoutLinesHaveNone() throws {
        func hasLine(_ address: UInt64) -> Bool {
            if case .lines(let lines) = DWARFLineTable.lookup(address) { lines.contains { $0.line > 0 } } else { false }
        }
        #expect(!hasLine(0x10))
        let strlen = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "strlen"))   // libc: no .debug_line
        #expect(!hasLine(UInt64(UInt(bitPattern: strlen))))
    }
}
