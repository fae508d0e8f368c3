// The seq2seq workload of Benchmarks/run-all.sh for ours: an encoder-decoder checkpoint (T5 or BART
// architecture) generating from one source of --source fixed token ids, greedy (--beams 1) or beam search
// (--beams 4), exactly --tokens new tokens (min_new_tokens = max_new_tokens, so EOS is masked on every step
// as in the peers), --threads threads, eager (`Seq2SeqLanguageModel.generate`) or compiled
// (`CompiledSeq2SeqGenerator`). Prints one JSON line:
//
//   Seq2SeqBench --model DIR --mode eager|compiled --beams 1|4 --source 128 --tokens 64 --reps N --threads T
//
// first_token_ms is the median time of generating one token (the encoder, the first decoder step and its
// choice); tokens_per_s is tokens / median time of all tokens; decode_tokens_per_s is
// (tokens − 1) / (that time − first_token_ms), the same split the peers (Benchmarks/peers/seq2seq_peer.py) report.
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
    guard let path = options["model"] else { throw ExportError("Seq2SeqBench: --model DIR is required") }
    let mode = options["mode"] ?? "compiled"
    guard mode == "eager" || mode == "compiled" else { throw ExportError("Seq2SeqBench: --mode must be eager or compiled, not \(mode)") }
    func int(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = options[name] else { return fallback }
        guard let value = Int(text), value >= 1 else { throw ExportError("Seq2SeqBench: --\(name) must be a positive integer, not \(text)") }
        return value
    }
    let tokens = try int("tokens", 64), sourceLength = try int("source", 128), beams = try int("beams", 1)
    let reps = try int("reps", 1), threads = try int("threads", 2)
    EagerThreads.set(threads)
    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    let loadStart = now()
    let directory = URL(fileURLWithPath: path)
    let kind = try ModelRegistry.kind(ofCheckpoint: directory)
    let loaded = try kind.family.load(directory: directory, task: .text2textGeneration)
    guard let model = loaded.module as? any Seq2SeqLanguageModel else { throw ExportError("Seq2SeqBench: \(path) is not an encoder-decoder LM") }
    model.eval()
    let loadMs = Double(now() - loadStart) / 1e6
    // The peers' source: source_ids in seq2seq_peer.py.
    let source = [(0..<sourceLength).map { 4 + (1000 + 7919 * $0) % (min(model.vocabularySize, 30000) - 4) }]

    let compileStart = now()
    let compiled = mode == "compiled"
        ? try CompiledSeq2SeqGenerator(model: model, maxBatch: beams, maxSource: sourceLength, maxTarget: tokens + 1,
                                       options: CompileOptions(threads: threads))
        : nil
    let compileMs = Double(now() - compileStart) / 1e6
    func generate(_ count: Int) throws -> [Int] {
        var config = GenerationConfig(maxNewTokens: count)
        config.minNewTokens = count          // EOS masked on every step: exactly `count` tokens
        config.numBeams = beams
        config.lengthPenalty = 1
        config.earlyStopping = .heuristic    // HF's early_stopping=False
        if let compiled { return try compiled.generate(source, config: config)[0] }
        return try model.generate(source, config: config)[0]
    }
    let output = try generate(min(tokens, 8))   // warm-up, and the tokens compared across runtimes
    var fields: [String: Any] = ["impl": mode == "compiled" ? "ours" : "ours_eager", "threads": threads, "reps": reps, "tokens": tokens,
                                 "source": sourceLength, "beams": beams, "load_ms": loadMs, "compile_ms": compileMs,
                                 "first_result_unix": Date().timeIntervalSince1970, "generated": output.count,
                                 "check_tokens": Array(output.prefix(8))]
    func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<reps {
            let start = now()
            try body()
            samples.append(Double(now() - start) / 1e6)
        }
        return samples.sorted()[samples.count / 2]
    }
    let first = try median { _ = try generate(1) }
    var full: [Int] = []
    let total = try median { full = try generate(tokens) }
    fields["first_token_ms"] = first
    fields["total_ms"] = total
    fields["generated"] = full.count
    fields["tokens_per_s"] = Double(tokens) / (total / 1000)
    fields["decode_tokens_per_s"] = Double(tokens - 1) / ((total - first) / 1000)
    fields["all_tokens"] = full
    let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

do { try run() } catch {
    FileHandle.standardError.write(Data("Seq2SeqBench: \(error)\n".utf8))
    exit(1)
}
