// One model workload per process, for Benchmarks/run-all.sh (which interleaves it with the AOT harness and
// the Python peers, and reads each process's peak RSS from wait4). Prints one JSON object.
//
//   ModelBench ceiling  --threads T --reps N
//       sgemm GFLOP/s (direct cblas_sgemm, row-major, no transposes) at 2048³ and at MiniLM and BERT shapes, and
//       ours at the same shapes (tcompile_gemm: one JIT-compiled fused_linear on a packed constant weight, the output
//       written to a fresh tensor per call).
//   ModelBench encoder  --model DIR --mode eager|jit --batch B --seq S --threads T --reps N
//                       [--max-batch 8 --max-seq 128] [--precision fp32|bf16|int8]
//       An encoder checkpoint's forward (any family `tcompile families` lists for feature-extraction: BERT,
//       DistilBERT, XLM-R, …; last_hidden_state, and pooler_output where the family has one), fed only the
//       inputs the family declares (`ExportableModel.inputNames`). eager: the model code
//       run under withNoGrad (OpenBLAS with T threads); jit: the same code traced (batch ≤ max-batch,
//       seq ≤ max-seq), -O2, and JIT-compiled (what TCompile.compile does → CompiledModel, its thread
//       pool at T threads). Reports matmul FLOPs per call counted from the traced graph (jit mode). With
//       --precision bf16|int8 (jit only) the GEMMs run in bf16 or int8, and the output's cosine and max abs difference
//       against the f32 eager forward are reported (cosine_vs_fp32, max_abs_vs_fp32).
//   ModelBench flops    --model DIR --batch B --seq S [--max-batch --max-seq]
//       Only the FLOPs count of the traced graph.
//   ModelBench gpt2     --model DIR --tokens 64 --prompt 8 --threads T --reps N
//       Eager greedy decoding with the KV cache (end-of-text disabled, so exactly `tokens` tokens).
//
// Input ids are the same deterministic sequence in every runtime (ids[i] = 1000 + (7919·i) mod 29000),
// mask ones, token types zeros (when the model takes them), so the peers can check that every runtime computed the same output.
import CBLASDirect
import Foundation
import NN
import TCompile
import Transformers

// MARK: arguments

nonisolated(unsafe) var options: [String: String] = [:]
let command = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "help"
do {
    var iterator = CommandLine.arguments.dropFirst(2).makeIterator()
    while let key = iterator.next() {
        guard key.hasPrefix("--"), let value = iterator.next() else { fail("expected --name value pairs, got \(key)") }
        options[String(key.dropFirst(2))] = value
    }
}
func option(_ name: String, _ defaultValue: String? = nil) -> String {
    guard let value = options[name] ?? defaultValue else { fail("missing --\(name)") }
    return value
}
func intOption(_ name: String, _ defaultValue: Int? = nil) -> Int {
    guard let value = Int(option(name, defaultValue.map(String.init))) else { fail("--\(name) must be an integer") }
    return value
}
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ModelBench: \(message)\n".utf8))
    exit(2)
}

let threads = intOption("threads", 2)
openblas_set_num_threads(Int32(threads))
EagerThreads.set(threads)

// MARK: helpers

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func ms(since start: UInt64) -> Double { Double(now() - start) / 1e6 }

