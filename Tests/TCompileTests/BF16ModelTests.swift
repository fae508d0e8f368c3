import Foundation
import Testing
import TCompile
import Transformers

/// A whole model compiled at bf16 against the f32 graph: the small BERT fixture (hidden 96,
/// intermediate 200, two layers, random weights), traced and optimized for bf16 (its weights marked
/// `.bf16panels`), through `PrecisionReport` as `tcompile --precision bf16` reports it.
@Suite(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which the bf16 kernels need"))
struct BF16ModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    @Test func bertCompiledAtBF16AgreesWithF32() throws {
        let model = try ModelExport.load(directory: Self.fixtures.appendingPathComponent("bert-model"), task: .featureExtraction)
        let graph = try model.trace(maxBatch: 4, maxSeq: 32)
        let result = try TCompile.optimize(graph, level: 2, precision: .bf16)
        let optimized = result.graph
        let panels = optimized.constants.keys.filter { PanelLayout.format(ofConstant: $0) != nil }
        #expect(!panels.isEmpty && panels.allSatisfy { PanelLayout.format(ofConstant: $0) == .bf16 }, "\(panels.sorted())")
        let compiled = try CompiledModel(graph: optimized, name: "bert_bf16", options: CompileOptions(cache: nil, precision: .bf16))
        // The pipeline's plan at bf16 (the compile report's arena) is the kernel's workspace, bf16 scratch included.
        #expect(result.memoryPlan?.arenaBytes == compiled.signature.workspaceBytes)
        #expect(result.memoryPlan.map { $0.scratchBytes >= PanelLayout.bf16ScratchBytes(k: 200, packsPanel: false) } ?? false)
        for dims in [["batch": 1, "seq": 7], ["batch": 4, "seq": 32]] {
            let report = try PrecisionReport.measure(reference: graph, compiled: compiled, precision: .bf16, dims: dims)
            #expect(report.outputs.map(\.name) == graph.outputs.map(\.name))
            for output in report.outputs {
                #expect(output.cosine >= 0.999, "\(dims) \(output.name): cosine \(output.cosine)")
                // bf16, not f32: some difference, and well within the values' scale.
                #expect(output.maxAbsError > 0 && output.maxAbsError < 0.05 * output.maxAbsReference,
                        "\(dims) \(output.name): max abs error \(output.maxAbsError) of \(output.maxAbsReference)")
            }
        }
        // The sample ids cover the vocabulary (not only the ones `sampleInputs` gives).
        let inputs = try PrecisionReport.sampleInputs(for: graph, dims: ["batch": 4, "seq": 32], seed: 0)
        let ids = try #require(inputs["input_ids"]).toIntArray()
        #expect(Set(ids).count > 20 && ids.allSatisfy { (0..<99).contains($0) })
    }
}
