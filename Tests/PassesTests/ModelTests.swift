import Foundation
import Graph
import Passes
import Tensors
import NN
import Testing

/// The family of reference models (BERT, RoBERTa, GPT-2, GPT-2 with a KV cache) through every pass.
@Suite struct ModelTests {
    static let models: [String] = Family.all.map(\.name)

    static func model(_ name: String) -> any ReferenceModel { Family.all.first { $0.name == name }! }

    static func examples(_ m: any ReferenceModel) -> [[(name: String, tensor: Tensor)]] {
        // Two lengths; one decode step (seq 1 after 6 cached positions) for the KV-cache model.
        [m.example(batch: 1, seq: 4, seed: 101), m.example(batch: 3, seq: 7, seed: 102)]
            + (m.name == Family.gpt2Cache.name ? [m.example(batch: 2, seq: 1, seed: 103)] : [])
    }

    @Test(arguments: models) func everyPassOfO2KeepsTheNumbers(_ name: String) throws {
        let m = Self.model(name)
        let traced = try m.trace()
        let examples = Self.examples(m)
        var g = traced
        for pass in PassPipeline.o2.passes {
            let next = try run(g, [pass])
            try expectEquivalent(g, next, inputs: examples, "\(name) after \(pass.name)")
            g = next
        }
        try expectEquivalent(traced, g, inputs: examples, "\(name) whole -O2")
    }

    @Test(arguments: models) func everyAttentionBlockFuses(_ name: String) throws {
        let m = Self.model(name)
        let g = try run(try m.trace(), PassPipeline.o2.passes)
        #expect(count(g, "fused_attention") == m.layers, "\(name): \(count(g, "fused_attention")) fused attention ops for \(m.layers) layers")
        #expect(count(g, "softmax") == 0, "\(name): a softmax is left")
        for node in g.nodes where node.op.name == "fused_attention" && Tracer.recordsSourceLocations {
            #expect(node.location?.file.hasSuffix("ReferenceModels.swift") == true, "\(name): fused attention keeps the softmax's line")
        }
    }

    @Test func fusionsPerModel() throws {
        var lines: [String] = []
        for m in Family.all {
            let traced = try m.trace()
            let result = try PassManager(pipeline: .o2).run(traced)
            let g = result.graph
            let attention = g.nodes.compactMap { n -> String? in
                guard case .fused(.attention(let a)) = n.op else { return nil }
                return "heads=\(a.heads) causal=\(a.causal) masked=\(a.masked) kv=\(a.kvLayout.rawValue)"
            }
            lines.append("\(m.name): \(traced.computeNodeCount) → \(g.computeNodeCount) ops; attention \(count(g, "fused_attention")), linear \(count(g, "fused_linear")), layer_norm \(count(g, "fused_layer_norm")), elementwise \(count(g, "fused_elementwise")); arena \(result.memoryPlan!.arenaBytes) B vs naive \(result.memoryPlan!.naiveBytes) B; \(Set(attention).sorted())")
            #expect(count(g, "matmul") == 0 || m.name == "roberta", "\(m.name): plain matmuls left")
        }
        print(lines.joined(separator: "\n"))
        // BERT: 4 linears per layer + the pooler, epilogues absorbed.
        let bert = try PassManager(pipeline: .o2).run(try Family.bert.trace()).graph
        #expect(count(bert, "fused_linear") == 6 * Family.bert.layers + 1)
        #expect(count(bert, "fused_layer_norm") == 2 * Family.bert.layers + 1)
        #expect(bert.nodes.contains { if case .fused(.linear(.gelu, true, false, nil)) = $0.op { true } else { false } })
        #expect(bert.nodes.contains { if case .fused(.linear(.tanh, true, false, nil)) = $0.op { true } else { false } })
        // RoBERTa's decomposed LayerNorm and written-out GELU are recognized.
        let roberta = try PassManager(pipeline: .o2).run(try Family.roberta.trace()).graph
        #expect(count(roberta, "fused_layer_norm") == 2 * Family.roberta.layers + 1)
        #expect(roberta.nodes.contains { if case .fused(.linear(.gelu, true, false, nil)) = $0.op { true } else { false } })
        // GPT-2: gelu_new written out becomes the tanh GELU epilogue; residuals go into the GEMMs.
        let gpt2 = try PassManager(pipeline: .o2).run(try Family.gpt2.trace()).graph
        #expect(gpt2.nodes.count { if case .fused(.linear(.geluTanh, true, false, nil)) = $0.op { true } else { false } } == Family.gpt2.layers)
        #expect(gpt2.nodes.count { if case .fused(.linear(.none, true, true, nil)) = $0.op { true } else { false } } == 2 * Family.gpt2.layers)
        #expect(gpt2.nodes.allSatisfy { if case .fused(.attention(let a)) = $0.op { a.causal && a.masked } else { true } })
        let cached = try PassManager(pipeline: .o2).run(try Family.gpt2Cache.trace()).graph
        #expect(cached.nodes.allSatisfy { if case .fused(.attention(let a)) = $0.op { a.causal && !a.masked && a.kvLayout == .split } else { true } })
    }

