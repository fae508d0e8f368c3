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
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--runs": runs = Int(arguments.next() ?? "") ?? runs
    case "--model-dir": modelDirectory = arguments.next() ?? modelDirectory
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

var results: [String: Any] = ["runtime": "tcompile-eager-swift", "threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default"]

let miniLM = try BertModel.fromPretrained(directory: URL(fileURLWithPath: modelDirectory))
for batch in [1, 8] {
    let inputs = EncoderInputs(inputIds: Tensor.randint(1000, 30000, shape: [batch, 128], seed: 1),
                               attentionMask: Tensor.ones([batch, 128], dtype: .int64),
                               tokenTypeIds: Tensor.zeros([batch, 128], dtype: .int64))
    _ = try miniLM(inputs)                                                   // warm-up
    let samples = try (0..<runs).map { _ in try seconds { _ = try miniLM(inputs) } }
    results["minilm_\(batch)x128"] = summary(samples)
}

let gpt2 = withRandomGenerator(seed: 0) { GPT2LMHeadModel(config: GPT2Config()) }
gpt2.eval()
var generation = GenerationConfig.greedy(maxNewTokens: 64)
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

let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
