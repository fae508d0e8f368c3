import Foundation
import JSON
import FuzzSeeds
import FuzzSupport
import TCompile

/// The folder the input is written to, holding what a valid model.json may refer to: the seed graph's
/// constants (`model.weights.safetensors`) and a small BERT checkpoint directory (`checkpoint/`).
let workspace: String = {
    let directory = scratchDirectory + "/model-json"
    try? FileManager.default.createDirectory(atPath: directory + "/checkpoint", withIntermediateDirectories: true)
    do {
        try GraphFile.save(try seedGraph(), name: "seed", to: directory + "/seed.json", weightsFile: "model.weights.safetensors")
        let config = try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/samples/classify/model/config.json"))
        try config.write(to: URL(fileURLWithPath: directory + "/checkpoint/config.json"))
        if let out = ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_SEED_OUT"] {
            try Data(contentsOf: URL(fileURLWithPath: directory + "/seed.json")).write(to: URL(fileURLWithPath: out))
        }
    } catch {
        fatalError("cannot prepare the model.json workspace: \(error) (set TCOMPILE_ROOT to the repository)")
    }
    return directory
}()

/// Loads the input as model.json, dispatching on `format` as `TCompile.load` does: a graph
/// (`tcompile.graph/1`) is read with its constants and verified, then printed; a manifest
/// (`tcompile.model/2`) is read and validated (tracing the checkpoint it names is model building, not
/// parsing, and is covered by the test suite).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzModelJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let path = workspace + "/model.json"
    _ = writeScratch(input, name: "model-json/model.json")
    let format = (try? JSONParser.parse(input, file: "model.json"))?["format"]?.stringValue
    switch format {
    case GraphFile.format?:
        if let (_, graph) = try? GraphFile.load(path: path) { _ = TextFormat.print(graph) }
    case ModelManifest.format?:
        if let manifest = try? ModelManifest.read(path: path) { _ = manifest.task }
    default:
        _ = try? TCompile.load(path)
    }
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_model_json_main")
func fuzzModelJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = workspace
    if ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_SEED_OUT"] != nil { return 0 }
    return runFuzzer(argc, argv, fuzzModelJSON)
}
