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

    /// The fused layer norm's vector rows (16 floats, the last masked) at widths below, at and past a
    /// vector, with and without a residual, where the memory plan may write the result over an input.
    @Test(arguments: [7, 16, 37, 100])
    func layerNormRowsOfAnyWidth(_ width: Int) throws {
        let w = Tensor.randn([width], seed: 5), b = Tensor.randn([width], seed: 6)
        let example: [(name: String, tensor: Tensor)] = [("x", Tensor.randn([3, width], seed: 2)), ("r", Tensor.randn([3, width], seed: 3))]
        let graph = try Tracer.trace(inputs: example,
                                     dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "rows", max: 40),
                                                   DynamicDim(input: "r", dim: 0, symbol: "rows", max: 40)]) { inputs in
            let x = inputs["x"]!.tanh(), r = inputs["r"]!
            let plain = x.layerNorm(weight: w, bias: b, eps: 1e-5)
            return [("plain", plain), ("residual", (plain * 3 + r).layerNorm(weight: w, bias: b, eps: 1e-5))]
        }
        let optimized = try PassManager(pipeline: .o2).run(graph).graph
        #expect(optimized.nodes.filter { $0.op.name == "fused_layer_norm" }.count == 2)
        let sets = [1, 5, 40].map { rows in ["x": Tensor.randn([rows, width], seed: UInt64(rows)) * 4, "r": Tensor.randn([rows, width], seed: UInt64(rows + 100))] }
        try expectCompiledMatches(optimized, sets)
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

    /// Grouped-query attention (`kv_heads` < `heads`): 6 query heads over 2 key/value heads, split
    /// (a KV cache) and merged layouts, causal over a longer past, at the direct (≤ 4 queries) and
    /// tiled sizes, against the interpreter (which repeats each key/value head, as `repeat_kv` does).
    @Test(arguments: [FusedOp.KVLayout.split, .merged])
    func groupedQueryAttention(_ layout: FusedOp.KVLayout) throws {
        let (heads, kvHeads, d) = (6, 2, 4)
        var g = GraphBuilder(symbols: [DimSymbol("b", max: 3), DimSymbol("s", max: 9), DimSymbol("t", max: 17)])
        let (b, s, t) = (SymbolicInt(symbol: "b"), SymbolicInt(symbol: "s"), SymbolicInt(symbol: "t"))
        let kvType = layout == .split ? TensorType(.float32, [b, SymbolicInt(kvHeads), t, SymbolicInt(d)])
                                      : TensorType(.float32, [b, t, SymbolicInt(kvHeads * d)])
        let q = g.input("q", TensorType(.float32, [b, s, SymbolicInt(heads * d)]))
        let k = g.input("k", kvType), v = g.input("v", kvType)
        let mask = g.input("mask", TensorType(.float32, [b, 1, 1, t]))
        let op = FusedOp.Attention(heads: heads, scale: 0.5, causal: true, masked: true, kvLayout: layout, kvHeads: kvHeads)
        g.output("y", try g.add(.fused(.attention(op)), [q, k, v, mask]))
        #expect(throws: GraphError.self) {
            try g.add(.fused(.attention(.init(heads: heads, scale: 1, causal: false, masked: false, kvLayout: layout, kvHeads: 4))), [q, k, v])
        }
        let compiled = try CompiledModel(graph: g.graph, name: "gqa")
        let reference = Interpreter(graph: g.graph)
        for (batch, queries, keys) in [(1, 1, 1), (2, 1, 9), (3, 4, 17), (2, 9, 12)] {
            let seed = UInt64(batch * 100 + queries * 10 + keys)
            let shape = layout == .split ? [batch, kvHeads, keys, d] : [batch, keys, kvHeads * d]
            var maskValues = [Float](repeating: 0, count: batch * keys)
            if batch > 1 { maskValues[keys] = -1e9 }       // row 1's first key is padding
            let inputs = ["q": Tensor.randn([batch, queries, heads * d], seed: seed), "k": Tensor.randn(shape, seed: seed + 1),
                          "v": Tensor.randn(shape, seed: seed + 2), "mask": Tensor(maskValues, shape: [batch, 1, 1, keys])]
            let expected = try reference.run(inputs)["y"]!.toFloatArray()
            let actual = try compiled(inputs)["y"]!.toFloatArray()
            #expect(actual.count == expected.count && actual.count == batch * queries * heads * d)
            let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 1
            #expect(worst <= 1e-5, "\(layout) \(batch)×\(queries)×\(keys): max abs error \(worst)")
        }
    }
}
