// One training step of the tiny BERT masked-LM (2 layers, hidden 128, 2 heads, intermediate 512,
// vocabulary 30522) on a batch of 8 × 64 with AdamW: forward, loss, backward, update. Prints the
// median milliseconds per step as JSON; run-training.sh compares it with PyTorch in the same run.
//
//   TrainingStep STEPS
import Foundation
import NN
import Tensors
import Transformers

/// Builds the model and data, then times `steps` training steps.
func measure(steps: Int) {
var config = BertConfig(vocabSize: 30522, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2,
                        intermediateSize: 512, maxPositionEmbeddings: 512)
config.hiddenDropoutProb = 0.1
config.attentionProbsDropoutProb = 0.1
DefaultGenerator.seed(0)
let model = BertForMaskedLM(config: config)
model.train()
let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 1e-4, weightDecay: 0.01)
let ids = Tensor.randint(5, 30522, shape: [8, 64], seed: 1)
var labelValues = ids.toIntArray()
var generator = RandomGenerator(seed: 2)
for i in labelValues.indices where generator.nextUnitFloat() >= 0.15 { labelValues[i] = -100 }
let labels = Tensor(labelValues, shape: [8, 64])
let inputs = EncoderInputs(inputIds: ids, attentionMask: Tensor.ones([8, 64], dtype: .int64))

func step() -> Float {
    optimizer.zeroGrad()
    let loss = model.forward(inputs, labels: labels).loss!
    loss.backward()
    optimizer.step()
    return loss.item()
}
_ = step(); _ = step()
var times: [Double] = []
var loss: Float = 0
for _ in 0..<steps {
    let start = DispatchTime.now().uptimeNanoseconds
    loss = step()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
}
times.sort()
if CommandLine.arguments.contains("--phases") {
    func ms(_ body: () -> Void) -> Double { let s = DispatchTime.now().uptimeNanoseconds; body(); return Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6 }
    var loss: Tensor? = nil
    optimizer.zeroGrad()
    let f = ms { loss = model.forward(inputs, labels: labels).loss! }
    let b = ms { loss!.backward() }
    let u = ms { optimizer.step() }
    print("{\"phases_ms\": {\"forward\": \(f), \"backward\": \(b), \"adamw\": \(u)}}")
}
print("{\"impl\": \"ours\", \"ms_per_step\": \(times[times.count / 2]), \"min_ms\": \(times.first!), \"max_ms\": \(times.last!), \"loss\": \(loss)}")
}

measure(steps: CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10 : 10)
