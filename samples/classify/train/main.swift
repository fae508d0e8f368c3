// Fine-tunes a tiny BERT classifier in eager Swift on the four-topic sentences of samples/classify/data
// (sports, cooking, technology, weather), reports held-out accuracy, and saves a Hugging Face checkpoint
// directory (config.json, model.safetensors, tokenizer.json, vocab.txt) that `tcompile export` reads.
//
//   swift run -c release train-classifier [--epochs N] [--output DIR]
import Foundation
import NN
import Tensors
import Tokenizers
import Transformers

var epochs = 4
var output = "samples/classify/model"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--epochs":
        guard let v = arguments.popFirst().flatMap(Int.init), v > 0 else { print("train-classifier: --epochs needs a positive number"); exit(2) }
        epochs = v
    case "--output":
        guard let v = arguments.popFirst() else { print("train-classifier: --output needs a directory"); exit(2) }
        output = v
    case "-h", "--help":
        print("usage: train-classifier [--epochs N] [--output DIR]   (defaults: 4, samples/classify/model)")
        exit(0)
    default:
        print("train-classifier: unknown option \(argument); try --help")
        exit(2)
    }
}

let data = "samples/classify/data"
struct Example: Decodable { let text: String; let label: Int }
func load(_ split: String) throws -> [Example] {
    try String(contentsOfFile: "\(data)/\(split).jsonl", encoding: .utf8).split(separator: "\n")
        .map { try JSONDecoder().decode(Example.self, from: Data($0.utf8)) }
}
let labels = ["sports", "cooking", "technology", "weather"]
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
    let model = BertForSequenceClassification(config: config)
    print("model: \(model.parameterCount()) parameters; \(train.count) training and \(test.count) held-out sentences")

    func batch(_ examples: ArraySlice<Example>) throws -> (EncoderInputs, Tensor) {
        let encodings = try tokenizer.encodeBatch(examples.map(\.text))
        let length = encodings[0].ids.count
        let ids = Tensor(encodings.flatMap(\.ids), shape: [encodings.count, length])
        let mask = Tensor(encodings.flatMap(\.attentionMask), shape: [encodings.count, length])
        return (EncoderInputs(inputIds: ids, attentionMask: mask), Tensor(examples.map(\.label), shape: [examples.count]))
    }

    func accuracy(_ examples: [Example]) throws -> Double {
        model.eval()
        var correct = 0
        for start in stride(from: 0, to: examples.count, by: 64) {
            let slice = examples[start..<min(start + 64, examples.count)]
            let (inputs, targets) = try batch(slice)
            let predicted = try model(inputs).logits.argmax(dim: -1).toIntArray()
            correct += zip(predicted, targets.toIntArray()).filter { $0 == $1 }.count
        }
        return Double(correct) / Double(examples.count)
    }

    let batchSize = 32
    let steps = epochs * ((train.count + batchSize - 1) / batchSize)
    let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 3e-3, weightDecay: 0.01)
    let schedule = LinearSchedule(warmupSteps: steps / 10, totalSteps: steps)
    var generator = RandomGenerator(seed: 1)
    print(String(format: "before training: held-out accuracy %.1f%% (chance 25%%)", try accuracy(test) * 100))
    var step = 0
    for epoch in 1...epochs {
        model.train()
        let order = Array(0..<train.count).shuffled(using: &generator)
        var total: Float = 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let (inputs, targets) = try batch(order[start..<min(start + batchSize, order.count)].map { train[$0] }[...])
            optimizer.zeroGrad()
            let loss = model.forward(inputs, labels: targets).loss!
            loss.backward()
            optimizer.learningRate = 3e-3 * schedule.multiplier(at: step)
            optimizer.step()
            total += loss.item()
            step += 1
        }
        let batches = Float((order.count + batchSize - 1) / batchSize)
        print(String(format: "epoch %d: mean training loss %.4f, held-out accuracy %.1f%%", epoch, total / batches, try accuracy(test) * 100))
    }

    // Save as a Hugging Face checkpoint directory.
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    let configJSON: [String: Any] = [
        "architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": vocabulary,
        "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 64, "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
        "pad_token_id": 0, "id2label": Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0), $1) }),
        "label2id": Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) }),
    ]
    try JSONSerialization.data(withJSONObject: configJSON, options: [.prettyPrinted, .sortedKeys])
        .write(to: URL(fileURLWithPath: "\(output)/config.json"))
    try model.save(to: "\(output)/model.safetensors", metadata: ["format": "pt", "producer": "samples/classify/train"])
    for file in ["tokenizer.json", "vocab.txt"] {
        let destination = "\(output)/\(file)"
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: "\(data)/tokenizer/\(file)", toPath: destination)
    }
    print("saved the checkpoint to \(output)")
} catch {
    print("train-classifier: error: \(error)")
    exit(1)
}
