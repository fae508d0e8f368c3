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
import TCompile
import Transformers

/// Everything in one function: top-level variables would be main-actor isolated.
func run() throws {
    var options: [String: String] = [:]
    do {
        var iterator = CommandLine.arguments.dropFirst().makeIterator()
        while let key = iterator.next() { if key.hasPrefix("--"), let value = iterator.next() { options[String(key.dropFirst(2))] = value } }
    }
    guard let path = options["model"] else { throw ExportError("DecodeBench: --model DIR is required") }
    let tokens = Int(options["tokens"] ?? "128") ?? 128, promptLength = Int(options["prompt"] ?? "128") ?? 128
    let reps = max(1, Int(options["reps"] ?? "1") ?? 1), threads = Int(options["threads"] ?? "2") ?? 2
    EagerThreads.set(threads)
    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    let loadStart = now()
    let directory = URL(fileURLWithPath: path)
    let kind = try ModelRegistry.kind(ofCheckpoint: directory)
    let loaded = try kind.family.load(directory: directory, task: .textGeneration)
    guard let model = loaded.module as? any CausalLanguageModel else { throw ExportError("DecodeBench: \(path) is not a causal LM") }
    let loadMs = Double(now() - loadStart) / 1e6
    // The peers' prompt: ids_for in decode_peer.py.
    let prompt = [(0..<promptLength).map { (1000 + 7919 * $0) % min(model.vocabularySize, 30000) }]

    let compileStart = now()
    let generator = try CompiledGenerator(model: model, maxBatch: 1, maxLength: promptLength + tokens,
                                          options: CompileOptions(threads: threads))
    let compileMs = Double(now() - compileStart) / 1e6
    func generate(_ count: Int) throws -> [Int] {
        var config = GenerationConfig.greedy(maxNewTokens: count)
        config.eosTokenIds = []
        return try generator.generate(prompt, config: config)[0]
    }
    let output = try generate(min(tokens, 8))   // warm-up, and the tokens compared across runtimes
    var fields: [String: Any] = ["impl": "ours", "threads": threads, "reps": reps, "tokens": tokens, "prompt": promptLength,
                                 "load_ms": loadMs, "compile_ms": compileMs, "first_result_unix": Date().timeIntervalSince1970,
                                 "generated": output.count, "check_tokens": Array(output.prefix(8))]
    func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<reps {
            let start = now()
            try body()
            samples.append(Double(now() - start) / 1e6)
        }
        return samples.sorted()[samples.count / 2]
    }
    let prefill = try median { _ = try generate(1) }
    let total = try median { _ = try generate(tokens) }
    fields["prefill_ms"] = prefill
    fields["total_ms"] = total
    fields["decode_tokens_per_s"] = Double(tokens - 1) / ((total - prefill) / 1000)
    let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

do { try run() } catch {
    FileHandle.standardError.write(Data("DecodeBench: \(error)\n".utf8))
    exit(1)
}
