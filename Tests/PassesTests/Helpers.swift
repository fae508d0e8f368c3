import Foundation
import Graph
import Passes
import Tensors
import Testing

/// Runs the interpreter on `before` and `after` with the same inputs and expects every output of
/// `before` to agree within `tolerance` (absolute plus relative).
func expectEquivalent(_ before: Graph, _ after: Graph, inputs: [[(name: String, tensor: Tensor)]],
                      tolerance: Float = 1e-5, _ what: String,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    for example in inputs {
        let feed = Dictionary(uniqueKeysWithValues: example.map { ($0.name, $0.tensor) })
        let expected = try Interpreter(graph: before).run(feed)
        let actual = try Interpreter(graph: after).run(feed)
        for (name, e) in expected {
            guard let a = actual[name] else {
                Issue.record("\(what): output '\(name)' is missing", sourceLocation: sourceLocation)
                continue
            }
            #expect(a.shape == e.shape, "\(what): '\(name)' shape", sourceLocation: sourceLocation)
            guard a.shape == e.shape else { continue }
            let x = withNoGrad { a.cast(to: .float32).toFloatArray() }, y = withNoGrad { e.cast(to: .float32).toFloatArray() }
            var worst: (Float, Int) = (0, 0)
            for i in x.indices {
                let excess = Swift.abs(x[i] - y[i]) - tolerance * (1 + Swift.abs(y[i]))
                if !(excess <= 0) && !(x[i] == y[i]) && (excess > worst.0 || excess.isNaN) { worst = (excess.isNaN ? .infinity : excess, i) }
            }
            #expect(worst.0 == 0, "\(what): '\(name)' at \(e.shape) differs at \(worst.1): \(x[worst.1]) vs \(y[worst.1])",
                    sourceLocation: sourceLocation)
        }
    }
}

/// Runs `passes` in order through a pass manager (verifying after each).
func run(_ graph: Graph, _ passes: [Pass]) throws -> Graph {
    try runWithResult(graph, passes).graph
}

/// The pass manager's whole result (graph, statistics, memory plan) for `passes` on `graph`.
func runWithResult(_ graph: Graph, _ passes: [Pass]) throws -> PassManager.Result {
    var manager = PassManager(pipeline: PassPipeline(name: "test", passes: passes))
    manager.verifyEachPass = true
    return try manager.run(graph)
}

/// The number of nodes whose op has `name`.
func count(_ graph: Graph, _ name: String) -> Int { graph.nodes.count { $0.op.name == name } }

/// `graph` with source locations removed (golden files stay stable when test files change).
func withoutLocations(_ graph: Graph) -> Graph {
    var g = graph
    for i in g.nodes.indices { g.nodes[i].location = nil }
    return g
}

/// Compares `text` with `Fixtures/<name>.ir`; `TCOMPILE_UPDATE_GOLDEN=1` rewrites the fixture.
func expectGolden(_ text: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    if ProcessInfo.processInfo.environment["TCOMPILE_UPDATE_GOLDEN"] == "1" {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name).ir")
        try text.write(to: source, atomically: true, encoding: .utf8)
        return
    }
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "ir") else {
        Issue.record("missing fixture \(name).ir (run with TCOMPILE_UPDATE_GOLDEN=1)", sourceLocation: sourceLocation)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(text == expected, "golden \(name).ir differs:\n\(text)", sourceLocation: sourceLocation)
}