/// Times `reps` calls of `body` (after the warm-up the caller did) and returns median, min, max in ms.
func timeCalls(reps: Int, _ body: () throws -> Void) rethrows -> [String: Double] {
    var samples: [Double] = []
    for _ in 0..<max(1, reps) {
        let start = now()
        try body()
        samples.append(ms(since: start))
    }
    samples.sort()
    return ["median_ms": samples[samples.count / 2], "min_ms": samples.first!, "max_ms": samples.last!]
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// The ids every runtime uses.
func benchmarkIds(batch: Int, seq: Int) -> [Int] { (0..<(batch * seq)).map { 1000 + (7919 * $0) % 29000 } }

/// Mean absolute value, to check that all runtimes computed the same thing.
func meanAbs(_ t: Tensor) -> Double {
    let c = t.contiguous()
    let n = c.shape.reduce(1, *)
    let p = c.pointer(as: Float.self)
    var sum = 0.0
    for i in 0..<n { sum += Double(abs(p[i])) }
    return sum / Double(max(1, n))
}

let processStart = Date()

// MARK: commands

switch command {
case "ceiling":
    let reps = intOption("reps", 5)
    let shapes: [(name: String, m: Int, k: Int, n: Int)] = [
        ("sgemm_2048x2048x2048", 2048, 2048, 2048),
        ("sgemm_128x384x384", 128, 384, 384),       // MiniLM attention projections at 1×128
        ("sgemm_128x384x1536", 128, 384, 1536),     // MiniLM FFN up at 1×128
        ("sgemm_1024x384x1536", 1024, 384, 1536),   // MiniLM FFN up at 8×128
        ("sgemm_128x768x768", 128, 768, 768),       // BERT-base projections at 1×128
        ("sgemm_128x768x3072", 128, 768, 3072),     // BERT-base FFN up at 1×128
    ]
    var results: [String: Any] = [:]
    for s in shapes {
        let a = Tensor.randn([s.m, s.k], seed: 1), b = Tensor.randn([s.k, s.n], seed: 2)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: s.m * s.n)
        defer { out.deallocate() }
        let pa = a.pointer(as: Float.self), pb = b.pointer(as: Float.self)
        func call() {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(s.m), Int32(s.n), Int32(s.k), 1,
                        pa, Int32(s.k), pb, Int32(s.n), 0, out, Int32(s.n))
        }
        let flops = 2.0 * Double(s.m * s.n * s.k)
        // Enough calls per sample for ~20 ms, so that small shapes are not timer-bound.
        call(); call()
        let probe = now(); call(); let once = max(ms(since: probe), 1e-3)
        let inner = max(1, Int(20 / once))
        let t = timeCalls(reps: reps) { for _ in 0..<inner { call() } }
        results[s.name] = ["m": s.m, "k": s.k, "n": s.n, "calls_per_sample": inner,
                           "gflops": flops * Double(inner) / t["median_ms"]! / 1e6,
                           "gflops_min": flops * Double(inner) / t["max_ms"]! / 1e6,
                           "gflops_max": flops * Double(inner) / t["min_ms"]! / 1e6]
    }
    // Ours: the same products as one compiled fused_linear each (x [m, k] times a constant weight packed
    // into panels, no bias), JIT-compiled as TCompile compiles a model, at the same threads.
    var ours: [String: Any] = [:]
    for s in shapes {
        var builder = GraphBuilder(symbols: [])
        let x = builder.input("x", TensorType(.float32, [SymbolicInt(s.m), SymbolicInt(s.k)]))
        let w = builder.constant("w", Tensor.randn([s.k, s.n], seed: 2))
        builder.output("y", try builder.add(.fused(.linear(activation: .none, bias: false, residual: false)), [x, w]))
        let optimized = try TCompile.optimize(builder.graph, level: 2)
        let model = try CompiledModel(graph: optimized.graph, name: "gemm", options: CompileOptions(threads: threads))
        let inputs = ["x": Tensor.randn([s.m, s.k], seed: 1)]
        func call() throws { _ = try model(inputs) }
        let flops = 2.0 * Double(s.m * s.n * s.k)
        try call(); try call()
        let probe = now(); try call(); let once = max(ms(since: probe), 1e-3)
        let inner = max(1, Int(20 / once))
        let t = try timeCalls(reps: reps) { for _ in 0..<inner { try call() } }
        ours[s.name] = ["m": s.m, "k": s.k, "n": s.n, "calls_per_sample": inner,
                        "gflops": flops * Double(inner) / t["median_ms"]! / 1e6,
                        "gflops_min": flops * Double(inner) / t["max_ms"]! / 1e6,
                        "gflops_max": flops * Double(inner) / t["min_ms"]! / 1e6]
    }
    emit(["impl": "cblas_sgemm", "threads": threads, "ceiling": results, "tcompile_gemm": ours])

