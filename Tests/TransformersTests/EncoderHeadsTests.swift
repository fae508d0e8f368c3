import Foundation
import Testing
import Tensors
@testable import Transformers
import Tokenizers

/// The generic token-level heads and sentence-transformers pooling against Hugging Face
/// (`scripts/fixtures/encoder_heads_fixtures.py`): logits within 1e-4, losses within 1e-5.
@Suite struct EncoderHeadsTests {
    func inputs(_ e: SafeTensorsFile, types: Bool) throws -> EncoderInputs {
        EncoderInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                      tokenTypeIds: types ? try e.tensor("token_type_ids") : nil)
    }

    @Test func bertForTokenClassification() throws {
        let e = try expected("bert-tokcls")
        let loaded = try BertForTokenClassification.loadPretrained(directory: fixtureDirectory("bert-tokcls"))
        #expect(loaded.report.unused.isEmpty)
        let out = try loaded.model(inputs(e, types: true), labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func bertForQuestionAnswering() throws {
        let e = try expected("bert-qa")
        let loaded = try BertForQuestionAnswering.loadPretrained(directory: fixtureDirectory("bert-qa"))
        #expect(loaded.report.unused.isEmpty)
        let out = try loaded.model(inputs(e, types: true), startPositions: try e.tensor("start_positions"), endPositions: try e.tensor("end_positions"))
        expectClose(out.startLogits, try e.tensor("start_logits"), 1e-4, "start_logits")
        expectClose(out.endLogits, try e.tensor("end_logits"), 1e-4, "end_logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func robertaForTokenClassification() throws {
        let e = try expected("roberta-tokcls")
        let loaded = try RobertaForTokenClassification.loadPretrained(directory: fixtureDirectory("roberta-tokcls"))
        #expect(loaded.report.unused.isEmpty)
        let out = try loaded.model(inputs(e, types: false), labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func robertaForQuestionAnswering() throws {
        let e = try expected("roberta-qa")
        let model = try RobertaForQuestionAnswering.fromPretrained(directory: fixtureDirectory("roberta-qa"))
        let out = try model(inputs(e, types: false), startPositions: Tensor([2, 0], shape: [2]), endPositions: Tensor([4, 3], shape: [2]))
        expectClose(out.startLogits, try e.tensor("start_logits"), 1e-4, "start_logits")
        expectClose(out.endLogits, try e.tensor("end_logits"), 1e-4, "end_logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    /// XLM-RoBERTa and CamemBERT through the registry: their `model_type` and class names select
    /// RoBERTa's code, which matches transformers' `XLMRobertaForMaskedLM` and `CamembertForTokenClassification`.
    @Test(arguments: [("xlm-roberta-mlm", "xlm-roberta", ModelTask.fillMask), ("camembert-tokcls", "camembert", .tokenClassification)])
    func robertaBodies(_ fixture: String, _ modelType: String, _ task: ModelTask) throws {
        let e = try expected(fixture)
        let directory = try fixtureDirectory(fixture)
        let kind = try ModelRegistry.kind(ofCheckpoint: directory)
        #expect(kind.family.modelType == modelType && kind.family.tokenizer == .sentencePiece)
        let entry = try ModelRegistry.inferredTask(for: kind)
        #expect(entry.task == task)
        let model = try kind.family.load(directory: directory, task: entry.task)
        let out = try withNoGrad { try model.run(["input_ids": try e.tensor("input_ids"), "attention_mask": try e.tensor("attention_mask")]) }
        expectClose(try #require(out.first { $0.name == "logits" }).tensor, try e.tensor("logits"), 1e-4, "logits")
    }

    /// cls + max + mean + mean/√len pooling and normalization, as `SentenceTransformer.encode`.
    @Test func sentenceTransformersPooling() throws {
        let e = try expected("st-bert")
        let model = try SentenceEmbeddingModel<BertModel>.fromPretrained(directory: fixtureDirectory("st-bert"))
        #expect(model.sentenceConfig.pooling.modes == [.cls, .max, .mean, .meanSqrtLenTokens] && model.sentenceConfig.normalize)
        let out = try model(inputs(e, types: true))
        expectClose(out, try e.tensor("sentence_embedding"), 1e-5, "sentence_embedding")
    }

    /// Both spellings of the pooling config, and unsupported modes named.
    @Test func poolingConfigSpellings() throws {
        func decode(_ json: String) throws -> PoolingConfig { try JSONDecoder().decode(PoolingConfig.self, from: Data(json.utf8)) }
        #expect(try decode(#"{"pooling_mode": "mean"}"#).modes == [.mean])
        #expect(try decode(#"{"pooling_mode": ["max", "cls"]}"#).modes == [.max, .cls])
        #expect(try decode(#"{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true}"#).modes == [.cls, .mean])
        #expect { _ = try decode(#"{"pooling_mode": "lasttoken"}"#) } throws: { "\($0)".contains("lasttoken") }
    }

    /// A module sentence-transformers has but TCompile does not run is named.
    @Test func unsupportedModuleIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]"#.utf8)
            .write(to: dir.appendingPathComponent("modules.json"))
        #expect { _ = try SentenceTransformersConfig.load(from: dir) } throws: { "\($0)".contains("'sentence_transformers.models.Dense'") }
    }
}

/// Logits to entity spans and answer spans, against HF's token-classification pipeline
/// (`aggregation_strategy="simple"`) and transformers 4's question-answering decoding.
@Suite struct SpanDecodingTests {
    struct Entity: Decodable { var label: String; var score: Float; var start: Int; var end: Int }
    struct Answer: Decodable { var answer: String; var score: Float; var start: Int; var end: Int }

    @Test func entitiesAsTheTokenClassificationPipeline() throws {
        let directory = try fixtureDirectory("bert-ner")
        let loaded = try BertForTokenClassification.loadPretrained(directory: directory)
        let tokenizer = try Tokenizer.fromDirectory(directory.path)
        let e = try expected("bert-ner")
        let texts = try JSONDecoder().decode([String].self, from: Data(e.metadata["texts"]!.utf8))
        let reference = try JSONDecoder().decode([[Entity]].self, from: Data(e.metadata["entities"]!.utf8))
        for (text, want) in zip(texts, reference) {
            let encoding = try tokenizer.encode(text)
            let ids = Tensor(encoding.ids, shape: [1, encoding.count])
            let logits = try loaded.model(EncoderInputs(inputIds: ids, attentionMask: Tensor.ones([1, encoding.count], dtype: .int64),
                                                        tokenTypeIds: Tensor(encoding.typeIds, shape: [1, encoding.count]))).logits
            let flat = logits.toFloatArray(), width = logits.size(-1)
            let rows = (0..<encoding.count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
            let got = groupEntities(logits: rows, labels: loaded.config.common.labels, encoding: encoding, text: text)
            #expect(got.map(\.label) == want.map(\.label), "\(text)")
            #expect(got.map(\.start) == want.map(\.start) && got.map(\.end) == want.map(\.end), "\(text)")
            for (g, w) in zip(got, want) { #expect(Swift.abs(g.score - w.score) < 1e-4, "\(text): \(g.label) \(g.score) vs \(w.score)") }
        }
    }

    @Test func answerAsTheQuestionAnsweringPipeline() throws {
        let directory = try fixtureDirectory("bert-squad")
        let model = try BertForQuestionAnswering.fromPretrained(directory: directory)
        let tokenizer = try Tokenizer.fromDirectory(directory.path)
        let e = try expected("bert-squad")
        let cases = try JSONDecoder().decode([[String]].self, from: Data(e.metadata["cases"]!.utf8))
        let reference = try JSONDecoder().decode([Answer].self, from: Data(e.metadata["answers"]!.utf8))
        for (pair, want) in zip(cases, reference) {
            let encoding = try tokenizer.encodePair(pair[0], pair[1])
            let out = try model(EncoderInputs(inputIds: Tensor(encoding.ids, shape: [1, encoding.count]),
                                              tokenTypeIds: Tensor(encoding.typeIds, shape: [1, encoding.count])))
            let span = try #require(bestAnswerSpan(startLogits: out.startLogits.toFloatArray(), endLogits: out.endLogits.toFloatArray(),
                                                   encoding: encoding, context: pair[1]))
            #expect(span.answer == want.answer && span.start == want.start && span.end == want.end, "\(pair): \(span)")
            #expect(Swift.abs(span.score - want.score) < 1e-5, "\(span.score) vs \(want.score)")
        }
    }
}
