import Foundation
import Tensors

/// The trainer's own position in a run, saved beside the model and optimizer as `trainer_state.json`.
struct TrainerState: Codable, Equatable {
    var globalStep = 0
    /// The epoch in progress and the next batch in its shuffled order.
    var epoch = 0
    var batchInEpoch = 0
    /// The dropout generator's state, as hex strings (JSON numbers lose 64-bit precision).
    var generator: [String] = []
    var bestMetric: Float?
    var bestStep: Int?
    var log: [Evaluation] = []
}

/// Why a checkpoint could not be read.
public enum CheckpointError: Error, CustomStringConvertible {
    /// A file is missing or unreadable.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self { case .unreadable(let path, let reason): "checkpoint \(path): \(reason)" }
    }
}

/// Checkpoint files: `model.safetensors`, `optimizer.safetensors`, `trainer_state.json` in one
/// directory, written model first and state last, so a directory with a state file is complete.
enum CheckpointFiles {
    static func write(model: Module, optimizer: Optimizer, state: TrainerState, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try model.save(to: directory + "/model.safetensors", metadata: ["format": "pt"])
        try SafeTensors.write(optimizer.stateDict(), to: directory + "/optimizer.safetensors")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(state).write(to: URL(fileURLWithPath: directory + "/trainer_state.json"), options: .atomic)
    }

    static func read(model: Module, optimizer: Optimizer, from directory: String) throws -> TrainerState {
        let statePath = directory + "/trainer_state.json"
        guard let data = FileManager.default.contents(atPath: statePath) else {
            throw CheckpointError.unreadable(path: statePath, reason: "no trainer_state.json")
        }
        let state: TrainerState
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { state = try decoder.decode(TrainerState.self, from: data) } catch {
            throw CheckpointError.unreadable(path: statePath, reason: "\(error)")
        }
        try model.load(from: directory + "/model.safetensors")
        try optimizer.loadStateDict(SafeTensors.read(path: directory + "/optimizer.safetensors"))
        return state
    }
}
