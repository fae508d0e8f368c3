// The decode workload of Benchmarks/run-all.sh for ours: a causal LM checkpoint (GPT-2 or Llama
// architecture) through `CompiledGenerator`, greedy, batch 1, a prompt of --prompt tokens and --tokens
// new tokens (no EOS), --threads threads. Prints one JSON line:
//
//   DecodeBench --model DIR --prompt 128 --tokens 128 --reps N --threads T
//
// prefill_ms is the median time of generating one token (the prompt's forward pass and its argmax);
// decode_tokens_per_s is (tokens − 1) / (median time of all tokens − prefill_ms), the same split the
// peers (Benchmarks/peers/decode_peer.py) report.
import Foundation
import GenerationBenchSupport
import TCompile
import Transformers

/// Everything in one function: top-level variables would be main-actor isolated.
func run() throws -> [String: Any] {
    let options = BenchOptions()
    guard let path = options.string("model") else { throw BenchError("--model DIR is required") }
    let tokens = try options.int("tokens", 128), promptLength = try options.int("prompt", 128)
    let reps = try options.int("reps", 1), threads = try options.int("threads", 2)
    EagerThreads.set(threads)

    let loadStart = now()
    let directory = URL(fileURLWithPath: path)
    let kind = try ModelRegistry.kind(ofCheckpoint: directory)
    let loaded = try kind.family.load(directory: directory, task: .textGeneration)
    guard let model = loaded.module as? any CausalLanguageModel else { throw BenchError("\(path) is not a causal LM") }
    let loadMs = milliseconds(since: loadStart)
    // The peers' prompt: ids_for in decode_peer.py.
    let prompt = [(0..<promptLength).map { (1000 + 7919 * $0) % min(model.vocabularySize, 30000) }]

    let compileStart = now()
    let generator = try CompiledGenerator(model: model, maxBatch: 1, maxLength: promptLength + tokens,
                                          options: CompileOptions(threads: threads))
    let compileMs = milliseconds(since: compileStart)
    func generate(_ count: Int) throws -> [Int] {
        var config = GenerationConfig.greedy(maxNewTokens: count)
        config.eosTokenIds = []
        return try generator.generate(prompt, config: config)[0]
    }
    let output = try generate(min(tokens, 8))   // warm-up, and the tokens compared across runtimes
    var fields: [String: Any] = ["impl": "ours", "threads": threads, "reps": reps, "tokens": tokens, "prompt": promptLength,
                                 "load_ms": loadMs, "compile_ms": compileMs, "first_result_unix": Date().timeIntervalSince1970,
                                 "generated": output.count, "check_tokens": Array(output.prefix(8))]
    let prefill = try medianMilliseconds(reps: reps) { _ = try generate(1) }
    let total = try medianMilliseconds(reps: reps) { _ = try generate(tokens) }
    fields["prefill_ms"] = prefill
    fields["total_ms"] = total
    fields["decode_tokens_per_s"] = Double(tokens - 1) / ((total - prefill) / 1000)
    return fields
}

runBenchmark("DecodeBench", run)
