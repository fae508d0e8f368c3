import Foundation
import Tensors

/// Metrics of one evaluation on the held-out split.
public struct Evaluation: Codable, Equatable, Sendable {
    /// The optimizer step after which it ran.
    public var step: Int
    /// Mean loss per example.
    public var loss: Float
    /// Fraction of examples whose argmax matches an integer target (nil for other targets).
    public var accuracy: Float?
}

/// A training loop in the spirit of Hugging Face's `Trainer`: epochs of seeded shuffled batches, an
/// optimizer step with clipping and a warm-up schedule, evaluation with loss and accuracy after each
/// epoch, a progress bar, checkpoints that resume exactly, and the best model kept.
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: AdamW(parameters: model.namedParameters()),
///                       arguments: args, trainData: train, evalData: heldOut,
///                       forward: { model($0.inputs) }, loss: { Loss.crossEntropy($0, $1.targets) })
/// try trainer.train()
/// ```
public final class Trainer {
    /// The model being trained.
    public let model: Module
    /// Its optimizer; the trainer sets its learning rate at each step.
    public let optimizer: Optimizer
    /// The run's settings.
    public let arguments: TrainingArguments
    /// The training examples.
    public let trainData: any Dataset
    /// The held-out examples, if any.
    public let evalData: (any Dataset)?
    private let forward: (Batch) -> Tensor
    private let lossFunction: (Tensor, Batch) -> Tensor
    private var state = TrainerState()
    private let dropoutGenerator: GeneratorBox
    /// The best model's state dict so far (copies), by `arguments.bestModelMetric`.
    public private(set) var bestStateDict: [String: Tensor]?

    /// A trainer; `forward` maps a batch to outputs and `loss` maps outputs and the batch to a scalar.
    public init(model: Module, optimizer: Optimizer, arguments: TrainingArguments, trainData: any Dataset,
                evalData: (any Dataset)? = nil, forward: @escaping (Batch) -> Tensor,
                loss: @escaping (Tensor, Batch) -> Tensor) {
        precondition(arguments.batchSize > 0 && arguments.epochs >= 0, "Trainer: batch size and epochs must be positive")
        self.model = model
        self.optimizer = optimizer
        self.arguments = arguments
        self.trainData = trainData
        self.evalData = evalData
        self.forward = forward
        self.lossFunction = loss
        self.dropoutGenerator = GeneratorBox(seed: arguments.seed ^ 0x5DEE_CE66_D00D)
    }

    /// Optimizer steps taken so far.
    public var globalStep: Int { state.globalStep }
    /// Every evaluation so far.
    public var evaluations: [Evaluation] { state.log }
    /// The step whose model is the best so far.
    public var bestStep: Int? { state.bestStep }
    /// Batches per epoch (the last may be short).
    public var stepsPerEpoch: Int { (trainData.count + arguments.batchSize - 1) / arguments.batchSize }
    /// Steps in the whole run.
    public var totalSteps: Int { stepsPerEpoch * arguments.epochs }

    /// The learning-rate schedule the arguments describe.
    public var schedule: any LearningRateSchedule {
        switch arguments.schedule {
        case .constant: ConstantSchedule()
        case .linear: LinearSchedule(warmupSteps: arguments.warmupSteps, totalSteps: totalSteps)
        case .cosine: CosineSchedule(warmupSteps: arguments.warmupSteps, totalSteps: totalSteps)
        }
    }

    /// Trains to the end of the last epoch, first restoring `checkpoint` when given. `stopAfterSteps`
    /// ends the run early at that global step, as an interruption would.
    public func train(resumingFrom checkpoint: String? = nil, stopAfterSteps: Int? = nil) throws {
        if let checkpoint { try loadCheckpoint(from: checkpoint) }
        let schedule = self.schedule
        while state.epoch < arguments.epochs {
            model.train()
            let order = Self.shuffled(trainData.count, seed: arguments.seed, epoch: state.epoch)
            var progress = ProgressBar(total: stepsPerEpoch, label: "epoch \(state.epoch + 1)/\(arguments.epochs)")
            while state.batchInEpoch < stepsPerEpoch {
                if let stopAfterSteps, state.globalStep >= stopAfterSteps { return }
                let start = state.batchInEpoch * arguments.batchSize
                let batch = trainData.batch(Array(order[start..<min(start + arguments.batchSize, order.count)]))
                let loss = step(batch, learningRate: arguments.learningRate * schedule.multiplier(at: state.globalStep))
                state.batchInEpoch += 1
                if arguments.showProgress { progress.update(done: state.batchInEpoch, batchSize: batch.count, loss: loss) }
                if let every = arguments.saveSteps, state.globalStep % every == 0, state.batchInEpoch < stepsPerEpoch {
                    try saveCheckpoint()
                }
            }
            state.epoch += 1
            state.batchInEpoch = 0
            if evalData != nil { try record(evaluate()) }
            try saveCheckpoint()
        }
    }

    /// Trains to the end, first restoring the last complete checkpoint in `arguments.outputDirectory`
    /// when there is one (a run that was interrupted, even while writing a checkpoint, goes on from the
    /// last checkpoint written whole); returns that checkpoint's directory, or nil for a fresh start.
    @discardableResult
    public func trainResumingFromLastCheckpoint(stopAfterSteps: Int? = nil) throws -> String? {
        let checkpoint = arguments.outputDirectory.flatMap(Self.lastCompleteCheckpoint(in:))
        try train(resumingFrom: checkpoint, stopAfterSteps: stopAfterSteps)
        return checkpoint
    }

