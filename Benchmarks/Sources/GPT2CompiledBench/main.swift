// GPT-2 greedy decoding (64 tokens, prompt 8, KV cache) with the compiled generator, for the
// "ours compiled" GPT-2 column of Benchmarks/run-all.sh. Same arguments and JSON fields as
// `ModelBench gpt2`:
//
//   GPT2CompiledBench --model DIR --tokens 64 --prompt 8 --reps N --threads T
//
// `CompiledGenerator` (TCompile) traces the prefill and decode-step graphs and JIT-compiles them; if this
// target fails to build, run-all.sh leaves the column empty (it never reports a number it did not measure).
import Foundation
import TCompile
import Transformers

/// Everything in one function: top-level variables would be main-actor isolated.
func run() throws {
    var options: [String: String] = [:]
    do {
        var iterator = CommandLine.arguments.dropFirst().makeIterator()
        while let key = iterator.next() { if key.hasPrefix("--"), let value = iterator.next() { options[String(key.dropFirst(2))] = value } }
    }
    let tokens = Int(options["tokens"] ?? "64")!, promptLength = Int(options["prompt"] ?? "8")!
    let reps = Int(options["reps"] ?? "3")!, threads = Int(options["threads"] ?? "2")!
    EagerThreads.set(threads)

    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    let loadStart = now()
    let model = try GPT2LMHeadModel.fromPretrained(directory: URL(fileURLWithPath: options["model"] ?? ".work/gpt2-random"))
    model.eval()
    var generation = GenerationConfig.greedy(maxNewTokens: tokens)
    generation.eosTokenIds = []
    let prompt = [(0..<promptLength).map { (1000 + (7919 * $0) % 29000) % 50257 }]
    let loadMs = Double(now() - loadStart) / 1e6

    let compileStart = now()
    let generator = try CompiledGenerator(model: model, maxBatch: 1, maxLength: promptLength + tokens,
                                          options: CompileOptions(threads: threads))
    let compileMs = Double(now() - compileStart) / 1e6
    func generate() throws -> [[Int]] { try generator.generate(prompt, config: generation) }

    let output = try generate()
    var fields: [String: Any] = ["impl": "ours-compiled-generator", "threads": threads, "reps": reps, "tokens": tokens,
                                 "prompt": promptLength, "load_ms": loadMs, "compile_ms": compileMs,
                                 "first_result_unix": Date().timeIntervalSince1970, "generated": output[0].count,
                                 "check_tokens": Array(output[0].prefix(8))]
    var samples: [Double] = []
    for _ in 0..<max(1, reps) {
        let start = now()
        _ = try generate()
        samples.append(Double(now() - start) / 1e6)
    }
    samples.sort()
    fields["median_ms"] = samples[samples.count / 2]
    fields["min_ms"] = samples.first!
    fields["max_ms"] = samples.last!
    fields["tokens_per_s"] = Double(tokens) / (samples[samples.count / 2] / 1000)
    let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

try run()
