import Foundation
import FuzzSeeds
import FuzzSupport
import TCompile

/// The seed graphs, traced once and saved as model.json files: the run target's graph (embedding,
/// projection, attention, layer norm) and the shape graph (slices, reshapes, arange, gather,
/// reductions over `seq`), each as traced and as the `-O2` pipeline leaves it (fused attention, linear,
/// layer norm and elementwise ops). Each input loads its seed afresh: a `Graph` kept in a global for
/// the whole run would look leaked to LeakSanitizer (arrays inside multi-payload enums; see
/// docs/security.md, "Suppressions").
let seedPaths: [String] = {
    do {
        let directory = scratchDirectory + "/graph"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var paths: [String] = []
        for traced in [try seedGraph(), try shapeSeedGraph()] {
            for graph in [traced, try TCompile.optimize(traced).graph] {
                let path = directory + "/seed-\(paths.count).json"
                try GraphFile.save(graph, name: "seed", to: path)
                paths.append(path)
            }
        }
        return paths
    } catch {
        fatalError("cannot trace the seed graphs: \(error)")
    }
}()

/// The largest tensor (elements at the dims' upper bounds) the harness runs: the interpreter stops
/// the process on memory exhaustion by design (docs/security.md, "What is trusted"), and libFuzzer
/// reports any allocation above its 2 GB limit, so larger graphs are verified but not compiled or run.
let maximumElements = 1 << 20

/// An error must be a typed one that says something: not empty, not a raw NSError dump.
func requireClear(_ error: Error, _ stage: String) {
    let text = "\(error)"
    if text.isEmpty || text.hasPrefix("Error Domain=") { fatalError("\(stage) refused with an unclear error: '\(text)'") }
}

/// Whether every value of `graph` stays within `maximumElements` for all dims in their bounds.
func smallEnough(_ graph: Graph) -> Bool {
    let bounds = Dictionary(graph.symbols.map { ($0.name, $0.min...$0.max) }, uniquingKeysWith: { a, _ in a })
    return graph.nodes.allSatisfy { node in
        var elements = 1
        for d in node.type.shape {
            guard let r = d.range(over: bounds), r.upperBound <= maximumElements else { return false }
            elements *= Swift.max(r.upperBound, 1)
            if elements > maximumElements { return false }
        }
        return true
    }
}

/// Inputs for one run: each dim a value inside its bounds chosen by `pick`; ids inside the seed
/// tables (0..<10), or, when `outOfRange`, one id past them; floats random; masks 0/1.
func inputs(for graph: Graph, pick: UInt8, outOfRange: Bool) -> [String: Tensor]? {
    var bindings: [String: Int] = [:]
    for (i, s) in graph.symbols.enumerated() {
        let span = Swift.min(s.max - s.min, 24)
        bindings[s.name] = s.min + Int(pick &+ UInt8(truncatingIfNeeded: 7 * i)) % (span + 1)
    }
    var result: [String: Tensor] = [:]
    for node in graph.inputNodes {
        guard case .input(let name) = node.op, let shape = node.type.concreteShape(bindings) else { return nil }
        let count = shape.reduce(1, *)
        switch node.type.dtype {
        case .float32: result[name] = Tensor.randn(shape, seed: UInt64(pick))
        case .bool: result[name] = Tensor((0..<count).map { $0 % 3 != 0 }, shape: shape)
        case let dtype:
            var ids = (0..<count).map { ($0 * 7 + Int(pick)) % (name.contains("mask") ? 2 : 10) }
            if outOfRange, !ids.isEmpty { ids[ids.count / 2] = 10 }
            result[name] = Tensor(ids, shape: shape, dtype: dtype)
        }
    }
    return result
}

/// Whether two outputs agree: same shape and dtype, values equal to a float tolerance (NaN with
/// NaN, an infinity with the same infinity).
func agree(_ x: Tensor, _ y: Tensor) -> Bool {
    guard x.shape == y.shape, x.dtype == y.dtype else { return false }
    let a = x.toFloatArray(), b = y.toFloatArray()
    let scale = a.reduce(Float(0)) { $1.isFinite ? Swift.max($0, abs($1)) : $0 }
    return zip(a, b).allSatisfy { p, q in
        if p.isNaN || q.isNaN { return p.isNaN && q.isNaN }
        if p.isInfinite || q.isInfinite { return p == q }
        return abs(p - q) <= 1e-3 * (1 + abs(p)) + 1e-5 * scale
    }
}

