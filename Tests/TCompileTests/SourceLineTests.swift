import Foundation
import Testing
@testable import Graph
import TCompile
import Transformers

/// Every node of GPT-2's two generation graphs that carries a source location names a line of the
/// package's own code that exists and is not blank, in the layers and models (never in the tensor
/// library, whose frames are skipped), and most nodes carry one.
@Suite struct SourceLineTests {
    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func generationGraphsPointIntoTheModelCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let model = try GPT2LMHeadModel.fromPretrained(directory: root.appendingPathComponent("Tests/TransformersTests/Fixtures/gpt2-lm"))
        let graphs = try GenerationGraphs(model: model, maxBatch: 2, maxLength: 24)
        let nodes = graphs.prefill.nodes + graphs.decode.nodes
        let located = nodes.compactMap(\.location)
        #expect(located.count > nodes.count / 2, "only \(located.count) of \(nodes.count) nodes have a location")
        var sources: [String: [Substring]] = [:]
        for location in located {
            #expect(!location.file.hasPrefix("Sources/Tensors/") && !location.file.hasPrefix("Sources/Graph/"), "\(location)")
            if sources[location.file] == nil {
                let text = try String(contentsOf: root.appendingPathComponent(location.file), encoding: .utf8)
                sources[location.file] = text.split(separator: "\n", omittingEmptySubsequences: false)
            }
            let lines = sources[location.file] ?? []
            #expect(location.line >= 1 && location.line <= lines.count
                    && !lines[location.line - 1].trimmingCharacters(in: .whitespaces).isEmpty, "\(location)")
        }
        let modelCode = ["Sources/NN/", "Sources/Transformers/", "Sources/TCompile/"]
        for location in located where !modelCode.contains(where: { location.file.hasPrefix($0) }) {
            Issue.record("\(location) is not in the model's code")
        }
        let inModel = located.filter { $0.file == "Sources/Transformers/GPT2.swift" }.count
        #expect(inModel >= 20, "\(inModel) of \(located.count) located nodes are in GPT2.swift")
    }
}
