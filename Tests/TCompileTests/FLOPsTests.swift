import Foundation
import Testing
import TCompile
import Transformers

/// `Graph.matmulFLOPs`: the shipped tiny BERT classifier's matrix products, counted by hand, before
/// and after -O2 (fusion must not change the count).
@Suite struct FLOPsTests {
    @Test func tinyBertClassifierByHand() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/classify/model").standardized
        let graph = try ModelExport.load(directory: directory, task: .textClassification).trace(maxBatch: 4, maxSeq: 32)
        let (b, s, e, i, layers, labels) = (2.0, 16.0, 64.0, 128.0, 2.0, 4.0)
        let perLayer = 2 * b * s * e * e * 4        // query, key, value, output projections
            + 2 * b * s * e * i * 2                  // feed-forward up and down
            + 2 * b * s * s * e * 2                  // Q·Kᵀ and P·V over all heads
        let expected = layers * perLayer + 2 * b * e * e + 2 * b * e * labels   // pooler, classifier
        let dims = ["batch": 2, "seq": 16]
        #expect(graph.matmulFLOPs(at: dims) == expected)
        #expect(try TCompile.optimize(graph).graph.matmulFLOPs(at: dims) == expected)
    }
}
