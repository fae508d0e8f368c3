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

    @Test func threadsShareOneModel() throws {
        let compiled = try CompiledModel(graph: try Self.graph(width: 8))
        let inputs = (0..<8).map { ["x": Tensor.randn([2, 1 + $0 * 3, 8], seed: UInt64(100 + $0))] }
        let sequential = try inputs.map { try compiled($0)["y"]!.toFloatArray() }
        let results = Results()
        let calls = 400
        DispatchQueue.concurrentPerform(iterations: calls) { i in
            if let y = try? compiled(inputs[i % inputs.count])["y"]!.toFloatArray() {
                if y != sequential[i % inputs.count] { results.set(i, y) }
            } else {
                results.set(i, [])
            }
        }
        for i in 0..<calls { #expect(results.get(i) == nil, "call \(i) differed from the sequential result") }
    }

    @Test func severalCompilationsAtOnce() throws {
        let widths = [4, 6, 8, 10]
        let graphs = try widths.map { try Self.graph(width: $0) }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: widths.count) { i in
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
