// Fill-mask with BertForMaskedLM, eager and compiled: the eager pipeline (FillMaskPipeline) and the
// same model traced into a graph and JIT-compiled (TCompile.compile) predict the masked word; the
// sample prints both top-k lists and exits 1 unless they name the same tokens with scores within 1e-4.
//
//   swift run -c release fill-mask [--checkpoint DIR] [--text "Hello, my dog is [MASK]."] [--top-k 5]
//
// DIR is a Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt or tokenizer.json),
// e.g. bert-base-uncased. Without one, the sample uses the test fixture bert-fill-mask: a BERT with
// random weights over bert-base-uncased's real vocabulary, so its predictions are meaningless words,
// but eager and compiled must still agree.
import Foundation
import TCompile
import Transformers

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fill-mask: \(message)\n".utf8))
    exit(1)
}

let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Tests/TransformersTests/Fixtures/bert-fill-mask").standardized
var checkpoint: URL?
var text = "Hello, my dog is [MASK]."
var topK = 5
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--checkpoint": checkpoint = arguments.popFirst().map { URL(fileURLWithPath: $0) }
    case "--text": text = arguments.popFirst() ?? text
    case "--top-k": topK = arguments.popFirst().flatMap(Int.init) ?? 0
    case "-h", "--help":
        print("usage: fill-mask [--checkpoint DIR] [--text \"… [MASK] …\"] [--top-k N]")
        exit(0)
    default: fail("unknown option \(argument); try --help")
    }
}
guard topK >= 1 else { fail("--top-k needs a positive number") }
let directory = checkpoint ?? fixture
if checkpoint == nil {
    print("weights: \(directory.path)")
    print("         a BERT with RANDOM weights (hidden size 24, by scripts/fixtures/transformers_fixtures.py) over")
    print("         bert-base-uncased's real vocabulary: the predicted words are meaningless, but eager and compiled")
    print("         must agree. Pass --checkpoint DIR (e.g. bert-base-uncased) for real predictions.")
} else {
    print("weights: \(directory.path) (passed with --checkpoint)")
}

do {
    // Eager: the fill-mask pipeline on the checkpoint, with its tokenizer.
    let loaded = try BertForMaskedLM.loadPretrained(directory: directory)
    let pipeline = try FillMaskPipeline(loaded)
    let tokenizer = loaded.tokenizer!
    let ids = try tokenizer.encodeText(text, pair: nil).ids
    guard let position = ids.firstIndex(of: pipeline.maskTokenId) else { fail("the text holds no [MASK] token") }
    let config = loaded.model.config
    print("model: BertForMaskedLM, \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), vocabulary \(config.vocabSize)")
    print("text:  \(text)  (\(ids.count) tokens, mask at \(position))\n")
    var start = Date()
    let eager = try pipeline(text, topK: topK)[0]
    let eagerMs = Date().timeIntervalSince(start) * 1000

    // Compiled: the same eager code traced into a graph (seq dynamic up to 64 or the position table),
    // optimized and JIT-compiled for this CPU.
    start = Date()
    let exportable = try ModelExport.load(directory: directory, task: .fillMask)
    let maxSeq = max(ids.count, min(64, config.maxPositionEmbeddings))
    let graph = try exportable.trace(maxBatch: 1, maxSeq: maxSeq)
    let traceS = Date().timeIntervalSince(start)
    start = Date()
    let compiled = try TCompile.compile(graph, name: "fill_mask")
    let compileS = Date().timeIntervalSince(start)
    start = Date()
    let logits = try compiled(["input_ids": Tensor(ids, shape: [1, ids.count]),
                               "attention_mask": Tensor.ones([1, ids.count], dtype: .int64),
                               "token_type_ids": Tensor.zeros([1, ids.count], dtype: .int64)])["logits"]!
    let compiledMs = Date().timeIntervalSince(start) * 1000
    let probabilities = logits.selected(dim: 0, index: 0).selected(dim: 0, index: position).softmax(dim: -1).toFloatArray()
    let best = probabilities.indices.sorted { probabilities[$0] != probabilities[$1] ? probabilities[$0] > probabilities[$1] : $0 < $1 }.prefix(topK)

    print("rank  eager (\(String(format: "%.1f", eagerMs)) ms)            compiled (\(String(format: "%.1f", compiledMs)) ms; traced in \(String(format: "%.1f", traceS)) s, compiled in \(String(format: "%.1f", compileS)) s)")
    var same = true
    for (rank, (e, c)) in zip(eager, best).enumerated() {
        let word = tokenizer.decodeIds([c], skipSpecialTokens: false)
        let agree = e.token == c && abs(e.score - probabilities[c]) <= 1e-4
        same = same && agree
        let left = "\(e.tokenString ?? String(e.token))".padding(toLength: 12, withPad: " ", startingAt: 0)
        print(String(format: "%4d  %@ %.5f      %@ %.5f%@", rank + 1, left, e.score,
                     word.padding(toLength: 12, withPad: " ", startingAt: 0), probabilities[c], agree ? "" : "   <- differs"))
    }
    print(same ? "\neager and compiled agree: the same \(topK) tokens, scores within 1e-4"
               : "\neager and compiled DIFFER")
    if !same { exit(1) }
} catch {
    fail("\(error)")
}
