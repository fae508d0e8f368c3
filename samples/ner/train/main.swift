// Fine-tunes a tiny BERT token classifier in eager Swift on the sentences of samples/ner/data (people,
// locations and organizations with BIO tags), reports held-out entity-level F1 (exact spans, as
// seqeval) and word accuracy, and saves a Hugging Face checkpoint directory (config.json with
// id2label, model.safetensors, tokenizer.json, vocab.txt) that `tcompile export` reads.
//
// As Hugging Face's token-classification fine-tuning does, each word's label goes on its first
// word-piece and the other pieces (and [CLS], [SEP], padding) get −100, which the loss ignores.
//
//   swift run -c release train-ner [--epochs N] [--output DIR]
import Foundation
import NN
import Tensors
import Tokenizers
import Transformers

var epochs = 6
var output = "samples/ner/model"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--epochs":
        guard let v = arguments.popFirst().flatMap(Int.init), v > 0 else { print("train-ner: --epochs needs a positive number"); exit(2) }
        epochs = v
    case "--output":
        guard let v = arguments.popFirst() else { print("train-ner: --output needs a directory"); exit(2) }
        output = v
    case "-h", "--help":
        print("usage: train-ner [--epochs N] [--output DIR]   (defaults: 6, samples/ner/model)")
        exit(0)
    default:
        print("train-ner: unknown option \(argument); try --help")
        exit(2)
    }
}

let data = "samples/ner/data"
struct Example: Decodable { let text: String; let words: [String]; let tags: [String] }
func load(_ split: String) throws -> [Example] {
    try String(contentsOfFile: "\(data)/\(split).jsonl", encoding: .utf8).split(separator: "\n")
        .map { try JSONDecoder().decode(Example.self, from: Data($0.utf8)) }
}
let labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
let labelId = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })

/// The entity spans of a BIO sequence as (first word, last word, type); an `I-` that does not continue
/// a span of its type starts one (seqeval's default).
func spans(_ tags: [String]) -> Set<[String]> {
    var result = Set<[String]>()
    var open: (start: Int, type: String)?
    func close(_ end: Int) { if let o = open { result.insert([String(o.start), String(end), o.type]) }; open = nil }
    for (i, tag) in tags.enumerated() {
        let type = String(tag.dropFirst(2))
        if tag == "O" { close(i - 1) }
        else if tag.hasPrefix("B-") || open?.type != type { close(i - 1); open = (i, type) }
    }
    close(tags.count - 1)
    return result
}

struct TrainingError: Error, CustomStringConvertible { let description: String }

