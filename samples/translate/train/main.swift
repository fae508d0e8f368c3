// Trains a small BART-architecture encoder-decoder from scratch in eager Swift to translate English
// number words into digits ("three hundred and twelve" → "312", 0…999,999), reports the held-out
// exact-match accuracy of greedy decoding, and saves a Hugging Face checkpoint directory
// (config.json, generation_config.json, model.safetensors, vocab.txt, tokenizer_config.json) that
// `tcompile generate` compiles (samples/translate/run.sh).
//
// The corpus is generated, seeded: 500 held-out numbers of 3 to 6 digits (written to data/test.tsv
// with their words), and training batches drawn from every other number, half of them with "forty two" for "forty-two".
//
//   swift run -c release train-translate [--steps N] [--output DIR] [--data DIR]
import Foundation
import NN
import Tensors
import Tokenizers
import Transformers

var steps = 3000
var output = "samples/translate/model"
var dataDirectory = "samples/translate/data"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--steps":
        guard let v = arguments.popFirst().flatMap(Int.init), v > 0 else { print("train-translate: --steps needs a positive number"); exit(2) }
        steps = v
    case "--output":
        guard let v = arguments.popFirst() else { print("train-translate: --output needs a directory"); exit(2) }
        output = v
    case "--data":
        guard let v = arguments.popFirst() else { print("train-translate: --data needs a directory"); exit(2) }
        dataDirectory = v
    case "-h", "--help":
        print("usage: train-translate [--steps N] [--output DIR] [--data DIR]   (defaults: 3000, samples/translate/model, samples/translate/data)")
        exit(0)
    default:
        print("train-translate: unknown option \(argument); try --help")
        exit(2)
    }
}

/// A number whose digit count is uniform in `lengths` (so short and long numbers are equally common).
func drawNumber(_ generator: inout RandomGenerator, lengths: ClosedRange<Int> = 1...6) -> Int {
    let digits = Int.random(in: lengths, using: &generator)
    return digits == 1 ? Int.random(in: 0...9, using: &generator)
        : Int.random(in: Int(pow(10.0, Double(digits - 1)))...(Int(pow(10.0, Double(digits))) - 1), using: &generator)
}