case "encoder", "flops":
    let directory = URL(fileURLWithPath: option("model"))
    let batch = intOption("batch"), seq = intOption("seq")
    let maxBatch = intOption("max-batch", 8), maxSeq = intOption("max-seq", 128)
    let reps = intOption("reps", 10)
    let mode = command == "flops" ? "flops" : option("mode")
    let precision: Precision
    do { precision = try Precision(parsing: option("precision", "fp32")) } catch { fail("--precision: \(error)") }
    if precision != .fp32 && mode != "jit" { fail("--precision \(precision) needs --mode jit") }
    let ids = benchmarkIds(batch: batch, seq: seq)
    var fields: [String: Any] = ["impl": "ours-\(mode)" + (precision == .fp32 ? "" : "-\(precision)"), "batch": batch, "seq": seq,
                                 "threads": threads, "reps": reps, "model": directory.lastPathComponent, "precision": precision.rawValue]
    let loadStart = now()
    let exportable = try ModelExport.load(directory: directory, task: .featureExtraction)
    fields["load_ms"] = ms(since: loadStart)
    // Only the inputs the family declares (DistilBERT and XLM-R take no token types).
    let every: [String: Tensor] = ["input_ids": Tensor(ids, shape: [batch, seq]),
                                   "attention_mask": Tensor.ones([batch, seq], dtype: .int64),
                                   "token_type_ids": Tensor.zeros([batch, seq], dtype: .int64)]
    var inputs: [String: Tensor] = [:]
    for name in exportable.inputNames {
        guard let tensor = every[name] else { fail("\(directory.lastPathComponent) takes input \(name), which ModelBench does not make") }
        inputs[name] = tensor
    }
    fields["inputs"] = exportable.inputNames
    let run: () throws -> [String: Tensor]
    switch mode {
    case "eager":
        run = { withNoGrad { Dictionary(exportable.forward(inputs).map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }) } }
    case "jit", "flops":
        let traceStart = now()
        let graph = try exportable.trace(maxBatch: maxBatch, maxSeq: maxSeq)
        fields["trace_ms"] = ms(since: traceStart)
        fields["matmul_flops"] = graph.matmulFLOPs(at: maxBatch > 1 ? ["batch": batch, "seq": seq] : ["seq": seq])   // as tcompile prints it
        if mode == "flops" { emit(fields); exit(0) }
        let compileStart = now()
        let optimized = try TCompile.optimize(graph, level: 2, precision: precision)
        let model = try CompiledModel(graph: optimized.graph, name: "bench", options: CompileOptions(threads: threads, precision: precision))
        fields["compile_ms"] = ms(since: compileStart) + (fields["trace_ms"] as! Double)
        fields["ops_before"] = graph.computeNodeCount
        fields["ops_after"] = optimized.graph.computeNodeCount
        run = { try model(inputs) }
    default:
        fail("--mode must be eager or jit")
    }
    let first = try run()
    fields["first_result_unix"] = Date().timeIntervalSince1970
    fields["first_result_in_process_ms"] = Date().timeIntervalSince(processStart) * 1000
    fields["check_mean_abs"] = meanAbs(first["last_hidden_state"]!)
    if precision != .fp32 {
        // The accuracy the precision cost: against the f32 eager forward on the same ids.
        let reference = withNoGrad { exportable.forward(inputs).first { $0.name == "last_hidden_state" }!.tensor }.contiguous().toFloatArray()
        let values = first["last_hidden_state"]!.contiguous().toFloatArray()
        var dot = 0.0, nx = 0.0, ny = 0.0, worst = 0.0
        for (x, y) in zip(values, reference) {
            dot += Double(x) * Double(y); nx += Double(x) * Double(x); ny += Double(y) * Double(y)
            worst = max(worst, Double(abs(x - y)))
        }
        fields["cosine_vs_fp32"] = dot / max(1e-30, (nx * ny).squareRoot())
        fields["max_abs_vs_fp32"] = worst
    }
    _ = try run()
    for (key, value) in try timeCalls(reps: reps, { _ = try run() }) { fields[key] = value }
    emit(fields)

case "gpt2":
    let tokens = intOption("tokens", 64), promptLength = intOption("prompt", 8), reps = intOption("reps", 3)
    let loadStart = now()
    let model = try GPT2LMHeadModel.fromPretrained(directory: URL(fileURLWithPath: option("model")))
    model.eval()
    var fields: [String: Any] = ["impl": "ours-eager", "threads": threads, "reps": reps, "tokens": tokens,
                                 "prompt": promptLength, "load_ms": ms(since: loadStart)]
    var generation = GenerationConfig.greedy(maxNewTokens: tokens)
    generation.eosTokenIds = []
    let prompt = [benchmarkIds(batch: 1, seq: promptLength).map { $0 % 50257 }]
    var output: [[Int]] = []
    try withNoGrad { output = try model.generate(prompt, config: generation) }
    fields["first_result_unix"] = Date().timeIntervalSince1970
    fields["generated"] = output[0].count                          // generate returns the new tokens only
    fields["check_tokens"] = Array(output[0].prefix(8))
    for (key, value) in try timeCalls(reps: reps, { try withNoGrad { _ = try model.generate(prompt, config: generation) } }) {
        fields[key] = value
    }
    fields["tokens_per_s"] = Double(tokens) / ((fields["median_ms"] as! Double) / 1000)
    emit(fields)

default:
    fail("usage: ModelBench ceiling|encoder|flops|gpt2 --name value …  (see the comment at the top of main.swift)")
}
