// GPT-2 text generation with the KV cache, eager and compiled: `generate` on the eager model, and
// `CompiledGenerator` (the prefill and decode-step graphs traced from the same model and JIT-compiled)
// driven by the same decoding loop. The sample prints both continuations and exits 1 unless the
// tokens are identical.
//
//   swift run -c release generate [--checkpoint DIR] [--prompt "…"] [--max-new-tokens N] [--sample]
//
// DIR is a Hugging Face GPT-2 checkpoint (config.json, model.safetensors, tokenizer.json or
// vocab.json + merges.txt). Without one, the sample builds a small GPT-2 (2 layers, 64 wide) with
// RANDOM weights from a fixed seed, over the GPT-2-style byte-level BPE tokenizer in tokenizer/:
// the text is meaningless, but eager and compiled must produce the same tokens.
import Foundation
import NN
import TCompile
import Tokenizers
import Transformers

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("generate: \(message)\n".utf8))
    exit(1)
}

var checkpoint: URL?
var prompt = "The weather today is"
var maxNewTokens = 24
var sampling = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--checkpoint": checkpoint = arguments.popFirst().map { URL(fileURLWithPath: $0) }
    case "--prompt": prompt = arguments.popFirst() ?? prompt
    case "--max-new-tokens": maxNewTokens = arguments.popFirst().flatMap(Int.init) ?? 0
    case "--sample": sampling = true
    case "-h", "--help":
        print("usage: generate [--checkpoint DIR] [--prompt TEXT] [--max-new-tokens N] [--sample]")
        exit(0)
    default: fail("unknown option \(argument); try --help")
    }
}
guard maxNewTokens >= 1 else { fail("--max-new-tokens needs a positive number") }

do {
    let model: GPT2LMHeadModel
    let tokenizer: any TextEncoder
    if let checkpoint {
        let loaded = try GPT2LMHeadModel.loadPretrained(directory: checkpoint)
        guard let t = loaded.tokenizer else { fail("\(checkpoint.path) has no tokenizer files") }
        (model, tokenizer) = (loaded.model, t)
        print("weights: \(checkpoint.path) (passed with --checkpoint)")
    } else {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tokenizer")
        let bpe = try Tokenizer.fromDirectory(directory.path)
        var config = GPT2Config(vocabSize: 2000, nPositions: 128, nEmbd: 64, nLayer: 2, nHead: 4)
        config.initializerRange = 0.2
        config.common = CommonConfig(bosTokenId: 0, eosTokenIds: [0])          // <|endoftext|>
        model = withRandomGenerator(seed: 0) { GPT2LMHeadModel(config: config) }
        model.eval()
        tokenizer = bpe
        print("weights: RANDOM (seed 0): GPT-2 config with 2 layers, 64 wide, 4 heads, 128 positions, over the")
        print("         byte-level BPE in \(directory.path) (2,000 tokens). The text is meaningless, but eager and")
        print("         compiled must produce the same tokens. Pass --checkpoint DIR (e.g. gpt2) for real text.")
    }
    let ids = try tokenizer.encodeText(prompt, pair: nil).ids
    let generation = sampling
        ? GenerationConfig(maxNewTokens: maxNewTokens, doSample: true, temperature: 0.8, topK: 40, seed: 1)
        : GenerationConfig.greedy(maxNewTokens: maxNewTokens)
    print("prompt: \"\(prompt)\" (\(ids.count) tokens), \(maxNewTokens) new tokens, \(sampling ? "sampling (temperature 0.8, top-k 40, seed 1)" : "greedy"), KV cache\n")

    var start = Date()
    let eager = try model.generate([ids], config: generation)[0]
    let eagerS = Date().timeIntervalSince(start)
    print(String(format: "eager     (%.2f s, %.1f tokens/s): ", eagerS, Double(eager.count) / eagerS) + tokenizer.decodeIds(ids + eager, skipSpecialTokens: true))

    start = Date()
    let compiled = try CompiledGenerator(model: model, maxBatch: 1, maxLength: min(model.config.nPositions, max(32, ids.count + maxNewTokens)))
    let buildS = Date().timeIntervalSince(start)
    start = Date()
    let native = try compiled.generate([ids], config: generation)[0]
    let nativeS = Date().timeIntervalSince(start)
    print(String(format: "compiled  (%.2f s, %.1f tokens/s; traced and compiled in %.1f s): ", nativeS, Double(native.count) / nativeS, buildS)
          + tokenizer.decodeIds(ids + native, skipSpecialTokens: true))
    print("\ntokens: \(eager)")
    if native == eager {
        print("eager and compiled agree: the same \(eager.count) tokens")
    } else {
        print("compiled tokens: \(native)")
        print("eager and compiled DIFFER")
        exit(1)
    }
} catch {
    fail("\(error)")
}
