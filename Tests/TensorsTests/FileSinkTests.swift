import Foundation
import Testing
@testable import Tensors

/// `FileSink` and streamed `FileContent`: what is written is exactly the bytes given, however they are
/// split, through `O_DIRECT` (ext4 and most disks) and through ordinary writes (tmpfs refuses it).
@Suite struct FileSinkTests {
    /// Pieces of awkward sizes (empty, one byte, a block less one, more than the 8 MiB buffer) and runs
    /// of zeros, on every folder kind the machine has.
    @Test func writesExactlyTheBytesGiven() throws {
        var generator = SystemRandomNumberGenerator()
        let sizes = [0, 1, 4095, 4097, (8 << 20) + 3, 17, 0, 65536]
        let pieces = sizes.map { n in (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        let zeros = [3, 0, 8 << 20]
        var expected: [UInt8] = []
        for (i, p) in pieces.enumerated() {
            expected += p
            if i < zeros.count { expected += [UInt8](repeating: 0, count: zeros[i]) }
        }
        var folders = [FileManager.default.temporaryDirectory.path]
        if FileManager.default.fileExists(atPath: "/dev/shm") { folders.append("/dev/shm") }
        for folder in folders {
            let path = folder + "/sink-\(UUID()).bin"
            defer { unlink(path) }
            try writeFilesAtomically([(path: path, content: FileContent.stream { sink in
                for (i, p) in pieces.enumerated() {
                    try sink.write(p)
                    if i < zeros.count { try sink.writeZeros(zeros[i]) }
                }
                #expect(sink.count == expected.count)
            })])
            let written = try #require(FileManager.default.contents(atPath: path))
            #expect(written.count == expected.count, "\(folder)")
            #expect([UInt8](written) == expected, "\(folder)")
        }
    }

    /// A file of several buffers is written in the background; a header overwritten at the end (as the
    /// weights file's hash is) lands both in bytes already on disk and in bytes still buffered.
    @Test func overwritesBytesAlreadyWrittenAndStillBuffered() throws {
        let total = (8 << 20) * 2 + 12345
        var expected = [UInt8](repeating: 0, count: total)
        expected.withUnsafeMutableBufferPointer { bytes in   // a pattern that differs from block to block
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 11) }
        }
        let early = [UInt8](repeating: 0xAB, count: 100), late = [UInt8](repeating: 0xCD, count: 50)
        let path = FileManager.default.temporaryDirectory.path + "/sink-\(UUID()).bin"
        defer { unlink(path) }
        try writeFilesAtomically([(path: path, content: FileContent.stream { sink in
            var offset = 0
            while offset < total {
                let n = min(1_000_003, total - offset)
                try expected[offset..<offset + n].withUnsafeBytes { try sink.write($0) }
                offset += n
            }
            try sink.overwrite(early, at: 4000)
            try sink.overwrite(late, at: total - 60)
        })])
        expected.replaceSubrange(4000..<4100, with: early)
        expected.replaceSubrange(total - 60..<total - 10, with: late)
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect([UInt8](written) == expected)
    }

    /// A producer that fails leaves no file, and the error names the file.
    @Test func aFailingProducerLeavesNothing() throws {
        let path = FileManager.default.temporaryDirectory.path + "/sink-\(UUID()).bin"
        struct Refused: Error {}
        #expect(throws: FileWriteError.self) {
            try writeFilesAtomically([(path: path, content: FileContent.stream { sink in
                try sink.write([1, 2, 3])
                throw Refused()
            })])
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        let hidden = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix(".sink-") }
        #expect(hidden.isEmpty, "\(hidden)")
    }

    /// Replacing a file (`replaceFile`, by exchange where the old one is a regular file): the new bytes
    /// in place, no hidden file left, another hard link to the old file keeping the old bytes; a folder
    /// in the way is refused and left as it was; a missing target is created.
    @Test func replacesFilesAndNothingElse() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replace-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/file.bin", other = folder + "/other-link.bin"
        try writeFileAtomically(Data([1, 2, 3]), to: path)
        #expect(link(path, other) == 0)
        try writeFilesAtomically([(path: path, data: Data([4, 5]))])
        #expect(FileManager.default.contents(atPath: path) == Data([4, 5]))
        #expect(FileManager.default.contents(atPath: other) == Data([1, 2, 3]))
        let folderInTheWay = folder + "/sub"
        try FileManager.default.createDirectory(atPath: folderInTheWay, withIntermediateDirectories: false)
        try Data([9]).write(to: URL(fileURLWithPath: folderInTheWay + "/kept"))
        #expect(throws: FileWriteError.self) { try writeFileAtomically(Data([7]), to: folderInTheWay) }
        #expect(FileManager.default.contents(atPath: folderInTheWay + "/kept") == Data([9]))
        try writeFileAtomically(Data([8]), to: folder + "/new.bin")
        #expect(FileManager.default.contents(atPath: folder + "/new.bin") == Data([8]))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["file.bin", "new.bin", "other-link.bin", "sub"])
    }
}
