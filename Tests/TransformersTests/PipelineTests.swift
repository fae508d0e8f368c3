import Foundation
import Testing
import Tensors
@testable import Transformers

/// A whitespace tokenizer over a fixed table, standing in for `Tokenizers` in pipeline tests.
struct TableEncoder: TextEncoder {
    let vocabulary: [String]
    let specials: (cls: Int, sep: Int)?

    func tokenId(for token: String) -> Int? { vocabulary.firstIndex(of: token) }

    func encodeText(_ text: String, pair: String?) throws -> (ids: [Int], typeIds: [Int]) {
        func words(_ s: String) throws -> [Int] {
            try s.split(separator: " ").map { w in
                guard let id = tokenId(for: String(w)) else { throw TransformersError.invalidInput(argument: "text", reason: "unknown word \(w)") }
                return id
            }
        }
        var ids = try words(text), types = Array(repeating: 0, count: ids.count)
        if let specials { ids = [specials.cls] + ids + [specials.sep]; types += [0, 0] }
        if let pair {
            let b = try words(pair) + (specials.map { [$0.sep] } ?? [])
            ids += b
            types += Array(repeating: 1, count: b.count)
        }
        return (ids, types)
    }

    func decodeIds(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        ids.filter { !skipSpecialTokens || specials == nil || ($0 != specials!.cls && $0 != specials!.sep) }
            .map { vocabulary[$0] }.joined(separator: " ")
    }
}

let tinyVocabulary = (0..<99).map { $0 == 2 ? "[CLS]" : $0 == 3 ? "[SEP]" : $0 == 4 ? "[MASK]" : "w\($0)" }

@Suite struct PipelineTests {
    @Test func fillMaskWithIdsAndText() throws {
        let model = try BertForMaskedLM.fromPretrained(directory: fixtureDirectory("bert-mlm"))
        let tokenizer = TableEncoder(vocabulary: tinyVocabulary, specials: (2, 3))
        let fill = FillMaskPipeline(model: model, maskTokenId: 4, tokenizer: tokenizer)
        let predictions = try fill(ids: [2, 10, 4, 20, 4, 3], topK: 3)
        #expect(predictions.count == 2 && predictions.allSatisfy { $0.count == 3 })
        #expect(predictions[0][0].score >= predictions[0][1].score)
        let logits = try model(EncoderInputs(inputIds: Tensor([2, 10, 4, 20, 4, 3], shape: [1, 6]))).logits
        #expect(predictions[0][0].token == logits.selected(dim: 1, index: 2).argmax().toIntArray()[0])
        let fromText = try fill("w10 [MASK] w20 [MASK]", topK: 3)
        #expect(fromText == predictions)
        #expect(fromText[0][0].sequence?.hasPrefix("w10 w") == true)
        #expect(throws: TransformersError.self) { try fill(ids: [2, 10, 3]) }
    }

    @Test func featureExtractionMeanPoolsAndNormalizes() throws {
        let model = try BertModel.fromPretrained(directory: fixtureDirectory("bert-model"))
        let embed = FeatureExtractionPipeline(model: model)
        let vectors = try embed(ids: [[2, 10, 11, 3], [2, 12, 3]])
        #expect(vectors.shape == [2, 96])
        let norms = vectors.square().sum(dim: -1).sqrt().toFloatArray()
        #expect(norms.allSatisfy { Swift.abs($0 - 1) < 1e-5 })
        // Padding does not change a row's embedding.
        let alone = try embed(ids: [[2, 12, 3]])
        #expect(maxAbsDifference(vectors.selected(dim: 0, index: 1), alone.selected(dim: 0, index: 0)) < 1e-5)
    }

    @Test func textClassificationScoresEveryLabel() throws {
        let model = try BertForSequenceClassification.fromPretrained(directory: fixtureDirectory("bert-seqcls"))
        let classify = TextClassificationPipeline(model: model, tokenizer: TableEncoder(vocabulary: tinyVocabulary, specials: (2, 3)))
        let scores = try classify(["w10 w11", "w12"], pairs: ["w13", "w14 w15"])
        #expect(scores.count == 2 && scores.allSatisfy { $0.count == 3 })
        for row in scores { #expect(Swift.abs(row.map(\.score).reduce(0, +) - 1) < 1e-5) }
        #expect(Set(scores[0].map(\.label)) == ["LABEL_0", "LABEL_1", "LABEL_2"])
    }

    @Test func textGenerationFromText() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm"))
        let generate = TextGenerationPipeline(model: model, tokenizer: TableEncoder(vocabulary: tinyVocabulary, specials: nil))
        let text = try generate(["w5 w17 w33"], config: .greedy(maxNewTokens: 6))
        let ids = try generate(ids: [[5, 17, 33]], config: .greedy(maxNewTokens: 6))
        #expect(text == [ids[0].map { tinyVocabulary[$0] }.joined(separator: " ")])
        #expect(throws: TransformersError.self) { try TextGenerationPipeline(model: model)(["w1"]) }
    }
}
