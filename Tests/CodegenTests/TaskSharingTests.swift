import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// Identical ops at identical shapes (the same layer repeated) share one task function: the module
/// defines as many task functions for three layers as for one, and the shared code computes each layer
/// with its own weights.
@Suite struct TaskSharingTests {
    static func graph(layers: Int) throws -> Graph {
        let weights = (0..<layers).map { Tensor.randn([16, 16], seed: UInt64(10 + $0)) }
        return try Tracer.trace(inputs: [("x", Tensor.randn([2, 5, 16], seed: 1))],
                                dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 12)]) { inputs in
            var h = inputs["x"]!
            for w in weights { h = (h.matmul(w).gelu() + h).softmax(dim: -1) }
            return [("y", h)]
        }
    }

    static func taskDefinitions(_ graph: Graph) throws -> Int {
        let ir = try CompiledArtifacts.llvmIR(graph, name: "shared", options: CompileOptions(threads: 1, cache: nil))
        return ir.split(separator: "\n").filter { $0.hasPrefix("define") && $0.contains(".task") }.count
    }

    @Test func repeatedLayersCompileToTheTaskFunctionsOfOne() throws {
        let one = try Self.taskDefinitions(try Self.graph(layers: 1))
        #expect(one >= 1)
        #expect(try Self.taskDefinitions(try Self.graph(layers: 3)) == one)
    }

    @Test func sharedTasksComputeEachLayerWithItsOwnWeights() throws {
        let graph = try Self.graph(layers: 3)
        let compiled = try CompiledModel(graph: graph, name: "shared", options: CompileOptions(threads: 2, cache: nil))
        let x = Tensor.randn([2, 7, 16], seed: 3)
        let expected = try Interpreter(graph: graph).run(["x": x])["y"]!.toFloatArray()
        let got = try compiled(["x": x])["y"]!.toFloatArray()
        #expect(got.count == expected.count)
        #expect(zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-5 })
    }
}
