import FuzzSupport
import Tokenizers

/// Parses the input as a SentencePiece `.model`; a tokenizer that loads must also encode and decode a
/// fixed sentence (user-defined symbols, unknown characters, byte fallback) without crashing.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSentencePieceModel(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let tokenizer = try? Tokenizer(sentencePieceModel: bytes(data, size), file: "fuzz/spiece.model") else { return 0 }
    let text = "  Hello, wörld!  <mask> The striker scored 2 late goals — naïve café 東京 🙂\u{FEFF}\t."
    if let encoding = try? tokenizer.encode(text) {
        _ = tokenizer.decode(encoding.ids)
    }
    _ = tokenizer.decode([0, 1, 2, 3, 4, 5, 6, -1, Int.max, tokenizer.vocabularySize])
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_spm_model_main")
func fuzzSentencePieceModelMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSentencePieceModel)
}
