import Foundation
import Testing
import TCompile
import Transformers

/// Every head of the model family, from its Hugging Face checkpoint: traced once, the interpreter
/// equals eager bit for bit at three sequence lengths and two batch sizes, and the -O2 compiled model
/// equals the interpreter within 1e-4 at those sizes from one compilation.
@Suite struct ModelFamilyTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    static let cases: [(String, ModelTask)] = [
        ("bert-model", .featureExtraction), ("bert-mlm", .fillMask), ("bert-nsp", .nextSentencePrediction),
        ("bert-pretraining", .pretraining), ("bert-seqcls", .textClassification),
        ("roberta-model", .featureExtraction), ("roberta-mlm", .fillMask), ("roberta-seqcls", .textClassification),
        ("gpt2-model", .featureExtraction), ("gpt2-lm", .textGeneration),
        ("bert-tokcls", .tokenClassification), ("bert-qa", .questionAnswering), ("roberta-tokcls", .tokenClassification),
        ("roberta-qa", .questionAnswering), ("st-bert", .sentenceEmbedding),
        ("xlm-roberta-mlm", .fillMask), ("camembert-tokcls", .tokenClassification),
        ("distilbert-model", .featureExtraction), ("distilbert-mlm", .fillMask), ("distilbert-seqcls", .textClassification),
        ("distilbert-tokcls", .tokenClassification), ("distilbert-qa", .questionAnswering), ("st-distilbert", .sentenceEmbedding),
        ("electra-model", .featureExtraction), ("electra-generator-model", .featureExtraction), ("electra-pretraining", .pretraining),
        ("electra-mlm", .fillMask), ("electra-seqcls", .textClassification), ("electra-tokcls", .tokenClassification),
        ("electra-qa", .questionAnswering), ("st-electra", .sentenceEmbedding),
        ("albert-model", .featureExtraction), ("albert-shared", .featureExtraction), ("albert-mlm", .fillMask),
        ("albert-seqcls", .textClassification), ("albert-tokcls", .tokenClassification), ("albert-qa", .questionAnswering),
        ("st-albert", .sentenceEmbedding),
        ("llama-lm", .textGeneration), ("llama-tied", .textGeneration), ("llama-model", .featureExtraction),
        ("llama-rope-llama3", .textGeneration), ("mistral-lm", .textGeneration), ("qwen2-lm", .textGeneration),
        ("qwen2-sliding", .textGeneration), ("llama-seqcls", .textClassification),
    ]

    @Test(arguments: cases.map { "\($0.0) \($0.1.rawValue)" })
    func tracedInterpretedAndCompiled(_ label: String) throws {
        let parts = label.split(separator: " ")
        let model = try ModelExport.load(directory: Self.fixtures.appendingPathComponent(String(parts[0])), task: ModelTask(rawValue: String(parts[1]))!)
        let graph = try model.trace(maxBatch: 3, maxSeq: 24)
        // Each -O2 pass keeps the interpreter's results within 1e-5.
        let probe = ["input_ids": Tensor.randint(1, 60, shape: [2, 7], seed: 5), "attention_mask": Tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], shape: [2, 7]),
                     "token_type_ids": Tensor.randint(0, 2, shape: [2, 7], seed: 6)].filter { model.inputNames.contains($0.key) }
        var current = graph
        var before = try Interpreter(graph: current).run(probe)
        for pass in PassPipeline.o2.passes {
            current = try PassManager(pipeline: PassPipeline(name: pass.name, passes: [pass])).run(current).graph
            let after = try Interpreter(graph: current).run(probe)
            for (name, b) in before {
                let worst = zip(after[name]!.toFloatArray(), b.toFloatArray()).map { Swift.abs($0 - $1) / (1 + Swift.abs($1)) }.max() ?? 0
                #expect(worst <= 1e-5, "\(label): pass \(pass.name) changed \(name) by \(worst)")
            }
            before = after
        }
        let optimized = current
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent(String(parts[0])).appendingPathComponent("config.json"))) as! [String: Any]
        // ALBERT runs its groups' inner_group_num layers num_hidden_layers times.
        let layers = ((config["num_hidden_layers"] ?? config["n_layer"] ?? config["n_layers"]) as! Int) * (config["inner_group_num"] as? Int ?? 1)
        let attention = optimized.nodes.filter { $0.op.name == "fused_attention" }.count
        #expect(attention == layers, "\(label): \(attention) fused attention ops for \(layers) layers")
        // Grouped-query attention reads the unrepeated keys and values (no repeat_kv copy left).
        if let heads = config["num_attention_heads"] as? Int, let kvHeads = config["num_key_value_heads"] as? Int, kvHeads < heads {
            let groups = optimized.nodes.compactMap { if case .fused(.attention(let a)) = $0.op { a.kvHeads } else { nil } }
            #expect(groups == Array(repeating: kvHeads, count: layers), "\(label): kv_heads \(groups), expected \(kvHeads)")
            #expect(!optimized.nodes.contains { $0.op.name == "expand" }, "\(label): an expand is left")
        }
        let compiled = try CompiledModel(graph: optimized, name: "family")
        let interpreter = Interpreter(graph: graph)
        for batch in [1, 3] {
            for seq in [2, 9, 24] {
                var inputs: [String: Tensor] = [:]
                for name in model.inputNames {
                    switch name {
                    case "input_ids": inputs[name] = Tensor.randint(1, 60, shape: [batch, seq], seed: UInt64(batch * 100 + seq))
                    case "attention_mask":
                        var mask = [Int](repeating: 1, count: batch * seq)
                        if batch > 1 { mask[2 * seq - 1] = 0 }       // one padded position in row 1
                        inputs[name] = Tensor(mask, shape: [batch, seq])
                    default: inputs[name] = Tensor.randint(0, 2, shape: [batch, seq], seed: UInt64(seq))
                    }
                }
                let eager = withNoGrad { model.forward(inputs) }
                let traced = try interpreter.run(inputs)
                let native = try compiled(inputs)
                for (name, expected) in eager {
                    let t = try #require(traced[name]), c = try #require(native[name])
                    #expect(t.shape == expected.shape && t.toFloatArray() == expected.toFloatArray(), "\(label) \(name) at \(batch)×\(seq): interpreter differs from eager")
                    let worst = zip(c.toFloatArray(), expected.toFloatArray()).map { Swift.abs($0 - $1) / (1 + Swift.abs($1)) }.max() ?? 0
                    #expect(c.shape == expected.shape && worst <= 1e-4, "\(label) \(name) at \(batch)×\(seq): compiled differs by \(worst)")
                }
            }
        }
    }
}
