import Foundation
import Testing
import TCompile
import Transformers

/// ALBERT's layers shared across depth stay shared through tracing, the -O2 passes and codegen: the
/// graph holds each weight once, and so does the compiled artifact's weights file.
@Suite struct SharedWeightsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    /// `albert-shared`: one group of two layers run four times (8 layer applications, the weights of 2).
    @Test func albertWeightsAreStoredOnce() throws {
        let model = try ModelExport.load(directory: Self.fixtures.appendingPathComponent("albert-shared"), task: .featureExtraction)
        let parameters = model.module.parameterCount()
        let layer = try #require(model.module.namedModules().first { $0.0 == "encoder.albert_layer_groups.0.albert_layers.0" }?.1)
        let perLayer = layer.parameterCount()

        // Traced: every parameter is one constant; the rest are a few scalars (the mask's 0 and −∞).
        let graph = try model.trace(maxBatch: 2, maxSeq: 16)
        let traced = graph.constants.values.reduce(0) { $0 + $1.count }
        #expect(traced >= parameters && traced < parameters + 16, "traced constants hold \(traced) values for \(parameters) parameters")
        let layerConstants = graph.constants.keys.filter { $0.contains("albert_layers") }
        #expect(layerConstants.count == 2 * 16, "\(layerConstants.count) layer constants")

        // -O2 folds weight transposes into new constants: a shared weight is folded once.
        let optimized = try PassManager(pipeline: .o2).run(graph).graph
        let packed = optimized.constants.values.reduce(0) { $0 + $1.count }
        #expect(packed < parameters + 16, "after -O2: \(packed) constant values for \(parameters) parameters (a layer has \(perLayer))")

        // The artifact's weights file: the same values, 4 bytes each, plus its header and alignment
        // (19,488 bytes here); one extra copy of the smallest shared weight, 96×96, would add 36,864.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("albert-shared-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = try AOTCompiler.write(optimized, name: "albert_shared", to: directory.path)
        #expect(output.weightsBytes < 4 * parameters + 32_768,
                "weights file of \(output.weightsBytes) bytes for \(parameters) parameters (\(4 * parameters) bytes)")
    }
}
