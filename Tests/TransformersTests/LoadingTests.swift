import Foundation
import Testing
import Tensors
@testable import Transformers

@Suite struct LoadingTests {
    @Test func baseModelLoadsFromHeadCheckpointAndReportsUnusedTensors() throws {
        let e = try expected("bert-pretraining")
        let loaded = try BertModel.loadPretrained(directory: fixtureDirectory("bert-pretraining"))
        #expect(loaded.model.pooler != nil)
        #expect(loaded.report.unused.contains("cls.seq_relationship.weight"))
        #expect(loaded.report.unused.allSatisfy { $0.hasPrefix("cls.") })
        let out = try loaded.model(EncoderInputs(inputIds: e.tensor("input_ids"), attentionMask: e.tensor("attention_mask"),
                                                 tokenTypeIds: e.tensor("token_type_ids")))
        expectClose(out.lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "last_hidden_state")
        expectClose(try #require(out.poolerOutput), try e.tensor("pooler_output"), 1e-4, "pooler_output")
    }

    @Test func baseModelWithoutPoolerLoadsFromMaskedLMCheckpoint() throws {
        let e = try expected("bert-mlm")
        let model = try BertModel.fromPretrained(directory: fixtureDirectory("bert-mlm"))
        #expect(model.pooler == nil)
        let out = try model(EncoderInputs(inputIds: e.tensor("input_ids"), attentionMask: e.tensor("attention_mask"),
                                          tokenTypeIds: e.tensor("token_type_ids")))
        expectClose(out.lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "last_hidden_state")
    }

    @Test func headLoadsFromCheckpointWithoutPrefix() throws {
        // bert-model has no `bert.` prefix; a classifier on it needs `allowingNewHeads` for its new head.
        #expect {
            try BertForSequenceClassification.fromPretrained(directory: fixtureDirectory("bert-model"))
        } throws: { ($0 as? TransformersError).map { if case .missingTensor(_, "classifier.weight", [2, 96]) = $0 { true } else { false } } ?? false }
        let loaded = try BertForSequenceClassification.loadPretrained(directory: fixtureDirectory("bert-model"), allowingNewHeads: true)
        #expect(loaded.report.newlyInitialized.sorted() == ["classifier.bias", "classifier.weight"])
        let base = try BertModel.fromPretrained(directory: fixtureDirectory("bert-model"))
        #expect(maxAbsDifference(loaded.model.bert.pooler!.dense.weight, base.pooler!.dense.weight) == 0)
    }

