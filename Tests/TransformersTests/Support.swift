import Foundation
import Testing
import Tensors
@testable import Transformers

/// A checkpoint directory written by scripts/fixtures/transformers_fixtures.py.
func fixtureDirectory(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
}

/// The fixture's expected.safetensors (inputs and Hugging Face outputs).
func expected(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: fixtureDirectory(name).appendingPathComponent("expected.safetensors").path)
}

/// max |a − b|.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.toFloatArray(), b.toFloatArray()).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// Expects equal shapes and max |a − b| ≤ tolerance, naming `what`.
func expectClose(_ a: Tensor, _ b: Tensor, _ tolerance: Float, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard a.shape == b.shape else {
        Issue.record("\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
        return
    }
    let d = maxAbsDifference(a, b)
    if ProcessInfo.processInfo.environment["TF_PRINT_AGREEMENT"] != nil { print("agreement \(what): max abs difference \(d)") }
    #expect(d <= tolerance, "\(what): max abs difference \(d)", sourceLocation: sourceLocation)
}

/// The repository root (three levels above this file), where scripts/fetch-minilm.sh puts .models/.
func repositoryRoot(_ file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Rows of an int tensor `[B, S]` as Swift arrays.
func rows(_ t: Tensor) -> [[Int]] {
    let v = t.toIntArray(), n = t.size(1)
    return (0..<t.size(0)).map { Array(v[($0 * n)..<(($0 + 1) * n)]) }
}

/// The folder of this process's edited checkpoints, removed when the process exits.
let editedCheckpoints: URL = {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tf-tests-\(UUID().uuidString)")
    atexit { try? FileManager.default.removeItem(at: editedCheckpoints) }
    return folder
}()

/// A copy of fixture `name` in a temporary directory (inside `editedCheckpoints`), its tensors changed by
/// `edit` and its config by `editConfig`, for error tests.
func editedCheckpoint(_ name: String, tensors edit: (inout [String: Tensor]) -> Void = { _ in },
                      config editConfig: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
    let source = try fixtureDirectory(name)
    let dir = editedCheckpoints.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var state = try SafeTensors.read(path: source.appendingPathComponent("model.safetensors").path)
    edit(&state)
    try SafeTensors.write(state, to: dir.appendingPathComponent("model.safetensors").path)
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
    editConfig(&config)
    try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
    return dir
}
