import Foundation
import Testing
@testable import NN
import Tensors

/// A tiny classifier with dropout, so that resuming must restore the dropout generator too.
final class Classifier: Module, UnaryLayer {
    let body = Sequential(Linear(4, 16), GELU(), Dropout(0.2), Linear(16, 3))
    func callAsFunction(_ x: Tensor) -> Tensor { body(x) }
}

@Suite struct TrainerTests {
    /// 48 points labelled by the argmax of a fixed linear map: 36 to train on, 12 held out.
    static func data() -> (TensorDataset, TensorDataset) {
        let x = Tensor.randn([48, 4], seed: 21)
        let y = x.matmul(Tensor.randn([4, 3], seed: 22)).argmax(dim: -1)
        return TensorDataset(inputs: x, targets: y).split(fraction: 0.75)
    }

    static func trainer(seed: UInt64, directory: String?, epochs: Int = 3) -> (Trainer, Classifier) {
        let model = withRandomGenerator(seed: seed) { Classifier() }
        var arguments = TrainingArguments(epochs: epochs, batchSize: 8, learningRate: 0.02, seed: 5)
        arguments.warmupSteps = 2
        arguments.maxGradientNorm = 1
        arguments.outputDirectory = directory
        arguments.saveSteps = 2
        arguments.showProgress = false
        let (train, heldOut) = data()
        let trainer = Trainer(model: model, optimizer: AdamW(parameters: model.namedParameters(), learningRate: 0.02),
                              arguments: arguments, trainData: train, evalData: heldOut,
                              forward: { model($0.inputs) }, loss: { Loss.crossEntropy($0, $1.targets) })
        return (trainer, model)
    }

    static func weights(_ model: Module) -> [String: [Float]] { model.stateDict().mapValues { $0.toFloatArray() } }

    @Test func interruptedAndResumedRunEndsBitIdentical() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (full, fullModel) = Self.trainer(seed: 1, directory: root + "/full")
        try full.train()
        #expect(full.globalStep == 15 && full.totalSteps == 15)   // 3 epochs × ⌈36 / 8⌉

        // Interrupted at step 7 (mid-epoch 2); the last checkpoint is at step 6.
        let (first, _) = Self.trainer(seed: 1, directory: root + "/resumed")
        try first.train(stopAfterSteps: 7)
        #expect(first.globalStep == 7)
        // A fresh process: a differently initialized model and a new optimizer, restored from disk.
        let (second, resumedModel) = Self.trainer(seed: 99, directory: root + "/resumed")
        #expect(Self.weights(resumedModel) != Self.weights(fullModel))
        try second.train(resumingFrom: second.checkpointDirectory(step: 6)!)
        #expect(second.globalStep == 15)
        #expect(Self.weights(resumedModel) == Self.weights(fullModel))
        #expect(second.evaluations == full.evaluations)
        #expect(second.optimizer.stepCount == full.optimizer.stepCount)
    }

    @Test func keepsTheBestModel() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (trainer, model) = Self.trainer(seed: 2, directory: root, epochs: 4)
        try trainer.train()
        #expect(trainer.evaluations.count == 4)
        let best = try #require(trainer.evaluations.min { $0.loss < $1.loss })
        #expect(trainer.bestStep == best.step)
        #expect(trainer.evaluations.allSatisfy { $0.accuracy != nil })
        // The kept weights are the model's at that step: evaluating them reproduces its loss.
        try trainer.loadBestModel()
        #expect(trainer.evaluate().loss == best.loss)
        let onDisk = try SafeTensors.read(path: root + "/best/model.safetensors")
        for (key, value) in model.stateDict() { #expect(onDisk[key]!.toFloatArray() == value.toFloatArray()) }
        // Training improved on the untrained model.
        let (untrained, _) = Self.trainer(seed: 2, directory: nil)
        #expect(best.loss < untrained.evaluate().loss)
    }

    @Test func shufflesAreSeededPermutations() {
        let a = Trainer.shuffled(10, seed: 1, epoch: 0)
        #expect(a.sorted() == Array(0..<10))
        #expect(a == Trainer.shuffled(10, seed: 1, epoch: 0))
        #expect(a != Trainer.shuffled(10, seed: 1, epoch: 1))
    }
}
