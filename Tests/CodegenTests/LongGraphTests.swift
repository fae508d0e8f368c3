import Foundation
import Testing
import Graph
import Passes
import Tensors
@testable import Codegen

/// Graphs of thousands of ops compile to code that grows with the number of *distinct* loops: a long
/// elementwise chain is cut into fused pieces of bounded size whose equal loops are emitted once, and
/// a concat of many equal inputs copies them all with one loop function. (Compile time is measured in
/// Benchmarks/run-all.sh; these tests check the structure that keeps it small, and the results.)
@Suite struct LongGraphTests {
    /// `length` elementwise ops: `h = tanh(h + x)`, `h = relu(h * 0.5)`, … repeated.
    static func chain(length: Int) throws -> Graph {
        try Tracer.trace(inputs: [("x", Tensor.randn([3, 16], seed: 1))],
                         dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "n", max: 8)]) { inputs in
            let x = inputs["x"]!
            var h = x
            for k in 0..<(length / 2) { h = k % 2 == 0 ? (h + x).tanh() : (h * 0.5).relu() }
            return [("y", h)]
        }
    }

    static func loopDefinitions(_ graph: Graph) throws -> Int {
        let ir = try CompiledArtifacts.llvmIR(graph, name: "long", options: CompileOptions(threads: 1, cache: nil))
        return ir.split(separator: "\n").filter { $0.hasPrefix("define") && $0.contains(".loop") }.count
    }

    static func expectCompiledEqualsInterpreter(_ original: Graph, _ optimized: Graph, _ inputs: [String: Tensor]) throws {
        let compiled = try CompiledModel(graph: optimized, name: "long", options: CompileOptions(threads: 1, cache: nil))
        let expected = try Interpreter(graph: original).run(inputs)["y"]!.toFloatArray()
        let got = try compiled(inputs)["y"]!.toFloatArray()
        #expect(got.count == expected.count)
        #expect(zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-5 * (1 + abs($1)) })
    }

    @Test func aLongChainIsCutIntoEqualPiecesCompiledOnce() throws {
        let graph = try Self.chain(length: 2_000)
        let optimized = try PassManager(pipeline: .o2).run(graph).graph
        let pieces = optimized.nodes.compactMap { node -> Int? in
            if case .fused(.elementwise(let program)) = node.op { program.computingCount } else { nil }
        }
        #expect(pieces.count >= 2_000 / (2 * ElementwiseFusion.maximumOps))
        #expect(pieces.allSatisfy { $0 < 2 * ElementwiseFusion.maximumOps })
        #expect(pieces.reduce(0, +) == 2_000)
        // Twice the chain, the same loop functions: the first and last pieces and the repeated middle.
        let loops = try Self.loopDefinitions(optimized)
        #expect(loops <= 4)
        #expect(try Self.loopDefinitions(try PassManager(pipeline: .o2).run(try Self.chain(length: 4_000)).graph) == loops)
        try Self.expectCompiledEqualsInterpreter(graph, optimized, ["x": Tensor.randn([5, 16], seed: 2)])
    }

    @Test func aConcatOfManyEqualInputsUsesOneCopyLoop() throws {
        let count = 300
        let example = (0..<count).map { ("x\($0)", Tensor.randn([2, 3], seed: UInt64($0))) }
        let graph = try Tracer.trace(inputs: example,
                                     dynamicDims: (0..<count).map { DynamicDim(input: "x\($0)", dim: 0, symbol: "n", max: 8) }) { inputs in
            [("y", Tensor.concat((0..<count).map { inputs["x\($0)"]! }, dim: 1))]
        }
        #expect((1...2).contains(try Self.loopDefinitions(graph)))
        let inputs = Dictionary(uniqueKeysWithValues: (0..<count).map { ("x\($0)", Tensor.randn([4, 3], seed: UInt64(1000 + $0))) })
        try Self.expectCompiledEqualsInterpreter(graph, graph, inputs)
    }
}
