import Foundation
import Testing
import TCompile

/// A second identical `tcompile` into the same directory writes nothing (`UpToDate`); into another
/// directory, or over an edited or deleted output, it restores the library from the cache; any change to
/// an input or the options compiles again. Every file written either way is the same bytes.
@Suite struct UpToDateTests {
    /// Runs tcompile with its own cache folder (the environment of this process is left alone: tests run in parallel).
    static func run(_ arguments: [String], cache: String, in directory: String? = nil) throws -> (status: Int32, output: String) {
        try CLITests.runProcess(CLITests.binary, arguments, environment: ["TCOMPILE_CACHE_DIR": cache], directory: directory)
    }

    /// Device and inode of each file of the library in `directory`.
    static func inodes(_ directory: String) -> [String: [UInt64]] {
        var result: [String: [UInt64]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            var info = stat()
            if stat(directory + "/" + name, &info) == 0 { result[name] = [UInt64(info.st_dev), UInt64(info.st_ino)] }
        }
        return result
    }

    /// The inputs were written just now: wait out the kernel's timestamp tick, as any compile started
    /// by a person would (a compile right after its input changed keeps no record: `UpToDate`).
    static func settle() { usleep(50_000) }

    @Test func aSecondCompileIsUpToDateUntilAnInputOutputOrOptionChanges() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = dir + "/cache", out = dir + "/out"
        let compile = [dir + "/model.json", "-o", out]
        Self.settle()
        let first = try Self.run(compile, cache: cache)
        #expect(first.status == 0 && first.output.contains("compiled in"), "\(first.output)")
        let written = Self.inodes(out)
        let bytes = try FileManager.default.contentsOfDirectory(atPath: out).map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }

        // The same command (-q and --time-report make no difference): nothing is written.
        let second = try Self.run(compile + ["-q", "--time-report"], cache: cache)
        #expect(second.status == 0 && second.output.contains("up-to-date check") && !second.output.contains("LLVM"), "\(second.output)")
        let verbose = try Self.run(compile, cache: cache)
        #expect(verbose.output.contains("up to date") && verbose.output.contains("kept \(out)/tiny_classifier.weights"), "\(verbose.output)")
        #expect(Self.inodes(out) == written)

        // An output edited: restored from the cache, to the same bytes. The weights file deleted: its unlink
        // moved the change time of the file the cache shares, which is then not trusted: compiled.
        try Data("edited".utf8).write(to: URL(fileURLWithPath: out + "/tiny_classifier.h"))
        let afterEdit = try Self.run(compile, cache: cache)
        #expect(afterEdit.status == 0 && afterEdit.output.contains("restored from the compile cache"), "\(afterEdit.output)")
        try FileManager.default.removeItem(atPath: out + "/tiny_classifier.weights")
        let afterDelete = try Self.run(compile, cache: cache)
        #expect(afterDelete.status == 0 && afterDelete.output.contains("compiled in"), "\(afterDelete.output)")
        let again = try FileManager.default.contentsOfDirectory(atPath: out).map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }
        #expect(Set(again) == Set(bytes))
        #expect(try Self.run(compile, cache: cache).output.contains("up to date"))

        // An input rewritten with the same bytes (its change time moves): compiled again.
        let constants = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".safetensors") } ?? "")
        try Data(contentsOf: URL(fileURLWithPath: constants)).write(to: URL(fileURLWithPath: constants))
        Self.settle()
        #expect(try Self.run(compile, cache: cache).output.contains("compiled in"))
        #expect(try Self.run(compile, cache: cache).output.contains("up to date"))

        // Another directory: restored from the record and the cache (the weights file linked), the same
        // bytes; then up to date there. With the cache's weights file gone, compiled.
        let restored = try Self.run(compile.dropLast() + [dir + "/elsewhere"], cache: cache)
        #expect(restored.status == 0 && restored.output.contains("restored from the compile cache")
                && restored.output.contains("wrote \(dir)/elsewhere/tiny_classifier.weights"), "\(restored.output)")
        for name in try FileManager.default.contentsOfDirectory(atPath: out) {
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)) == Data(contentsOf: URL(fileURLWithPath: dir + "/elsewhere/" + name)), "\(name)")
        }
        #expect(Self.inodes(dir + "/elsewhere")["tiny_classifier.weights"] == Self.inodes(out)["tiny_classifier.weights"])
        #expect(try Self.run(compile.dropLast() + [dir + "/elsewhere"], cache: cache).output.contains("up to date"))
        for name in try FileManager.default.contentsOfDirectory(atPath: cache) where name.hasSuffix(".weights") {
            try FileManager.default.removeItem(atPath: cache + "/" + name)
        }
        #expect(try Self.run(compile.dropLast() + [dir + "/third"], cache: cache).output.contains("compiled in"))

        // Other options, --no-cache, --dump-after: compiled (and the record of the first options still holds after --no-cache).
        #expect(try Self.run(compile + ["-O1"], cache: cache).output.contains("compiled in"))
        #expect(try Self.run(compile + ["-O1"], cache: cache).output.contains("up to date"))
        #expect(try Self.run(compile + ["-O1", "--no-cache"], cache: cache).output.contains("compiled in"))
        #expect(try Self.run(compile + ["-O1", "--dump-after", "all"], cache: cache).output.contains("compiled in"))
        // No cache folder (TCOMPILE_CACHE_DIR empty): no record either.
        #expect(try Self.run(compile, cache: "").output.contains("compiled in"))
    }

    /// A corrupted or truncated record reads as none: the compile runs and writes a good one.
    @Test func aCorruptedRecordIsIgnored() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = dir + "/cache", compile = [dir + "/model.json", "-o", dir + "/out", "-q"]
        Self.settle()
        #expect(try Self.run(compile, cache: cache).status == 0)
        let records = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(UpToDate.suffix) }
        #expect(records.count == 1)
        let path = cache + "/" + records[0]
        var record = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        record[record.count / 2] ^= 0x55
        try Data(record).write(to: URL(fileURLWithPath: path))
        #expect(try Self.run(compile + ["--time-report"], cache: cache).output.contains("weight packing"))
        try Data(record.prefix(40)).write(to: URL(fileURLWithPath: path))
        #expect(try Self.run(compile + ["--time-report"], cache: cache).output.contains("weight packing"))
        #expect(try Self.run(compile + ["--time-report"], cache: cache).output.contains("up-to-date check"))
    }

    /// A generating library from a checkpoint folder, and from a manifest whose checkpoint is a symlink:
    /// up to date the second time; a file added to the checkpoint folder compiles again.
    @Test func generatingLibrariesFromFoldersAndManifests() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcompile-uptodate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixture = GeneratorLibraryTests.fixtures.appendingPathComponent("gpt2-lm").path
        try FileManager.default.copyItem(atPath: fixture, toPath: dir + "/checkpoint")
        let manifest = #"{"format": "tcompile.model/2", "name": "tiny", "checkpoint": "link", "task": "text-generation", "dynamic_dims": {"batch": {"max": 1}, "seq": {"max": 24}}}"#
        try manifest.write(toFile: dir + "/model.json", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/checkpoint")
        let cache = dir + "/cache"
        Self.settle()
        for compile in [[dir + "/checkpoint", "--generate", "--max-seq", "20", "-o", "lib-c"], ["model.json", "--generate", "-o", "lib-m"]] {
            let first = try Self.run(compile, cache: cache, in: dir)
            #expect(first.status == 0 && first.output.contains("compiled in"), "\(first.output)")
            #expect(try Self.run(compile, cache: cache, in: dir).output.contains("up to date"))
        }
        // The checkpoint folder gains a file: both libraries compile again (the manifest reads it through the link).
        try "{}".write(toFile: dir + "/checkpoint/extra.json", atomically: true, encoding: .utf8)
        Self.settle()
        #expect(try Self.run([dir + "/checkpoint", "--generate", "--max-seq", "20", "-o", "lib-c"], cache: cache, in: dir).output.contains("compiled in"))
        #expect(try Self.run(["model.json", "--generate", "-o", "lib-m"], cache: cache, in: dir).output.contains("compiled in"))
    }
}
