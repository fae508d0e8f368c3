import Foundation
import Testing
import Tensors
@testable import Graph

/// The fixes docs/tracing.md gives for each tracing error: rewritten with tensor ops, the same eager
/// computation traces, and the interpreter equals eager at sizes the trace did not run.
@Suite struct TracingGuideTests {
    func expectTracesAndMatches(_ body: @escaping ([String: Tensor]) -> [(name: String, tensor: Tensor)],
                                sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let graph = try Tracer.trace(inputs: [("x", Tensor.randn([2, 6], seed: 1))],
                                     dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 32)], body)
        for seq in [1, 7, 29] {
            let x = Tensor.randn([2, seq], seed: UInt64(seq))
            let eager = withNoGrad { body(["x": x]) }
            let traced = try Interpreter(graph: graph).run(["x": x])
            for (name, expected) in eager {
                #expect(traced[name]?.toFloatArray() == expected.toFloatArray(), "\(name) at seq \(seq)", sourceLocation: sourceLocation)
            }
        }
    }

    /// Instead of `x * x.sum().item()` (a host read): keep the scalar a tensor.
    @Test func aScalarStaysATensor() throws {
        try expectTracesAndMatches { inputs in
            let x = inputs["x"]!
            return [("y", x * x.sum())]
        }
    }

    /// Instead of `x.size(1) > 5 ? … : …` (control flow on a dim): select with `Tensor.where` on a
    /// mask built from `arange`.
    @Test func aBranchOnADimBecomesWhere() throws {
        try expectTracesAndMatches { inputs in
            let x = inputs["x"]!
            let late = (Tensor.arange(0, x.size(1)) .> 5).unsqueezed(at: 0)
            return [("y", Tensor.where(late, x.exp().exp(), x.exp()))]
        }
    }

    /// Instead of `Tensor((0..<seq).map { Float($0) })` (a tensor from Swift values of a dim):
    /// `arange`, which the graph keeps symbolic.
    @Test func aRampFromArange() throws {
        try expectTracesAndMatches { inputs in
            let x = inputs["x"]!
            return [("y", x + Tensor.arange(0, x.size(1)).cast(to: .float32))]
        }
    }

    /// Instead of `x.sum(dim: 1) / Float(x.size(1))` (a float computed from a dim): `mean`.
    @Test func aLengthDivisionBecomesMean() throws {
        try expectTracesAndMatches { inputs in
            [("y", inputs["x"]!.mean(dim: 1))]
        }
    }

    /// Reading dims into Swift `Int`s is fine: reshape targets become expressions of the dims.
    @Test func dimArithmeticIsFitted() throws {
        try expectTracesAndMatches { inputs in
            let x = inputs["x"]!
            let (b, s) = (x.size(0), x.size(1))
            return [("y", x.reshaped([b * s]).reshaped([b, s]) * 2)]
        }
        let graph = try Tracer.trace(inputs: [("x", Tensor.randn([2, 6], seed: 1))],
                                     dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 32)]) { inputs in
            let x = inputs["x"]!
            return [("y", x.reshaped([x.size(0) * x.size(1)]))]
        }
        #expect(graph.node(graph.outputs[0].value)!.type.description == "f32[2*seq]")
    }

    /// A float computed from a dim fails, naming the line.
    @Test func aFloatFromADimIsAnError() {
        do {
            _ = try Tracer.trace(inputs: [("x", Tensor.randn([2, 6], seed: 1))],
                                 dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 32)]) { inputs in
                let x = inputs["x"]!
                return [("y", x.sum(dim: 1) / Float(x.size(1)))]
            }
            Issue.record("tracing succeeded")
        } catch let e as GraphError {
            #expect(e.message.contains("with other attributes"), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
