import Foundation
import Testing
import NN
import Tensors
@testable import Transformers

/// T5 v1.0 (ReLU, output scaling) and v1.1 (gated-gelu, no scaling) against Hugging Face
/// (`scripts/fixtures/seq2seq_fixtures.py`): logits and encoder states within 1e-4, the loss from
/// labels within 1e-5, greedy and beam generation token for token.
@Suite struct T5Tests {
    @Test(arguments: ["t5-v1_0", "t5-v1_1"])
    func t5MatchesTransformers(_ name: String) throws {
        let e = try expected(name)
        let loaded = try T5ForConditionalGeneration.loadPretrained(directory: fixtureDirectory(name), tokenizer: nil)
        #expect(loaded.report.unused.isEmpty, "\(name): \(loaded.report)")
        let model = loaded.model
        let inputs = Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                                   decoderInputIds: try e.tensor("decoder_input_ids"))
        let out = try model(inputs)
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "\(name) logits")
        expectClose(out.encoderLastHiddenState, try e.tensor("encoder_last_hidden_state"), 1e-4, "\(name) encoder_last_hidden_state")
        let labelled = try model(Seq2SeqInputs(inputIds: inputs.inputIds, attentionMask: inputs.attentionMask), labels: try e.tensor("labels"))
        expectClose(try #require(labelled.loss), try e.tensor("loss"), 1e-5, "\(name) loss")

        // Cached one-position decoding equals the full pass (relative bias of queries after the cache).
        let cache = EncoderDecoderCache(layers: model.config.numDecoderLayers)
        let encoded = withNoGrad { model.encoder.forward(inputs.inputIds, mask: inputs.attentionMask) }
        let target = try e.tensor("decoder_input_ids"), full = try e.tensor("logits")
        for t in 0..<target.size(1) {
            let step = withNoGrad {
                model.forward(Seq2SeqInputs(inputIds: inputs.inputIds, attentionMask: inputs.attentionMask,
                                            decoderInputIds: target.sliced(dim: 1, start: t, end: t + 1)), cache: cache, encoderStates: encoded).logits
            }
            expectClose(step, full.sliced(dim: 1, start: t, end: t + 1), 1e-4, "\(name) step \(t)")
        }
    }

    @Test(arguments: ["t5-v1_0", "t5-v1_1"])
    func t5GenerationMatchesTransformers(_ name: String) throws {
        let e = try expected(name)
        let model = try T5ForConditionalGeneration.fromPretrained(directory: fixtureDirectory(name))
        let sources = try Seq2SeqGenerationTests.sources(e)
        var greedy = GenerationConfig(maxNewTokens: 10, eosTokenIds: [1], padTokenId: 0)
        var beam = greedy
        beam.numBeams = 3
        beam.lengthPenalty = 0.7
        beam.numReturnSequences = 2
        for (key, config) in [("greedy", greedy), ("beam", beam)] {
            let want = rows(try e.tensor("generate_" + key))
            for useCache in [true, false] {
                greedy.useCache = useCache
                var c = config
                c.useCache = useCache
                let got = try model.generate(sources, config: c)
                #expect(Seq2SeqGenerationTests.padded(got, to: want[0].count, pad: 0) == want, "\(name) \(key) cache \(useCache): \(got)")
            }
        }
    }

    /// Buckets as transformers computes them (values from `_relative_position_bucket` with 8 buckets,
    /// max distance 12).
    @Test func relativeBuckets() {
        let bidirectional = (-10...10).map { t5RelativeBucket($0, bidirectional: true, buckets: 8, maxDistance: 12) }
        #expect(bidirectional == [3, 3, 3, 3, 3, 3, 2, 2, 2, 1, 0, 5, 6, 6, 6, 7, 7, 7, 7, 7, 7])
        let causal = (-10...2).map { t5RelativeBucket($0, bidirectional: false, buckets: 8, maxDistance: 12) }
        #expect(causal == [7, 6, 6, 6, 5, 4, 4, 3, 2, 1, 0, 0, 0])
    }

    @Test func t5ConfigsAndErrors() throws {
        let v11 = try T5ForConditionalGeneration.fromPretrained(directory: fixtureDirectory("t5-v1_1"))
        #expect(!v11.config.scaleDecoderOutputs && v11.config.feedForward == (true, "gelu_new") && v11.config.innerDim == 32)
        #expect(v11.lmHead.weight === v11.shared.weight)
        let v10 = try T5ForConditionalGeneration.fromPretrained(directory: fixtureDirectory("t5-v1_0"))
        #expect(v10.config.scaleDecoderOutputs && v10.config.innerDim == 30 && v10.config.dModel == 36)
        for (field, value) in [("feed_forward_proj", "gated-gelu-x" as Any), ("d_kv", 0), ("relative_attention_num_buckets", -1),
                                ("relative_attention_num_buckets", 3), ("num_decoder_layers", Int.max)] {
            let dir = try editedCheckpoint("t5-v1_0", config: { $0[field] = value })
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect { _ = try T5ForConditionalGeneration.fromPretrained(directory: dir) } throws: { "\($0)".contains("'\(field)'") }
        }
        #expect { _ = try v10(Seq2SeqInputs(inputIds: Tensor([3, 97], shape: [1, 2]))) } throws: { "\($0)".contains("input_ids") }

        // A checkpoint saved before transformers 5 with tie_word_embeddings false (v1.1): its own
        // lm_head.weight, no output scaling.
        let old = try editedCheckpoint("t5-v1_0", tensors: { $0["lm_head.weight"] = $0["shared.weight"].map { $0 * 2 } },
                                       config: { $0["tie_word_embeddings"] = false; $0["scale_decoder_outputs"] = nil })
        defer { try? FileManager.default.removeItem(at: old) }
        let loaded = try T5ForConditionalGeneration.loadPretrained(directory: old, tokenizer: nil)
        #expect(loaded.report.unused.isEmpty && loaded.model.lmHead.weight !== loaded.model.shared.weight)
        #expect(!loaded.model.config.scaleDecoderOutputs)
    }
}
