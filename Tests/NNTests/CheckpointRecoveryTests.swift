import Foundation
import Testing
@testable import NN
import Tensors

/// An interrupted run resumes from its last complete checkpoint: a checkpoint folder left half-written
/// by a kill, or damaged afterwards, is skipped, and the resumed run ends bit-identical to an
/// uninterrupted one.
@Suite struct CheckpointRecoveryTests {
    @Test func resumesFromTheLastCompleteCheckpoint() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (full, fullModel) = TrainerTests.trainer(seed: 1, directory: root + "/full")
        try full.train()

        let directory = root + "/resumed"
        let (first, _) = TrainerTests.trainer(seed: 1, directory: directory)
        try first.train(stopAfterSteps: 9)   // checkpoints at steps 2, 4, 6, 8
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!names.contains { $0.hasPrefix(".") }, "no temporary folder is left after a clean run: \(names)")
        #expect(Trainer.lastCompleteCheckpoint(in: directory) == directory + "/checkpoint-8")

        // Killed while writing step 10: only a partial folder with half a model file exists.
        try FileManager.default.createDirectory(atPath: directory + "/.checkpoint-10.partial-123-456", withIntermediateDirectories: true)
        let model = try Data(contentsOf: URL(fileURLWithPath: directory + "/checkpoint-8/model.safetensors"))
        try model.prefix(model.count / 2).write(to: URL(fileURLWithPath: directory + "/.checkpoint-10.partial-123-456/model.safetensors"))
        // checkpoint-8 damaged after the fact (a truncated file, as a full disk or an older writer
        // would leave), and a leftover temporary file in checkpoint-6.
        let optimizer = try Data(contentsOf: URL(fileURLWithPath: directory + "/checkpoint-8/optimizer.safetensors"))
        try optimizer.prefix(optimizer.count - 16).write(to: URL(fileURLWithPath: directory + "/checkpoint-8/optimizer.safetensors"))
        try Data("{".utf8).write(to: URL(fileURLWithPath: directory + "/checkpoint-6/.trainer_state.json.tmp-1-2"))
        #expect(Trainer.lastCompleteCheckpoint(in: directory) == directory + "/checkpoint-6")

        // A fresh process, differently initialized, picks checkpoint-6 by itself.
        let (second, resumedModel) = TrainerTests.trainer(seed: 99, directory: directory)
        let restored = try second.trainResumingFromLastCheckpoint()
        #expect(restored == directory + "/checkpoint-6")
        #expect(second.globalStep == full.globalStep)
        #expect(TrainerTests.weights(resumedModel) == TrainerTests.weights(fullModel))
        #expect(second.evaluations == full.evaluations)
        // The damaged checkpoint was rewritten whole on the way.
        #expect(CheckpointFiles.isComplete(directory + "/checkpoint-8"))
    }

    @Test func startsFreshWithoutACompleteCheckpoint() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/checkpoint-2", withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/checkpoint-2/trainer_state.json"))
        #expect(Trainer.lastCompleteCheckpoint(in: root) == nil)
        let (trainer, _) = TrainerTests.trainer(seed: 1, directory: root, epochs: 1)
        #expect(try trainer.trainResumingFromLastCheckpoint() == nil)
        #expect(trainer.globalStep == trainer.totalSteps)
    }
}
