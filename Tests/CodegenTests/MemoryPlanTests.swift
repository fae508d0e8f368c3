import Foundation
import Testing
import Graph
import Passes
import Tensors
@testable import Codegen

/// The `plan-memory` pass's plan is the only placement of the workspace: the arena the compile
/// report prints is the workspace the generated library asks for, and the code generator lowers
/// every op (views, copies, in-place results, task scratch) within it.
@Suite(.serialized) struct MemoryPlanTests {
    /// A graph with views, a strided copy, in-place candidates, a fused linear with a residual and
    /// fused attention: the tiny AOT model optimized at -O2, and a BERT-like block.
    static func graphs() throws -> [Graph] {
        let w = Tensor.randn([8, 8], std: 0.3, seed: 5), b = Tensor.randn([8], seed: 6)
        let block = try Tracer.trace(inputs: [("x", Tensor.randn([2, 5, 8], seed: 1))],
                                     dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 16)]) { inputs in
            let x = inputs["x"]!
            let q = x.matmul(w) + b
            let heads = q.reshaped([2, x.shape[1], 2, 4]).permuted([0, 2, 1, 3])
            let attention = (heads.matmul(heads.transposed(-1, -2)) * 0.5).softmax(dim: -1).matmul(heads)
            let merged = attention.permuted([0, 2, 1, 3]).reshaped([2, x.shape[1], 8])
            let h = (merged.matmul(w) + b + x).layerNorm()
            return [("y", (h.gelu() * 2 + h).exp().logSoftmax(dim: -1))]
        }
        return [try AOTTests.graph(), block]
    }

    /// Issue #21: bounds so large that the workspace is petabytes (or more bytes than an Int holds:
    /// [seq, seq] at seq = 2^31 - 1 is 2^62 floats) are a compile error naming the size, where the
    /// plan's arithmetic used to trap.
    @Test func workspacesBeyondMemoryAreErrorsNamingTheSize() throws {
        for (bound, columns) in [(Int(Int32.max), "seq"), (Int(Int32.max), "65536")] {
            let text = """
            graph(seq <= \(bound)) {
              %0 = input {name = "x"} : f32[seq, \(columns)]
              %1 = relu(%0) : f32[seq, \(columns)]
              %2 = exp(%1) : f32[seq, \(columns)]
              return %2 as "y"
            }
            """
            let graph = try TextFormat.parse(text)
            try Verifier.verify(graph)
            let plan = MemoryPlan(graph)
            #expect(!plan.fitsInMemory && plan.arenaBytes > MemoryPlan.maximumWorkspaceBytes)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("huge-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect {
                _ = try AOTCompiler.write(graph, name: "huge", to: dir)
            } throws: { error in
                let message = "\(error)"
                return message.contains("the workspace needs") && message.contains("bytes at the dims' bounds (seq=\(bound)), more than the 140737488355328")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/libhuge.a"))
        }
    }

    @Test func reportedArenaIsTheLibrarysWorkspace() throws {
        for (i, traced) in try Self.graphs().enumerated() {
            let result = try PassManager(pipeline: .o2).run(traced)
            let plan = try #require(result.memoryPlan)
            #expect(result.summary.contains("# arena \(plan.arenaBytes) bytes"))
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let out = try AOTCompiler.write(result.graph, name: "planned", to: dir)
            #expect(out.signature.workspaceBytes == plan.arenaBytes, "graph \(i)")
            #expect(out.signature.taskScratchBytes == plan.scratchBytes, "graph \(i)")
            // What the generated header's NAME_workspace_size() returns.
            try """
            #include <stdio.h>
            #include "planned.h"
            int main(void) { printf("%zu\\n", planned_workspace_size()); return 0; }
            """.write(toFile: dir + "/size.c", atomically: true, encoding: .utf8)
            let printed = try AOTTests.shell("cd \(dir) && cc -std=c11 -o size size.c -L. -lplanned -lm 2>&1 && ./size")
            #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == "\(plan.arenaBytes)", "graph \(i): \(printed)")
        }
    }

    @Test func plannedCodeMatchesTheInterpreter() throws {
        for traced in try Self.graphs() {
            for level in [0, 2] {
                let graph = try PassManager(pipeline: .level(level)).run(traced).graph
                let compiled = try CompiledModel(graph: graph, name: "planned")
                let inputs: [String: Tensor] = graph.inputNodes.contains { if case .input("x") = $0.op { true } else { false } }
                    ? ["x": Tensor.randn([2, 13, 8], seed: 9)] : ["input_ids": Tensor([1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 4])]
                let expected = try Interpreter(graph: graph).run(inputs)
                let actual = try compiled(inputs)
                for (name, value) in expected {
                    let a = actual[name]!.toFloatArray(), e = value.toFloatArray()
                    // Relative: `y` is a log-softmax of exponentials, about -500, where one f32 ulp is 6e-5 and
                    // the interpreter's OpenBLAS sums in another order on each CPU family (Intel: 2.7e-4 apart).
                    #expect(a.count == e.count && zip(a, e).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * (100 + Swift.abs($1)) }, "-O\(level) \(name)")
                }
            }
        }
    }

    /// The "may overwrite" table: a GEMM never overwrites its residual (its tiles are stored before
    /// the epilogue reads it), no view is ever overwritten, and log-softmax never works in place.
    @Test func inPlaceResultsFollowTheTable() throws {
        var inPlace = 0
        defer { #expect(inPlace > 0, "the graphs exercise in-place results") }
        for traced in try Self.graphs() {
            let result = try PassManager(pipeline: .o2).run(traced)
            let plan = try #require(result.memoryPlan)
            let graph = result.graph
            for node in graph.nodes {
                guard let donor = plan.slots[node.id]?.inPlace else { continue }
                inPlace += 1
                switch node.op {
                case .fused(.linear), .fused(.attention), .primitive(.logSoftmax, _), .primitive(.matmul, _):
                    Issue.record("%\(node.id) \(node.op) must not compute in place")
                default: break
                }
                #expect(plan.slots[donor] != nil, "the donor %\(donor) owns its buffer (not a view)")
                #expect(graph.node(donor)!.type == node.type)
            }
        }
    }
}
