import Foundation
import Testing
import Tensors
import Tokenizers
@testable import Transformers

/// Marian (`MarianMTModel`: BART's model with sinusoidal positions from 0 and no
/// `layernorm_embedding`) against Hugging Face (`scripts/fixtures/marian_fixtures.py`): logits and
/// encoder states within 1e-4 with the position tables computed (checkpoints do not hold them), and
/// `model.generate`'s greedy and beam-search tokens.
@Suite struct MarianTests {
    @Test func forwardMatchesTransformers() throws {
        let e = try expected("marian-mt")
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("marian-mt"))
        #expect(model.config.isMarian && model.config.decoderStartTokenId == 75 && model.model.encoder.embeddingNorm == nil)
        let out = try model(Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                                          decoderInputIds: try e.tensor("decoder_input_ids")))
        let logits = try e.tensor("logits")
        #expect(maxAbsDifference(out.logits, logits) <= 1e-4, "\(maxAbsDifference(out.logits, logits)), largest \(logits.toFloatArray().map(abs).max() ?? 0)")
        #expect(maxAbsDifference(out.encoderLastHiddenState, try e.tensor("encoder_last_hidden_state")) <= 1e-4)
        // The registry serves it as text2text-generation from `MarianMTModel`.
        let kind = try ModelRegistry.kind(ofCheckpoint: fixtureDirectory("marian-mt"))
        let task = try ModelRegistry.inferredTask(for: kind).task
        #expect(kind.family.modelType == "marian" && task == .text2textGeneration)
    }

    @Test func generationMatchesTransformers() throws {
        let e = try expected("marian-mt")
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("marian-mt"))
        let sources = try Seq2SeqGenerationTests.sources(e)
        let greedy = GenerationConfig(maxNewTokens: 10, eosTokenIds: [0], padTokenId: 75)
        var beam = greedy
        beam.numBeams = 3
        beam.lengthPenalty = 0.7
        beam.earlyStopping = .whenFull
        beam.numReturnSequences = 2
        for (key, config) in [("greedy", greedy), ("beam", beam)] {
            let want = rows(try e.tensor("generate_" + key))
            let got = try model.generate(sources, config: config)
            #expect(Seq2SeqGenerationTests.padded(got, to: want[0].count, pad: 75) == want, "\(key): \(got)")
        }
    }

    /// The table of `MarianSinusoidalPositionalEmbedding.create_weight`: sin in the first half, cos in
    /// the second, for even and odd widths.
    @Test func sinusoidalTableLayout() {
        let table = marianPositionTable(positions: 3, dim: 5).toFloatArray()
        let angle = { (p: Int, k: Int) in Double(p) / pow(10000, Double(2 * k) / 5) }
        let row2: [Float] = [sin(angle(2, 0)), sin(angle(2, 1)), sin(angle(2, 2)), cos(angle(2, 0)), cos(angle(2, 1))].map { Float($0) }
        #expect(Array(table[10..<15]) == row2)
        #expect(Array(table[0..<5]) == [0, 0, 0, 1, 1])
    }

    /// Configs Marian does not support are errors naming the field.
    @Test func unsupportedConfigsAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("marian-\(UUID())")
        try FileManager.default.copyItem(at: try fixtureDirectory("marian-mt"), to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        let original = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        for (field, value) in [("share_encoder_decoder_embeddings", false as Any), ("decoder_vocab_size", 80 as Any)] {
            var config = original
            config[field] = value
            try JSONSerialization.data(withJSONObject: config).write(to: url)
            #expect { _ = try BartForConditionalGeneration.fromPretrained(directory: dir) } throws: { "\($0)".contains(field) }
        }
    }

    /// `MarianTokenizer`: the source model's pieces with vocab.json's ids and `</s>` (an unknown
    /// character is `<unk>`), and decoding of generated ids (special tokens skipped).
    @Test func tokenizerMatchesMarianTokenizer() throws {
        let e = try expected("marian-mt")
        let tokenizer = try Tokenizer.fromDirectory(fixtureDirectory("marian-mt").path)
        for i in 0..<3 {
            let text = try #require(e.metadata["text_\(i)"])
            #expect(try tokenizer.encode(text).ids == e.tensor("text_ids_\(i)").toIntArray(), "\(text)")
        }
        let sequences = rows(try e.tensor("text_sequences"))
        for (i, row) in sequences.enumerated() {
            #expect(tokenizer.decode(row) == e.metadata["text_decoded_\(i)"], "\(row)")
        }
        // A target-only piece ("▁l", not in source.spm) decodes as its text, as MarianTokenizer.decode does.
        #expect(tokenizer.decode([3, 51, 18, 0]) == "the la")
        // Generation from the tokenized texts gives transformers' sequences (decoder start token first).
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("marian-mt"))
        let texts = try (0..<3).map { try tokenizer.encode(try #require(e.metadata["text_\($0)"])).ids }
        let generated = try model.generate(texts, config: GenerationConfig(maxNewTokens: 8, eosTokenIds: [0], padTokenId: 75))
        #expect(Seq2SeqGenerationTests.padded(generated.map { [75] + $0 }, to: sequences[0].count, pad: 75) == sequences)
    }

    /// The text2text pipelines: the typed one gives the texts transformers decodes from its generation;
    /// `TaskPipeline` (the registry's) runs with the checkpoint's generation options.
    @Test func text2textPipelines() throws {
        let e = try expected("marian-mt")
        let texts = try (0..<3).map { try #require(e.metadata["text_\($0)"]) }
        let loaded = try BartForConditionalGeneration.loadPretrained(directory: fixtureDirectory("marian-mt"))
        let pipeline = Text2TextGenerationPipeline(model: loaded.model, tokenizer: loaded.tokenizer)
        let outputs = try pipeline(texts, config: GenerationConfig(maxNewTokens: 8, eosTokenIds: [0], padTokenId: 75))
        #expect(outputs == (0..<3).map { e.metadata["text_decoded_\($0)"] ?? "?" })
        let task = try TaskPipeline(task: .text2textGeneration, directory: fixtureDirectory("marian-mt"))
        guard case .generated(let generated) = try task(texts) else { Issue.record("not .generated"); return }
        let config = try GenerationConfig(checkpoint: fixtureDirectory("marian-mt"))
        #expect(generated == (try pipeline(texts, config: config)))
    }
}