/// One input: byte 0 picks the seed graph and the compile level, byte 1 the dims and ids of the run,
/// the rest is the mutation program (`GraphMutator`). The mutated graph goes through what a
/// model.json does: `GraphFile.save`, then `GraphFile.load` (reader bounds and `Verifier`), then the
/// JIT and the interpreter. It must be refused with a clear error, or the interpreter and the compiled
/// code must agree (or both refuse the run's inputs); a crash, a hang, a disagreement is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzGraph(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    guard input.count >= 2 else { return 0 }
    let seed: Graph
    do { seed = try GraphFile.load(path: seedPaths[Int(input[0]) % seedPaths.count]).graph } catch {
        fatalError("cannot load the seed graph: \(error)")
    }
    var mutator = GraphMutator(graph: seed)
    mutator.apply(input.dropFirst(2))
    if mutator.skipped > 0 { countOutcome("mutations skipped (op not rebuildable)") }
    let path = scratchDirectory + "/graph/model.json"
    do { try GraphFile.save(mutator.graph, name: "mutant", to: path) } catch {
        requireClear(error, "GraphFile.save")
        countOutcome("refused by save")
        return 0
    }
    let graph: Graph
    do { graph = try GraphFile.load(path: path).graph } catch {
        requireClear(error, "GraphFile.load")
        countOutcome("refused by load and verify")
        return 0
    }
    // Reproducing a finding: TCOMPILE_FUZZ_DUMP=1 prints the mutant.
    if ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_DUMP"] != nil {
        FileHandle.standardError.write(Data(TextFormat.print(graph).utf8))
    }
    guard smallEnough(graph) else { countOutcome("verified, too large to run"); return 0 }
    let compiled: CompiledModel
    do {
        compiled = try TCompile.compile(graph, name: "mutant", level: input[0] & 0x80 == 0 ? 2 : 0, options: CompileOptions(threads: 1))
    } catch {
        requireClear(error, "compile")
        countOutcome("refused by compile")
        return 0
    }
    guard let feeds = inputs(for: graph, pick: input[1] & 0x7F, outOfRange: input[1] & 0x80 != 0) else {
        countOutcome("compiled, inputs have unbound dims"); return 0
    }
    let interpreted = Result { try Interpreter(graph: graph).run(feeds) }
    let ran = Result { try compiled(feeds) }
    switch (interpreted, ran) {
    case (.failure(let e), .failure(let f)):
        requireClear(e, "the interpreter")
        requireClear(f, "the compiled model")
        countOutcome("run refused by both")
    case (.success(let a), .success(let b)):
        countOutcome("ran, outputs agree")
        for o in graph.outputs {
            guard let x = a[o.name], let y = b[o.name] else { fatalError("output '\(o.name)' is missing from a run") }
            if !agree(x, y) {
                fatalError("output '\(o.name)' differs: interpreter \(x.shape) \(x.toFloatArray().prefix(8)), compiled \(y.shape) \(y.toFloatArray().prefix(8))")
            }
        }
    case (.success, .failure(let e)):
        fatalError("the interpreter ran the mutant but the compiled model refused: \(e)")
    case (.failure(let e), .success):
        fatalError("the compiled model ran the mutant but the interpreter refused: \(e)")
    }
    return 0
}

/// Writes the seeds into the folder `TCOMPILE_FUZZ_SEED_OUT` names and exits, or runs libFuzzer:
/// each graph unmutated at two run choices (ids in range, one id past the table), and each with a
/// program of eight pseudo-random mutations (so libFuzzer's length limit starts long enough to hold
/// mutation programs).
@_cdecl("fuzz_graph_main")
func fuzzGraphMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = seedPaths
    if let out = ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_SEED_OUT"] {
        var state: UInt32 = 12345
        for g in 0..<seedPaths.count {
            var seeds: [[UInt8]] = [[UInt8(g), 3], [UInt8(g), 0x85]]
            for _ in 0..<3 {
                seeds.append([UInt8(g), 5] + (0..<32).map { _ in
                    state = state &* 1_103_515_245 &+ 12345
                    return UInt8(truncatingIfNeeded: state >> 16)
                })
            }
            for (k, seed) in seeds.enumerated() { _ = FileManager.default.createFile(atPath: "\(out)-\(g)-\(k)", contents: Data(seed)) }
        }
        return 0
    }
    return runFuzzer(argc, argv, fuzzGraph)
}
