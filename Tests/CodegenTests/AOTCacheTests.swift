import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// The compile cache for AOT libraries: a cached compile skips LLVM and writes the same bytes as a
/// cold one; a checkpoint retrained to other values reuses the code object (only the library's data
/// object and the weights differ) and computes with its own values; a corrupted or foreign entry is
/// ignored and rebuilt.
@Suite(.serialized) struct AOTCacheTests {
    /// A cache folder of its own, removed afterwards.
    func withCache(_ body: (CompileCache) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aot-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(CompileCache(directory: directory))
    }

    func compile(_ graph: Graph, cache: CompileCache?, emit: EmitKinds = [.object]) throws -> (dir: String, output: AOTCompiler.Output) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path
        let output = try AOTCompiler.write(graph, name: "tiny", to: dir, options: CompileOptions(cache: cache), emit: emit)
        return (dir, output)
    }

    func usedLLVM(_ output: AOTCompiler.Output) -> Bool { output.times.phases.contains { $0.name == "LLVM optimization" } }

    @Test func aCachedCompileSkipsLLVMAndWritesTheSameBytes() throws {
        // The library alone (code objects of the partitions) and with `--emit obj` (one object).
        for emit: EmitKinds in [[], [.object]] { try withCache { cache in
            let cold = try compile(try AOTTests.graph(), cache: cache, emit: emit)
            let warm = try compile(try AOTTests.graph(), cache: cache, emit: emit)
            let uncached = try compile(try AOTTests.graph(), cache: nil, emit: emit)
            defer { for d in [cold.dir, warm.dir, uncached.dir] { try? FileManager.default.removeItem(atPath: d) } }
            #expect(usedLLVM(cold.output) && !usedLLVM(warm.output) && usedLLVM(uncached.output))
            for file in cold.output.files {
                let name = (file as NSString).lastPathComponent
                #expect(FileManager.default.contentsEqual(atPath: file, andPath: warm.dir + "/" + name), "cached: \(name)")
                #expect(FileManager.default.contentsEqual(atPath: file, andPath: uncached.dir + "/" + name), "uncached: \(name)")
            }
        } }
        try withCache { cache in
            let cold = try compile(try AOTTests.graph(), cache: cache)
            defer { try? FileManager.default.removeItem(atPath: cold.dir) }
            // LLVM IR output needs the module: compiled, and still the same library.
            let withIR = try compile(try AOTTests.graph(), cache: cache, emit: [.object, .llvmIR])
            defer { try? FileManager.default.removeItem(atPath: withIR.dir) }
            #expect(usedLLVM(withIR.output))
            #expect(FileManager.default.contentsEqual(atPath: cold.dir + "/libtiny.a", andPath: withIR.dir + "/libtiny.a"))
        }
    }

    /// While LLVM compiles, the weights file is written beside it (`StagedWeights`) into a hidden file
    /// next to the output directory and linked in: the same bytes as the file streamed after a cached
    /// compile, and no hidden file left behind.
    @Test func weightsWrittenBesideLLVMAreTheStreamedBytesAndLeaveNothing() throws {
        try withCache { cache in
            let parent = FileManager.default.temporaryDirectory.appendingPathComponent("aot-parent-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: parent) }
            let cold = try AOTCompiler.write(try AOTTests.graph(), name: "tiny", to: parent + "/cold", options: CompileOptions(cache: cache))
            let warm = try AOTCompiler.write(try AOTTests.graph(), name: "tiny", to: parent + "/warm", options: CompileOptions(cache: cache))
            #expect(usedLLVM(cold) && !usedLLVM(warm))
            #expect(cold.times.beside.map(\.name) == ["weight packing and writing"], "written beside LLVM")
            #expect(!cold.times.phases.contains { $0.name == "weight packing and writing" })
            #expect(warm.times.beside.isEmpty && warm.times.phases.contains { $0.name == "weight packing and writing" }, "streamed")
            #expect(cold.times.report.contains("beside the phases above"))
            #expect(FileManager.default.contentsEqual(atPath: parent + "/cold/tiny.weights", andPath: parent + "/warm/tiny.weights"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: parent).sorted() == ["cold", "warm"])
        }
    }

    /// A `--cpu multi` library caches each CPU's copy: the warm compile skips LLVM and writes the same bytes.
    @Test func aCachedMultiLibraryIsTheSameBytes() throws {
        try withCache { cache in
            let options = CompileOptions(cache: cache, variants: HostTarget.multi(precision: .fp32))
            let dirs = (0..<2).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path }
            defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
            let cold = try AOTCompiler.write(try AOTTests.graph(), name: "tiny", to: dirs[0], options: options)
            let warm = try AOTCompiler.write(try AOTTests.graph(), name: "tiny", to: dirs[1], options: options)
            #expect(usedLLVM(cold) && !usedLLVM(warm))
            #expect(try FileManager.default.contentsOfDirectory(atPath: cache.directory).filter { $0.hasSuffix(".tco") }.count == 3)
            for file in cold.files {
                let name = (file as NSString).lastPathComponent
                #expect(FileManager.default.contentsEqual(atPath: file, andPath: dirs[1] + "/" + name), "cached: \(name)")
            }
        }
    }

    /// Same architecture, other values: a hit, and the C program computes with the new values.
    @Test func aRetrainedCheckpointReusesTheCodeWithItsOwnValues() throws {
        let table = Tensor.randn([10, 6], seed: 77), projection = Tensor.randn([6, 6], std: 0.4, seed: 78)
        let retrained = try AOTTests.graph(table: table, projection: projection)
        #expect(TextFormat.print(retrained) == TextFormat.print(try AOTTests.graph()), "the same graph, other constants")
        try withCache { cache in
            let first = try compile(try AOTTests.graph(), cache: cache)
            let second = try compile(retrained, cache: cache)
            defer { try? FileManager.default.removeItem(atPath: first.dir); try? FileManager.default.removeItem(atPath: second.dir) }
            #expect(!usedLLVM(second.output))
            #expect(FileManager.default.contentsEqual(atPath: first.dir + "/tiny.o", andPath: second.dir + "/tiny.o"), "one code object")
            try AOTTests.program.write(toFile: second.dir + "/main.c", atomically: true, encoding: .utf8)
            let log = try AOTTests.shell("cd \(second.dir) && cc -std=c11 -Wall -Werror -o app main.c -L. -ltiny -lm 2>&1")
            #expect(log.isEmpty, "cc: \(log)")
            let ids = Tensor([3, 1, 4, 1, 5, 9], shape: [2, 3])
            let expected = try Interpreter(graph: retrained).run(["input_ids": ids])
            let output = try AOTTests.shell("\(second.dir)/app \(second.dir)/tiny.weights 2 3 3 1 4 1 5 9")
            let values = output.split(whereSeparator: \.isWhitespace).dropFirst().prefix(while: { $0 != "null" }).compactMap { Float($0) }
            let reference = expected["hidden"]!.toFloatArray() + expected["pooled"]!.toFloatArray()
            #expect(values.count == reference.count, "\(output.prefix(120))")
            for (a, e) in zip(values, reference) { #expect(Swift.abs(a - e) <= 1e-4 * (1 + Swift.abs(e))) }
            // The first build's weights are refused by the second library: the header lives in its data object.
            #expect(try AOTTests.shell("\(second.dir)/app \(first.dir)/tiny.weights 2 3 3 1 4 1 5 9").hasPrefix("create 6"))
        }
    }

    /// A damaged entry, and another key's entry under this key's name, are ignored and rebuilt.
    @Test func damagedOrForeignEntriesAreRebuilt() throws {
        try withCache { cache in
            let first = try compile(try AOTTests.graph(), cache: cache)
            defer { try? FileManager.default.removeItem(atPath: first.dir) }
            let entries = try FileManager.default.contentsOfDirectory(atPath: cache.directory).filter { $0.hasSuffix(".tco") }
            #expect(entries.count == 1)
            let path = cache.directory + "/" + entries[0]
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count / 2] ^= 0xff
            try bytes.write(to: URL(fileURLWithPath: path))
            let damaged = try compile(try AOTTests.graph(), cache: cache)
            defer { try? FileManager.default.removeItem(atPath: damaged.dir) }
            #expect(usedLLVM(damaged.output))
            #expect(FileManager.default.contentsEqual(atPath: first.dir + "/libtiny.a", andPath: damaged.dir + "/libtiny.a"))
            // Another graph's entry renamed to this graph's key.
            let other = try compile(try Tracer.trace(inputs: [("x", Tensor.randn([2, 3], seed: 1))], dynamicDims: []) { inputs in [("y", inputs["x"]!.relu())] }, cache: cache)
            defer { try? FileManager.default.removeItem(atPath: other.dir) }
            let all = try FileManager.default.contentsOfDirectory(atPath: cache.directory).filter { $0.hasSuffix(".tco") }
            let foreign = try #require(all.first { $0 != entries[0] })
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: cache.directory + "/" + foreign, toPath: path)
            let again = try compile(try AOTTests.graph(), cache: cache)
            defer { try? FileManager.default.removeItem(atPath: again.dir) }
            #expect(usedLLVM(again.output))
            #expect(FileManager.default.contentsEqual(atPath: first.dir + "/libtiny.a", andPath: again.dir + "/libtiny.a"))
        }
    }
}
