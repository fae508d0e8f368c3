import Foundation
import Testing
@testable import Graph
import TCompile
import Transformers

/// Source locations found through the binary's line table (`DWARFLineTable`) are the ones the Swift
/// runtime's symbolication alone finds, node for node, on GPT-2's two generation graphs.
@Suite(.serialized) struct SourceLineTests {
    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func theLineTableFindsTheRuntimesLocations() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../TransformersTests/Fixtures/gpt2-lm").standardized
        let model = try GPT2LMHeadModel.fromPretrained(directory: fixture)
        func locations() throws -> [String] {
            let graphs = try GenerationGraphs(model: model, maxBatch: 2, maxLength: 24)
            return (graphs.prefill.nodes + graphs.decode.nodes).map { $0.location.map { "\($0)" } ?? "-" }
        }
        defer { SourceLocator.useLineTable(true) }
        SourceLocator.useLineTable(false)
        let runtime = try locations()
        SourceLocator.useLineTable(true)
        let table = try locations()
        #expect(runtime.count == table.count)
        #expect(runtime.filter { $0 != "-" }.count > runtime.count / 2, "most nodes should have a location")
        for (i, (a, b)) in zip(runtime, table).enumerated() where a != b { Issue.record("node \(i): runtime \(a), table \(b)") }
    }
}
