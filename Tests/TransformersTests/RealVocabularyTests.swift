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
