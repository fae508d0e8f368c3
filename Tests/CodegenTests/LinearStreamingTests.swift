import Testing
import Graph
import Tensors
@testable import Codegen

/// A linear layer of at most `LinearStreaming.rows` rows (decoding) gives each task a run of
/// consecutive panels; with more panels than `LinearStreaming.tasks` the runs hold several, the last
/// one short. Every column must still be computed once, in its place: the compiled layer against the
/// interpreter, at each precision the host runs, for the row counts on both sides of the limit, with
/// packed and unpacked weights (f32), on a width that leaves a partial panel and a partial run. Past
/// the limit, 5 to 7, 15 and 23 rows also take the 5- to 7-row tiles (`TiledGEMM.gemmRows`).
@Suite struct LinearStreamingTests {
    static let k = 29, n = 32 * 45 + 7   // 46 panels: runs of 2, the last of 2 with a partial panel

    static func check(_ precision: Precision, weightName: String, relative tolerance: Float) throws {
        let w = Tensor.randn([Self.k, Self.n], seed: 11), b = Tensor.randn([Self.n], seed: 12)
        let graph = try LinearTestGraph.make(.gelu, bias: true, residual: true, w: w, b: b, weightName: weightName)
        let compiled = try CompiledModel(graph: graph, name: "streaming", options: CompileOptions(cache: nil, precision: precision))
        for m in [1, 3, LinearStreaming.rows, LinearStreaming.rows + 1, 6, 7, 9, 15, 23] {
            let inputs = ["x": Tensor.randn([m, Self.k], seed: UInt64(m)), "r": Tensor.randn([m, Self.n], seed: UInt64(m + 50))]
            let actual = try compiled(inputs)["y"]!.toFloatArray()
            let expected = try Interpreter(graph: graph).run(inputs)["y"]!.toFloatArray()
            let scale = inputs["x"]!.abs().matmul(w.abs()).toFloatArray()
            #expect(actual.count == expected.count)
            for i in expected.indices where !(Swift.abs(actual[i] - expected[i]) <= tolerance * (scale[i] + 1)) {
                Issue.record("\(precision) \(weightName) m \(m): column \(i % Self.n) of row \(i / Self.n) is \(actual[i]), expected \(expected[i])")
                return
            }
        }
    }

    @Test func f32() throws {
        try Self.check(.fp32, weightName: "w.panels", relative: 1e-5)
        try Self.check(.fp32, weightName: "w", relative: 1e-5)
    }

    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16, which the bf16 kernels need"))
    func bf16() throws { try Self.check(.bf16, weightName: "w.bf16panels", relative: 2e-2) }

    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni, which the int8 kernels need"))
    func int8() throws { try Self.check(.int8, weightName: "w.int8panels", relative: 3e-2) }
}
