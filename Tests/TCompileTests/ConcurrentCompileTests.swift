import Foundation
import Testing
import TCompile

/// The JIT may compile several models at once in one process: each `TCompile.compile` has its own LLVM
/// context, target machine and JIT, so threads compiling different graphs neither crash nor mix up
/// their code.
@Suite struct ConcurrentCompileTests {
    /// A small graph whose result depends on `variant` through its shapes, ops and constants.
    static func graph(variant: Int) throws -> Graph {
        let width = 4 + 2 * variant
        let w = Tensor.randn([width, width], std: 0.5, seed: UInt64(10 + variant))
        let b = Tensor.randn([width], seed: UInt64(20 + variant))
        return try Tracer.trace(inputs: [("x", Tensor.randn([2, 4, width], seed: 1))],
                                dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 16)],
                                constants: ["w": w, "b": b]) { inputs in
            var h = (inputs["x"]!.matmul(w) + b)
            h = variant % 2 == 0 ? h.gelu() : h.tanh()
            let attention = h.matmul(h.transposed(-1, -2)).softmax(dim: -1).matmul(h)
            return [("y", (attention + h).layerNorm())]
        }
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var messages: [String] = []
        func add(_ m: String) { lock.lock(); messages.append(m); lock.unlock() }
    }

    @Test func sixThreadsCompileDifferentGraphsAtOnce() throws {
        let count = 6
        let graphs = try (0..<count).map { try Self.graph(variant: $0) }
        let failures = Failures()
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for i in 0..<count {
            group.enter()
            Thread {
                defer { group.leave() }
                start.wait()   // all threads start compiling together
                do {
                    let model = try TCompile.compile(graphs[i], name: "concurrent\(i)")
                    for seq in [1, 7, 16] {
                        let x = Tensor.randn([2, seq, 4 + 2 * i], seed: UInt64(seq))
                        let expected = try Interpreter(graph: graphs[i]).run(["x": x])["y"]!.toFloatArray()
                        let actual = try model(["x": x])["y"]!.toFloatArray()
                        if expected.count != actual.count || zip(expected, actual).contains(where: { Swift.abs($0 - $1) > 1e-4 * (1 + Swift.abs($0)) }) {
                            failures.add("graph \(i) at seq \(seq) differs from the interpreter")
                        }
                    }
                } catch {
                    failures.add("graph \(i): \(error)")
                }
            }.start()
        }
        for _ in 0..<count { start.signal() }
        group.wait()
        #expect(failures.messages.isEmpty, "\(failures.messages)")
    }
}
