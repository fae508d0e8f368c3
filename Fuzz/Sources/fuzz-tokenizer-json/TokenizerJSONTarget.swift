import FuzzSupport
import Tokenizers

/// Parses the input as a `tokenizer.json`; a tokenizer that loads must also encode, encode a pair and
/// decode a fixed sentence without crashing (its configuration came from the input).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let tokenizer = try? Tokenizer(tokenizerJSON: bytes(data, size), file: "fuzz/tokenizer.json") else { return 0 }
    let text = "Hello, wörld! The striker scored 2 late goals — naïve café 東京 🙂."
    if let encoding = try? tokenizer.encode(text) {
        _ = tokenizer.decode(encoding.ids)
        _ = tokenizer.decode(encoding.ids, skipSpecialTokens: false)
    }
    _ = try? tokenizer.encodePair(text, "a second sentence")
    _ = tokenizer.decode([0, 1, 2, -1, Int.max, tokenizer.vocabularySize])
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_tokenizer_json_main")
func fuzzTokenizerJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzTokenizerJSON)
}