    @Test func missingAndMisshapedTensorsAreNamed() throws {
        let missing = try editedCheckpoint("bert-model", tensors: { $0["encoder.layer.1.output.dense.bias"] = nil })
        #expect(throws: TransformersError.missingTensor(file: missing.appendingPathComponent("model.safetensors").path,
                                                        tensor: "encoder.layer.1.output.dense.bias", expected: [96])) {
            try BertModel.fromPretrained(directory: missing)
        }
        let misshaped = try editedCheckpoint("gpt2-lm", tensors: { $0["transformer.h.0.attn.c_attn.weight"] = Tensor.zeros([288, 96]) })
        #expect(throws: TransformersError.shapeMismatch(file: misshaped.appendingPathComponent("model.safetensors").path,
                                                        tensor: "transformer.h.0.attn.c_attn.weight", expected: [96, 288], actual: [288, 96])) {
            try GPT2LMHeadModel.fromPretrained(directory: misshaped)
        }
        #expect(throws: TransformersError.self) { try BertModel.fromPretrained(directory: URL(fileURLWithPath: "/nonexistent")) }
    }

    @Test func legacyLayerNormNamesAndBuffersLoad() throws {
        let e = try expected("bert-model")
        let legacy = try editedCheckpoint("bert-model", tensors: { state in
            for key in state.keys where key.contains("LayerNorm") {
                let renamed = key.replacingOccurrences(of: ".weight", with: ".gamma").replacingOccurrences(of: ".bias", with: ".beta")
                state[renamed] = state.removeValue(forKey: key)
            }
            state["embeddings.position_ids"] = Tensor.arange(0, 64).unsqueezed(at: 0)
        })
        let loaded = try BertModel.loadPretrained(directory: legacy)
        #expect(loaded.report.ignored == ["embeddings.position_ids"])
        #expect(loaded.report.unused.isEmpty)
        let out = try loaded.model(EncoderInputs(inputIds: e.tensor("input_ids"), attentionMask: e.tensor("attention_mask"),
                                                 tokenTypeIds: e.tensor("token_type_ids")))
        expectClose(out.lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "last_hidden_state")
    }

    @Test func configErrorsNameTheField() throws {
        func decodeError(_ json: String) -> TransformersError? {
            do { _ = try BertConfig.decode(Data(json.utf8), file: "config.json"); return nil } catch { return error }
        }
        #expect(decodeError(#"{"hidden_size": 96}"#) == .missingConfigField(file: "config.json", field: "model_type"))
        #expect(decodeError(#"{"model_type": "bert", "hidden_size": "abc"}"#)?.description
                == #"config.json: field 'hidden_size' must be an integer, got "abc""#)
        #expect(decodeError(#"{"model_type": "bert", "hidden_size": 96.0}"#)?.description
                == "config.json: field 'hidden_size' must be an integer, got 96.0")
        #expect(decodeError(#"{"model_type": "bert", "hidden_size": 96, "hidden_size": 128}"#)?.description
                == #"config.json: field '(document)' has the key "hidden_size" twice (the second at byte 42)"#)
        #expect(decodeError(#"{"model_type": "gpt2"}"#).map { if case .invalidConfigField(_, "model_type", _) = $0 { true } else { false } } == true)
        #expect(decodeError(#"{"model_type": "bert", "hidden_act": "mish"}"#).map { if case .invalidConfigField(_, "hidden_act", _) = $0 { true } else { false } } == true)
        #expect(decodeError(#"{"model_type": "bert", "hidden_size": "big"}"#).map { if case .invalidConfigField(_, "hidden_size", _) = $0 { true } else { false } } == true)
        #expect(decodeError(#"{"model_type": "bert", "hidden_size": 100, "num_attention_heads": 3}"#).map { if case .invalidConfigField(_, "num_attention_heads", _) = $0 { true } else { false } } == true)
        #expect(decodeError(#"{"model_type": "bert", "position_embedding_type": "relative_key"}"#).map { if case .invalidConfigField(_, "position_embedding_type", _) = $0 { true } else { false } } == true)
        // Defaults are Hugging Face's.
        let bert = try BertConfig.decode(Data(#"{"model_type": "bert"}"#.utf8))
        #expect(bert == BertConfig())
        #expect(bert.layerNormEps == 1e-12 && bert.common.padTokenId == 0 && bert.common.numLabels == 2)
        let roberta = try RobertaConfig.decode(Data(#"{"model_type": "roberta"}"#.utf8))
        #expect(roberta.vocabSize == 50265 && roberta.common.padTokenId == 1 && roberta.common.eosTokenIds == [2])
        let gpt2 = try GPT2Config.decode(Data(#"{"model_type": "gpt2", "eos_token_id": [1, 2], "id2label": {"0": "neg", "1": "pos", "2": "neu"}}"#.utf8))
        #expect(gpt2.innerSize == 3072 && gpt2.activationFunction == "gelu_new" && gpt2.common.eosTokenIds == [1, 2])
        #expect(gpt2.common.numLabels == 3 && gpt2.common.labels == ["neg", "pos", "neu"])
        #expect(throws: TransformersError.self) { try GPT2Config.decode(Data(#"{"model_type": "gpt2", "activation_function": "swiglu"}"#.utf8)) }
        // Round trip through JSON.
        let data = try JSONEncoder().encode(gpt2)
        #expect(try GPT2Config.decode(data) == gpt2)
    }

    @Test func badInputsThrowBeforeTheForwardPass() throws {
        let model = try BertForMaskedLM.fromPretrained(directory: fixtureDirectory("bert-mlm"))
        let ids = Tensor([2, 5, 99], shape: [1, 3])
        #expect(throws: TransformersError.invalidInput(argument: "input_ids", reason: "holds 99, outside 0..<99 (vocab_size)")) {
            try model(EncoderInputs(inputIds: ids))
        }
        #expect(throws: TransformersError.self) { try model(EncoderInputs(inputIds: Tensor([-1, 5], shape: [1, 2]))) }
        #expect(throws: TransformersError.self) { try model(EncoderInputs(inputIds: Tensor([2, 5], shape: [1, 2]), attentionMask: Tensor([1, 1, 1], shape: [1, 3]))) }
        #expect(throws: TransformersError.self) { try model(EncoderInputs(inputIds: Tensor([2, 5], shape: [1, 2]), tokenTypeIds: Tensor([0, 2], shape: [1, 2]))) }
        #expect(throws: TransformersError.self) { try model(EncoderInputs(inputIds: Tensor.zeros([1, 65], dtype: .int64))) }
        #expect(throws: TransformersError.self) { try model(EncoderInputs(inputIds: Tensor([2, 5]))) }
        #expect(throws: TransformersError.self) { try model(EncoderInputs(inputIds: Tensor([2, 5], shape: [1, 2])), labels: Tensor([0, 500], shape: [1, 2])) }
        let roberta = try RobertaModel.fromPretrained(directory: fixtureDirectory("roberta-model"))
        // 66 positions minus the padding offset 2 leave 64 tokens.
        #expect(throws: TransformersError.self) { try roberta(EncoderInputs(inputIds: Tensor.full([1, 65], 5, dtype: .int64))) }
        _ = try roberta(EncoderInputs(inputIds: Tensor.full([1, 64], 5, dtype: .int64)))
        let gpt2 = try GPT2Model.fromPretrained(directory: fixtureDirectory("gpt2-model"))
        #expect(throws: TransformersError.self) { try gpt2(DecoderInputs(inputIds: Tensor([1, 2], shape: [1, 2]), attentionMask: Tensor([1], shape: [1, 1]))) }
        #expect(throws: TransformersError.self) { try gpt2(DecoderInputs(inputIds: Tensor.zeros([1, 65], dtype: .int64))) }
    }
}

/// Found by the audit (issue #21): a shard index that puts a tensor in a shard not holding it trapped
/// on a force unwrap when the tensor's shape was read; a shard outside the directory was opened.
@Suite struct ShardIndexTests {
    static func checkpoint(_ weightMap: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shards-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try SafeTensors.write(["b": Tensor([1, 2], shape: [2])], to: dir.appendingPathComponent("part-1.safetensors").path)
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": weightMap])
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        return dir
    }

    @Test func indexEntriesMustNameTheirShard() throws {
        let good = try Self.checkpoint(["b": "part-1.safetensors"])
        defer { try? FileManager.default.removeItem(at: good) }
        #expect(try Checkpoint(directory: good).shape("b") == [2])
        let wrong = try Self.checkpoint(["a": "part-1.safetensors", "b": "part-1.safetensors"])
        defer { try? FileManager.default.removeItem(at: wrong) }
        #expect { _ = try Checkpoint(directory: wrong) } throws: { "\($0)".contains("field 'weight_map.a' puts the tensor in 'part-1.safetensors', which does not hold it") }
        let outside = try Self.checkpoint(["b": "../part-1.safetensors"])
        defer { try? FileManager.default.removeItem(at: outside) }
        #expect { _ = try Checkpoint(directory: outside) } throws: { "\($0)".contains("which is not a file name in the checkpoint directory") }
    }
}
