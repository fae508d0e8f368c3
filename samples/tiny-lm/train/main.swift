// Trains a tiny Llama-architecture language model in eager Swift on the sentences of
// samples/classify/data (sports, cooking, technology and weather), reports held-out perplexity, and
// saves a Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json,
// vocab.txt) that `tcompile … --generate` compiles into a library that generates on its own
// (samples/link-c/generate.sh). Each sentence is one sequence: [CLS] (beginning) words [SEP] (end).
//
//   swift run -c release train-tiny-lm [--epochs N] [--output DIR]
import Foundation
import NN
import Tensors
import Tokenizers
import Transformers

var epochs = 12
var output = "samples/tiny-lm/model"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--epochs":
        guard let v = arguments.popFirst().flatMap(Int.init), v > 0 else { print("train-tiny-lm: --epochs needs a positive number"); exit(2) }
        epochs = v
    case "--output":
        guard let v = arguments.popFirst() else { print("train-tiny-lm: --output needs a directory"); exit(2) }
        output = v
    case "-h", "--help":
        print("usage: train-tiny-lm [--epochs N] [--output DIR]   (defaults: 12, samples/tiny-lm/model)")
        exit(0)
    default:
        print("train-tiny-lm: unknown option \(argument); try --help")
        exit(2)
    }
}

let data = "samples/classify/data"
struct Example: Decodable { let text: String }
func load(_ split: String) throws -> [String] {
    try String(contentsOfFile: "\(data)/\(split).jsonl", encoding: .utf8).split(separator: "\n")
        .map { try JSONDecoder().decode(Example.self, from: Data($0.utf8)).text }
}
do {
    let train = try load("train"), test = try load("test")
    var tokenizer = try Tokenizer.fromFile("\(data)/tokenizer/tokenizer.json")
    tokenizer.padding = Padding(length: .longest)
    let vocabulary = tokenizer.vocabularySize
    guard let bos = tokenizer.id(for: "[CLS]"), let eos = tokenizer.id(for: "[SEP]"), let pad = tokenizer.id(for: "[PAD]") else {
        print("train-tiny-lm: the tokenizer has no [CLS], [SEP] or [PAD]")
        exit(1)
    }

    // Llama's architecture at a tiny size: 2 layers, hidden 64, 4 query heads sharing 2 key/value
    // heads, SwiGLU 160, RMSNorm, rotary positions, tied embeddings — about 100k parameters.
    var config = LlamaConfig(vocabSize: vocabulary, hiddenSize: 64, intermediateSize: 160, numHiddenLayers: 2,
                             numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 64)
    config.common.tieWordEmbeddings = true
    config.common.bosTokenId = bos
    config.common.eosTokenIds = [eos]
    config.common.padTokenId = pad
    DefaultGenerator.seed(0)
    let model = LlamaForCausalLM(config: config)
    print("model: \(model.parameterCount()) parameters; \(train.count) training and \(test.count) held-out sentences")

    /// Right-padded rows; labels are the ids with padding ignored (-100); the model shifts them.
    func batch(_ texts: ArraySlice<String>) throws -> (DecoderInputs, Tensor) {
        let encodings = try tokenizer.encodeBatch(Array(texts))
        let length = encodings[0].ids.count
        let ids = Tensor(encodings.flatMap(\.ids), shape: [encodings.count, length])
        let mask = Tensor(encodings.flatMap(\.attentionMask), shape: [encodings.count, length])
        let labels = encodings.flatMap { e in zip(e.ids, e.attentionMask).map { $1 == 1 ? $0 : -100 } }
        return (DecoderInputs(inputIds: ids, attentionMask: mask), Tensor(labels, shape: [encodings.count, length]))
    }

    func perplexity(_ texts: [String]) throws -> Double {
        model.eval()
        var total = 0.0, batches = 0.0
        try withNoGrad {
            for start in stride(from: 0, to: texts.count, by: 64) {
                let (inputs, labels) = try batch(texts[start..<min(start + 64, texts.count)])
                total += Double(model.forward(inputs, labels: labels).loss!.item())
                batches += 1
            }
        }
        return exp(total / batches)
    }

    let batchSize = 32
    let steps = epochs * ((train.count + batchSize - 1) / batchSize)
    let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 1e-2, weightDecay: 0.01)
    let schedule = LinearSchedule(warmupSteps: steps / 20, totalSteps: steps)
    var generator = RandomGenerator(seed: 1)
    print(String(format: "before training: held-out perplexity %.1f (vocabulary %d)", try perplexity(test), vocabulary))
    var step = 0
    for epoch in 1...epochs {
        model.train()
        let order = Array(0..<train.count).shuffled(using: &generator)
        var total: Float = 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let (inputs, labels) = try batch(order[start..<min(start + batchSize, order.count)].map { train[$0] }[...])
            optimizer.zeroGrad()
            let loss = model.forward(inputs, labels: labels).loss!
            loss.backward()
            optimizer.learningRate = 1e-2 * schedule.multiplier(at: step)
            optimizer.step()
            total += loss.item()
            step += 1
        }
        let batches = Float((order.count + batchSize - 1) / batchSize)
        print(String(format: "epoch %d: mean training loss %.4f, held-out perplexity %.2f", epoch, total / batches, try perplexity(test)))
    }
    model.eval()
    let prompt = try tokenizer.encode("The striker").ids.dropLast()   // [CLS] the striker (no [SEP])
    let greedy = try model.generate([Array(prompt)], config: .greedy(maxNewTokens: 16))[0]
    print("greedy continuation of \"The striker\": \(tokenizer.decode(Array(prompt) + greedy, skipSpecialTokens: true))")

    // Save as a Hugging Face checkpoint directory.
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    let configJSON: [String: Any] = [
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocabulary,
        "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "hidden_act": "silu", "max_position_embeddings": 64,
        "rms_norm_eps": config.rmsNormEps, "rope_theta": 10000.0, "attention_bias": false, "mlp_bias": false,
        "tie_word_embeddings": true, "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad,
        "initializer_range": 0.02, "torch_dtype": "float32",
    ]
    try JSONSerialization.data(withJSONObject: configJSON, options: [.prettyPrinted, .sortedKeys])
        .write(to: URL(fileURLWithPath: "\(output)/config.json"))
    try model.save(to: "\(output)/model.safetensors", metadata: ["format": "pt", "producer": "samples/tiny-lm/train"])
    for file in ["tokenizer.json", "vocab.txt"] {
        let destination = "\(output)/\(file)"
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: "\(data)/tokenizer/\(file)", toPath: destination)
    }
    print("saved the checkpoint to \(output)")
} catch {
    print("train-tiny-lm: error: \(error)")
    exit(1)
}
