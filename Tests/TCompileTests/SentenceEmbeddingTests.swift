import Foundation
import Testing
import TCompile
import Transformers

/// The real all-MiniLM-L6-v2 exported as a sentence-transformers directory: `modules.json` picks the
/// sentence-embedding task, pooling and normalization are traced into the graph, and the compiled
/// `sentence_embedding` equals `SentenceTransformer.encode` (cosine ≥ 0.99999 on 24 sentences).
@Suite struct SentenceEmbeddingTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    @Test func miniLMCompiledEqualsSentenceTransformers() throws {
        let directory = Self.repository.appendingPathComponent(".models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            Issue.record("run scripts/fetch-minilm.sh first: \(directory.path) is missing")
            return
        }
        let model = try ModelExport.load(directory: directory, task: nil)
        #expect(model.task == .sentenceEmbedding)
        let graph = try model.trace(maxBatch: 24, maxSeq: 32)
        #expect(graph.outputs.map(\.name) == ["sentence_embedding"])
        let e = try SafeTensorsFile(path: Self.repository.appendingPathComponent("Tests/TransformersTests/Fixtures/minilm/expected.safetensors").path)
        let inputs = ["input_ids": try e.tensor("input_ids"), "attention_mask": try e.tensor("attention_mask"),
                      "token_type_ids": try e.tensor("token_type_ids")]
        let reference = try e.tensor("embeddings")
        let compiled = try TCompile.compile(graph, name: "minilm_st")(inputs)["sentence_embedding"]!
        let interpreted = try Interpreter(graph: graph).run(inputs)["sentence_embedding"]!
        for (name, embedding) in [("compiled", compiled), ("interpreted", interpreted)] {
            let worst = (embedding * reference).sum(dim: -1).toFloatArray().min() ?? 0
            #expect(worst >= 0.99999, "\(name): worst cosine \(worst)")
        }
    }
}
