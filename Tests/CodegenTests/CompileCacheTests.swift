import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// The JIT's compile cache: a second compile of the same graph reads the machine code back and gives the
/// same results; a different graph, weights-independent code, corrupted, truncated and foreign entries,
/// and the size bound behave as `CompileCache` documents.
@Suite struct CompileCacheTests {
    static func graph(width: Int = 8, seed: UInt64 = 4) throws -> Graph {
        let w = Tensor.randn([width, width], seed: seed)
        return try Tracer.trace(inputs: [("x", Tensor.randn([2, width], seed: 1))], dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "batch", max: 6)]) { inputs in
            [("y", inputs["x"]!.matmul(w).gelu().softmax(dim: -1))]
        }
    }

    static func withCache<R>(_ body: (CompileCache) throws -> R) throws -> R {
        let directory = NSTemporaryDirectory() + "cache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(CompileCache(directory: directory))
    }

    static func entries(_ cache: CompileCache) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cache.directory)) ?? []).filter { $0.hasSuffix(".tco") }.sorted()
    }

    @Test func aSecondCompileReadsTheCacheAndAgrees() throws {
        try Self.withCache { cache in
            let graph = try Self.graph()
            let options = CompileOptions(threads: 1, cache: cache)
            let x = Tensor.randn([3, 8], seed: 9)
            let cold = try CompiledModel(graph: graph, name: "cached", options: options)
            #expect(!cold.cacheHit)
            #expect(Self.entries(cache).count == 1)
            let warm = try CompiledModel(graph: graph, name: "cached", options: options)
            #expect(warm.cacheHit)
            #expect(try warm(["x": x])["y"]!.toFloatArray() == cold(["x": x])["y"]!.toFloatArray())
            #expect(warm.signature.constantNames == cold.signature.constantNames)
            #expect(warm.signature.workspaceBytes == cold.signature.workspaceBytes)
            // Another name, another optimization level or another graph is another entry.
            #expect(!(try CompiledModel(graph: graph, name: "other", options: options)).cacheHit)
            #expect(!(try CompiledModel(graph: graph, name: "cached", options: CompileOptions(optimizationLevel: 1, threads: 1, cache: cache))).cacheHit)
            #expect(!(try CompiledModel(graph: try Self.graph(width: 9), name: "cached", options: options)).cacheHit)
            #expect(Self.entries(cache).count == 4)
            // No cache: never a hit, nothing written.
            #expect(!(try CompiledModel(graph: graph, name: "cached", options: CompileOptions(threads: 1, cache: nil))).cacheHit)
        }
    }

    @Test func otherWeightsOfTheSameShapeReuseTheCodeWithTheirOwnValues() throws {
        try Self.withCache { cache in
            let options = CompileOptions(threads: 1, cache: cache)
            let x = Tensor.randn([2, 8], seed: 3)
            let a = try CompiledModel(graph: try Self.graph(seed: 4), name: "w", options: options)
            let b = try CompiledModel(graph: try Self.graph(seed: 5), name: "w", options: options)
            #expect(b.cacheHit)
            let expected = try Interpreter(graph: try Self.graph(seed: 5)).run(["x": x])["y"]!.toFloatArray()
            let got = try b(["x": x])["y"]!.toFloatArray()
            #expect(zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-5 })
            #expect(try a(["x": x])["y"]!.toFloatArray() != got)
        }
    }

    @Test(arguments: ["flip", "truncate", "empty", "foreign"])
    func damagedEntriesAreIgnoredAndRebuilt(_ damage: String) throws {
        try Self.withCache { cache in
            let graph = try Self.graph()
            let options = CompileOptions(threads: 1, cache: cache)
            let x = Tensor.randn([2, 8], seed: 9)
            let reference = try CompiledModel(graph: graph, name: "damaged", options: options)(["x": x])["y"]!.toFloatArray()
            let path = cache.path(CompileCache.key(graph, name: "damaged", options: options))
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            switch damage {
            case "flip": bytes[bytes.count / 2] ^= 0x40
            case "truncate": bytes.removeLast(bytes.count / 3)
            case "empty": bytes = []
            default:  // a whole, valid entry written for another key
                _ = try CompiledModel(graph: try Self.graph(width: 9), name: "damaged", options: options)
                let other = cache.path(CompileCache.key(try Self.graph(width: 9), name: "damaged", options: options))
                bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: other)))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let rebuilt = try CompiledModel(graph: graph, name: "damaged", options: options)
            #expect(!rebuilt.cacheHit)
            #expect(try rebuilt(["x": x])["y"]!.toFloatArray() == reference)
            #expect(try CompiledModel(graph: graph, name: "damaged", options: options).cacheHit, "the entry was rewritten")
        }
    }

    @Test func entriesRoundTripAndTheFolderIsTrimmedLeastRecentlyUsedFirst() throws {
        let signature = RunSignature(name: "k", constants: [ConstantSlot(name: "w\n1", panels: .f32), ConstantSlot(name: "b", panels: nil), ConstantSlot(name: "v", panels: .bf16)],
                                     workspaceBytes: 4096, taskScratchBytes: 64)
        let entry = CompileCache.Entry(signature: signature, objects: [ParallelCodegen.Object(bytes: Array(repeating: 7, count: 1000), symbols: ["k", "k.task0"]),
                                                                       ParallelCodegen.Object(bytes: [1, 2, 3], symbols: [])])
        let encoded = CompileCache.encode(entry, key: "abc")
        let decoded = try #require(CompileCache.decode(encoded, key: "abc"))
        #expect(decoded.objects.map(\.bytes) == entry.objects.map(\.bytes) && decoded.objects.map(\.symbols) == entry.objects.map(\.symbols))
        #expect(decoded.signature.constants == signature.constants)
        #expect(decoded.signature.workspaceBytes == 4096 && decoded.signature.taskScratchBytes == 64 && decoded.signature.name == "k")
        #expect(CompileCache.decode(encoded, key: "abd") == nil)
        for cut in [0, 1, 20, encoded.count / 2, encoded.count - 1] {
            #expect(CompileCache.decode(Array(encoded.prefix(cut)), key: "abc") == nil)
        }
        try Self.withCache { base in
            var cache = base
            cache.maximumBytes = 2 * encoded.count + 10
            for (i, key) in ["a", "b", "c"].enumerated() {
                cache.store(entry, key: key)
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: Double(i - 100))],
                                                      ofItemAtPath: cache.path(key))
            }
            // Storing "c" trimmed "a", the oldest. Reading "b" makes it the most recent, so "c" goes next.
            #expect(Self.entries(cache) == ["b.tco", "c.tco"])
            #expect(cache.load("b") != nil)
            cache.store(entry, key: "d")
            #expect(Self.entries(cache) == ["b.tco", "d.tco"])
        }
    }
}
