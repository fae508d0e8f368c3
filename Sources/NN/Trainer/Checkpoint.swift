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
/// directory. The directory is built under a hidden temporary name beside its final one and renamed into
/// place whole, so `checkpoint-N` either holds a complete checkpoint or does not exist: an interruption
/// leaves at most a `.checkpoint-N.partial-…` folder, which `Trainer.lastCompleteCheckpoint` ignores.
enum CheckpointFiles {
    static let files = ["model.safetensors", "optimizer.safetensors", "trainer_state.json"]

    static func write(model: Module, optimizer: Optimizer, state: TrainerState, to directory: String) throws {
        let url = URL(fileURLWithPath: directory)
        let parent = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let partial = "\(parent)/.\(name).partial-\(unique)"
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        do {
            try model.save(to: partial + "/model.safetensors", metadata: ["format": "pt"])
            try SafeTensors.write(optimizer.stateDict(), to: partial + "/optimizer.safetensors")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            try writeFileAtomically(try encoder.encode(state), to: partial + "/trainer_state.json")
            // Replace an older checkpoint of the same step (a rerun from an earlier one) in two renames.
            if FileManager.default.fileExists(atPath: directory) {
                let old = "\(parent)/.\(name).old-\(unique)"
                guard rename(directory, old) == 0 else {
                    throw CheckpointError.unreadable(path: directory, reason: "cannot move the previous checkpoint aside: \(String(cString: strerror(errno)))")
                }
                try? FileManager.default.removeItem(atPath: old)
            }
            guard rename(partial, directory) == 0 else {
                throw CheckpointError.unreadable(path: directory, reason: "cannot rename the checkpoint into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Whether `directory` holds a checkpoint that can be restored: every file present, the state
    /// decodable and both safetensors files whole (their headers cover their sizes exactly).
    static func isComplete(_ directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: directory + "/trainer_state.json"),
              (try? stateDecoder().decode(TrainerState.self, from: data)) != nil else { return false }
        return (try? SafeTensorsFile(path: directory + "/model.safetensors")) != nil
            && (try? SafeTensorsFile(path: directory + "/optimizer.safetensors")) != nil
    }

    static func stateDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    static func read(model: Module, optimizer: Optimizer, from directory: String) throws -> TrainerState {
        let statePath = directory + "/trainer_state.json"
        guard let data = FileManager.default.contents(atPath: statePath) else {
            throw CheckpointError.unreadable(path: statePath, reason: "no trainer_state.json")
        }
        let state: TrainerState
        do { state = try stateDecoder().decode(TrainerState.self, from: data) } catch {
            throw CheckpointError.unreadable(path: statePath, reason: "\(error)")
        }
        try model.load(from: directory + "/model.safetensors")
        try optimizer.loadStateDict(SafeTensors.read(path: directory + "/optimizer.safetensors"))
        return state
    }
}
