import Foundation
import Graph

/// One optimization pass: a name (as `--dump-after` spells it) and a graph-to-graph function, or an
/// analysis that leaves the graph as it is and adds its result to the pass manager's `Result`. Rule
/// passes run their rules through `RewriteEngine`; `plan-memory` is the analysis.
public struct Pass: Sendable {
    /// The pass's name: `canonicalize`, `fold-constants`, `cse`, `dce`, `fuse-attention`, …
    public let name: String
    let body: @Sendable (Graph) throws -> (Graph, [String: Int])
    /// For the memory-planning analysis: the plan of the graph it sees.
    let planMemory: (@Sendable (Graph) -> MemoryPlan)?
    /// Whether the pass's result depends on the compile's precision (`for(_:)` rebuilds it).
    let precisionDependent: Bool

    /// A pass with a custom body returning the new graph and named counters.
    public init(_ name: String, _ body: @escaping @Sendable (Graph) throws -> (Graph, [String: Int])) {
        self.name = name
        self.body = body
        self.planMemory = nil
        self.precisionDependent = false
    }

    /// The memory-planning analysis: the graph is unchanged, the plan (for kernels of `precision`)
    /// goes to `PassManager.Result`.
    init(planning name: String, precision: Precision = .fp32) {
        self.name = name
        self.body = { graph in (graph, [:]) }
        self.planMemory = { MemoryPlan($0, precision: precision) }
        self.precisionDependent = true
    }

    private init(_ name: String, precisionDependent body: @escaping @Sendable (Graph) throws -> (Graph, [String: Int])) {
        self.name = name
        self.body = body
        self.planMemory = nil
        self.precisionDependent = true
    }

    /// This pass for a compile at `precision`: `pack-weights` marks panels in the precision's format
    /// (but those of weights matching a `keepFP32` pattern, kept in f32), `plan-memory` plans its
    /// kernels' scratch; other passes are the same at every precision.
    public func `for`(_ precision: Precision, keepFP32: [String] = []) -> Pass {
        guard precisionDependent else { return self }
        switch name {
        case Pass.planMemory.name: return Pass(planning: name, precision: precision)
        case Pass.packWeights.name: return Pass.packWeights(format: PanelLayout.Format(precision), keepFP32: keepFP32)
        default: return self
        }
    }

    /// `pack-weights` with panels of `format`, and f32 ones (`PanelLayout.Format.f32Kept`) for the
    /// weights whose checkpoint name matches one of `keepFP32` (shell globs, `*.output.dense.*`); a
    /// pattern that matches no weight is an error naming it.
    static func packWeights(format: PanelLayout.Format, keepFP32: [String] = []) -> Pass {
        Pass("pack-weights", precisionDependent: { graph in
            let result = try RewriteEngine.run(graph, rules: WeightPacking.rules(format: format, keepFP32: keepFP32))
            try WeightPacking.checkKept(keepFP32, in: result.graph)
            return (result.graph, result.firings)
        })
    }

    /// A pass that rewrites with `rules` (made fresh for each run) to a fixed point.
    public static func rewriting(_ name: String, _ rules: @escaping @Sendable () -> [RewriteRule]) -> Pass {
        Pass(name) { graph in
            let result = try RewriteEngine.run(graph, rules: rules())
            return (result.graph, result.firings)
        }
    }

    public static let decomposeAttention = DecomposeAttention.pass
    public static let canonicalize = rewriting("canonicalize") { Canonicalize.rules }
    public static let foldConstants = rewriting("fold-constants") { ConstantFolding.rules }
    public static let cse = rewriting("cse") { CSE.rules }
    public static let dce = rewriting("dce") { DCE.rules }
    public static let fuseAttention = rewriting("fuse-attention") { AttentionFusion.rules }
    public static let fuseEpilogue = rewriting("fuse-epilogue") { EpilogueFusion.rules }
    public static let fuseLayerNorm = rewriting("fuse-layer-norm") { LayerNormFusion.rules }
    public static let fuseElementwise = rewriting("fuse-elementwise") { ElementwiseFusion.rules }
    public static let packWeights = packWeights(format: .f32)
    /// Plans the workspace (`MemoryPlan`): the same plan the code generator places buffers by.
    public static let planMemory = Pass(planning: "plan-memory")

