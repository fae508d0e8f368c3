import Foundation
import Testing
import Tensors
@testable import Transformers

/// DistilBERT, ELECTRA and ALBERT against Hugging Face (`scripts/fixtures/encoder_families_fixtures.py`):
/// every head loaded unchanged from its checkpoint, logits within 1e-4, losses within 1e-5.
@Suite struct EncoderFamiliesTests {
    func inputs(_ e: SafeTensorsFile) throws -> EncoderInputs {
        EncoderInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                      tokenTypeIds: e.entries["token_type_ids"] != nil ? try e.tensor("token_type_ids") : nil)
    }

    /// The base model's states (and pooled output when the fixture has one), nothing left unused.
    func checkBase<M: EncoderModel>(_ type: M.Type, _ name: String, pooled: ((M, EncoderInputs) throws -> Tensor?)? = nil) throws {
        let e = try expected(name)
        let loaded = try M.loadPretrained(directory: fixtureDirectory(name), tokenizer: nil)
        #expect(loaded.report.unused.isEmpty, "\(name): \(loaded.report)")
        expectClose(try loaded.model.hiddenStates(inputs(e)), try e.tensor("last_hidden_state"), 1e-4, "\(name) last_hidden_state")
        if let pooled, e.entries["pooler_output"] != nil {
            expectClose(try #require(try pooled(loaded.model, inputs(e))), try e.tensor("pooler_output"), 1e-4, "\(name) pooler_output")
        }
    }

    /// The generic token-classification and question-answering heads on `Base`.
    func checkTokenHeads<Base: EncoderModel>(_ base: Base.Type, prefix: String) throws {
        var e = try expected("\(prefix)-tokcls")
        let tagger = try ForTokenClassification<Base>.loadPretrained(directory: fixtureDirectory("\(prefix)-tokcls"), tokenizer: nil)
        #expect(tagger.report.unused.isEmpty, "\(prefix)-tokcls: \(tagger.report)")
        let tagged = try tagger.model(inputs(e), labels: try e.tensor("labels"))
        expectClose(tagged.logits, try e.tensor("logits"), 1e-4, "\(prefix)-tokcls logits")
        expectClose(try #require(tagged.loss), try e.tensor("loss"), 1e-5, "\(prefix)-tokcls loss")

        e = try expected("\(prefix)-qa")
        let reader = try ForQuestionAnswering<Base>.loadPretrained(directory: fixtureDirectory("\(prefix)-qa"), tokenizer: nil)
        #expect(reader.report.unused.isEmpty, "\(prefix)-qa: \(reader.report)")
        let spans = try reader.model(inputs(e), startPositions: try e.tensor("start_positions"), endPositions: try e.tensor("end_positions"))
        expectClose(spans.startLogits, try e.tensor("start_logits"), 1e-4, "\(prefix)-qa start_logits")
        expectClose(spans.endLogits, try e.tensor("end_logits"), 1e-4, "\(prefix)-qa end_logits")
        expectClose(try #require(spans.loss), try e.tensor("loss"), 1e-5, "\(prefix)-qa loss")
    }

    /// A sentence-transformers directory around `Base`: mean pooling and normalization as `SentenceTransformer.encode`.
    func checkSentenceEmbedding<Base: EncoderModel>(_ base: Base.Type, _ name: String) throws {
        let e = try expected(name)
        let model = try SentenceEmbeddingModel<Base>.fromPretrained(directory: fixtureDirectory(name))
        expectClose(try model(inputs(e)), try e.tensor("sentence_embedding"), 1e-5, "\(name) sentence_embedding")
    }

    /// A head's logits and loss.
    func checkHead(_ name: String, _ run: (EncoderInputs, Tensor) throws -> HeadOutput) throws {
        let e = try expected(name)
        let out = try run(inputs(e), try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "\(name) logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "\(name) loss")
    }

    // MARK: DistilBERT

    @Test func distilBert() throws {
        try checkBase(DistilBertModel.self, "distilbert-model")
        let mlm = try DistilBertForMaskedLM.loadPretrained(directory: fixtureDirectory("distilbert-mlm"), tokenizer: nil)
        #expect(mlm.report.unused.isEmpty, "\(mlm.report)")
        #expect(mlm.model.vocabProjector.weight === mlm.model.distilbert.embeddings.wordEmbeddings.weight)
        try checkHead("distilbert-mlm") { try mlm.model($0, labels: $1) }
        let classifier = try DistilBertForSequenceClassification.fromPretrained(directory: fixtureDirectory("distilbert-seqcls"))
        try checkHead("distilbert-seqcls") { try classifier($0, labels: $1) }
        try checkTokenHeads(DistilBertModel.self, prefix: "distilbert")
        try checkSentenceEmbedding(DistilBertModel.self, "st-distilbert")
    }

    /// `sinusoidal_pos_embds`: the checkpoint's table is HF's sinusoidal one, and a checkpoint without
    /// it loads with the table computed from the config, to the same outputs.
    @Test func distilBertSinusoidalPositions() throws {
        let e = try expected("distilbert-sinusoidal")
        let loaded = try DistilBertModel.fromPretrained(directory: fixtureDirectory("distilbert-sinusoidal"))
        let table = sinusoidalPositionTable(positions: 64, dim: 96)
        #expect(maxAbsDifference(loaded.embeddings.positionEmbeddings.weight, table) <= 1e-6)
        expectClose(try loaded(inputs(e)).lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "with the table")

        let stripped = try editedCheckpoint("distilbert-sinusoidal", tensors: { $0["embeddings.position_embeddings.weight"] = nil })
        defer { try? FileManager.default.removeItem(at: stripped) }
        let computed = try DistilBertModel.loadPretrained(directory: stripped, tokenizer: nil)
        #expect(computed.report.newlyInitialized.isEmpty)
        expectClose(try computed.model(inputs(e)).lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "without the table")

        // Learned positions are still required.
        let learned = try editedCheckpoint("distilbert-model", tensors: { $0["embeddings.position_embeddings.weight"] = nil })
        defer { try? FileManager.default.removeItem(at: learned) }
        #expect { _ = try DistilBertModel.fromPretrained(directory: learned) } throws: {
            "\($0)".contains("embeddings.position_embeddings.weight")
        }
    }

    /// Errors name the field: sizes, heads that do not divide, activations.
    @Test func distilBertConfigErrorsNameTheField() throws {
        for (edit, field) in [({ (c: inout [String: Any]) in c["n_heads"] = 5 }, "n_heads"),
                              ({ $0["dim"] = 0 }, "dim"),
                              ({ $0["activation"] = "mish" }, "activation"),
                              ({ $0["seq_classif_dropout"] = 1.5 }, "seq_classif_dropout"),
                              ({ $0["hidden_dim"] = 1 << 40 }, "2^36")] {
            let dir = try editedCheckpoint("distilbert-model", config: edit)
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect { _ = try DistilBertModel.fromPretrained(directory: dir) } throws: { "\($0)".contains(field) }
        }
        let misshapen = try editedCheckpoint("distilbert-model", tensors: { $0["transformer.layer.1.ffn.lin1.weight"] = Tensor.zeros([199, 96]) })
        defer { try? FileManager.default.removeItem(at: misshapen) }
        #expect { _ = try DistilBertModel.fromPretrained(directory: misshapen) } throws: { "\($0)".contains("transformer.layer.1.ffn.lin1.weight") }
    }

    // MARK: ELECTRA

    @Test func electra() throws {
        try checkBase(ElectraModel.self, "electra-model")
        try checkBase(ElectraModel.self, "electra-generator-model")
        let discriminator = try ElectraForPreTraining.loadPretrained(directory: fixtureDirectory("electra-pretraining"), tokenizer: nil)
        #expect(discriminator.report.unused.isEmpty, "\(discriminator.report)")
        #expect(discriminator.model.electra.embeddingsProject == nil)
        try checkHead("electra-pretraining") { try discriminator.model($0, labels: $1) }
        // The generator: embeddings of 96 projected to hidden states of 48, and back for the tied head.
        let generator = try ElectraForMaskedLM.loadPretrained(directory: fixtureDirectory("electra-mlm"), tokenizer: nil)
        #expect(generator.report.unused.isEmpty, "\(generator.report)")
        #expect(generator.model.electra.embeddingsProject?.weight.shape == [48, 96])
        #expect(generator.model.generatorLMHead.weight === generator.model.electra.embeddings.wordEmbeddings.weight)
        try checkHead("electra-mlm") { try generator.model($0, labels: $1) }
        let classifier = try ElectraForSequenceClassification.fromPretrained(directory: fixtureDirectory("electra-seqcls"))
        try checkHead("electra-seqcls") { try classifier($0, labels: $1) }
        try checkTokenHeads(ElectraModel.self, prefix: "electra")
        try checkSentenceEmbedding(ElectraModel.self, "st-electra")
    }

    @Test func electraConfigErrorsNameTheField() throws {
        for (edit, field) in [({ (c: inout [String: Any]) in c["embedding_size"] = -1 }, "embedding_size"),
                              ({ $0["num_attention_heads"] = 5 }, "num_attention_heads"),
                              ({ $0["hidden_act"] = "mish" }, "hidden_act")] {
            let dir = try editedCheckpoint("electra-model", config: edit)
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect { _ = try ElectraModel.fromPretrained(directory: dir) } throws: { "\($0)".contains(field) }
        }
    }

    // MARK: ALBERT

    @Test func albert() throws {
        try checkBase(AlbertModel.self, "albert-model") { m, x in m.forward(x).poolerOutput }
        let mlm = try AlbertForMaskedLM.loadPretrained(directory: fixtureDirectory("albert-mlm"), tokenizer: nil)
        #expect(mlm.report.unused.isEmpty, "\(mlm.report)")
        #expect(mlm.model.predictions.decoder.weight === mlm.model.albert.embeddings.wordEmbeddings.weight)
        #expect(mlm.model.predictions.decoder.bias === mlm.model.predictions.bias)
        try checkHead("albert-mlm") { try mlm.model($0, labels: $1) }
        for name in ["albert-seqcls", "albert-regression", "albert-multilabel"] {
            let classifier = try AlbertForSequenceClassification.fromPretrained(directory: fixtureDirectory(name))
            try checkHead(name) { try classifier($0, labels: $1) }
        }
        try checkTokenHeads(AlbertModel.self, prefix: "albert")
        try checkSentenceEmbedding(AlbertModel.self, "st-albert")
    }

    /// Shared layers: one group of two layers run four times holds the weights of two layers, and
    /// HF's group of each layer (`int(i / (layers / groups))`).
    @Test func albertSharedLayers() throws {
        try checkBase(AlbertModel.self, "albert-shared") { m, x in m.forward(x).poolerOutput }
        let model = try AlbertModel.fromPretrained(directory: fixtureDirectory("albert-shared"))
        #expect(model.encoder.groups.count == 1 && model.encoder.groups[0].layers.count == 2)
        let layerKeys = Set(model.namedParameters().map(\.0).filter { $0.contains("albert_layers") })
        #expect(layerKeys.count == 2 * 16)
        let config = AlbertConfig(numHiddenLayers: 3, numHiddenGroups: 2)
        #expect((0..<3).map(config.group(ofLayer:)) == [0, 0, 1])
        let even = AlbertConfig(numHiddenLayers: 12, numHiddenGroups: 4)
        #expect((0..<12).map(even.group(ofLayer:)) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    }

    @Test func albertConfigErrorsNameTheField() throws {
        for (edit, field) in [({ (c: inout [String: Any]) in c["num_hidden_groups"] = 0 }, "num_hidden_groups"),
                              ({ $0["inner_group_num"] = -2 }, "inner_group_num"),
                              ({ $0["embedding_size"] = 0 }, "embedding_size"),
                              ({ $0["num_attention_heads"] = 7 }, "num_attention_heads"),
                              ({ $0["hidden_act"] = "mish" }, "hidden_act"),
                              ({ $0["classifier_dropout_prob"] = 2 }, "classifier_dropout_prob"),
                              ({ $0["inner_group_num"] = 1 << 40 }, "2^36"),
                              ({ $0["num_hidden_layers"] = 1 << 40 }, "2^36")] {
            let dir = try editedCheckpoint("albert-model", config: edit)
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect { _ = try AlbertModel.fromPretrained(directory: dir) } throws: { "\($0)".contains(field) }
        }
        let misshapen = try editedCheckpoint("albert-model", tensors: {
            $0["encoder.embedding_hidden_mapping_in.weight"] = Tensor.zeros([96, 41])
        })
        defer { try? FileManager.default.removeItem(at: misshapen) }
        #expect { _ = try AlbertModel.fromPretrained(directory: misshapen) } throws: { "\($0)".contains("encoder.embedding_hidden_mapping_in.weight") }
    }
}
