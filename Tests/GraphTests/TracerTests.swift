import Foundation
import Testing
import Tensors
@testable import Graph

func traceTiny() throws -> Graph {
    let model = TinyModel()
    return try Tracer.trace(inputs: TinyModel.example(),
                            dynamicDims: TinyModel.dynamicDims.map { DynamicDim(input: $0.input, dim: $0.dim, symbol: $0.symbol, max: $0.max) },
                            constants: model.constants) { model($0) }
}

@Suite struct TracerTests {
    @Test func oneTraceServesEveryBatchAndSequenceLength() throws {
        let model = TinyModel()
        let graph = try traceTiny()
        let interpreter = Interpreter(graph: graph)
        for batch in [1, 3] {
            for seq in [1, 5, 17] {
                let inputs = TinyModel.example(batch: batch, seq: seq, seed: UInt64(batch * 100 + seq))
                let eager = withNoGrad { model(Dictionary(uniqueKeysWithValues: inputs)) }
                let traced = try interpreter.run(Dictionary(uniqueKeysWithValues: inputs))
                for (name, expected) in eager {
                    let actual = try #require(traced[name])
                    #expect(actual.shape == expected.shape, "\(name) at \(batch)×\(seq)")
                    #expect(actual.toFloatArray() == expected.toFloatArray(), "\(name) at \(batch)×\(seq): bitwise equal")
                }
            }
        }
    }

    /// Tracing is shape-only: no kernel runs on values derived from the inputs. Token ids far outside
    /// the embedding table would trap the eager lookup; the trace never looks at them, and the graph
    /// equals the one traced from valid ids. Ops on constants alone still compute (their values may
    /// be folded), and the graph built from these placeholders runs exactly as the eager model.
    @Test func tracingRunsNoKernelOnInputValues() throws {
        let model = TinyModel()
        var hostile = TinyModel.example()
        let ids = try #require(hostile.firstIndex { $0.name == "input_ids" })
        hostile[ids].tensor = Tensor.full(hostile[ids].tensor.shape, 1e9, dtype: .int64)
        let graph = try Tracer.trace(inputs: hostile,
                                     dynamicDims: TinyModel.dynamicDims.map { DynamicDim(input: $0.input, dim: $0.dim, symbol: $0.symbol, max: $0.max) },
                                     constants: model.constants) { model($0) }
        #expect(TextFormat.print(graph) == TextFormat.print(try traceTiny()))
    }

    @Test func shapesAndAttributesBecomeSymbolic() throws {
        let graph = try traceTiny()
        #expect(graph.symbols.map(\.description) == ["batch <= 8", "seq <= 64"])
        let reshapes = graph.nodes.filter { $0.op.name == "reshape" }.map { $0.op.attributes[0].1.description }
        #expect(reshapes == ["[batch, seq, 2, 4]", "[batch, 1, seq]", "[batch, 1, 1, seq]", "[batch, seq, 8]", "[seq, 1]", "[batch, 8]"])
        let arange = try #require(graph.nodes.first { $0.op.name == "arange" })
        #expect(arange.type.description == "i64[seq]")
        #expect(graph.outputs.map(\.name) == ["last_hidden_state", "pooled"])
        #expect(graph.node(graph.outputs[0].value)!.type.description == "f32[batch, seq, 8]")
        #expect(graph.constants.keys.contains("embedding.weight") && graph.constants.keys.contains("projection.weight"))
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func nodesCarryTheirEagerSourceLine() throws {
        let graph = try traceTiny()
        let matmul = try #require(graph.nodes.first { $0.op.name == "matmul" })
        let location = try #require(matmul.location)
        #expect(location.file.hasSuffix("TinyModel.swift"))
        #expect(location.line == 17)
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func goldenIRText() throws {
        let text = TextFormat.print(try traceTiny())
        let url = Bundle.module.url(forResource: "Fixtures/tiny_model", withExtension: "ir")!
        if ProcessInfo.processInfo.environment["TCOMPILE_UPDATE_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tiny_model.ir")
            try text.write(to: source, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOf: url, encoding: .utf8)))
    }

    func expectTraceError(_ fragment: String, line: Int?, sourceLocation: Testing.SourceLocation = #_sourceLocation,
                          _ body: @escaping ([String: Tensor]) -> [(name: String, tensor: Tensor)]) {
        do {
            _ = try Tracer.trace(inputs: [("x", Tensor.randn([2, 6], seed: 1))],
                                 dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 32)], body)
            Issue.record("tracing succeeded; expected an error containing '\(fragment)'", sourceLocation: sourceLocation)
        } catch let e as GraphError {
            #expect(e.kind == .trace, sourceLocation: sourceLocation)
            #expect(e.message.contains(fragment), "\(e)", sourceLocation: sourceLocation)
            if let line { #expect(e.location?.line == line && e.location?.file.hasSuffix("TracerTests.swift") == true, "\(e)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func readingValuesOnTheHostIsAnError() {
        expectTraceError("reads a tensor's values on the host", line: #line + 1) { inputs in
            let total = inputs["x"]!.sum().item()
            return [("y", inputs["x"]! * total)]
        }
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func controlFlowOnADimIsAnError() {
        expectTraceError("control flow depends on a dynamic dim", line: nil) { inputs in
            let x = inputs["x"]!
            return [("y", x.size(1) > 5 ? x.exp().exp() : x.exp())]
        }
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func inexpressibleDimArithmeticIsAnError() {
        expectTraceError("cannot express", line: #line + 3) { inputs in
            let x = inputs["x"]!
            let s = x.size(1)
            return [("y", x.sliced(dim: 1, start: 0, end: (s * s * s) % 7 + 1))]
        }
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func tensorsBuiltFromSwiftValuesOfADimAreAnError() {
        expectTraceError("not made by tensor ops", line: #line + 3) { inputs in
            let x = inputs["x"]!
            let ramp = Tensor((0..<x.size(1)).map { Float($0) }, shape: [x.size(1)])
            return [("y", x + ramp)]
        }
    }

    @Test func badDynamicDimSpecs() {
        #expect(throws: GraphError.self) {
            try Tracer.trace(inputs: [("x", Tensor.zeros([2]))], dynamicDims: [DynamicDim(input: "nope", dim: 0, symbol: "s", max: 4)]) { [("y", $0["x"]!)] }
        }
        #expect(throws: GraphError.self) {
            try Tracer.trace(inputs: [("x", Tensor.zeros([2]))], dynamicDims: [DynamicDim(input: "x", dim: 3, symbol: "s", max: 4)]) { [("y", $0["x"]!)] }
        }
    }
}
