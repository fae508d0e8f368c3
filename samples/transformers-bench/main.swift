// Eager Swift timings of the Transformers workloads that Benchmarks/peers/transformers_peer.py times
// in PyTorch: all-MiniLM-L6-v2 forward at 1×128 and 8×128, and GPT-2 small (random init) greedy
// generation of 64 tokens with the KV cache. Prints one JSON object.
//
//   OPENBLAS_NUM_THREADS=2 swift run -c release transformers-bench [--runs N] [--model-dir DIR]
import Foundation
import NN
import Tensors
import Transformers

var runs = 10
var modelDirectory = ".models/all-MiniLM-L6-v2"
var newTokens = 64
var only: String?          // minilm_1x128, minilm_8x128 or gpt2_greedy_64 (for profiling one workload)
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--runs": runs = Int(arguments.next() ?? "") ?? runs
    case "--model-dir": modelDirectory = arguments.next() ?? modelDirectory
    case "--only": only = arguments.next()
    case "--tokens": newTokens = Int(arguments.next() ?? "") ?? newTokens
    default: FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8)); exit(2)
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func summary(_ samples: [Double]) -> [String: Double] {
    let s = samples.sorted()
    return ["median_ms": s[s.count / 2] * 1000, "min_ms": s.first! * 1000, "max_ms": s.last! * 1000]
}

if only == "ops" {
    // Per-op timings at MiniLM 1×128 sizes, to see where a forward goes.
    let x = Tensor.randn([1, 128, 384], seed: 1), w = Tensor.randn([1536, 384], seed: 2), h = Tensor.randn([1, 128, 1536], seed: 3)
    let s = Tensor.randn([1, 12, 128, 128], seed: 4), q = Tensor.randn([1, 128, 384], seed: 5).unflattened(dim: -1, sizes: [12, -1]).transposed(1, 2)
    let ln = (Tensor.ones([384]), Tensor.zeros([384]))
    let big = Tensor.randn([768, 768], seed: 6)
    let v = Tensor.randn([1, 1, 768], seed: 7), v2 = Tensor.randn([2, 768], seed: 7), v8 = Tensor.randn([8, 768], seed: 7), cfc = Tensor.randn([768, 3072], seed: 8), head = Tensor.randn([50257, 768], seed: 9), headT = Tensor.randn([768, 50257], seed: 9)
    let ops: [(String, () -> Tensor)] = [
        ("linear 128x384 -> 1536", { x.matmul(w.transposed()) }),
        ("matmul 768³", { big.matmul(big) }),
        ("decode c_fc 1x768 -> 3072", { v.matmul(cfc) }),
        ("decode lm_head 1x768 -> 50257", { v.matmul(head.transposed()) }),
        ("sum 50257x768", { head.sum() }),
        ("lm_head sgemm m=2", { v2.matmul(head.transposed()) }),
        ("lm_head sgemm m=8", { v8.matmul(head.transposed()) }),
        ("lm_head as 768-row gemm, trans", { v.reshaped([1, 768]).matmul(headT) }),
        ("linear 128x1536 -> 384", { h.matmul(w) }),
        ("gelu 128x1536", { h.gelu() }),
        ("add 128x1536", { h + h }),
        ("layer_norm 128x384", { x.layerNorm(weight: ln.0, bias: ln.1, eps: 1e-12) }),
        ("softmax 12x128x128", { s.softmax(dim: -1) }),
        ("exp 12x128x128", { s.exp() }),
        ("q*scale heads", { q * 0.17 }),
        ("q·kᵀ 12 heads", { q.matmul(q.transposed(-1, -2)) }),
        ("merge heads", { q.transposed(1, 2).flattened(startDim: -2).contiguous() }),
    ]
    for (name, op) in ops {
        _ = withNoGrad(op)
        let t = seconds { for _ in 0..<100 { _ = withNoGrad(op) } }
        print("\(name): \(t * 10) ms")
    }
    exit(0)
}

var results: [String: Any] = ["runtime": "tcompile-eager-swift", "threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default"]

for batch in [1, 8] where only == nil || only == "minilm_\(batch)x128" {
    let miniLM = try BertModel.fromPretrained(directory: URL(fileURLWithPath: modelDirectory))
    let inputs = EncoderInputs(inputIds: Tensor.randint(1000, 30000, shape: [batch, 128], seed: 1),
                               attentionMask: Tensor.ones([batch, 128], dtype: .int64),
                               tokenTypeIds: Tensor.zeros([batch, 128], dtype: .int64))
    _ = try miniLM(inputs)                                                   // warm-up
    let samples = try (0..<runs).map { _ in try seconds { _ = try miniLM(inputs) } }
    results["minilm_\(batch)x128"] = summary(samples)
}

if only == nil || only == "gpt2_greedy_64" {
let gpt2 = withRandomGenerator(seed: 0) { GPT2LMHeadModel(config: GPT2Config()) }
gpt2.eval()
var generation = GenerationConfig.greedy(maxNewTokens: newTokens)
generation.eosTokenIds = []
let prompt = [Array(Tensor.randint(0, 50257, shape: [8], seed: 2).toIntArray())]
_ = try gpt2.generate(prompt, config: GenerationConfig.greedy(maxNewTokens: 4))   // warm-up
var tokens = 0
let generationRuns = max(1, runs / 3)
let samples = try (0..<generationRuns).map { _ in try seconds { tokens = try gpt2.generate(prompt, config: generation)[0].count } }
var gpt2Result = summary(samples)
gpt2Result["tokens"] = Double(tokens)
gpt2Result["tokens_per_s"] = Double(tokens) / samples.sorted()[samples.count / 2]
results["gpt2_greedy_64"] = gpt2Result
}

let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