    @Test func tracedTinyModelFuses() throws {
        // GraphTests' TinyModel (the same file, linked): q = k = v share one head split, scale 0.5,
        // an additive −10000 mask.
        let model = TinyModel()
        let g = try Tracer.trace(inputs: TinyModel.example(), dynamicDims: TinyModel.dynamicDims.map {
            DynamicDim(input: $0.input, dim: $0.dim, symbol: $0.symbol, max: $0.max)
        }, constants: model.constants) { model($0) }
        let optimized = try run(g, PassPipeline.o2.passes)
        #expect(count(optimized, "fused_attention") == 1)
        try expectEquivalent(g, optimized, inputs: [TinyModel.example(batch: 1, seq: 3, seed: 8), TinyModel.example(batch: 3, seq: 9, seed: 9)], "tiny")
    }

    @Test(arguments: [false, true]) func nnMultiHeadAttentionWithBoolMaskFuses(_ causal: Bool) throws {
        // NN's MultiHeadAttention: bool padding mask through maskedFill(¬m, −max), causal mask from
        // arange comparisons, scale as a multiply: the canonical additive form makes them fuse.
        let attention = MultiHeadAttention(dimensions: 16, heads: 4)
        attention.eval()
        let params = Dictionary(attention.namedParameters(), uniquingKeysWith: { a, _ in a })
        let example = { (b: Int, s: Int, seed: UInt64) -> [(name: String, tensor: Tensor)] in
            let (_, mask) = idsAndMask(batch: b, seq: s, low: 0, high: 2, seed: seed)
            return [("x", Tensor.randn([b, s, 16], seed: seed)), ("mask", mask.cast(to: .bool))]
        }
        let dims = ["x", "mask"].flatMap { [DynamicDim(input: $0, dim: 0, symbol: "batch", max: 4), DynamicDim(input: $0, dim: 1, symbol: "seq", max: 16)] }
        let g = try Tracer.trace(inputs: example(2, 5, 1), dynamicDims: dims, constants: params) { i in
            [("y", attention(i["x"]!, mask: i["mask"]!, causal: causal))]
        }
        let optimized = try run(g, PassPipeline.o2.passes)
        let fused = optimized.nodes.compactMap { if case .fused(.attention(let a)) = $0.op { a } else { nil } }
        #expect(fused.count == 1 && fused.first?.causal == causal && fused.first?.masked == true)
        try expectEquivalent(g, optimized, inputs: [example(1, 4, 7), example(3, 9, 8)], "MultiHeadAttention causal=\(causal)")
    }

    @Test func aMaskOfOnesFoldsAway() throws {
        // BertModel without attention_mask builds torch.ones(batch, seq): its extended mask is all zeros.
        let m = Family.bert
        let g = try Tracer.trace(inputs: [("input_ids", m.example(batch: 2, seq: 5, seed: 1)[0].tensor)],
                                 dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                               DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 32)],
                                 constants: m.parameters.tensors) { i in
            let ids = i["input_ids"]!
            return m.forward(["input_ids": ids, "attention_mask": Tensor.ones([ids.size(0), ids.size(1)], dtype: .int64)])
        }
        let optimized = try run(g, PassPipeline.o2.passes)
        let fused = optimized.nodes.compactMap { if case .fused(.attention(let a)) = $0.op { a } else { nil } }
        #expect(fused.count == m.layers && fused.allSatisfy { !$0.masked && !$0.causal })
        try expectEquivalent(g, optimized, inputs: [[("input_ids", m.example(batch: 1, seq: 3, seed: 4)[0].tensor)],
                                                   [("input_ids", m.example(batch: 3, seq: 8, seed: 5)[0].tensor)]], "bert without mask")
    }
}
