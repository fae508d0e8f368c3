import Foundation
import Testing
import TCompile
import Tokenizers
import Transformers

/// What bf16 and int8 cost on real weights, against the same model compiled at f32:
/// - all-MiniLM-L6-v2's sentence embeddings of 1,000 shipped, varied sentences
///   (`Fixtures/accuracy-sentences.txt`, made by `scripts/fixtures/make_accuracy_sentences.py` from the
///   repository's own texts): worst cosine ≥ 0.999 at bf16 and ≥ 0.99 at int8;
/// - the classify sample's trained classifier: every label of its 400-sentence test set unchanged.
/// Each precision runs only where the host has its feature (skipped, saying so, elsewhere).
@Suite struct PrecisionAccuracyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let maxSeq = 128, batch = 25

    /// The model compiled at `precision` (the same traced graph as the f32 reference).
    static func compile(_ graph: Graph, _ precision: Precision) throws -> CompiledModel {
        let optimized = try TCompile.optimize(graph, level: 2, precision: precision).graph
        return try CompiledModel(graph: optimized, name: "accuracy_\(precision)", options: CompileOptions(cache: nil, precision: precision))
    }

    /// `texts` tokenized (truncated to `maxSeq`, the last token kept) and run through each model in
    /// batches of similar lengths; returns each model's `output` rows, in the order of `texts`.
    static func outputs(_ models: [CompiledModel], output: String, texts: [String], tokenizer: Tokenizer,
                        needsTypes: Bool) throws -> [[[Float]]] {
        let encoded = try texts.map { text -> [Int] in
            let ids = try tokenizer.encode(text).ids
            return ids.count <= maxSeq ? ids : Array(ids.prefix(maxSeq - 1)) + [ids[ids.count - 1]]
        }
        let order = encoded.indices.sorted { encoded[$0].count < encoded[$1].count }
        var results = Array(repeating: Array(repeating: [Float](), count: texts.count), count: models.count)
        for start in stride(from: 0, to: order.count, by: batch) {
            let rows = Array(order[start..<min(start + batch, order.count)])
            let width = rows.map { encoded[$0].count }.max() ?? 1
            var ids: [Int] = [], mask: [Int] = []
            for r in rows {
                let row = encoded[r]
                ids += row + Array(repeating: 0, count: width - row.count)
                mask += Array(repeating: 1, count: row.count) + Array(repeating: 0, count: width - row.count)
            }
            var inputs = ["input_ids": Tensor(ids, shape: [rows.count, width]), "attention_mask": Tensor(mask, shape: [rows.count, width])]
            if needsTypes { inputs["token_type_ids"] = Tensor(Array(repeating: 0, count: ids.count), shape: [rows.count, width]) }
            for (m, model) in models.enumerated() {
                let values = try #require(try model(inputs)[output])
                let columns = values.shape.last ?? 0, flat = values.toFloatArray()
                for (i, r) in rows.enumerated() { results[m][r] = Array(flat[(i * columns)..<((i + 1) * columns)]) }
            }
        }
        return results
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / max(1e-30, (na * nb).squareRoot())
    }

    func miniLMEmbeddings(_ precision: Precision, minimumCosine: Double) throws {
        let directory = Self.repository.appendingPathComponent(".models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            Issue.record("run scripts/fetch-minilm.sh first: \(directory.path) is missing")
            return
        }
        let text = try String(contentsOf: Self.repository.appendingPathComponent("Tests/TCompileTests/Fixtures/accuracy-sentences.txt"), encoding: .utf8)
        let sentences = text.split(separator: "\n").map(String.init)
        #expect(sentences.count == 1000)
        let model = try ModelExport.load(directory: directory, task: nil)
        let graph = try model.trace(maxBatch: Self.batch, maxSeq: Self.maxSeq)
        let tokenizer = try Tokenizer.fromDirectory(directory.path)
        let models = [try Self.compile(graph, .fp32), try Self.compile(graph, precision)]
        let rows = try Self.outputs(models, output: "sentence_embedding", texts: sentences, tokenizer: tokenizer, needsTypes: true)
        let cosines = zip(rows[0], rows[1]).map { Self.cosine($0, $1) }
        let worst = cosines.min() ?? 0, mean = cosines.reduce(0, +) / Double(max(1, cosines.count))
        let worstSentence = cosines.firstIndex(of: worst).map { sentences[$0] } ?? ""
        #expect(worst >= minimumCosine, "\(precision): worst cosine \(worst) (mean \(mean)) on \"\(worstSentence)\"")
        #expect(worst < 1, "\(precision): identical to f32, so not computed at \(precision)")
        print("all-MiniLM-L6-v2 at \(precision) over \(sentences.count) sentences: worst cosine \(worst), mean \(mean)")
    }

    func classifierLabels(_ precision: Precision) throws {
        let directory = Self.repository.appendingPathComponent("samples/classify/model")
        let lines = try String(contentsOf: Self.repository.appendingPathComponent("samples/classify/data/test.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let texts = try lines.map { line -> String in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(object?["text"] as? String)
        }
        #expect(texts.count == 400)
        let model = try ModelExport.load(directory: directory, task: .textClassification)
        let graph = try model.trace(maxBatch: Self.batch, maxSeq: 64)
        let tokenizer = try Tokenizer.fromDirectory(directory.path)
        let models = [try Self.compile(graph, .fp32), try Self.compile(graph, precision)]
        let needsTypes = graph.inputNodes.contains { if case .input("token_type_ids") = $0.op { true } else { false } }
        let rows = try Self.outputs(models, output: "logits", texts: texts, tokenizer: tokenizer, needsTypes: needsTypes)
        let label = { (logits: [Float]) -> Int in logits.indices.max { logits[$0] < logits[$1] } ?? -1 }
        let changed = texts.indices.filter { label(rows[0][$0]) != label(rows[1][$0]) }
        #expect(changed.isEmpty, "\(precision): \(changed.count) of \(texts.count) labels changed, e.g. \"\(changed.first.map { texts[$0] } ?? "")\"")
        #expect(zip(rows[0], rows[1]).contains { $0 != $1 }, "\(precision): identical to f32")
    }

    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which the bf16 kernels need"))
    func miniLMAtBF16() throws { try miniLMEmbeddings(.bf16, minimumCosine: 0.999) }

    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
    func miniLMAtInt8() throws { try miniLMEmbeddings(.int8, minimumCosine: 0.99) }

    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which the bf16 kernels need"))
    func classifierAtBF16() throws { try classifierLabels(.bf16) }

    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
    func classifierAtInt8() throws { try classifierLabels(.int8) }
}
