import Foundation
import Testing
import Tensors
@testable import Transformers

/// The seed example on the real bert-base-uncased vocabulary, and the real all-MiniLM-L6-v2.
@Suite struct RealVocabularyTests {
    @Test func helloMyDogIsCute() throws {
        let e = try expected("bert-fill-mask")
        let model = try BertForMaskedLM.fromPretrained(directory: fixtureDirectory("bert-fill-mask"))
        let out = try model(EncoderInputs(inputIds: e.tensor("hello_input_ids")))
        expectClose(out.logits, try e.tensor("hello_logits"), 1e-4, "logits of 'Hello, my dog is cute.'")
    }

    @Test func fillMaskTopFiveEqualsHuggingFace() throws {
        let e = try expected("bert-fill-mask")
        let model = try BertForMaskedLM.fromPretrained(directory: fixtureDirectory("bert-fill-mask"))
        let fill = FillMaskPipeline(model: model, maskTokenId: 103)
        let top = try fill(ids: e.tensor("masked_input_ids").toIntArray(), topK: 5)[0]
        #expect(try top.map(\.token) == e.tensor("top_ids").toIntArray())
        expectClose(Tensor(top.map(\.score)), try e.tensor("top_scores"), 1e-6, "scores")
    }

    @Test func miniLMSentenceEmbeddingsMatchSentenceTransformers() throws {
        let directory = repositoryRoot().appendingPathComponent(".models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            Issue.record("run scripts/fetch-minilm.sh first: \(directory.path) is missing")
            return
        }
        let e = try expected("minilm")
        let loaded = try BertModel.loadPretrained(directory: directory)
        #expect(loaded.report.ignored == ["embeddings.position_ids"])
        let embed = FeatureExtractionPipeline(model: loaded.model)
        let vectors = try embed(EncoderInputs(inputIds: e.tensor("input_ids"), attentionMask: e.tensor("attention_mask"),
                                              tokenTypeIds: e.tensor("token_type_ids")))
        let reference = try e.tensor("embeddings")
        #expect(vectors.shape == reference.shape && reference.size(0) >= 20)
        let cosines = (vectors * reference).sum(dim: -1).toFloatArray()      // both unit length
        let worst = cosines.min()!
        if ProcessInfo.processInfo.environment["TF_PRINT_AGREEMENT"] != nil { print("agreement MiniLM: \(cosines.count) sentences, worst cosine \(worst)") }
        #expect(worst >= 0.99999, "worst cosine \(worst)")
    }
}

/// The same references reached from text through the `Tokenizers` module.
@Suite struct TokenizerIntegrationTests {
    @Test func fillMaskFromText() throws {
        let e = try expected("bert-fill-mask")
        let loaded = try BertForMaskedLM.loadPretrained(directory: fixtureDirectory("bert-fill-mask"))
        let tokenizer = try #require(loaded.tokenizer)
        #expect(try tokenizer.encodeText(e.metadata["hello"]!, pair: nil).ids == e.tensor("hello_input_ids").toIntArray())
        let fill = try FillMaskPipeline(loaded)
        #expect(fill.maskTokenId == 103)
        let top = try fill(e.metadata["masked"]!, topK: 5)[0]
        #expect(try top.map(\.token) == e.tensor("top_ids").toIntArray())
        let tokens = try JSONDecoder().decode([String].self, from: Data(e.metadata["top_tokens"]!.utf8))
        #expect(top.map { $0.tokenString ?? "" } == tokens)
    }

    @Test func miniLMFromText() throws {
        let directory = repositoryRoot().appendingPathComponent(".models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            Issue.record("run scripts/fetch-minilm.sh first: \(directory.path) is missing")
            return
        }
        let e = try expected("minilm")
        let sentences = try JSONDecoder().decode([String].self, from: Data(e.metadata["sentences"]!.utf8))
        let loaded = try BertModel.loadPretrained(directory: directory)
        let vectors = try FeatureExtractionPipeline(model: loaded.model, tokenizer: loaded.tokenizer)(sentences)
        let cosines = try (vectors * e.tensor("embeddings")).sum(dim: -1).toFloatArray()
        #expect(cosines.min()! >= 0.99999, "worst cosine \(cosines.min()!)")
    }
}
