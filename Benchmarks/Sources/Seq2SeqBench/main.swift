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
import GenerationBenchSupport
import TCompile
import Transformers

/// Everything in one function: top-level variables would be main-actor isolated.
func run() throws -> [String: Any] {
    let options = BenchOptions()
    guard let path = options.string("model") else { throw BenchError("--model DIR is required") }
    let mode = options.string("mode") ?? "compiled"
    guard mode == "eager" || mode == "compiled" else { throw BenchError("--mode must be eager or compiled, not \(mode)") }
    let tokens = try options.int("tokens", 64), sourceLength = try options.int("source", 128), beams = try options.int("beams", 1)
    let reps = try options.int("reps", 1), threads = try options.int("threads", 2)
    EagerThreads.set(threads)

    let loadStart = now()
    let directory = URL(fileURLWithPath: path)
    let kind = try ModelRegistry.kind(ofCheckpoint: directory)
    let loaded = try kind.family.load(directory: directory, task: .text2textGeneration)
    guard let model = loaded.module as? any Seq2SeqLanguageModel else { throw BenchError("\(path) is not an encoder-decoder LM") }
    model.eval()
    let loadMs = milliseconds(since: loadStart)
    // The peers' source: source_ids in seq2seq_peer.py.
    let source = [(0..<sourceLength).map { 4 + (1000 + 7919 * $0) % (min(model.vocabularySize, 30000) - 4) }]

    let compileStart = now()
    let compiled = mode == "compiled"
        ? try CompiledSeq2SeqGenerator(model: model, maxBatch: beams, maxSource: sourceLength, maxTarget: tokens + 1,
                                       options: CompileOptions(threads: threads))
        : nil
    let compileMs = milliseconds(since: compileStart)
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
    let first = try medianMilliseconds(reps: reps) { _ = try generate(1) }
    var full: [Int] = []
    let total = try medianMilliseconds(reps: reps) { full = try generate(tokens) }
    fields["first_token_ms"] = first
    fields["total_ms"] = total
    fields["generated"] = full.count
    fields["tokens_per_s"] = Double(tokens) / (total / 1000)
    fields["decode_tokens_per_s"] = Double(tokens - 1) / ((total - first) / 1000)
    fields["all_tokens"] = full
    return fields
}

runBenchmark("Seq2SeqBench", run)
