import Testing
import Tensors
@testable import Graph

/// Index values are data: the interpreter refuses one outside its table with an error naming the op
/// and source line, where the eager kernel would stop the process.
@Suite struct InterpreterIndexTests {
    func embeddingGraph() throws -> Graph {
        let table = Tensor.randn([10, 4], seed: 1)
        return try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                                dynamicDims: [DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 8)],
                                constants: ["table": table]) { x in
            [("out", table.indexSelect(dim: 0, index: x["input_ids"]!.flattened()))]
        }
    }

    @Test(arguments: [10, -1, Int(Int64.max), Int(Int64.min)])
    func outOfRangeIdsAreErrors(_ id: Int) throws {
        let graph = try embeddingGraph()
        #expect {
            _ = try Interpreter(graph: graph).run(["input_ids": Tensor([1, id, 3], shape: [1, 3])])
        } throws: { error in
            "\(error)".contains("index_select") && "\(error)".contains("is outside 0..<10 of dim 0")
        }
        let fine = try Interpreter(graph: graph).run(["input_ids": Tensor([1, 9, 0], shape: [1, 3])])
        #expect(fine["out"]?.shape == [3, 4])
    }

    /// A lookup no output depends on is not run, as the compiled model (dead-code elimination) does
    /// not run it: out-of-range ids there are no error (fuzz-graph found the interpreter refusing a
    /// graph the compiled model ran).
    @Test func deadLookupsAreNotRun() throws {
        let table = Tensor.randn([10, 4], seed: 1)
        let graph = try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                                     dynamicDims: [DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 8)],
                                     constants: ["table": table]) { x in
            let ids = x["input_ids"]!
            _ = table.indexSelect(dim: 0, index: ids.flattened())
            return [("ids", ids + 1)]
        }
        #expect(graph.nodes.contains { $0.op.name == "index_select" })
        let out = try Interpreter(graph: graph).run(["input_ids": Tensor([1, 99, 3], shape: [1, 3])])
        #expect(out["ids"]?.toIntArray() == [2, 100, 4])
    }
}
