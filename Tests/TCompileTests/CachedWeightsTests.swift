import Foundation
import Testing
import TCompile

/// The same model compiled into a second directory links the weights file the first compile wrote and
/// the cache kept (`CachedWeights`) instead of writing it again; an edited weights file, another
/// checkpoint or a damaged record is never reused.
@Suite struct CachedWeightsTests {
    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func aSecondDirectoryLinksTheCachedWeights() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = dir + "/cache"
        UpToDateTests.settle()
        let first = try UpToDateTests.run([dir + "/model.json", "-o", dir + "/a", "-q"], cache: cache)
        #expect(first.status == 0, "\(first.output)")
        let reference = try Self.bytes(dir + "/a/tiny_classifier.weights")

        // Another directory, and another command (`--emit ir` is not restored from the first one's record,
        // but has the same code and weights): the same file, linked (no packing), the other files the same bytes.
        let second = try UpToDateTests.run([dir + "/model.json", "-o", dir + "/b", "--emit", "ir", "--time-report"], cache: cache)
        #expect(second.status == 0 && second.output.contains("weights cache lookup"), "\(second.output)")
        #expect(Self.inode(dir + "/b/tiny_classifier.weights") == Self.inode(dir + "/a/tiny_classifier.weights"))
        for file in ["libtiny_classifier.a", "tiny_classifier.h", "module.modulemap"] {
            #expect(try Self.bytes(dir + "/a/" + file) == Self.bytes(dir + "/b/" + file), "\(file)")
        }

        // A linked file edited in place (here through b): dropped from the cache, c gets a new file with
        // the model's own weights (and a and b keep the edit, which their libraries refuse: another hash).
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/b/tiny_classifier.weights"))
        try handle.seekToEnd()
        try handle.seek(toOffset: UInt64(reference.count - 4))
        try handle.write(contentsOf: Data([1, 2, 3, 4]))
        try handle.close()
        let third = try UpToDateTests.run([dir + "/model.json", "-o", dir + "/c", "-q", "--emit", "dot"], cache: cache)
        #expect(third.status == 0, "\(third.output)")
        #expect(Self.inode(dir + "/c/tiny_classifier.weights") != Self.inode(dir + "/a/tiny_classifier.weights"))
        #expect(try Self.bytes(dir + "/c/tiny_classifier.weights") == reference)

        // A damaged record: not reused, written afresh, same bytes.
        let records = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".tcw") }
        #expect(records.count == 1)
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: cache + "/" + records[0]))
        #expect(try UpToDateTests.run([dir + "/model.json", "-o", dir + "/d", "-q", "--emit", "ir,dot"], cache: cache).status == 0)
        #expect(Self.inode(dir + "/d/tiny_classifier.weights") != Self.inode(dir + "/c/tiny_classifier.weights"))
        #expect(try Self.bytes(dir + "/d/tiny_classifier.weights") == reference)
    }

    /// Other weights of the same architecture (the constants file replaced): the code is reused, the
    /// weights are not.
    @Test func otherWeightsAreNeverTheCachedOnes() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = dir + "/cache"
        UpToDateTests.settle()
        #expect(try UpToDateTests.run([dir + "/model.json", "-o", dir + "/a", "-q"], cache: cache).status == 0)
        let constants = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".safetensors") })
        var tensors = try SafeTensorsFile(path: dir + "/" + constants).tensors()
        for (name, tensor) in tensors { tensors[name] = tensor * 2 }
        try SafeTensors.write(tensors, to: dir + "/" + constants)
        UpToDateTests.settle()
        let other = try UpToDateTests.run([dir + "/model.json", "-o", dir + "/b", "--time-report"], cache: cache)
        #expect(other.status == 0 && other.output.contains("compile cache lookup") && !other.output.contains("LLVM optimization"), "\(other.output)")
        #expect(Self.inode(dir + "/b/tiny_classifier.weights") != Self.inode(dir + "/a/tiny_classifier.weights"))
        #expect(try Self.bytes(dir + "/b/tiny_classifier.weights") != Self.bytes(dir + "/a/tiny_classifier.weights"))
    }
}
