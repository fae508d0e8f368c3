import Foundation
import FuzzSupport
import JSON
import TCompile
import Transformers

/// The checkpoint folder each input is written to (`config.json`, `model.safetensors`).
let checkpoint: URL = {
    let url = URL(fileURLWithPath: scratchDirectory + "/export/checkpoint")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

/// The most data bytes the harness writes behind a fuzzed header (the tensors' declared extent).
let maximumDataBytes = 1 << 26

/// A safetensors file from a header: the 8-byte little-endian length, the header, then as many zero
/// bytes as its `data_offsets` reach (so that a header whose entries tile is a valid file whose
/// weights are zeros; a header that does not parse gets no data).
func safetensors(header: [UInt8]) -> [UInt8] {
    var end = 0
    if let members = (try? JSONParser.parse(header, file: "header"))?.objectMembers {
        for (_, entry) in members {
            if let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2, let e = offsets[1].intValue, e > end { end = e }
        }
    }
    var file: [UInt8] = []
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { file += $0 }
    file += header
    if end <= maximumDataBytes { file += [UInt8](repeating: 0, count: end) }
    return file
}

/// One input: `config.json`, a zero byte, then the safetensors header of `model.safetensors` (names,
/// dtypes, shapes, offsets). `tcompile export`'s path runs on it — the family from `model_type`, the
/// task from `architectures`, the config decoded and bounded, the checkpoint's tensors matched by
/// name and shape, the model traced with `batch ≤ 2`, `seq ≤ 8` — and must end in a clear typed error
/// or a graph the verifier accepts. Configs are bounded to 2^22 parameters and 4 layers
/// (`ConfigLimits`), so that models the fuzzer's 2 GB cannot hold are refused by the library's own check.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzExport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let split = input.firstIndex(of: 0) ?? input.count
    let config = Array(input[..<split]), header = Array(input[Swift.min(split + 1, input.count)...])
    do {
        try Data(config).write(to: checkpoint.appendingPathComponent("config.json"))
        try Data(safetensors(header: header)).write(to: checkpoint.appendingPathComponent("model.safetensors"))
    } catch {
        fatalError("cannot write the checkpoint: \(error)")
    }
    do {
        let graph = try ConfigLimits.$maximumParameterCount.withValue(1 << 22) {
            try ConfigLimits.$maximumLayerCount.withValue(4) {
                try ModelExport.trace(directory: checkpoint, task: nil, maxBatch: 2, maxSeq: 8).graph
            }
        }
        do { try Verifier.verify(graph) } catch { fatalError("export traced a graph the verifier refuses: \(error)") }
        countOutcome("exported, graph verifies")
    } catch {
        let text = "\(error)"
        if text.isEmpty || text.hasPrefix("Error Domain=") { fatalError("export refused with an unclear error: '\(text)'") }
        countOutcome("refused: \(type(of: error))")
    }
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer); seeds are in Fuzz/corpus/export.
@_cdecl("fuzz_export_main")
func fuzzExportMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = checkpoint
    if ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_SEED_OUT"] != nil { return 0 }
    return runFuzzer(argc, argv, fuzzExport)
}
