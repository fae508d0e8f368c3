import Foundation
import NN
import Testing
import Tensors
@testable import Transformers

/// One AdamW step of the tiny BERT masked-LM (2 layers, hidden 128, 2 heads, intermediate 512)
/// matches PyTorch's loss and updated weights (scripts/fixtures/bert_training_fixtures.py).
@Suite struct TrainingStepTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bert-mlm-train")

    @Test func adamWStepMatchesPyTorch() throws {
        let model = try BertForMaskedLM.fromPretrained(directory: Self.directory)
        let step = try SafeTensorsFile(path: Self.directory.appendingPathComponent("step.safetensors").path)
        model.train()
        let inputs = EncoderInputs(inputIds: try step.tensor("input_ids"), attentionMask: try step.tensor("attention_mask"))
        let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 1e-3, weightDecay: 0.01)
        optimizer.zeroGrad()
        let loss = model.forward(inputs, labels: try step.tensor("labels")).loss!
        #expect(Swift.abs(loss.item() - (try step.tensor("loss").item())) <= 1e-5, "loss \(loss.item())")
        loss.backward()
        optimizer.step()
        var compared = 0
        for (name, parameter) in optimizer.parameters {   // tied weights once, under their first name, as PyTorch
            let expected = try step.tensor("updated." + name)
            let worst = zip(parameter.toFloatArray(), expected.toFloatArray()).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(parameter.shape == expected.shape && worst <= 1e-4, "\(name): max abs difference \(worst)")
            compared += 1
        }
        #expect(compared == step.names.filter { $0.hasPrefix("updated.") }.count, "every PyTorch parameter has a counterpart")
    }
}
