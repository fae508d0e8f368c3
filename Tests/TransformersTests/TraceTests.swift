import Foundation
import Graph
import Testing
import Tensors
@testable import Transformers

/// The eager models trace into graphs with symbolic batch / sequence / cache dims, and the
/// interpreter reproduces eager outputs at sizes the trace never saw. Serialized: the tracer caches
/// source-line lookups process-wide, so later traces reuse what the first one symbolicated.
@Suite(.serialized) struct TraceTests {
    func constants(_ model: some PretrainedModel) -> [String: Tensor] {
        Dictionary(model.namedParameters() + model.namedBuffers(), uniquingKeysWith: { a, _ in a })
    }

    func encoderDims(max: Int = 32) -> [DynamicDim] {
        ["input_ids", "attention_mask", "token_type_ids"].flatMap { name in
            [DynamicDim(input: name, dim: 0, symbol: "batch", max: 8), DynamicDim(input: name, dim: 1, symbol: "seq", max: max)]
        }
    }

    func encoderExample(batch: Int, seq: Int, seed: UInt64) -> [(name: String, tensor: Tensor)] {
        var mask = [Int](repeating: 1, count: batch * seq)
        if batch > 1 && seq > 2 { mask[2 * seq - 1] = 0 }
        return [("input_ids", Tensor.randint(0, 99, shape: [batch, seq], seed: seed)),
                ("attention_mask", Tensor(mask, shape: [batch, seq])),
                ("token_type_ids", Tensor.randint(0, 2, shape: [batch, seq], seed: seed + 1))]
    }

    func expectInterpreterMatchesEager(_ graph: Graph, sizes: [(Int, Int)], inputs: (Int, Int) -> [(name: String, tensor: Tensor)],
                                       eager: ([String: Tensor]) -> [String: Tensor]) throws {
        let interpreter = Interpreter(graph: graph)
        for (batch, seq) in sizes {
            let x = Dictionary(uniqueKeysWithValues: inputs(batch, seq))
            let expected = withNoGrad { eager(x) }
            let traced = try interpreter.run(x)
            for (name, e) in expected {
                let t = try #require(traced[name])
                #expect(t.shape == e.shape, "\(name) at \(batch)×\(seq)")
                #expect(maxAbsDifference(t, e) <= 1e-6, "\(name) at \(batch)×\(seq)")
            }
        }
    }

    @Test func bertModelTraces() throws {
        let model = try BertModel.fromPretrained(directory: fixtureDirectory("bert-model"))
        let body: ([String: Tensor]) -> [String: Tensor] = { x in
            let out = model.forward(EncoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!, tokenTypeIds: x["token_type_ids"]!))
            return ["last_hidden_state": out.lastHiddenState, "pooler_output": out.poolerOutput!]
        }
        let graph = try Tracer.trace(inputs: encoderExample(batch: 2, seq: 6, seed: 1), dynamicDims: encoderDims(),
                                     constants: constants(model)) { x in body(x).sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        try expectInterpreterMatchesEager(graph, sizes: [(1, 5), (3, 13)], inputs: { encoderExample(batch: $0, seq: $1, seed: 9) }, eager: body)
    }

    @Test func bertForMaskedLMTraces() throws {
        let model = try BertForMaskedLM.fromPretrained(directory: fixtureDirectory("bert-mlm"))
        let body: ([String: Tensor]) -> [String: Tensor] = { x in
            ["logits": model.forward(EncoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!, tokenTypeIds: x["token_type_ids"]!)).logits]
        }
        let graph = try Tracer.trace(inputs: encoderExample(batch: 2, seq: 6, seed: 1), dynamicDims: encoderDims(),
                                     constants: constants(model)) { x in body(x).map { ($0.key, $0.value) } }
        try expectInterpreterMatchesEager(graph, sizes: [(1, 7), (4, 11)], inputs: { encoderExample(batch: $0, seq: $1, seed: 4) }, eager: body)
    }

    @Test func gpt2PrefillAndDecodeStepTrace() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm"))
        let layers = model.config.nLayer, heads = model.config.nHead, headSize = model.config.headSize

        // Prefill: ids [batch, seq] → logits and the cache it fills.
        let prefill: ([String: Tensor]) -> [String: Tensor] = { x in
            let cache = DynamicKVCache(layers: layers)
            let logits = model.forward(DecoderInputs(inputIds: x["input_ids"]!), cache: cache).logits
            var out = ["logits": logits]
            for l in 0..<layers { out["present.\(l).key"] = cache.keys[l]!; out["present.\(l).value"] = cache.values[l]! }
            return out
        }
        let ids = { (b: Int, s: Int) in [(name: "input_ids", tensor: Tensor.randint(0, 97, shape: [b, s], seed: UInt64(b * 31 + s)))] }
        let prefillGraph = try Tracer.trace(inputs: ids(2, 5),
                                            dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                                          DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 32)],
                                            constants: constants(model)) { x in prefill(x).sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        try expectInterpreterMatchesEager(prefillGraph, sizes: [(1, 3), (1, 9), (1, 20), (3, 3), (3, 9), (3, 20)], inputs: ids, eager: prefill)

        // Decode: one new token per row against a cache of `past` positions passed in as inputs.
        let decode: ([String: Tensor]) -> [String: Tensor] = { x in
            let cache = DynamicKVCache(keys: (0..<layers).map { x["past.\($0).key"]! }, values: (0..<layers).map { x["past.\($0).value"]! })
            let logits = model.forward(DecoderInputs(inputIds: x["input_ids"]!), cache: cache).logits
            var out = ["logits": logits]
            for l in 0..<layers { out["present.\(l).key"] = cache.keys[l]!; out["present.\(l).value"] = cache.values[l]! }
            return out
        }
        let decodeInputs = { (b: Int, past: Int) -> [(name: String, tensor: Tensor)] in
            var inputs = [(name: "input_ids", tensor: Tensor.randint(0, 97, shape: [b, 1], seed: UInt64(b + past)))]
            for l in 0..<layers {
                for kind in ["key", "value"] {
                    inputs.append(("past.\(l).\(kind)", Tensor.randn([b, heads, past, headSize], seed: UInt64(l * 7 + past + b))))
                }
            }
            return inputs
        }
        var dims = [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4)]
        for l in 0..<layers {
            for kind in ["key", "value"] {
                dims.append(DynamicDim(input: "past.\(l).\(kind)", dim: 0, symbol: "batch", max: 4))
                dims.append(DynamicDim(input: "past.\(l).\(kind)", dim: 2, symbol: "past", max: 48))
            }
        }
        let decodeGraph = try Tracer.trace(inputs: decodeInputs(2, 6), dynamicDims: dims, constants: constants(model)) { x in
            decode(x).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        try expectInterpreterMatchesEager(decodeGraph, sizes: [(1, 4), (1, 9), (1, 17), (3, 4), (3, 9), (3, 17)], inputs: decodeInputs, eager: decode)
    }
}
