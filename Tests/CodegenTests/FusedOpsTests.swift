import Testing
import Graph
import NN
import Passes
import Tensors
@testable import Codegen

/// The -O2 graph (fused attention, linear, layer norm, elementwise programs) compiled, against the
/// interpreter on the unoptimized graph.
@Suite struct FusedOpsTests {
    final class Block: Module {
        let attention: MultiHeadAttention
        let norm1 = LayerNorm(12), norm2 = LayerNorm(12)
        let up = Linear(12, 20), down = Linear(20, 12)
        init(causal: Bool) {
            attention = withRandomGenerator(seed: 3) { MultiHeadAttention(dimensions: 12, heads: 3) }
            self.causal = causal
        }
        let causal: Bool
        func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
            let h = norm1(x + attention(x, mask: mask, causal: causal))
            return norm2(h + down(up(h).gelu(approximate: causal)))
        }
    }

    func check(causal: Bool) throws {
        let block = withRandomGenerator(seed: 1) { Block(causal: causal) }
        block.eval()
        let example: [(name: String, tensor: Tensor)] = [("x", Tensor.randn([2, 5, 12], seed: 2)), ("mask", Tensor.ones([2, 5], dtype: .bool))]
        let graph = try Tracer.trace(inputs: example,
                                     dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "batch", max: 4), DynamicDim(input: "x", dim: 1, symbol: "seq", max: 24),
                                                   DynamicDim(input: "mask", dim: 0, symbol: "batch", max: 4), DynamicDim(input: "mask", dim: 1, symbol: "seq", max: 24)],
                                     constants: Dictionary(uniqueKeysWithValues: block.namedParameters())) { inputs in
            [("y", block(inputs["x"]!, mask: inputs["mask"]!))]
        }
        let optimized = try PassManager(pipeline: .o2).run(graph).graph
        let fused = optimized.nodes.filter { if case .fused = $0.op { true } else { false } }.map(\.op.name)
        #expect(fused.contains("fused_attention") && fused.contains("fused_linear") && fused.contains("fused_layer_norm"), "\(fused)")
        let compiled = try CompiledModel(graph: optimized, name: "block")
        let reference = Interpreter(graph: graph)
        for (batch, seq) in [(1, 1), (2, 3), (3, 4), (2, 7), (4, 24)] {   // up to 4 queries: the direct path
            var maskValues = [Bool](repeating: true, count: batch * seq)
            if batch > 1 && seq > 2 { maskValues[2 * seq - 1] = false }
            let inputs = ["x": Tensor.randn([batch, seq, 12], seed: UInt64(batch * 31 + seq)), "mask": Tensor(maskValues, shape: [batch, seq])]
            let expected = try reference.run(inputs)["y"]!.toFloatArray()
            let actual = try compiled(inputs)["y"]!.toFloatArray()
            #expect(actual.count == expected.count)
            let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4, "batch \(batch), seq \(seq): max abs error \(worst)")
        }
    }

    @Test func encoderBlockWithPaddingMask() throws { try check(causal: false) }
    @Test func decoderBlockWithCausalAndPaddingMask() throws { try check(causal: true) }
}
