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

/// The pool's hand-over between consecutive parallel loops under contention: loops of growing task
/// counts, more threads than cores and a core kept busy, so that workers often arrive late for a loop the
/// caller has already finished or is publishing the next of. Every call must give the serial result. (A
/// worker entering a finished loop late could once claim a task of the next loop at the old loop's index
/// when the caller was preempted while publishing it; `ThreadPoolIR.parallel` now moves the task counter
/// to the new generation first. That window is a few instructions wide, and this test did not hit it in
/// three runs of the old code: it guards the hand-over in general, not that interleaving.)
@Suite struct PoolHandOverTests {
    @Test func consecutiveLoopsOfGrowingTaskCountsAgreeWithSerial() throws {
        let widths = [32, 96, 224, 480]   // 1, 3, 7 and 15 panels: each loop has more tasks than the last
        var weights: [Tensor] = []
        var previous = 16
        for (i, width) in widths.enumerated() {
            weights.append(Tensor.randn([previous, width], std: 0.2, seed: UInt64(10 + i)))
            previous = width
        }
        let graph = try Tracer.trace(inputs: [("x", Tensor.randn([70, 16], seed: 1))], dynamicDims: []) { inputs in
            var h = inputs["x"]!
            for w in weights { h = h.matmul(w).relu().mean(dim: 1, keepDim: true) * h.sum(dim: 1, keepDim: true).sigmoid() + h.matmul(w) }
            return [("y", h)]
        }
        let compiled = try CompiledModel(graph: graph, name: "handover", options: CompileOptions(threads: 1, cache: nil))
        let x = Tensor.randn([70, 16], seed: 3)
        let serial = try compiled(["x": x])["y"]!.toFloatArray()
        try compiled.setThreads(3)
        let stop = LockedFlag()
        let busy = Thread { var v = 0.0; while !stop.value { v += 1 }; _ = v }
        busy.start()
        defer { stop.set() }
        for call in 0..<400 {
            let y = try compiled(["x": x])["y"]!.toFloatArray()
            if y != serial {
                Issue.record("call \(call): the parallel result differs from the serial one")
                return
            }
        }
    }
}

/// A flag one thread sets and another polls.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
    func set() { lock.lock(); flag = true; lock.unlock() }
}
