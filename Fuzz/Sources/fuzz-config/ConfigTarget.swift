import Foundation
import FuzzSupport
import Transformers

/// Decodes the input as a BERT, RoBERTa and GPT-2 `config.json`: any input must decode to a validated
/// config or give a `TransformersError` naming the field, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Data(bytes(data, size))
    if let config = try? BertConfig.decode(input) { _ = config.common.labels }
    _ = try? RobertaConfig.decode(input)
    _ = try? GPT2Config.decode(input)
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_config_main")
func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzConfig)
}