    /// Every pass, by name.
    public static let all: [Pass] = [decomposeAttention, canonicalize, foldConstants, cse, dce, fuseAttention, fuseEpilogue, fuseLayerNorm,
                                     fuseElementwise, packWeights, planMemory]
}

/// An ordered list of passes: `-O0`, `-O1` and `-O2`.
public struct PassPipeline: Sendable {
    /// `O0`, `O1`, `O2` or a custom name.
    public var name: String
    /// The passes, in order.
    public var passes: [Pass]

    public init(name: String, passes: [Pass]) {
        self.name = name
        self.passes = passes
    }

    /// No optimization: attention spelled as the ops the code generator lowers, and the memory plan
    /// (for the report; the code generator plans the same).
    public static let o0 = PassPipeline(name: "O0", passes: [.decomposeAttention, .planMemory])
    /// Cleanup: canonicalize, fold constants, CSE, DCE, then plan memory.
    public static let o1 = PassPipeline(name: "O1", passes: [.decomposeAttention, .canonicalize, .foldConstants, .cse, .canonicalize, .dce, .planMemory])
    /// Everything: cleanup, then fuse attention (and canonicalize again: the merge reshape may now
    /// meet a Conv1D's), GEMM epilogues, layer norms and elementwise chains, pack weights, plan memory.
    public static let o2 = PassPipeline(name: "O2", passes: [
        .decomposeAttention, .canonicalize, .foldConstants, .cse, .canonicalize, .dce,
        .fuseAttention, .canonicalize, .fuseEpilogue, .fuseLayerNorm, .cse, .fuseElementwise,
        .packWeights, .dce, .planMemory,
    ])

    /// The pipeline for `-O<level>` (levels above 2 mean 2).
    public static func level(_ level: Int) -> PassPipeline { level <= 0 ? .o0 : level == 1 ? .o1 : .o2 }

    /// The pipeline for `-O<level>` compiling at `precision`, keeping the weights `keepFP32` matches
    /// in f32 (`Pass.for`).
    public static func level(_ level: Int, precision: Precision, keepFP32: [String] = []) -> PassPipeline {
        let base = Self.level(level)
        return PassPipeline(name: base.name, passes: base.passes.map { $0.for(precision, keepFP32: keepFP32) })
    }
}

/// What one pass did: compute nodes before and after, fused nodes it created, rule firings, time.
public struct PassStatistics: Sendable, CustomStringConvertible {
    /// The pass's name.
    public var pass: String
    /// Compute nodes (not inputs or constants) before and after.
    public var nodesBefore: Int, nodesAfter: Int
    /// Fused nodes in the result that were not in the input.
    public var fused: Int
    /// Rule firings (or counters, for planning) by name.
    public var rewrites: [String: Int]
    /// Wall time of the pass (without verification and dumps).
    public var milliseconds: Double

    /// Compute nodes the pass removed (negative when it added some).
    public var removed: Int { nodesBefore - nodesAfter }

    /// `fuse-attention       77 →    53  (  -24,   2 fused)     1.33 ms  attention=2`.
    public var description: String {
        let rules = rewrites.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return pass.padding(toLength: 18, withPad: " ", startingAt: 0)
            + String(format: "%5d → %5d  (%+5d, %3d fused) %8.2f ms  ", nodesBefore, nodesAfter, -removed, fused, milliseconds) + rules
    }
}

/// Which passes' results to print.
public enum DumpSelection: Sendable, Equatable {
    case none
    case all
    /// After the passes with these names (`--dump-after fuse-attention`).
    case after(Set<String>)