do {
    let started = Date()
    // The held-out numbers: 500 distinct draws of seed 2 among those of 3 to 6 digits, never trained
    // on. (Numbers below 100 are all trained: held out, the model would never see "seven" alone.)
    var heldOutGenerator = RandomGenerator(seed: 2)
    var heldOut: [Int] = [], heldOutSet = Set<Int>()
    while heldOut.count < 500 {
        let n = drawNumber(&heldOutGenerator, lengths: 3...6)
        if heldOutSet.insert(n).inserted { heldOut.append(n) }
    }
    try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    try heldOut.map { "\(NumberWords.words($0))\t\($0)\n" }.joined()
        .write(toFile: "\(dataDirectory)/test.tsv", atomically: true, encoding: .utf8)

    // The vocabulary: BERT's special tokens, the number words, digits starting a word and continuing one.
    let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    let tokens = specials + NumberWords.vocabulary + (0...9).map(String.init) + (0...9).map { "##\($0)" }
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    try tokens.map { $0 + "\n" }.joined().write(toFile: "\(output)/vocab.txt", atomically: true, encoding: .utf8)
    var tokenizer = try Tokenizer.fromWordPieceVocabulary("\(output)/vocab.txt")
    tokenizer.padding = Padding(length: .longest)
    let pad = 0, bos = 2, eos = 3

    // BART at a small size: 2 + 2 layers of 64 with 4 heads, feed-forward 256, 32 positions; the
    // decoder starts from [CLS] and ends with [SEP].
    var config = BartConfig(vocabSize: tokens.count, maxPositionEmbeddings: 32, dModel: 64, encoderLayers: 2, decoderLayers: 2,
                            ffnDim: 256, heads: 4, activationFunction: "gelu")
    config.dropout = 0
    config.decoderStartTokenId = bos
    config.forcedEosTokenIds = [eos]
    config.common = CommonConfig(padTokenId: pad, bosTokenId: bos, eosTokenIds: [eos])
    DefaultGenerator.seed(0)
    let model = BartForConditionalGeneration(config: config)
    print("model: \(model.parameterCount()) parameters, vocabulary \(tokens.count); \(heldOut.count) held-out numbers")

    /// Source ids and mask, and labels: the digits' ids after [CLS] through [SEP], padding −100.
    func batch(_ pairs: [(String, String)]) throws -> (Seq2SeqInputs, Tensor) {
        let sources = try tokenizer.encodeBatch(pairs.map(\.0)), targets = try tokenizer.encodeBatch(pairs.map(\.1))
        let s = sources[0].ids.count, t = targets[0].ids.count - 1
        let ids = Tensor(sources.flatMap(\.ids), shape: [pairs.count, s])
        let mask = Tensor(sources.flatMap(\.attentionMask), shape: [pairs.count, s])
        let labels = targets.flatMap { e in zip(e.ids.dropFirst(), e.attentionMask.dropFirst()).map { $1 == 1 ? $0 : -100 } }
        return (Seq2SeqInputs(inputIds: ids, attentionMask: mask), Tensor(labels, shape: [pairs.count, t]))
    }

    /// Greedy translations of `numbers`' words, in batches of 100.
    func translate(_ numbers: [Int]) throws -> [String] {
        model.eval()
        var out: [String] = []
        for start in stride(from: 0, to: numbers.count, by: 100) {
            let sources = try numbers[start..<min(start + 100, numbers.count)].map { try tokenizer.encode(NumberWords.words($0)).ids }
            out += try model.generate(sources, config: .greedy(maxNewTokens: 10)).map { tokenizer.decode($0) }
        }
        return out
    }
    func accuracy(_ numbers: [Int]) throws -> Int { zip(try translate(numbers), numbers).filter { $0 == String($1) }.count }

    let batchSize = 64
    let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 2e-3, weightDecay: 0.01)
    let schedule = LinearSchedule(warmupSteps: steps / 20, totalSteps: steps)
    var generator = RandomGenerator(seed: 1)
    var total: Float = 0
    for step in 0..<steps {
        model.train()
        var pairs: [(String, String)] = []
        while pairs.count < batchSize {
            let n = drawNumber(&generator)
            if heldOutSet.contains(n) { continue }
            pairs.append((NumberWords.words(n, hyphen: Bool.random(using: &generator)), String(n)))
        }
        let (inputs, labels) = try batch(pairs)
        optimizer.zeroGrad()
        let loss = model.forward(inputs, labels: labels).loss!
        loss.backward()
        optimizer.learningRate = 2e-3 * schedule.multiplier(at: step)
        optimizer.step()
        total += loss.item()
        if (step + 1) % 250 == 0 || step + 1 == steps {
            let correct = try accuracy(Array(heldOut.prefix(100)))
            print(String(format: "step %d: mean training loss %.4f, first 100 held-out exact %d/100 (%.0f s)",
                         step + 1, total / Float((step % 250) + 1), correct, Date().timeIntervalSince(started)))
            total = 0
        }
    }
    let translations = try translate(heldOut)
    let correct = zip(translations, heldOut).filter { $0 == String($1) }.count
    print(String(format: "held-out exact match (eager greedy): %d/%d = %.1f %%; trained in %.0f s", correct, heldOut.count,
                 100 * Double(correct) / Double(heldOut.count), Date().timeIntervalSince(started)))
    let misses = zip(translations, heldOut).filter { $0 != String($1) }
    for (translation, n) in misses.prefix(20) { print("  miss: \(NumberWords.words(n)) → \(translation) (expected \(n))") }
    if misses.count > 20 { print("  … and \(misses.count - 20) more misses") }

    // Save as a Hugging Face checkpoint directory. config.json is written field by field: transformers
    // checks types strictly, and a dropout of 0 must be written as the float 0.0.
    let fields: [(String, String)] = [
        ("activation_dropout", "0.0"), ("activation_function", "\"gelu\""), ("architectures", "[\"BartForConditionalGeneration\"]"),
        ("attention_dropout", "0.0"), ("bos_token_id", "\(bos)"), ("classifier_dropout", "0.0"), ("d_model", "\(config.dModel)"),
        ("decoder_attention_heads", "\(config.decoderAttentionHeads)"), ("decoder_ffn_dim", "\(config.decoderFfnDim)"),
        ("decoder_layerdrop", "0.0"), ("decoder_layers", "\(config.decoderLayers)"), ("decoder_start_token_id", "\(bos)"),
        ("dropout", "0.0"), ("encoder_attention_heads", "\(config.encoderAttentionHeads)"), ("encoder_ffn_dim", "\(config.encoderFfnDim)"),
        ("encoder_layerdrop", "0.0"), ("encoder_layers", "\(config.encoderLayers)"), ("eos_token_id", "\(eos)"),
        ("forced_eos_token_id", "\(eos)"), ("init_std", "\(config.initStd)"), ("is_encoder_decoder", "true"),
        ("max_position_embeddings", "\(config.maxPositionEmbeddings)"), ("model_type", "\"bart\""), ("pad_token_id", "\(pad)"),
        ("scale_embedding", "false"), ("tie_word_embeddings", "true"), ("torch_dtype", "\"float32\""), ("use_cache", "true"),
        ("vocab_size", "\(config.vocabSize)"),
    ]
    try ("{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n")
        .write(toFile: "\(output)/config.json", atomically: true, encoding: .utf8)
    func write(_ object: [String: Any], _ file: String) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(output)/\(file)"))
    }
    try write(["bos_token_id": bos, "decoder_start_token_id": bos, "eos_token_id": eos, "forced_eos_token_id": eos,
               "pad_token_id": pad, "max_new_tokens": 10, "num_beams": 1], "generation_config.json")
    try write(["tokenizer_class": "BertTokenizer", "do_lower_case": true, "model_max_length": 32, "cls_token": "[CLS]",
               "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
               "model_input_names": ["input_ids", "attention_mask"]], "tokenizer_config.json")
    try model.save(to: "\(output)/model.safetensors", metadata: ["format": "pt", "producer": "samples/translate/train"])
    print("saved the checkpoint to \(output)")
} catch {
    print("train-translate: error: \(error)")
    exit(1)
}
