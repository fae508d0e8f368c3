import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// One compiled model called from several threads (each call has its own workspace) gives the same
/// answers as sequential calls; several JIT compilations may run at once.
@Suite struct ConcurrencyTests {
    static func graph(width: Int) throws -> Graph {
        let w = Tensor.randn([width, width], seed: UInt64(width))
        return try Tracer.trace(inputs: [("x", Tensor.randn([2, 4, width], seed: 1))],
                                dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 32)]) { inputs in
            let h = inputs["x"]!.matmul(w).gelu()
            return [("y", h.matmul(h.transposed(-1, -2)).softmax(dim: -1).matmul(h).layerNorm())]
        }
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int: [Float]] = [:]
        func set(_ i: Int, _ v: [Float]) { lock.lock(); values[i] = v; lock.unlock() }
        func get(_ i: Int) -> [Float]? { lock.lock(); defer { lock.unlock() }; return values[i] }
    }

    /// Runs `body(thread)` on `count` dedicated threads at once and waits for all of them.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for t in 0..<count {
            group.enter()
            let thread = Thread { body(t); group.leave() }
            thread.stackSize = 1 << 22
            thread.start()
        }
        group.wait()
    }

    /// A bounded soak: 8 threads × 1,250 calls (10,000 calls) on one compiled model, every call with
    /// its own workspace and inputs of varying sequence length; every result is bit-identical to the
    /// single-threaded call on the same inputs.
    @Test func soakEightThreadsTenThousandCalls() throws {
        let compiled = try CompiledModel(graph: try Self.graph(width: 8))
        let inputs = (0..<8).map { ["x": Tensor.randn([2, 1 + $0 * 4, 8], seed: UInt64(100 + $0))] }
        let sequential = try inputs.map { try compiled($0)["y"]!.toFloatArray() }
        let results = Results()
        let threads = 8, callsPerThread = 1_250
        Self.onThreads(threads) { t in
            var mismatches: [Float] = []
            for call in 0..<callsPerThread {
                let k = (t + call) % inputs.count
                guard let y = try? compiled(inputs[k])["y"]!.toFloatArray() else { mismatches = [.nan]; break }
                if y != sequential[k] { mismatches = y; break }
            }
            if !mismatches.isEmpty { results.set(t, mismatches) }
        }
        for t in 0..<threads { #expect(results.get(t) == nil, "thread \(t) got a result that differs from the sequential one") }
    }

    @Test func severalCompilationsAtOnce() throws {
        let widths = [4, 6, 8, 10]
        let graphs = try widths.map { try Self.graph(width: $0) }
        let results = Results()
        Self.onThreads(widths.count) { i in
            do {
                let model = try CompiledModel(graph: graphs[i], name: "m\(i)")
                let x = Tensor.randn([2, 5, widths[i]], seed: 7)
                let expected = try Interpreter(graph: graphs[i]).run(["x": x])["y"]!.toFloatArray()
                let actual = try model(["x": x])["y"]!.toFloatArray()
                if zip(expected, actual).contains(where: { Swift.abs($0 - $1) > 1e-4 }) { results.set(i, actual) }
            } catch {
                results.set(i, [])
            }
        }
        for i in widths.indices { #expect(results.get(i) == nil, "compilation \(i) failed or differed") }
    }
}