    /// The `checkpoint-N` directory in `outputDirectory` with the highest step whose files are all
    /// present and whole; unfinished (`.checkpoint-N.partial-…`) and damaged ones are skipped.
    public static func lastCompleteCheckpoint(in outputDirectory: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
        let steps = names.compactMap { name -> Int? in
            guard name.hasPrefix("checkpoint-") else { return nil }
            return Int(name.dropFirst("checkpoint-".count))
        }
        for step in steps.sorted(by: >) {
            let directory = "\(outputDirectory)/checkpoint-\(step)"
            if CheckpointFiles.isComplete(directory) { return directory }
        }
        return nil
    }

    /// One optimizer step on `batch`; returns the loss.
    private func step(_ batch: Batch, learningRate: Float) -> Float {
        optimizer.learningRate = learningRate
        optimizer.zeroGrad()
        let loss = withRandomGenerator(dropoutGenerator) { lossFunction(forward(batch), batch) }
        loss.backward()
        if let maxNorm = arguments.maxGradientNorm {
            clipGradientNorm(optimizer.parameters.map(\.1), maxNorm: maxNorm)
        }
        optimizer.step()
        state.globalStep += 1
        return loss.item()
    }

    /// Loss and accuracy on the held-out split, in eval mode and without gradients; the model's mode
    /// is restored afterwards.
    public func evaluate() -> Evaluation {
        guard let evalData else { return Evaluation(step: state.globalStep, loss: .nan, accuracy: nil) }
        let wasTraining = model.training
        model.eval()
        defer { model.train(wasTraining) }
        var lossSum: Double = 0, correct = 0, counted = 0, examples = 0
        withNoGrad {
            for start in stride(from: 0, to: evalData.count, by: arguments.batchSize) {
                let batch = evalData.batch(Array(start..<min(start + arguments.batchSize, evalData.count)))
                let outputs = forward(batch)
                lossSum += Double(lossFunction(outputs, batch).item()) * Double(batch.count)
                examples += batch.count
                if batch.targets.dtype.isInteger, outputs.rank == batch.targets.rank + 1 {
                    let predicted = outputs.argmax(dim: -1).toIntArray(), targets = batch.targets.toIntArray()
                    for (p, t) in zip(predicted, targets) where t != -100 {
                        counted += 1
                        if p == t { correct += 1 }
                    }
                }
            }
        }
        return Evaluation(step: state.globalStep, loss: Float(lossSum / Double(max(examples, 1))),
                          accuracy: counted > 0 ? Float(correct) / Float(counted) : nil)
    }

    /// Logs an evaluation and keeps the model if it is the best so far.
    private func record(_ evaluation: Evaluation) throws {
        state.log.append(evaluation)
        let metric: Float
        switch arguments.bestModelMetric {
        case .loss: metric = evaluation.loss
        case .accuracy: metric = -(evaluation.accuracy ?? 0)   // stored negated: lower is better
        }
        if arguments.showProgress {
            let accuracy = evaluation.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? ""
            FileHandle.standardError.write(Data("eval after step \(evaluation.step): loss \(String(format: "%.4f", evaluation.loss))\(accuracy)\n".utf8))
        }
        guard state.bestMetric.map({ metric < $0 }) ?? true else { return }
        state.bestMetric = metric
        state.bestStep = evaluation.step
        bestStateDict = withNoGrad { model.stateDict().mapValues { $0.contiguous() + 0 } }
        if let directory = arguments.outputDirectory {
            try FileManager.default.createDirectory(atPath: directory + "/best", withIntermediateDirectories: true)
            try model.save(to: directory + "/best/model.safetensors", metadata: ["step": String(evaluation.step)])
        }
    }

    /// Loads the best model seen so far into `model`.
    public func loadBestModel() throws {
        if let bestStateDict { try model.loadStateDict(bestStateDict) }
    }

    /// The directory of the checkpoint at `step`.
    public func checkpointDirectory(step: Int) -> String? {
        arguments.outputDirectory.map { "\($0)/checkpoint-\(step)" }
    }

    private func saveCheckpoint() throws {
        guard let directory = checkpointDirectory(step: state.globalStep) else { return }
        state.generator = dropoutGenerator.generator.state.map { String($0, radix: 16) }
        try CheckpointFiles.write(model: model, optimizer: optimizer, state: state, to: directory)
    }

    /// Restores model, optimizer, schedule position, step, dropout generator and best-model record
    /// from a checkpoint directory.
    public func loadCheckpoint(from directory: String) throws {
        let restored = try CheckpointFiles.read(model: model, optimizer: optimizer, from: directory)
        guard let generator = RandomGenerator(state: restored.generator.compactMap { UInt64($0, radix: 16) }) else {
            throw CheckpointError.unreadable(path: directory, reason: "bad generator state \(restored.generator)")
        }
        state = restored
        dropoutGenerator.generator = generator
        if let root = arguments.outputDirectory, state.bestStep != nil,
           let best = try? SafeTensors.read(path: root + "/best/model.safetensors") {
            bestStateDict = best.mapValues { $0.contiguous() + 0 }
        }
    }

    /// A permutation of `0..<count` fixed by the seed and the epoch (Fisher–Yates).
    static func shuffled(_ count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = RandomGenerator(seed: seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(generator.next() % UInt64(i + 1)))
        }
        return order
    }
}