do {
    let train = try load("train"), test = try load("test")
    var tokenizer = try Tokenizer.fromFile("\(data)/tokenizer/tokenizer.json")
    tokenizer.padding = Padding(length: .longest)
    let vocabulary = try String(contentsOfFile: "\(data)/tokenizer/vocab.txt", encoding: .utf8).split(separator: "\n").count

    // A tiny BERT: 2 layers, hidden 64, 2 heads — about 120k parameters.
    var config = BertConfig(vocabSize: vocabulary, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 2,
                            intermediateSize: 128, maxPositionEmbeddings: 64, numLabels: labels.count)
    config.hiddenDropoutProb = 0.1
    config.attentionProbsDropoutProb = 0.1
    DefaultGenerator.seed(0)
    let model = BertForTokenClassification(config: config)
    print("model: \(model.parameterCount()) parameters; \(train.count) training and \(test.count) held-out sentences")

    /// Inputs, and per token the label id of the word it starts or −100. A token starts a word when it
    /// is not special and not a `##` continuation: the data's words are BERT's pre-tokenizer's.
    func batch(_ examples: ArraySlice<Example>) throws -> (EncoderInputs, Tensor, [[Int]]) {
        let encodings = try tokenizer.encodeBatch(examples.map(\.text))
        let length = encodings[0].ids.count
        var targets: [Int] = [], firstPieces: [[Int]] = []
        for (example, encoding) in zip(examples, encodings) {
            let starts = encoding.tokens.indices.filter {
                encoding.specialTokensMask[$0] == 0 && encoding.attentionMask[$0] == 1 && !encoding.tokens[$0].hasPrefix("##")
            }
            guard starts.count == example.words.count else {
                throw TrainingError(description: "\"\(example.text)\": \(starts.count) word starts for \(example.words.count) words")
            }
            var row = Array(repeating: -100, count: length)
            for (position, tag) in zip(starts, example.tags) { row[position] = labelId[tag]! }
            targets += row
            firstPieces.append(starts)
        }
        let ids = Tensor(encodings.flatMap(\.ids), shape: [encodings.count, length])
        let mask = Tensor(encodings.flatMap(\.attentionMask), shape: [encodings.count, length])
        return (EncoderInputs(inputIds: ids, attentionMask: mask), Tensor(targets, shape: [encodings.count, length]), firstPieces)
    }

    /// Entity-level F1 over exact spans, and the fraction of words tagged right.
    func evaluate(_ examples: [Example]) throws -> (f1: Double, accuracy: Double) {
        model.eval()
        var truePositives = 0, predictedCount = 0, goldCount = 0, correctWords = 0, words = 0
        for start in stride(from: 0, to: examples.count, by: 64) {
            let slice = examples[start..<min(start + 64, examples.count)]
            let (inputs, _, firstPieces) = try batch(slice)
            let predicted = try model(inputs).logits.argmax(dim: -1).toIntArray()
            let length = inputs.inputIds.size(1)
            for (row, example) in slice.enumerated() {
                let tags = firstPieces[row].map { labels[predicted[row * length + $0]] }
                let (p, g) = (spans(tags), spans(example.tags))
                truePositives += p.intersection(g).count
                predictedCount += p.count
                goldCount += g.count
                correctWords += zip(tags, example.tags).filter { $0 == $1 }.count
                words += tags.count
            }
        }
        let precision = Double(truePositives) / Double(max(predictedCount, 1)), recall = Double(truePositives) / Double(max(goldCount, 1))
        return (precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall), Double(correctWords) / Double(words))
    }

    let batchSize = 32
    let steps = epochs * ((train.count + batchSize - 1) / batchSize)
    let learningRate: Float = 5e-3
    let optimizer = AdamW(parameters: model.namedParameters(), learningRate: learningRate, weightDecay: 0.01)
    let schedule = LinearSchedule(warmupSteps: steps / 10, totalSteps: steps)
    var generator = RandomGenerator(seed: 1)
    let clock = ContinuousClock(), began = clock.now
    let initial = try evaluate(test)
    print(String(format: "before training: held-out entity F1 %.3f, word accuracy %.1f%%", initial.f1, initial.accuracy * 100))
    var step = 0
    for epoch in 1...epochs {
        model.train()
        let order = Array(0..<train.count).shuffled(using: &generator)
        var total: Float = 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let (inputs, targets, _) = try batch(order[start..<min(start + batchSize, order.count)].map { train[$0] }[...])
            optimizer.zeroGrad()
            let loss = model.forward(inputs, labels: targets).loss!
            loss.backward()
            optimizer.learningRate = learningRate * schedule.multiplier(at: step)
            optimizer.step()
            total += loss.item()
            step += 1
        }
        let batches = Float((order.count + batchSize - 1) / batchSize)
        let score = try evaluate(test)
        print(String(format: "epoch %d: mean training loss %.4f, held-out entity F1 %.3f, word accuracy %.1f%%", epoch, total / batches, score.f1, score.accuracy * 100))
    }
    print("trained in \(clock.now - began)")

    // Save as a Hugging Face checkpoint directory.
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    let configJSON: [String: Any] = [
        "architectures": ["BertForTokenClassification"], "model_type": "bert", "vocab_size": vocabulary,
        "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 64, "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
        "pad_token_id": 0, "id2label": Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0), $1) }),
        "label2id": Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) }),
    ]
    try JSONSerialization.data(withJSONObject: configJSON, options: [.prettyPrinted, .sortedKeys])
        .write(to: URL(fileURLWithPath: "\(output)/config.json"))
    try model.save(to: "\(output)/model.safetensors", metadata: ["format": "pt", "producer": "samples/ner/train"])
    for file in ["tokenizer.json", "vocab.txt"] {
        let destination = "\(output)/\(file)"
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: "\(data)/tokenizer/\(file)", toPath: destination)
    }
    print("saved the checkpoint to \(output)")
} catch {
    print("train-ner: error: \(error)")
    exit(1)
}
