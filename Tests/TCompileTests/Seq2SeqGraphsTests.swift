import Foundation
import Testing
import TCompile
import Transformers

/// The encoder and decoder-step graphs traced from BART and T5 (`Seq2SeqGraphs`), run in the
/// interpreter: the encoder output equals eager and transformers'; decoding the fixture's
/// `decoder_input_ids` one token at a time through the step graph (from an empty cache, `past` 0)
/// gives transformers' teacher-forced logits at every position.
@Suite(.serialized) struct Seq2SeqGraphsTests {
    static func model(_ name: String) throws -> any Seq2SeqLanguageModel {
        let directory = Seq2SeqExportTests.fixtures.appendingPathComponent(name)
        return name.hasPrefix("t5") ? try T5ForConditionalGeneration.fromPretrained(directory: directory)
            : try BartForConditionalGeneration.fromPretrained(directory: directory)
    }

    static func expected(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: Seq2SeqExportTests.fixtures.appendingPathComponent(name + "/expected.safetensors").path)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toFloatArray(), b.toFloatArray()).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test(arguments: ["bart-lm", "bart-scaled", "mbart-lm", "t5-v1_0", "t5-v1_1", "marian-mt"])
    func interpretedGraphsEqualEagerAndTransformers(_ name: String) throws {
        let model = try Self.model(name), e = try Self.expected(name)
        let graphs = try Seq2SeqGraphs(model: model, maxBatch: 4, maxSource: 16, maxTarget: 10)
        #expect(graphs.encode.symbols.map(\.name).sorted() == ["batch", "source"])
        #expect(graphs.decode.symbols.map(\.name).sorted() == ["batch", "past", "source"])
        let ids = try e.tensor("input_ids"), mask = try e.tensor("attention_mask")
        let encoded = try Interpreter(graph: graphs.encode).run(["input_ids": ids, "attention_mask": mask])
        let eager = withNoGrad { model.encode(inputIds: ids, attentionMask: mask) }
        let hidden = try #require(encoded["encoder_last_hidden_state"])
        #expect(Self.maxDifference(hidden, eager) == 0)
        #expect(Self.maxDifference(hidden, try e.tensor("encoder_last_hidden_state")) <= 1e-4)

        let decoderIds = try e.tensor("decoder_input_ids"), want = try e.tensor("logits")
        let layers = model.decoderLayerCount
        var cache: [String: Tensor] = [:]
        for l in 0..<layers {
            let cross = try #require(encoded["cross.\(l).key"])
            let empty = Tensor.zeros([2, cross.size(1), 0, cross.size(3)])
            cache["past.\(l).key"] = empty
            cache["past.\(l).value"] = empty
        }
        for t in 0..<decoderIds.size(1) {
            var inputs = cache
            inputs["decoder_input_ids"] = decoderIds.sliced(dim: 1, start: t, end: t + 1)
            inputs["encoder_attention_mask"] = mask
            for l in 0..<layers {
                inputs["cross.\(l).key"] = encoded["cross.\(l).key"]
                inputs["cross.\(l).value"] = encoded["cross.\(l).value"]
            }
            let out = try Interpreter(graph: graphs.decode).run(inputs)
            let logits = try #require(out["logits"])
            #expect(logits.shape == [2, 1, model.vocabularySize])
            #expect(Self.maxDifference(logits, want.sliced(dim: 1, start: t, end: t + 1).contiguous()) <= 1e-4, "\(name) position \(t)")
            for l in 0..<layers {
                cache["past.\(l).key"] = out["present.\(l).key"]
                cache["past.\(l).value"] = out["present.\(l).value"]
                #expect(out["present.\(l).key"]?.size(2) == t + 1)
            }
        }
    }

    /// Bounds outside the model's positions are refused with the limit named.
    @Test func boundsAreChecked() throws {
        let model = try Self.model("bart-lm")
        #expect { _ = try Seq2SeqGraphs(model: model, maxBatch: 2, maxSource: 100_000, maxTarget: 8) } throws: {
            "\($0)".contains("max_position_embeddings")
        }
        #expect { _ = try Seq2SeqGraphs(model: model, maxBatch: 0, maxSource: 8, maxTarget: 8) } throws: { "\($0)".contains("maxBatch") }
    }
}
