import Testing
import Graph
import Tensors
@testable import Codegen

/// GEMMs whose rows of A exceed `GEMMChunking.aBytes` are split into several row chunks per panel
/// (`LoweringContext.gemmRowChunks`): every split, even or not, must give the interpreter's result.
@Suite struct GEMMRowChunkTests {
    /// `k` = 1000 f32 is 4000 bytes a row, so a chunk holds at most 128 rows: 300 rows make three
    /// chunks of 104, 104 and 92; 131 make two of 72 and 59; 129 two; 5 one.
    @Test func tallProductsSplitIntoRowChunks() throws {
        let k = 1000
        var g = GraphBuilder(symbols: [DimSymbol("m", max: 300)])
        let m = SymbolicInt(symbol: "m")
        let x = g.input("x", TensorType(.float32, [m, SymbolicInt(k)]))
        let b = g.input("b", TensorType(.float32, [SymbolicInt(k), SymbolicInt(40)]))
        let w = g.constant("w", Tensor.randn([k, 70], seed: 2) * 0.03)
        let bias = g.constant("bias", Tensor.randn([70], seed: 3))
        g.output("linear", try g.add(.fused(.linear(activation: .gelu, bias: true, residual: false)), [x, w, bias]))
        g.output("matmul", try g.add(.op(.matmul), [x, b]))
        let sets = [300, 131, 129, 5].enumerated().map { i, rows in
            ["x": Tensor.randn([rows, k], seed: UInt64(10 + i)), "b": Tensor.randn([k, 40], seed: UInt64(20 + i)) * 0.03]
        }
        try expectCompiledMatches(g.graph, sets, atol: 2e-4)
    }
}
