import Foundation
import Testing
@testable import Tensors

/// Inputs the safetensors fuzzer (Fuzz/, scripts/fuzz.sh) found crashing the reader, committed in
/// Fixtures/fuzz/: each must now give a `SafeTensorsError`, never a trap.
@Suite struct FuzzRegressionTests {
    static var cases: [String] {
        let directory = Bundle.module.url(forResource: "Fixtures/fuzz", withExtension: nil)!.path
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { directory + "/" + $0 }
    }

    @Test func everyCrashingInputIsNowAnError() throws {
        #expect(!Self.cases.isEmpty)
        for path in Self.cases {
            #expect(throws: SafeTensorsError.self, "\((path as NSString).lastPathComponent)") {
                let file = try SafeTensorsFile(path: path)
                _ = try file.tensors()
            }
        }
    }

    /// The first finding: a header size above Int.max (here 0xD000_0000_0000_01D0) trapped in the
    /// UInt64 → Int conversion before the size was compared with the file's.
    @Test func headerSizeAboveIntMaxIsAnError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("huge-header-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = [UInt8](repeating: 0xFF, count: 8) + Array("{}".utf8)
        bytes[7] = 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
    }
}