    /// Parses a `--dump-after` argument: `all`, or pass names separated by commas; an unknown name
    /// is an error listing the known ones.
    public init(argument: String) throws {
        if argument == "all" { self = .all; return }
        let names = Set(argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let known = Set(Pass.all.map(\.name))
        if let unknown = names.subtracting(known).sorted().first {
            throw GraphError(.parse, "--dump-after: unknown pass '\(unknown)' (passes: \(Pass.all.map(\.name).joined(separator: ", ")), or all)")
        }
        self = .after(names)
    }

    func includes(_ pass: String) -> Bool {
        switch self {
        case .none: false
        case .all: true
        case .after(let names): names.contains(pass)
        }
    }
}

/// Runs a pipeline: each pass, then (in debug builds) `Verifier.verify`, then the requested dumps;
/// collects `PassStatistics`.
///
/// ```swift
/// let result = try PassManager(pipeline: .o2, dumpAfter: .after(["fuse-attention"])).run(graph)
/// print(result.summary)
/// ```
public struct PassManager: Sendable {
    /// The passes to run.
    public var pipeline: PassPipeline
    /// Which results to dump.
    public var dumpAfter: DumpSelection
    /// Where dumps go (standard error by default).
    public var dumpSink: @Sendable (String) -> Void
    /// Whether to verify after every pass (on in debug builds).
    public var verifyEachPass: Bool

    public init(pipeline: PassPipeline, dumpAfter: DumpSelection = .none,
                dumpSink: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.pipeline = pipeline
        self.dumpAfter = dumpAfter
        self.dumpSink = dumpSink
        #if DEBUG
        verifyEachPass = true
        #else
        verifyEachPass = false
        #endif
    }

    /// The optimized graph, one statistics entry per pass run, and the analyses' results.
    public struct Result: Sendable {
        public var graph: Graph
        public var statistics: [PassStatistics]
        /// The workspace plan of `graph`, when the pipeline plans memory after its last rewrite
        /// (nil when it does not, or when a later pass changed the graph).
        public var memoryPlan: MemoryPlan?

        /// A table of the statistics with a total line.
        public var summary: String {
            var out = statistics.map(\.description).joined(separator: "\n")
            if let first = statistics.first, let last = statistics.last {
                let ms = statistics.reduce(0) { $0 + $1.milliseconds }
                out += "\n" + "total".padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(format: "%5d → %5d  (%+5d, %3d fused) %8.2f ms", first.nodesBefore, last.nodesAfter,
                             last.nodesAfter - first.nodesBefore, graph.fusedNodeCount, ms)
            }
            if let plan = memoryPlan {
                out += "\n" + String(plan.description.prefix { $0 != "\n" })
            }
            return out
        }
    }

    /// Runs every pass of the pipeline on `graph`.
    public func run(_ graph: Graph) throws -> Result {
        var g = graph
        var stats: [PassStatistics] = []
        var plan: MemoryPlan?
        for pass in pipeline.passes {
            let before = g.computeNodeCount
            let fusedBefore = Set(g.nodes.filter { if case .fused = $0.op { true } else { false } }.map(\.id))
            let start = DispatchTime.now().uptimeNanoseconds
            var (next, counters) = try pass.body(g)
            if let planMemory = pass.planMemory {
                let p = planMemory(next)
                plan = p
                counters = ["arena bytes": p.arenaBytes, "naive bytes": p.naiveBytes,
                            "in place": p.slots.values.count { $0.inPlace != nil }]
            } else if next.nodes != g.nodes {
                plan = nil
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if verifyEachPass {
                do { try Verifier.verify(next) } catch let e as GraphError {
                    throw GraphError(.verification, "after pass '\(pass.name)': \(e.message)", at: e.location)
                }
            }
            let fused = next.nodes.count { if case .fused = $0.op { !fusedBefore.contains($0.id) } else { false } }
            let s = PassStatistics(pass: pass.name, nodesBefore: before, nodesAfter: next.computeNodeCount, fused: fused,
                                   rewrites: counters, milliseconds: ms)
            stats.append(s)
            g = next
            if dumpAfter.includes(pass.name) {
                dumpSink("# ----- IR after \(pass.name): \(s.nodesBefore) → \(s.nodesAfter) ops -----\n"
                         + TextFormat.print(g) + (pass.planMemory != nil ? plan?.description ?? "" : ""))
            }
        }
        return Result(graph: g, statistics: stats, memoryPlan: plan)
    }
}
