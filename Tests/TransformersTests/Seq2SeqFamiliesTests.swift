import Foundation
import Testing
import NN
import Tensors
@testable import Transformers

/// BART against Hugging Face (`scripts/fixtures/seq2seq_fixtures.py`): each checkpoint loaded
/// unchanged, `logits` and `encoder_last_hidden_state` of a right-padded batch with given decoder ids
/// within 1e-4, the loss from labels alone within 1e-5.
@Suite struct Seq2SeqFamiliesTests {
    static let bartFixtures = ["bart-lm", "bart-scaled", "mbart-lm"]

    @Test(arguments: bartFixtures)
    func bartMatchesTransformers(_ name: String) throws {
        let e = try expected(name)
        let loaded = try BartForConditionalGeneration.loadPretrained(directory: fixtureDirectory(name), tokenizer: nil)
        #expect(loaded.report.unused.isEmpty, "\(name): \(loaded.report)")
        let model = loaded.model
        let inputs = Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                                   decoderInputIds: try e.tensor("decoder_input_ids"))
        let out = try model(inputs)
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "\(name) logits")
        expectClose(out.encoderLastHiddenState, try e.tensor("encoder_last_hidden_state"), 1e-4, "\(name) encoder_last_hidden_state")
        // Labels alone: decoder inputs are the labels shifted right with decoder_start_token_id.
        let labelled = try model(Seq2SeqInputs(inputIds: inputs.inputIds, attentionMask: inputs.attentionMask),
                                 labels: try e.tensor("labels"))
        expectClose(try #require(labelled.loss), try e.tensor("loss"), 1e-5, "\(name) loss")
    }

    @Test func tyingFollowsTheConfig() throws {
        let tied = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-lm"))
        #expect(tied.lmHead.weight === tied.model.shared.weight)
        #expect(tied.model.encoder.embedTokens.weight === tied.model.shared.weight)
        #expect(tied.model.decoder.embedTokens.weight === tied.model.shared.weight)
        let untied = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-scaled"))
        #expect(untied.lmHead.weight !== untied.model.shared.weight)
        #expect(untied.model.encoder.embedTokens.weight !== untied.model.decoder.embedTokens.weight)
        #expect(untied.config.scaleEmbedding && untied.config.activationFunction == "relu")
    }

    @Test func baseModel() throws {
        let e = try expected("bart-model")
        let model = try BartModel.fromPretrained(directory: fixtureDirectory("bart-model"))
        let out = try model(Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                                          decoderInputIds: try e.tensor("decoder_input_ids")))
        expectClose(out.logits, try e.tensor("last_hidden_state"), 1e-4, "bart-model last_hidden_state")
        expectClose(out.encoderLastHiddenState, try e.tensor("encoder_last_hidden_state"), 1e-4, "bart-model encoder_last_hidden_state")
    }

    /// Decoding one position at a time against the cache (self K/V appended, cross K/V computed once)
    /// gives the logits of the whole decoder sequence at once.
    @Test func cachedDecodingMatchesTheFullPass() throws {
        let e = try expected("bart-lm")
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-lm"))
        let ids = try e.tensor("input_ids"), mask = try e.tensor("attention_mask"), target = try e.tensor("decoder_input_ids")
        let full = try e.tensor("logits")
        let cache = EncoderDecoderCache(layers: model.config.decoderLayers)
        let encoded = withNoGrad { model.model.encoder.forward(inputIds: ids, attentionMask: mask) }
        for t in 0..<target.size(1) {
            let step = withNoGrad {
                model.forward(Seq2SeqInputs(inputIds: ids, attentionMask: mask, decoderInputIds: target.sliced(dim: 1, start: t, end: t + 1)),
                              cache: cache, encoderStates: encoded).logits
            }
            expectClose(step, full.sliced(dim: 1, start: t, end: t + 1), 1e-4, "step \(t)")
        }
        #expect(cache.selfAttention?.offset == target.size(1))
        #expect(cache.crossKeys.allSatisfy { $0?.size(2) == ids.size(1) })
    }

    /// The registry loads the checkpoint for text2text-generation with Hugging Face's output names.
    @Test func registryForward() throws {
        let e = try expected("bart-lm")
        let kind = try ModelRegistry.kind(ofCheckpoint: fixtureDirectory("bart-lm"))
        let entry = try ModelRegistry.inferredTask(for: kind)
        #expect(entry.task == .text2textGeneration && entry.exportable)
        let model = try kind.family.load(directory: fixtureDirectory("bart-lm"), task: .text2textGeneration)
        #expect(model.inputs.map(\.name) == ["input_ids", "attention_mask", "decoder_input_ids"])
        let outputs = try withNoGrad {
            try model.run(["input_ids": try e.tensor("input_ids"), "attention_mask": try e.tensor("attention_mask"),
                           "decoder_input_ids": try e.tensor("decoder_input_ids")])
        }
        #expect(outputs.map(\.name) == ["logits", "encoder_last_hidden_state"])
        expectClose(outputs[0].tensor, try e.tensor("logits"), 1e-4, "registry logits")
    }

    @Test func badInputsAreNamed() throws {
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-lm"))
        let ids = Tensor([3, 4, 5, 2], shape: [1, 4])
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try model(Seq2SeqInputs(inputIds: Tensor([3, 97], shape: [1, 2]))) }.contains("input_ids"))
        #expect(message { _ = try model(Seq2SeqInputs(inputIds: ids, decoderInputIds: Tensor([2, 500], shape: [1, 2]))) }
            .contains("decoder_input_ids"))
        #expect(message { _ = try model(Seq2SeqInputs(inputIds: ids, attentionMask: Tensor([1, 1], shape: [1, 2]))) }
            .contains("attention_mask"))
        #expect(message { _ = try model(Seq2SeqInputs(inputIds: ids, decoderInputIds: Tensor([2, 5], shape: [1, 2])),
                                        labels: Tensor([5], shape: [1, 1])) }.contains("labels"))
        #expect(message { _ = try model(Seq2SeqInputs(inputIds: Tensor(Array(repeating: 3, count: 41), shape: [1, 41]))) }
            .contains("max_position_embeddings"))
        #expect(message { _ = try model(Seq2SeqInputs(inputIds: ids, decoderAttentionMask: Tensor([1], shape: [1, 1]))) }
            .contains("decoder_attention_mask"))
    }

    @Test func badConfigsAreNamed() throws {
        for (field, value, expectedField) in [("d_model", 35 as Any, "encoder_attention_heads"), ("decoder_layerdrop", 0.1, "decoder_layerdrop"),
                                              ("decoder_start_token_id", 97, "decoder_start_token_id"), ("activation_function", "mish", "activation_function"),
                                              ("encoder_layers", 0, "encoder_layers"), ("d_model", Int.max, "d_model")] {
            let dir = try editedCheckpoint("bart-lm", config: { $0[field] = value })
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect { _ = try BartForConditionalGeneration.fromPretrained(directory: dir) } throws: { "\($0)".contains("'\(expectedField)'") }
        }
    }
}
