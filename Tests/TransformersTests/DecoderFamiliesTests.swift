import Foundation
import Testing
import Tensors
@testable import Transformers

/// Llama, Mistral and Qwen2 against Hugging Face (`scripts/fixtures/decoder_families_fixtures.py`):
/// each checkpoint loaded unchanged, logits of a left-padded batch within 1e-4, the loss within 1e-5,
/// greedy generation token for token.
@Suite struct DecoderFamiliesTests {
    static let lmFixtures = ["llama-lm", "llama-tied", "llama-rope-linear", "llama-rope-dynamic", "llama-rope-llama3",
                             "mistral-lm", "qwen2-lm", "qwen2-sliding"]

    @Test(arguments: lmFixtures)
    func logitsMatchTransformers(_ name: String) throws {
        let e = try expected(name)
        let loaded = try LlamaForCausalLM.loadPretrained(directory: fixtureDirectory(name), tokenizer: nil)
        #expect(loaded.report.unused.isEmpty, "\(name): \(loaded.report)")
        let model = loaded.model
        let ids = try e.tensor("input_ids"), mask = try e.tensor("attention_mask")
        // Positions as generate computes them for left padding, passed explicitly.
        let out = try model(DecoderInputs(inputIds: ids, attentionMask: mask, positionIds: try e.tensor("position_ids")),
                            labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "\(name) logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "\(name) loss")
        // The same positions computed from the mask (what the registry's forward does).
        let derived = positionIds(fromAttentionMask: mask)
        #expect(derived.toFloatArray() == (try e.tensor("position_ids")).toFloatArray().map { Float($0) })
        // Hugging Face's default positions (0..<S in every row) when none are given.
        expectClose(try model(DecoderInputs(inputIds: ids, attentionMask: mask)).logits,
                    try e.tensor("logits_default_positions"), 1e-4, "\(name) logits with default positions")
    }

    @Test func tiedAndUntiedHeads() throws {
        let tied = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("llama-tied"))
        #expect(tied.lmHead.weight === tied.model.embedTokens.weight)
        let untied = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("llama-lm"))
        #expect(untied.lmHead.weight !== untied.model.embedTokens.weight)
        #expect(untied.config.headDim == 8 && untied.config.numKeyValueHeads == 1 && untied.config.qkvBias && untied.config.outputBias)
        let qwen = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("qwen2-lm"))
        #expect(qwen.config.qkvBias && !qwen.config.outputBias && qwen.lmHead.weight === qwen.model.embedTokens.weight)
        let mistral = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("mistral-lm"))
        #expect(mistral.config.layerWindows == [4, 4])
        let sliding = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("qwen2-sliding"))
        #expect(sliding.config.layerWindows == [nil, 3])
    }

    @Test func baseModel() throws {
        let e = try expected("llama-model")
        let model = try LlamaModel.fromPretrained(directory: fixtureDirectory("llama-model"))
        let states = try model(DecoderInputs(inputIds: e.tensor("input_ids"), attentionMask: e.tensor("attention_mask"),
                                             positionIds: e.tensor("position_ids")))
        expectClose(states, try e.tensor("last_hidden_state"), 1e-4, "llama-model last_hidden_state")
    }

    /// The classifier reads the last non-padding token (`pad_token_id`), the loss by problem type.
    @Test func sequenceClassification() throws {
        let e = try expected("llama-seqcls")
        let loaded = try LlamaForSequenceClassification.loadPretrained(directory: fixtureDirectory("llama-seqcls"), tokenizer: nil)
        #expect(loaded.report.unused.isEmpty, "\(loaded.report)")
        let inputs = DecoderInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                                   positionIds: try e.tensor("position_ids"))
        let out = try loaded.model(inputs, labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "llama-seqcls logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "llama-seqcls loss")
        // The same through the pipeline protocol (positions from the mask).
        let viaEncoder = try loaded.model.classificationLogits(EncoderInputs(inputIds: try e.tensor("input_ids"),
                                                                               attentionMask: try e.tensor("attention_mask")))
        expectClose(viaEncoder, try e.tensor("logits"), 1e-4, "llama-seqcls logits from the mask")
    }

    /// Greedy tokens equal `model.generate` on a left-padded batch, with and without the KV cache.
    @Test(arguments: ["llama-lm", "mistral-lm", "qwen2-lm"])
    func greedyGenerationMatchesTransformers(_ name: String) throws {
        let e = try expected(name)
        let model = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory(name))
        let prompts = zip(rows(try e.tensor("greedy_prompt")), rows(try e.tensor("greedy_attention_mask"))).map { ids, mask in
            zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
        }
        var config = GenerationConfig.greedy(maxNewTokens: 12)
        config.padTokenId = 0
        config.eosTokenIds = []
        let want = rows(try e.tensor("greedy_output"))
        #expect(try model.generate(prompts, config: config) == want, "\(name) cached")
        config.useCache = false
        #expect(try model.generate(prompts, config: config) == want, "\(name) uncached")
    }

    @Test func incrementalDecodingEqualsFullRecomputation() throws {
        let model = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("mistral-lm"))
        let ids = Tensor.randint(3, 131, shape: [2, 9], seed: 5)
        let full = try model(DecoderInputs(inputIds: ids)).logits
        let cache = DynamicKVCache(layers: model.config.numHiddenLayers)
        var pieces = [try model(DecoderInputs(inputIds: ids.sliced(dim: 1, end: 4)), cache: cache).logits]
        for t in 4..<9 {
            pieces.append(try model(DecoderInputs(inputIds: ids.sliced(dim: 1, start: t, end: t + 1)), cache: cache).logits)
        }
        expectClose(Tensor.concat(pieces, dim: 1), full, 1e-5, "cached vs full logits")
    }

    @Test func badInputsThrow() throws {
        let model = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("llama-lm"))
        #expect { _ = try model(DecoderInputs(inputIds: Tensor([1, 131], shape: [1, 2]))) } throws: { "\($0)".contains("vocab_size") }
        #expect { _ = try model(DecoderInputs(inputIds: Tensor([1, -1], shape: [1, 2]))) } throws: { "\($0)".contains("input_ids") }
        #expect { _ = try model(DecoderInputs(inputIds: Tensor.ones([1, 65], dtype: .int64))) } throws: { "\($0)".contains("max_position_embeddings") }
        #expect { _ = try model(DecoderInputs(inputIds: Tensor([1, 2], shape: [1, 2]), attentionMask: Tensor([1], shape: [1, 1]))) } throws: {
            "\($0)".contains("attention_mask")
        }
        #expect { _ = try model.generate([[1, 200]]) } throws: { "\($0)".contains("vocab_size") }
    }

    @Test func configErrorsNameTheField() throws {
        for (edit, field) in [({ (c: inout [String: Any]) in c["num_key_value_heads"] = 2 }, "num_key_value_heads"),
                              ({ $0["head_dim"] = 7 }, "head_dim"),
                              ({ $0["hidden_act"] = "mish" }, "hidden_act"),
                              ({ $0["rope_parameters"] = ["rope_type": "yarn", "factor": 2.0] }, "rope_type"),
                              ({ $0["rope_parameters"] = ["rope_type": "linear"] }, "factor"),
                              ({ $0["rope_parameters"] = ["rope_type": "llama3", "factor": 8.0] }, "low_freq_factor"),
                              ({ $0["rms_norm_eps"] = 0 }, "rms_norm_eps"),
                              ({ $0["vocab_size"] = 0 }, "vocab_size"),
                              ({ $0["intermediate_size"] = 1 << 40 }, "2^36")] {
            let dir = try editedCheckpoint("llama-lm", config: edit)
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect { _ = try LlamaForCausalLM.fromPretrained(directory: dir) } throws: { "\($0)".contains(field) }
        }
        let dir = try editedCheckpoint("mistral-lm", config: { $0["sliding_window"] = 0 })
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect { _ = try LlamaForCausalLM.fromPretrained(directory: dir) } throws: { "\($0)".contains("sliding_window") }
    }

    /// Legacy configs: `rope_theta` and `rope_scaling` at the top level (transformers 4) read as
    /// `rope_parameters`.
    @Test func legacyRopeFields() throws {
        let dir = try editedCheckpoint("llama-rope-linear", config: {
            $0["rope_parameters"] = nil
            $0["rope_theta"] = 500.0
            $0["rope_scaling"] = ["type": "linear", "factor": 2.5]
        })
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try LlamaForCausalLM.fromPretrained(directory: dir)
        #expect(model.config.rope == RopeParameters(ropeType: "linear", ropeTheta: 500, factor: 2.5))
        let e = try expected("llama-rope-linear")
        let out = try model(DecoderInputs(inputIds: e.tensor("input_ids"), attentionMask: e.tensor("attention_mask"),
                                          positionIds: e.tensor("position_ids")))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "legacy rope fields")
    }
}
