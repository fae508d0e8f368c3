import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// The thread count has one Swift spelling: nil for one thread per online core, otherwise at least 1.
/// Zero and negative counts are errors naming the value, at compile time and in `setThreads`.
@Suite struct ThreadOptionTests {
    static func graph() throws -> Graph {
        let w = Tensor.randn([8, 8], seed: 4)
        return try Tracer.trace(inputs: [("x", Tensor.randn([2, 8], seed: 1))], dynamicDims: []) { inputs in
            [("y", inputs["x"]!.matmul(w).relu())]
        }
    }

    @Test(arguments: [0, -1, -8])
    func compilingWithAThreadCountBelowOneThrows(_ threads: Int) throws {
        let graph = try Self.graph()
        #expect { try CompiledModel(graph: graph, name: "threads", options: CompileOptions(threads: threads)) } throws: { error in
            "\(error)".contains("got \(threads)")
        }
        let directory = NSTemporaryDirectory() + "threads-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect { try AOTCompiler.write(graph, name: "threads", to: directory, options: CompileOptions(threads: threads)) } throws: { error in
            "\(error)".contains("got \(threads)")
        }
    }

    @Test func setThreadsTakesNilOrAPositiveCount() throws {
        let graph = try Self.graph()
        let compiled = try CompiledModel(graph: graph, name: "threads", options: CompileOptions(threads: 1))
        let x = Tensor.randn([2, 8], seed: 7)
        let serial = try compiled(["x": x])["y"]!.toFloatArray()
        try compiled.setThreads(nil)
        #expect(try compiled(["x": x])["y"]!.toFloatArray() == serial)
        try compiled.setThreads(2)
        #expect(try compiled(["x": x])["y"]!.toFloatArray() == serial)
        for bad in [0, -3] {
            #expect { try compiled.setThreads(bad) } throws: { "\($0)".contains("got \(bad)") }
        }
        #expect(try compiled(["x": x])["y"]!.toFloatArray() == serial, "a refused count keeps the pool")
    }
}
