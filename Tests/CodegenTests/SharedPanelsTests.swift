import Foundation
import Testing
import Graph
import Passes
import Tensors
@testable import Codegen

/// Two compiled graphs of one weight (as a generator's prefill and decode graphs are) share one packed
/// copy of its panels; a weight of equal values in other storage is packed on its own; each graph still
/// computes what the interpreter does.
@Suite struct SharedPanelsTests {
    static func graph(_ w: Tensor, plusOne: Bool) throws -> Graph {
        let traced = try Tracer.trace(inputs: [("x", Tensor.randn([2, 40], seed: 2))],
                                      dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "batch", max: 4)],
                                      constants: ["w": w]) { inputs in
            let x = plusOne ? inputs["x"]! + 1 : inputs["x"]!
            return [("y", x.matmul(w.transposed()).relu())]
        }
        return try PassManager(pipeline: .o2).run(traced).graph
    }

    static func panels(_ model: CompiledModel) -> [Tensor] {
        zip(model.signature.constants, model.constants).filter { $0.0.panels != nil }.map(\.1)
    }

    @Test func graphsOfOneWeightShareItsPanels() throws {
        let w = Tensor.randn([36, 40], seed: 1)   // a linear layer's [out, in]
        let a = try Self.graph(w, plusOne: false), b = try Self.graph(w, plusOne: true)
        let first = try CompiledModel(graph: a, name: "first", options: CompileOptions(threads: 1, cache: nil))
        let second = try CompiledModel(graph: b, name: "second", options: CompileOptions(threads: 1, cache: nil))
        let p = Self.panels(first), q = Self.panels(second)
        #expect(p.count == 1 && q.count == 1, "one panel constant each")
        #expect(p.first?.storage === q.first?.storage, "packed once")
        let copy = try CompiledModel(graph: try Self.graph(w.contiguous() * 1, plusOne: false), name: "copy",
                                     options: CompileOptions(threads: 1, cache: nil))
        #expect(Self.panels(copy).first?.storage !== p.first?.storage, "other storage, its own panels")
        for (model, graph) in [(first, a), (second, b), (copy, a)] {
            let x = Tensor.randn([3, 40], seed: 9)
            let expected = try Interpreter(graph: graph).run(["x": x])["y"]!.toFloatArray()
            let got = try model(["x": x])["y"]!.toFloatArray()
            #expect(zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) })
        }
    }
}
